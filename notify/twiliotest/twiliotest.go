// Package twiliotest is a stand-in for Twilio in tests: an HTTP server that
// answers the Messages and Calls APIs the way Twilio does (Basic auth, form fields,
// Twilio's error codes and JSON bodies, a realistic message resource), with
// controls to inject the failures a sender must survive, and a client side
// that calls webhooks the way Twilio does (signed status callbacks and
// inbound messages). The real twilio-go client is pointed at it through
// Transport, because the library's base URL cannot be changed.
package twiliotest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pillbox/pillbox/notify/segment"
)

// Fault is a failure the server can be told to produce instead of its
// normal answer.
type Fault int

const (
	// Fail500 answers 500 with Twilio's JSON error body (code 20500).
	Fail500 Fault = iota + 1
	// Fail429 answers 429 with a Retry-After header (see SetRetryAfter) and
	// code 20429.
	Fail429
	// Fail503 answers 503 with a JSON error body (code 20503).
	Fail503
	// Fail502HTML answers 502 with an HTML body, as a load balancer in front
	// of Twilio would.
	Fail502HTML
	// FailReset reads the request, then resets the TCP connection.
	FailReset
	// FailSlow holds the request until Release is called, the client goes
	// away, or SlowLimit passes; a released request is then served normally.
	FailSlow
)

// SlowLimit bounds how long a FailSlow request is held, so that a test that
// forgets to call Release still ends.
const SlowLimit = 30 * time.Second

// Message is one message the server accepted.
type Message struct {
	SID                 string
	Account             string // the HTTP Basic auth user that sent it
	To                  string
	From                string // empty when only MessagingServiceSID was given
	Body                string
	StatusCallback      string
	MessagingServiceSID string
	// Status is "queued" (or "accepted" for a messaging service without a
	// From) on creation, then the last status sent by DeliverStatus.
	Status   string
	Received time.Time
}

// Server is the stand-in. It is safe for concurrent use.
type Server struct {
	// URL is the server's base URL, e.g. "http://127.0.0.1:34567".
	URL string

	srv        *httptest.Server
	accountSID string
	authToken  string
	hooks      *http.Client // calls the test's webhooks

	mu          sync.Mutex
	now         func() time.Time
	msgs        []Message
	rules       []rule
	rejects     map[string]int // To number -> Twilio error code
	calls       []Call
	callRejects map[string]int // To number -> Twilio error code, for calls
	retryAfter  time.Duration
	release     chan struct{}
	requests    int
	onAccept    func(Message)
}

type rule struct {
	fault Fault
	left  int       // requests still to fail; 0 for a time rule
	until time.Time // end of a time rule
}

var (
	_ http.Handler      = (*Server)(nil)
	_ http.RoundTripper = rewrite{}
)

// New starts a stand-in that accepts accountSID and authToken, and stops it
// when the test ends.
func New(t testing.TB, accountSID, authToken string) *Server {
	t.Helper()
	s := Start(accountSID, authToken)
	t.Cleanup(s.Close)
	return s
}

// Start starts a stand-in outside a test (the stress harness runs it in its
// own process, for daemons it starts as children); the caller must Close it.
func Start(accountSID, authToken string) *Server {
	s := &Server{
		accountSID:  accountSID,
		authToken:   authToken,
		hooks:       &http.Client{Timeout: SlowLimit},
		now:         time.Now,
		rejects:     map[string]int{},
		callRejects: map[string]int{},
		retryAfter:  time.Second,
		release:     make(chan struct{}),
	}
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// Close releases held requests and stops the server. New arranges for it to
// be called when the test ends; calling it twice is harmless.
func (s *Server) Close() {
	s.Release()
	s.srv.Close()
	s.hooks.CloseIdleConnections()
}

// Transport returns a RoundTripper that sends every request to this server,
// whatever scheme and host it names (the twilio-go client always names
// https://api.twilio.com).
func (s *Server) Transport() http.RoundTripper {
	return rewrite{host: s.srv.Listener.Addr().String(), base: s.srv.Client().Transport}
}

// Client returns an *http.Client that uses Transport and, like twilio-go's
// default client, does not follow redirects.
func (s *Server) Client() *http.Client {
	return &http.Client{
		Transport:     s.Transport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type rewrite struct {
	host string
	base http.RoundTripper
}

func (rt rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme = "http"
	out.URL.Host = rt.host
	out.Host = ""
	return rt.base.RoundTrip(out)
}

// SetNow replaces the clock that stamps messages and ends FailUntil periods.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// SetRetryAfter sets the Retry-After header of Fail429 answers (whole
// seconds; default one second).
func (s *Server) SetRetryAfter(d time.Duration) {
	s.mu.Lock()
	s.retryAfter = d
	s.mu.Unlock()
}

// OnAccept calls f with every message the server accepts, after it is
// recorded and before the answer is written: a harness that kills the
// sender there makes Twilio accept a message whose sender never learns so.
func (s *Server) OnAccept(f func(Message)) {
	s.mu.Lock()
	s.onAccept = f
	s.mu.Unlock()
}

// FailNext makes the next n requests fail with f. Rules queue up: a later
// FailNext or FailUntil applies once earlier rules are used up.
func (s *Server) FailNext(n int, f Fault) {
	s.mu.Lock()
	s.rules = append(s.rules, rule{fault: f, left: n})
	s.mu.Unlock()
}

// FailUntil makes every request fail with f until the server's clock (see
// SetNow) reads until.
func (s *Server) FailUntil(until time.Time, f Fault) {
	s.mu.Lock()
	s.rules = append(s.rules, rule{fault: f, until: until})
	s.mu.Unlock()
}

// ClearFaults drops every FailNext and FailUntil rule not used up yet.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.rules = nil
	s.mu.Unlock()
}

// Release lets every request currently held by FailSlow go on.
func (s *Server) Release() {
	s.mu.Lock()
	close(s.release)
	s.release = make(chan struct{})
	s.mu.Unlock()
}

// RejectTo makes messages to number fail with a Twilio error code: 21211
// (invalid number), 21610 (recipient replied STOP), 21614 (not a mobile
// number), 21408 (region not enabled), or any other 4xx code.
func (s *Server) RejectTo(number string, code int) {
	s.mu.Lock()
	s.rejects[number] = code
	s.mu.Unlock()
}

// Messages returns the messages accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Requests returns how many requests reached the server, failed ones
// included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// rejectMessages are the bodies Twilio sends with each code. Twilio puts
// the phone number in some of them, which is why a sender must never log
// an error message it got from Twilio.
var rejectMessages = map[int]string{
	21211: "Invalid 'To' Phone Number: %s",
	21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: %s",
	21610: "Attempt to send to unsubscribed recipient",
	21614: "'To' number %s is not a valid mobile number",
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

const messagesPath = "/2010-04-01/Accounts/"

// ServeHTTP answers the Messages and Calls APIs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	fault, now, release, retryAfter := s.faultLocked(), s.now(), s.release, s.retryAfter
	s.mu.Unlock()

	switch fault {
	case Fail500:
		writeError(w, http.StatusInternalServerError, 20500, "Internal Server Error")
		return
	case Fail429:
		w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
		writeError(w, http.StatusTooManyRequests, 20429, "Too Many Requests")
		return
	case Fail503:
		writeError(w, http.StatusServiceUnavailable, 20503, "Service Unavailable")
		return
	case Fail502HTML:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n")
		return
	case FailReset:
		reset(w)
		return
	case FailSlow:
		limit := time.NewTimer(SlowLimit)
		defer limit.Stop()
		select {
		case <-release:
		case <-limit.C:
		case <-r.Context().Done():
			return
		}
	}

	sid, ok := strings.CutPrefix(r.URL.Path, messagesPath)
	calls := false
	if ok {
		var isMsg bool
		sid, isMsg = strings.CutSuffix(sid, "/Messages.json")
		if !isMsg {
			sid, calls = strings.CutSuffix(sid, "/Calls.json")
		}
		ok = isMsg || calls
	}
	if !ok || strings.Contains(sid, "/") {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.accountSID || pass != s.authToken {
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if sid != s.accountSID {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Invalid form body")
		return
	}
	if calls {
		s.createCall(w, r, user, now)
		return
	}
	m, status, code, msg := s.validate(r)
	if code != 0 {
		writeError(w, status, code, msg)
		return
	}
	m.SID = newSID("SM")
	m.Account = user
	m.Received = now
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	onAccept := s.onAccept
	s.mu.Unlock()
	if onAccept != nil {
		onAccept(m)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(s.resource(m))
}

// faultLocked picks the fault for this request and uses up the rule.
func (s *Server) faultLocked() Fault {
	now := s.now()
	for len(s.rules) > 0 {
		r := &s.rules[0]
		switch {
		case r.left > 0:
			r.left--
			return r.fault
		case !r.until.IsZero() && now.Before(r.until):
			return r.fault
		}
		s.rules = s.rules[1:]
	}
	return 0
}

// validate checks the form the way Twilio does, in Twilio's order.
func (s *Server) validate(r *http.Request) (m Message, status, code int, msg string) {
	f := r.PostForm
	m = Message{
		To:                  f.Get("To"),
		From:                f.Get("From"),
		Body:                f.Get("Body"),
		StatusCallback:      f.Get("StatusCallback"),
		MessagingServiceSID: f.Get("MessagingServiceSid"),
		Status:              "queued",
	}
	bad := http.StatusBadRequest
	switch {
	case m.To == "":
		return m, bad, 21604, "A 'To' phone number is required."
	case m.From == "" && m.MessagingServiceSID == "":
		return m, bad, 21603, "A 'From' phone number is required."
	case m.Body == "" && f.Get("MediaUrl") == "":
		return m, bad, 21602, "Message body is required."
	case !e164.MatchString(m.To):
		return m, bad, 21211, fmt.Sprintf(rejectMessages[21211], m.To)
	case utf8.RuneCountInString(m.Body) > 1600:
		return m, bad, 21617, "The concatenated message body exceeds the 1600 character limit."
	case m.StatusCallback != "" && !absoluteHTTP(m.StatusCallback):
		return m, bad, 21609, "Invalid StatusCallback url"
	}
	s.mu.Lock()
	c, rejected := s.rejects[m.To]
	s.mu.Unlock()
	if rejected {
		text, ok := rejectMessages[c]
		if !ok {
			text = "Message rejected"
		}
		if strings.Contains(text, "%s") {
			text = fmt.Sprintf(text, m.To)
		}
		return m, bad, c, text
	}
	if m.From == "" {
		m.Status = "accepted"
	}
	return m, 0, 0, ""
}

func absoluteHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// reset closes the connection with an RST, so that the client sees
// "connection reset by peer" rather than a clean end of stream.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok { // HTTP/2: no raw connection to reset
		writeError(w, http.StatusInternalServerError, 20500, "Internal Server Error")
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}

type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(apiError{
		Code:     code,
		Message:  msg,
		MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		Status:   status,
	})
}

// resource is Twilio's JSON message resource, nulls included.
type resource struct {
	AccountSID          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSID *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	SID                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

func (s *Server) resource(m Message) resource {
	date := m.Received.UTC().Format(time.RFC1123Z)
	base := messagesPath + s.accountSID + "/Messages/" + m.SID
	return resource{
		AccountSID:          s.accountSID,
		APIVersion:          "2010-04-01",
		Body:                m.Body,
		DateCreated:         date,
		DateUpdated:         date,
		Direction:           "outbound-api",
		From:                nullable(m.From),
		MessagingServiceSID: nullable(m.MessagingServiceSID),
		NumMedia:            "0",
		NumSegments:         strconv.Itoa(Segments(m.Body)),
		PriceUnit:           "USD",
		SID:                 m.SID,
		Status:              m.Status,
		SubresourceURIs: map[string]string{
			"media":    base + "/Media.json",
			"feedback": base + "/Feedback.json",
		},
		To:  m.To,
		URI: base + ".json",
	}
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// newSID returns prefix followed by 32 random hex digits, Twilio's SID form.
func newSID(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Segments returns how many SMS segments body takes, by Twilio's rules
// as package segment counts them: GSM-7 when every character is in the
// GSM set (160 septets, 153 a part when split), otherwise UCS-2 (70
// UTF-16 units, 67 a part). An empty body is one segment, as Twilio
// bills it.
func Segments(body string) int { return max(segment.Count(body).Segments, 1) }
