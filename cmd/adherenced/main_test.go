package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"

	"github.com/pillbox/pillbox/cmd/internal/config"
	"github.com/pillbox/pillbox/internal/testcert"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr; "" for status 0
	}{
		{"plain HTTP to the network", []string{"--listen", "0.0.0.0:8090"}, "refusing to serve plain HTTP"},
		{"plain HTTP to the network behind a proxy", []string{"--listen", "0.0.0.0:8090", "--trusted-proxy", "10.0.0.2"}, "refusing to serve plain HTTP"},
		{"plain HTTP on a private address behind a proxy", []string{"--listen", "10.0.0.5:8090", "--trusted-proxy", "10.0.0.2"}, "refusing to serve plain HTTP"},
		{"plain HTTP on every interface", []string{"--listen", ":8090", "--trusted-proxy", "127.0.0.1"}, "refusing to serve plain HTTP"},
		{"cert without key", []string{"--tls-cert", "c.pem"}, "go together"},
		{"demo config without demo", []string{"--demo-dispenser-config", "x.yaml"}, "needs --demo"},
		{"silly silent period", []string{"--silent-after", "1s"}, "at least 1m"},
		{"bad proxy", []string{"--trusted-proxy", "nonsense"}, "not an address"},
		{"unknown kind of database", []string{"--db", "mysql://h/clinic"}, `--db: clinicdb: mysql://h/clinic: unknown kind of database "mysql"`},
		{"version", []string{"--version"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			got := run(tc.args, &out, &errOut)
			if tc.want == "" {
				if got != 0 {
					t.Errorf("run(%q) = %d, want 0; stderr %s", tc.args, got, errOut.String())
				}
				return
			}
			if got != 2 || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("run(%q) = %d, stderr %q; want 2 and %q", tc.args, got, errOut.String(), tc.want)
			}
		})
	}
}

// TestDatabaseFlag: --db names the database, as a path or a file: URL,
// instead of the file under --data; a PostgreSQL database that cannot be
// reached fails the start (exit 1) with an error that names it without its
// password.
func TestDatabaseFlag(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "elsewhere", "clinic.db")
	o := options{listen: "127.0.0.1:0", data: filepath.Join(dir, "data"), db: "file://" + path, silentAfter: 30 * time.Minute}
	startTest(t, o)
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the --db file: %v", err)
	}
	if _, err := os.Stat(o.data); !os.IsNotExist(err) {
		t.Errorf("--data %s was made though --db names the database elsewhere: %v", o.data, err)
	}

	var out, errOut bytes.Buffer
	if got := run([]string{"--db", "postgres://svc:s3cret@db.example.org/clinic?connect_timeout=5", "--data", dir}, &out, &errOut); got != 1 ||
		!strings.Contains(errOut.String(), "postgres://svc:xxxxx@db.example.org/clinic") || strings.Contains(errOut.String(), "s3cret") {
		t.Errorf("run(--db postgres://...) = %d, stderr %q; want 1 and the database named without its password", got, errOut.String())
	}
}

// startTest starts the service on a free port and serves it until the
// test ends.
func startTest(t *testing.T, o options) (*service, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	s, err := start(ctx, o, &out, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		s.close()
	})
	return s, out.String()
}

func TestDemo(t *testing.T) {
	data := t.TempDir()
	o := options{listen: "127.0.0.1:0", data: data, silentAfter: 30 * time.Minute, demo: true,
		demoConfig: "../../examples/dispenser.yaml"}
	s, out := startTest(t, o)
	if !strings.Contains(out, "sign in: demo / ") {
		t.Errorf("demo output = %q, want the demo login", out)
	}
	resp, err := http.Get("http://" + s.listener.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /healthz = %d, want 200", resp.StatusCode)
	}
	// The metrics are wired: served to an admin's API token, to nobody else.
	ctx := context.Background()
	root, err := s.clinic.CreateUser(ctx, clinic.CLI("test"), "root", "Admin", clinic.RoleAdmin, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	adminTok, err := s.clinic.IssueAPIToken(ctx, clinic.CLI("test"), root.ID, "prometheus")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		auth     string
		want     int
		wantBody string
	}{{"", http.StatusUnauthorized, ""}, {"Bearer " + adminTok, http.StatusOK, "\npillbox_clinic_syncs_answered_total 0\n"}} {
		req, _ := http.NewRequest("GET", "http://"+s.listener.Addr().String()+"/metrics", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want || !strings.Contains(string(body), c.wantBody) {
			t.Errorf("GET /metrics with a token %t = %d, want %d with %q: %.300s", c.auth != "", resp.StatusCode, c.want, c.wantBody, body)
		}
	}
	// The dispenser config it wrote is valid, with a sync section for it.
	f, probs, err := config.Load(filepath.Join(data, "demo-dispenser.yaml"))
	if err != nil || len(probs) > 0 {
		t.Fatalf("demo dispenser config: %v %v", err, probs)
	}
	if f.Sync == nil || f.Sync.Device != "demo-dispenser" || !strings.HasPrefix(f.Sync.URL, "http://127.0.0.1:") {
		t.Fatalf("demo dispenser config sync = %+v", f.Sync)
	}
	tok, err := f.Sync.ReadToken()
	if err != nil || !strings.HasPrefix(tok, "pbd_") {
		t.Errorf("demo token = %v, want a device token", err)
	}
	// Its settings are in the audit log.
	entries, err := s.clinic.AuditLog(context.Background(), clinic.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var starts []string
	for _, e := range entries {
		if e.Action == "service.start" {
			starts = append(starts, e.Actor+" "+e.Target)
		}
	}
	if len(starts) != 1 || !strings.HasPrefix(starts[0], "system db="+filepath.Join(data, "clinic.db")+" listen=127.0.0.1:0 ") || !strings.Contains(starts[0], "silent_after=30m0s demo=true") {
		t.Errorf("service.start audit entries = %q, want one from system with the settings", starts)
	}
	for _, name := range []string{"clinic.db", "demo-device.token", "demo-dispenser.yaml"} {
		fi, err := os.Stat(filepath.Join(data, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", name, fi.Mode().Perm(), err)
		}
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	o := options{listen: "127.0.0.1:0", data: dir, silentAfter: 30 * time.Minute, tlsCert: certFile, tlsKey: keyFile}
	s, _ := startTest(t, o)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("https://" + s.listener.Addr().String() + "/login")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("GET /login over TLS = %d, HSTS %q; want 200 with HSTS", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	for _, c := range resp.Cookies() {
		if !c.Secure || !c.HttpOnly {
			t.Errorf("cookie %s over TLS: Secure %v HttpOnly %v, want both", c.Name, c.Secure, c.HttpOnly)
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns a
// pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	return testcert.SelfSigned(t, dir)
}

// TestSystemd: under Type=notify adherenced says READY=1 once its
// database is open and its listener bound (a request then succeeds), feeds
// the watchdog while the database answers, and says STOPPING=1 on its way
// out.
func TestSystemd(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	systemd, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer systemd.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "200000") // a ping every 100 ms
	t.Setenv("WATCHDOG_PID", "")
	read := func() string {
		t.Helper()
		systemd.SetReadDeadline(time.Now().Add(10 * time.Second)) // a hang fails, not a slow machine
		buf := make([]byte, 64)
		n, err := systemd.Read(buf)
		if err != nil {
			t.Fatalf("reading what adherenced told systemd: %v", err)
		}
		return string(buf[:n])
	}

	ctx, cancel := context.WithCancel(context.Background())
	s, err := start(ctx, options{listen: "127.0.0.1:0", data: t.TempDir(), silentAfter: 30 * time.Minute}, io.Discard, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	done := make(chan error, 1)
	go func() { done <- s.serve(ctx) }()
	if got := read(); got != "READY=1" {
		t.Fatalf("first notification = %q, want READY=1", got)
	}
	resp, err := http.Get("http://" + s.listener.Addr().String() + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz after READY=1: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz after READY=1 = %d, want 200", resp.StatusCode)
	}
	if got := read(); got != "WATCHDOG=1" {
		t.Errorf("next notification = %q, want WATCHDOG=1", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	for got := read(); got != "STOPPING=1"; got = read() {
		if got != "WATCHDOG=1" {
			t.Fatalf("notification while stopping = %q, want STOPPING=1", got)
		}
	}
}
