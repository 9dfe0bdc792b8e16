package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/dispenser/httpapi"
)

const testAPIToken = "dGVzdCB0b2tlbiBmb3IgcGlsbGN0bCBhcGk="

// pillctl api against the dispenser's own door (httpapi.Access, device
// mode): it presents the token from the file and sends JSON.
func TestAPI(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tok := &httpapi.Token{}
	tok.Set(testAPIToken)
	a := httpapi.NewAccess(httpapi.AccessConfig{Listen: l.Addr().String(), Port: l.Addr().(*net.TCPAddr).Port, Token: tok})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"ok":true}`) })
	mux.HandleFunc("POST /api/prn", func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) })
	srv := httptest.NewUnstartedServer(a.Wrap(mux))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	good := filepath.Join(dir, "api.token")
	os.WriteFile(good, []byte(testAPIToken+"\n"), 0o640)
	other := filepath.Join(dir, "other.token")
	os.WriteFile(other, []byte(strings.ToLower(testAPIToken)+"\n"), 0o640)
	bad := filepath.Join(dir, "bad.token")
	os.WriteFile(bad, []byte("short\n"), 0o640)
	url := "http://" + l.Addr().String()
	tests := []struct {
		name        string
		args        []string
		status      int
		out, errOut string
	}{
		{"status", []string{"-url", url, "-token", good, "GET", "/api/status"}, 0, `{"ok":true}`, ""},
		{"a POST is sent as JSON", []string{"-url", url, "-token", good, "post", "/api/prn", `{"medication":"paracetamol"}`}, 0, `"paracetamol"`, ""},
		{"the wrong token", []string{"-url", url, "-token", other, "GET", "/api/status"}, 1, "", "401 Unauthorized"},
		{"a missing token file named", []string{"-url", url, "-token", filepath.Join(dir, "none"), "GET", "/api/status"}, 1, "", "no such file"},
		{"a file without a valid token", []string{"-url", url, "-token", bad, "GET", "/api/status"}, 1, "", "does not hold a valid token"},
		{"a body that is not JSON", []string{"-url", url, "-token", good, "POST", "/api/prn", "medication=x"}, 2, "", "is not JSON"},
		{"a path without /", []string{"-url", url, "GET", "api/status"}, 2, "", "must start with /"},
		{"no path", []string{"GET"}, 2, "", "usage: pillctl api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if got := dispatch(append([]string{"api"}, tt.args...), &out, &errOut); got != tt.status {
				t.Errorf("pillctl api %q = %d, want %d; stderr %s", tt.args, got, tt.status, errOut.String())
			}
			if !strings.Contains(out.String(), tt.out) || !strings.Contains(errOut.String(), tt.errOut) {
				t.Errorf("pillctl api %q: stdout %q, stderr %q; want %q and %q", tt.args, out.String(), errOut.String(), tt.out, tt.errOut)
			}
		})
	}
	// The default file missing is a simulator, which needs no token.
	if tok, err := readAPIToken(filepath.Join(dir, "none"), false); tok != "" || err != nil {
		t.Errorf("readAPIToken(a missing default file) = %q, %v; want no token and no error", tok, err)
	}
}
