package main

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/pillbox/pillbox/cmd/internal/secret"
	"github.com/pillbox/pillbox/dispenser/httpapi"
)

// The local API's door: its token (a file root installs, the daemon reads
// at start and on SIGHUP), where it may listen, TLS, and the panel's
// session in sim mode. The policy itself is httpapi.Access; docs/api.md
// says how to install and rotate the token.

// defaultAPIToken is where the token lives on a device.
const defaultAPIToken = "/etc/pillbox/api.token"

// loadAPIToken reads the API token file. It refuses a file others may
// read or write (the token is root's and the daemon's group's only) and a
// token too short to be secret.
func loadAPIToken(path string) (string, error) {
	tok, perm, err := secret.Read(path, httpapi.MaxTokenLen+2) // and a line end
	if err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	switch {
	case secret.OthersMay(perm):
		return "", fmt.Errorf("api token: %s has mode %04o, which lets any user on the device read it: chown root:pillbox and chmod 0640 it", path, perm)
	case !httpapi.ValidToken(tok):
		return "", fmt.Errorf("api token: %s must hold one line of %d to %d characters from A-Z a-z 0-9 -._~+/ (then any =), e.g. from: head -c 32 /dev/urandom | base64",
			path, httpapi.MinTokenLen, httpapi.MaxTokenLen)
	}
	return tok, nil
}

// loadToken (re)reads the token file into r.token. Without a usable file
// the API refuses every request, loudly; the dispenser keeps dispensing.
func (r *running) loadToken() {
	path := r.opts.apiToken
	if path == "" {
		return // sim mode without --api-token: no token, none needed
	}
	tok, err := loadAPIToken(path)
	if err != nil {
		r.token.Set("")
		r.log.Error("api: NO LOCAL API TOKEN: every /api/ request is refused (401) until one is installed; see docs/api.md",
			"file", path, "err", err)
		return
	}
	r.token.Set(tok)
	r.log.Info("api: local API token loaded", "file", path)
}

// panelSession returns the secret of the sim panel's session cookie, kept
// in the data folder so that an open panel survives a restart of the
// daemon.
func panelSession(data string) (string, error) {
	path := filepath.Join(data, "panel-session")
	if s, _, err := secret.Read(path, 256); err == nil && len(s) >= httpapi.MinTokenLen {
		return s, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("dispenserd: panel session: %w", err)
	}
	s := rand.Text()
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("dispenserd: panel session: %w", err)
	}
	return s, nil
}

// tlsConfig loads --tls-cert and --tls-key; nil without them.
func tlsConfig(o options) (*tls.Config, error) {
	if o.tlsCert == "" && o.tlsKey == "" {
		return nil, nil
	}
	if o.tlsCert == "" || o.tlsKey == "" {
		return nil, errors.New("dispenserd: --tls-cert and --tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("dispenserd: TLS: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// listenAPI opens the API's listener and returns it with the access policy.
// A listener other than loopback reaches the network, where anyone on the
// LAN could drive the dispenser: it needs TLS and an installed token, or
// the daemon does not start.
func (r *running) listenAPI(tlsCfg *tls.Config, pages []string) (net.Listener, *httpapi.Access, error) {
	o := r.opts
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return nil, nil, fmt.Errorf("dispenserd: listen: %w", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	if !addr.IP.IsLoopback() {
		if tlsCfg == nil || !r.token.Loaded() {
			ln.Close()
			return nil, nil, fmt.Errorf("dispenserd: --listen %s is not a loopback address: the local API would be open to the network; "+
				"listen on 127.0.0.1, or give --tls-cert, --tls-key and an installed --api-token (docs/api.md)", o.listen)
		}
		r.log.Warn("api: THE LOCAL API LISTENS ON THE NETWORK (TLS and token required)", "listen", addr.String())
	}
	session := ""
	if o.sim {
		if session, err = panelSession(o.data); err != nil {
			ln.Close()
			return nil, nil, err
		}
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	access := httpapi.NewAccess(httpapi.AccessConfig{Listen: o.listen, Port: addr.Port, TLS: tlsCfg != nil, Sim: o.sim,
		Token: r.token, Session: session, Pages: pages, Logger: r.log})
	return ln, access, nil
}

// scheme is the API's URL scheme.
func (r *running) scheme() string {
	if r.opts.tlsCert != "" {
		return "https"
	}
	return "http"
}
