package main

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/hw/host"
	"github.com/pillbox/pillbox/hw/sim"
	"github.com/pillbox/pillbox/internal/testcert"
)

const (
	apiToken1 = "Zm9yIHRlc3RzIG9ubHksIG5vdCBhIHJlYWwgdG9rZW4K"
	apiToken2 = "c2Vjb25kIHRlc3QgdG9rZW4sIGFmdGVyIHJvdGF0aW9u"
)

// writeToken writes a token file with mode perm.
func writeToken(t *testing.T, path, tok string, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(tok+"\n"), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // past the umask
		t.Fatal(err)
	}
}

func TestLoadAPIToken(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		perm    os.FileMode
		want    string // the token, or part of the error
		ok      bool
	}{
		{"root:pillbox 0640", apiToken1, 0o640, apiToken1, true},
		{"0600", apiToken1, 0o600, apiToken1, true},
		{"0400 with CRLF", apiToken1 + "\r", 0o400, apiToken1, true},
		{"readable by others", apiToken1, 0o644, "mode 0644", false},
		{"writable by others", apiToken1, 0o602, "mode 0602", false},
		{"empty", "", 0o640, "must hold one line", false},
		{"too short", "0123456789", 0o640, "must hold one line", false},
		{"two words", apiToken1 + " " + apiToken1, 0o640, "must hold one line", false},
		{"too long", strings.Repeat("a", 600), 0o640, "longer than", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "token"+string(rune('a'+i)))
			writeToken(t, path, tt.content, tt.perm)
			got, err := loadAPIToken(path)
			switch {
			case tt.ok && (err != nil || got != tt.want):
				t.Errorf("loadAPIToken(%s) = %q, %v; want %q", tt.name, got, err, tt.want)
			case !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("loadAPIToken(%s) = %q, %v; want an error saying %q", tt.name, got, err, tt.want)
			case !tt.ok && strings.Contains(err.Error(), apiToken1):
				t.Errorf("loadAPIToken(%s) error %q shows the token", tt.name, err)
			}
		})
	}
	if _, err := loadAPIToken(filepath.Join(dir, "missing")); err == nil {
		t.Error("loadAPIToken(a missing file) = nil error")
	}
	if _, err := loadAPIToken(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("loadAPIToken(a folder) = %v, want not a regular file", err)
	}
}

// deviceDaemon runs the daemon as on a device (not --sim: real clock,
// token required), with a simulated board in place of the GPIO pins.
func deviceDaemon(t *testing.T, o options) (*running, string, *lockedBuffer) {
	t.Helper()
	openHost = func(cfg hw.BoardConfig, comps []hw.CompartmentConfig, log *slog.Logger) (*hw.Board, error) {
		w, err := sim.New(cfg, comps, sim.WithLogger(log))
		if err != nil {
			return nil, err
		}
		return w.Board(), nil
	}
	t.Cleanup(func() { openHost = host.Open })
	logs := &lockedBuffer{}
	o.config, o.data = "../../examples/dispenser.yaml", t.TempDir()
	if o.listen == "" {
		o.listen = "127.0.0.1:0"
	}
	d := serveInProcess(t, o, slog.New(slog.NewTextHandler(logs, nil)), nil)
	r := d.r
	if _, err := r.ctrl.Status(t.Context()); err != nil { // the dose loop runs
		t.Fatal(err)
	}
	return r, d.base, logs
}

// call sends one request and returns its status.
func call(t *testing.T, c *http.Client, method, url, token, ctype, host string) int {
	t.Helper()
	var body io.Reader
	if method == "POST" {
		body = strings.NewReader(`{"medication": "paracetamol"}`)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// On a device every /api/ route needs the token from the file; rotating
// the file and sending SIGHUP's reload swaps it; a file others may read is
// refused, and the API then refuses everyone, while the dispenser runs.
func TestDeviceAPIToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.token")
	writeToken(t, path, apiToken1, 0o640)
	r, base, logs := deviceDaemon(t, options{apiToken: path})
	c := http.DefaultClient
	events := func() int {
		evs, err := r.store.Since(t.Context(), 0, 100000)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	before := events()
	for _, tc := range []struct {
		name, method, path, token, ctype, host string
		want                                   int
	}{
		{"status, no token", "GET", "/api/status", "", "", "", 401},
		{"status, the token", "GET", "/api/status", apiToken1, "", "", 200},
		{"status, another token", "GET", "/api/status", apiToken2, "", "", 401},
		{"events, no token", "GET", "/api/events", "", "", "", 401},
		{"stream, no token", "GET", "/api/stream", "", "", "", 401},
		{"readings, no token", "GET", "/api/readings", "", "", "", 401},
		{"metrics, no token", "GET", "/metrics", "", "", "", 401},
		{"metrics, the token", "GET", "/metrics", apiToken1, "", "", 200},
		{"metrics, another token", "GET", "/metrics", apiToken2, "", "", 401},
		{"metrics, the token, Host evil.example", "GET", "/metrics", apiToken1, "", "evil.example", 421},
		{"as-needed dose, no token", "POST", "/api/prn", "", "application/json", "", 401},
		{"as-needed dose, the token, no Content-Type", "POST", "/api/prn", apiToken1, "", "", 415},
		{"as-needed dose, the token, text/plain", "POST", "/api/prn", apiToken1, "text/plain", "", 415},
		{"skip, the token, JSON: the handler reads the body", "POST", "/api/doses/nothing@2026-01-01T08:00/skip", apiToken1, "application/json", "", 400},
		{"status, the token, Host evil.example", "GET", "/api/status", apiToken1, "", "evil.example", 421},
		{"no panel on a device", "GET", "/", apiToken1, "", "", 404},
		{"no sim controls on a device", "POST", "/api/sim/clock", apiToken1, "application/json", "", 404},
		{"no webhook on the API", "POST", "/twilio/sms", apiToken1, "application/json", "", 404},
	} {
		if got := call(t, c, tc.method, base+tc.path, tc.token, tc.ctype, tc.host); got != tc.want {
			t.Errorf("%s %s (%s) = %d, want %d", tc.method, tc.path, tc.name, got, tc.want)
		}
	}
	if after := events(); after != before {
		t.Errorf("refused requests logged %d events", after-before)
	}

	// Rotation: a new file, then the reload SIGHUP does.
	writeToken(t, path, apiToken2, 0o640)
	r.loadToken()
	if got := call(t, c, "GET", base+"/api/status", apiToken1, "", ""); got != 401 {
		t.Errorf("the old token after rotation = %d, want 401", got)
	}
	if got := call(t, c, "GET", base+"/api/status", apiToken2, "", ""); got != 200 {
		t.Errorf("the new token after rotation = %d, want 200", got)
	}

	// A file others may read is refused: nobody gets in, loudly.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	r.loadToken()
	if got := call(t, c, "GET", base+"/api/status", apiToken2, "", ""); got != 401 {
		t.Errorf("the token from a 0644 file = %d, want 401", got)
	}
	if !strings.Contains(logs.String(), "NO LOCAL API TOKEN") || !strings.Contains(logs.String(), "mode 0644") {
		t.Errorf("the log does not say the token file was refused for its mode:\n%s", logs)
	}
	if strings.Contains(logs.String(), apiToken1) || strings.Contains(logs.String(), apiToken2) {
		t.Error("the log shows a token")
	}
	if _, err := r.ctrl.Status(t.Context()); err != nil {
		t.Errorf("the dose loop stopped with the API closed: %v", err)
	}
}

// Without a token file the device starts, dispenses, says so loudly, and
// its API refuses every request.
func TestDeviceAPIWithoutToken(t *testing.T) {
	r, base, logs := deviceDaemon(t, options{apiToken: filepath.Join(t.TempDir(), "api.token")})
	for _, tok := range []string{"", apiToken1} {
		if got := call(t, http.DefaultClient, "GET", base+"/api/status", tok, "", ""); got != 401 {
			t.Errorf("GET /api/status (token %q) with no token installed = %d, want 401", tok, got)
		}
	}
	if !strings.Contains(logs.String(), "NO LOCAL API TOKEN") {
		t.Errorf("the log does not say the API has no token:\n%s", logs)
	}
	if _, err := r.ctrl.Status(t.Context()); err != nil {
		t.Errorf("the dose loop does not run without an API token: %v", err)
	}
}

// Beyond loopback the API needs TLS and an installed token, or the daemon
// does not start; with both it serves HTTPS and warns.
func TestListenBeyondLoopback(t *testing.T) {
	cert, key, pool := testcert.SelfSigned(t, t.TempDir())
	tokFile := filepath.Join(t.TempDir(), "api.token")
	writeToken(t, tokFile, apiToken1, 0o640)
	for _, tc := range []struct {
		name string
		o    options
		want string // part of the error; "" starts
	}{
		{"plain HTTP", options{listen: "0.0.0.0:0", apiToken: tokFile}, "not a loopback address"},
		{"TLS without a token", options{listen: "0.0.0.0:0", tlsCert: cert, tlsKey: key, apiToken: filepath.Join(t.TempDir(), "none")}, "not a loopback address"},
		{"sim, TLS, no --api-token", options{sim: true, listen: "0.0.0.0:0", tlsCert: cert, tlsKey: key}, "not a loopback address"},
		{"a certificate without its key", options{listen: "127.0.0.1:0", tlsCert: cert, apiToken: tokFile}, "go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.config, tc.o.data = "../../examples/dispenser.yaml", t.TempDir()
			if !tc.o.sim {
				openHost = func(cfg hw.BoardConfig, comps []hw.CompartmentConfig, log *slog.Logger) (*hw.Board, error) {
					w, err := sim.New(cfg, comps)
					if err != nil {
						return nil, err
					}
					return w.Board(), nil
				}
				t.Cleanup(func() { openHost = host.Open })
			}
			r, err := start(t.Context(), tc.o, slog.New(slog.DiscardHandler))
			if err == nil {
				r.listener.Close()
				r.close()
				t.Fatalf("start(--listen %s) started, want %q", tc.o.listen, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("start(--listen %s) = %v, want %q", tc.o.listen, err, tc.want)
			}
		})
	}

	_, base, logs := deviceDaemon(t, options{listen: "0.0.0.0:0", tlsCert: cert, tlsKey: key, apiToken: tokFile})
	if !strings.HasPrefix(base, "https://") || !strings.Contains(logs.String(), "THE LOCAL API LISTENS ON THE NETWORK") {
		t.Errorf("on 0.0.0.0 with TLS and a token: base %s, log:\n%s; want HTTPS and a loud warning", base, logs)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(base, "https://"))
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	url := "https://127.0.0.1:" + port + "/api/status"
	if got := call(t, c, "GET", url, apiToken1, "", ""); got != 200 {
		t.Errorf("GET %s with the token over TLS = %d, want 200", url, got)
	}
	if got := call(t, c, "GET", url, "", "", ""); got != 401 {
		t.Errorf("GET %s without the token over TLS = %d, want 401", url, got)
	}
}
