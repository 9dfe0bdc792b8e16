package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pillbox/pillbox/notify/twiliotest"
)

// Test credentials of the stand-in (alphanumeric, as twilio-go insists).
const (
	twilioAccount = "AC0123456789abcdef0123456789abcdef"
	twilioToken   = "f00dfeedcafebabe5ecre7a11token99"
	twilioFrom    = "+15005550006"
)

// provider is Twilio as a child daemon sees it: the twiliotest stand-in,
// reached through an HTTPS proxy of ours. The daemon runs unmodified: its
// sender calls https://api.twilio.com through HTTPS_PROXY (Go's default
// transport honours it), the proxy answers CONNECT and terminates TLS with
// a certificate for api.twilio.com from a CA that SSL_CERT_FILE makes the
// child trust, and hands the requests to the stand-in. No test-only code
// path exists in the daemon for this.
type provider struct {
	*twiliotest.Server
	ln     net.Listener
	caFile string
	tlsCfg *tls.Config
	inner  *http.Server
	conns  chan net.Conn
	done   chan struct{}
	once   sync.Once

	// Every request, as the stand-in answered it.
	mu       sync.Mutex
	now      func() time.Time
	requests []providerRequest
	inflight atomic.Int32
}

// providerRequest is one Messages API call and its answer.
type providerRequest struct {
	At         time.Time // by the provider's clock (see setClock)
	To, Body   string
	Code       int // HTTP status; 0 when the connection was reset or dropped
	RetryAfter time.Duration
}

// startProvider starts the stand-in and its proxy; dir receives the CA.
func startProvider(dir string) (*provider, error) {
	caPEM, leaf, err := makeCerts()
	if err != nil {
		return nil, err
	}
	// A CA of its own per provider: scenarios run side by side.
	f, err := os.CreateTemp(dir, "provider-ca-*.pem")
	if err != nil {
		return nil, err
	}
	_, err = f.Write(caPEM)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	p := &provider{Server: twiliotest.Start(twilioAccount, twilioToken),
		caFile: f.Name(), conns: make(chan net.Conn), done: make(chan struct{})}
	p.tlsCfg = &tls.Config{Certificates: []tls.Certificate{leaf}, NextProtos: []string{"http/1.1"}}
	if p.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		p.Server.Close()
		return nil, err
	}
	p.now = time.Now
	p.inner = &http.Server{Handler: http.HandlerFunc(p.serve), ErrorLog: log.New(discard{}, "", 0), ReadHeaderTimeout: 10 * time.Second}
	go p.inner.Serve(chanListener{p})
	go p.accept()
	return p, nil
}

// setClock makes the stand-in and the request log read now: a scenario on
// simulated time points both at the daemon's simulated clock.
func (p *provider) setClock(now func() time.Time) {
	p.mu.Lock()
	p.now = now
	p.mu.Unlock()
	p.Server.SetNow(now)
}

// serve passes a request to the stand-in and records its answer.
func (p *provider) serve(w http.ResponseWriter, r *http.Request) {
	p.inflight.Add(1)
	defer p.inflight.Add(-1)
	r.ParseForm() // the stand-in reads the parsed form again
	rw := &recWriter{ResponseWriter: w}
	p.Server.ServeHTTP(rw, r)
	req := providerRequest{To: r.PostForm.Get("To"), Body: r.PostForm.Get("Body"), Code: rw.code}
	if ra := rw.Header().Get("Retry-After"); ra != "" {
		if n, err := strconv.Atoi(ra); err == nil {
			req.RetryAfter = time.Duration(n) * time.Second
		}
	}
	p.mu.Lock()
	req.At = p.now()
	p.requests = append(p.requests, req)
	p.mu.Unlock()
}

// Requests returns every request so far, in order of their answers.
func (p *provider) log() []providerRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]providerRequest(nil), p.requests...)
}

// idle waits until no request is being answered, up to limit.
func (p *provider) idle(limit time.Duration) {
	for deadline := time.Now().Add(limit); p.inflight.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

// recWriter notes the status an answer had.
type recWriter struct {
	http.ResponseWriter
	code int
}

func (w *recWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *recWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Hijack lets the stand-in reset the connection.
func (w *recWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.ResponseWriter.(http.Hijacker).Hijack()
}

// env is what a child needs to reach the stand-in as api.twilio.com.
func (p *provider) env() []string {
	return []string{"HTTPS_PROXY=http://" + p.ln.Addr().String(), "https_proxy=", "NO_PROXY=", "no_proxy=",
		"SSL_CERT_FILE=" + p.caFile, "TWILIO_AUTH_TOKEN=" + twilioToken}
}

// twilioConfig is the escalation.twilio section pointing at the stand-in,
// with the webhooks' own listener at hook.
func twilioConfig(hook string) string {
	return "  twilio:\n    account_sid: " + twilioAccount + "\n    from: \"" + twilioFrom + "\"\n    in_sim: true\n" +
		"    public_url: http://" + hook + "\n    listen: " + hook + "\n#"
}

func (p *provider) Close() {
	p.once.Do(func() {
		close(p.done)
		p.ln.Close()
		p.inner.Close()
		p.Server.Close()
	})
}

func (p *provider) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.connect(c)
	}
}

// connect answers one CONNECT and passes the TLS connection inside it on.
func (p *provider) connect(c net.Conn) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil || req.Method != http.MethodConnect {
		fmt.Fprint(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		c.Close()
		return
	}
	if _, err := fmt.Fprint(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	select {
	case p.conns <- tls.Server(c, p.tlsCfg):
	case <-p.done:
		c.Close()
	}
}

// chanListener feeds the proxied connections to the inner HTTP server.
type chanListener struct{ p *provider }

func (l chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.p.conns:
		return c, nil
	case <-l.p.done:
		return nil, errors.New("provider closed")
	}
}
func (l chanListener) Close() error   { return nil }
func (l chanListener) Addr() net.Addr { return l.p.ln.Addr() }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// makeCerts makes a CA and a certificate for api.twilio.com signed by it.
func makeCerts() (caPEM []byte, leaf tls.Certificate, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, leaf, err
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pillstress CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, leaf, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, leaf, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, leaf, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "api.twilio.com"},
		DNSNames: []string{"api.twilio.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, leaf, err
	}
	leaf = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), leaf, nil
}
