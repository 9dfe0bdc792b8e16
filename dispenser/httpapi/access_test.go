package httpapi

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

const testToken = "s3cr3t-t0ken-0123456789abcdef"

// accessServer serves a page at / and an endpoint at /api/x behind an
// Access configured by c, on a real loopback listener, and returns its
// address and the Access.
func accessServer(t *testing.T, c AccessConfig) (string, *Access) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.Listen, c.Port = l.Addr().String(), l.Addr().(*net.TCPAddr).Port
	if c.Pages == nil {
		c.Pages = []string{"/", "/panel/"}
	}
	a := NewAccess(c)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page") })
	mux.HandleFunc("/api/x", func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, 200, map[string]string{"phi": "Margaret"}) })
	srv := httptest.NewUnstartedServer(a.Wrap(mux))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return l.Addr().String(), a
}

// req is one request of a table: what to change from a plain request by a
// local script.
type req struct {
	method, path string
	host         string // "" for the listener's own address
	headers      map[string]string
}

func (q req) send(t *testing.T, addr string) *http.Response {
	t.Helper()
	var body io.Reader
	if q.method == "POST" {
		body = strings.NewReader(`{}`)
	}
	r, err := http.NewRequest(q.method, "http://"+addr+q.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if q.host != "" {
		r.Host = q.host
	}
	for k, v := range q.headers {
		r.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	for k := range resp.Header {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Errorf("%s %s answered with %s: no CORS header may ever be sent", q.method, q.path, k)
		}
	}
	return resp
}

func hdr(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

const jsonCT = "application/json"

// The device (not sim): every /api/ route needs the token, whatever else
// the request gets right; the panel's page needs none.
func TestAccessDevice(t *testing.T) {
	tok := &Token{}
	tok.Set(testToken)
	addr, _ := accessServer(t, AccessConfig{Token: tok})
	_, port, _ := net.SplitHostPort(addr)
	bearer := "Bearer " + testToken
	tests := []struct {
		name string
		req  req
		want int
	}{
		{"no token", req{"GET", "/api/x", "", nil}, 401},
		{"the token", req{"GET", "/api/x", "", hdr("Authorization", bearer)}, 200},
		{"the token, scheme in lower case, two spaces", req{"GET", "/api/x", "", hdr("Authorization", "bearer  "+testToken)}, 200},
		{"a wrong token", req{"GET", "/api/x", "", hdr("Authorization", "Bearer "+strings.ToUpper(testToken))}, 401},
		{"basic auth", req{"GET", "/api/x", "", hdr("Authorization", "Basic "+testToken)}, 401},
		{"the token as a cookie", req{"GET", "/api/x", "", hdr("Cookie", "pillbox_panel_"+port+"="+testToken)}, 401},
		{"POST with the token and JSON", req{"POST", "/api/x", "", hdr("Authorization", bearer, "Content-Type", jsonCT)}, 200},
		{"POST with the token, no Content-Type", req{"POST", "/api/x", "", hdr("Authorization", bearer)}, 415},
		{"POST with the token, text/plain", req{"POST", "/api/x", "", hdr("Authorization", bearer, "Content-Type", "text/plain")}, 415},
		{"POST with the token, a form", req{"POST", "/api/x", "", hdr("Authorization", bearer, "Content-Type", "application/x-www-form-urlencoded")}, 415},
		{"the token, rebound Host", req{"GET", "/api/x", "evil.example", hdr("Authorization", bearer)}, 421},
		{"the token, rebound Host with our port", req{"GET", "/api/x", "evil.example:" + port, hdr("Authorization", bearer)}, 421},
		{"the token, another Origin", req{"POST", "/api/x", "", hdr("Authorization", bearer, "Content-Type", jsonCT, "Origin", "http://127.0.0.1:1")}, 403},
		{"the page, no token", req{"GET", "/", "", nil}, 200},
		{"an unknown path, no token", req{"GET", "/nothing", "", nil}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := tt.req.send(t, addr)
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s (%s) = %d, want %d", tt.req.method, tt.req.path, tt.name, resp.StatusCode, tt.want)
			}
			if resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") != `Bearer realm="pillbox"` {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
		})
	}
}

// Without a token installed, the device's API refuses every credential.
func TestAccessNoToken(t *testing.T) {
	addr, _ := accessServer(t, AccessConfig{})
	for _, h := range []map[string]string{nil, hdr("Authorization", "Bearer "+testToken), hdr("Authorization", "Bearer ")} {
		if got := (req{"GET", "/api/x", "", h}).send(t, addr).StatusCode; got != 401 {
			t.Errorf("GET /api/x with %v and no token installed = %d, want 401", h, got)
		}
	}
}

// Sim mode: scripts on this machine need nothing; a browser needs the
// panel's session, and nothing from another origin or site gets through.
func TestAccessSim(t *testing.T) {
	addr, a := accessServer(t, AccessConfig{Sim: true, Session: "panel-session-secret"})
	_, port, _ := net.SplitHostPort(addr)
	cookie := a.cookie + "=panel-session-secret"
	self := "http://" + addr
	tests := []struct {
		name string
		req  req
		want int
	}{
		{"a script", req{"GET", "/api/x", "", nil}, 200},
		{"a script's POST", req{"POST", "/api/x", "", hdr("Content-Type", jsonCT)}, 200},
		{"a script's POST, no Content-Type", req{"POST", "/api/x", "", nil}, 415},
		{"a script's POST, JSON in latin1", req{"POST", "/api/x", "", hdr("Content-Type", "application/json; charset=latin1")}, 415},
		{"Host localhost", req{"GET", "/api/x", "localhost:" + port, nil}, 200},
		{"Host LOCALHOST", req{"GET", "/api/x", "LOCALHOST:" + port, nil}, 200},
		{"Host [::1]", req{"GET", "/api/x", "[::1]:" + port, nil}, 200},
		{"Host [0:0::1]", req{"GET", "/api/x", "[0:0::1]:" + port, nil}, 200},
		{"Host evil.example", req{"GET", "/api/x", "evil.example", nil}, 421},
		{"Host evil.example, the page", req{"GET", "/", "evil.example:" + port, nil}, 421},
		{"Host localhost. (trailing dot)", req{"GET", "/api/x", "localhost.:" + port, nil}, 421},
		{"Host localhost, another port", req{"GET", "/api/x", "localhost:1", nil}, 421},
		{"Host localhost, no port", req{"GET", "/api/x", "localhost", nil}, 421},
		{"Host 127.1", req{"GET", "/api/x", "127.1:" + port, nil}, 421},
		{"Host with user info", req{"GET", "/api/x", "a@127.0.0.1:" + port, nil}, 421},
		{"a browser, same origin, no session", req{"GET", "/api/x", "", hdr("Sec-Fetch-Site", "same-origin")}, 401},
		{"a browser, same origin, the session", req{"GET", "/api/x", "", hdr("Sec-Fetch-Site", "same-origin", "Cookie", cookie)}, 200},
		{"a browser, same origin, a wrong session", req{"GET", "/api/x", "", hdr("Sec-Fetch-Site", "same-origin", "Cookie", a.cookie+"=guess")}, 401},
		{"a browser POST, the session", req{"POST", "/api/x", "", hdr("Sec-Fetch-Site", "same-origin", "Origin", self, "Cookie", cookie, "Content-Type", jsonCT)}, 200},
		{"a browser POST, the session, text/plain", req{"POST", "/api/x", "", hdr("Sec-Fetch-Site", "same-origin", "Origin", self, "Cookie", cookie, "Content-Type", "text/plain")}, 415},
		{"typed into the address bar, the session", req{"GET", "/api/x", "", hdr("Sec-Fetch-Site", "none", "Cookie", cookie)}, 200},
		{"another port's page, the session", req{"GET", "/api/x", "", hdr("Sec-Fetch-Site", "same-site", "Cookie", cookie)}, 403},
		{"another site's page, the session", req{"GET", "/api/x", "", hdr("Sec-Fetch-Site", "cross-site", "Cookie", cookie)}, 403},
		{"another port's POST", req{"POST", "/api/x", "", hdr("Origin", "http://127.0.0.1:1", "Cookie", cookie, "Content-Type", jsonCT)}, 403},
		{"an Origin of null", req{"POST", "/api/x", "", hdr("Origin", "null", "Content-Type", jsonCT)}, 403},
		{"an https Origin of our host", req{"POST", "/api/x", "", hdr("Origin", "https://"+addr, "Content-Type", jsonCT)}, 403},
		{"a script with an Origin of ours", req{"POST", "/api/x", "", hdr("Origin", self, "Content-Type", jsonCT)}, 401},
		{"a POST typed nowhere (none)", req{"POST", "/api/x", "", hdr("Sec-Fetch-Site", "none", "Cookie", cookie, "Content-Type", jsonCT)}, 403},
		{"a link from another site to the page", req{"GET", "/", "", hdr("Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate")}, 200},
		{"a link from another site to the API", req{"GET", "/api/x", "", hdr("Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Cookie", cookie)}, 403},
		{"an image of the page from another site", req{"GET", "/", "", hdr("Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors")}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.req.send(t, addr).StatusCode; got != tt.want {
				t.Errorf("%s %s (%s) = %d, want %d", tt.req.method, tt.req.path, tt.name, got, tt.want)
			}
		})
	}
}

// The panel's page sets the session: HttpOnly, so no page script reads it
// (a page on another port of this host would see it otherwise), and
// SameSite=Strict.
func TestAccessSessionCookie(t *testing.T) {
	addr, a := accessServer(t, AccessConfig{Sim: true, Session: "panel-session-secret"})
	resp := (req{"GET", "/", "", hdr("Sec-Fetch-Site", "none", "Sec-Fetch-Mode", "navigate")}).send(t, addr)
	var got *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == a.cookie {
			got = c
		}
	}
	if got == nil || got.Value != "panel-session-secret" || !got.HttpOnly || got.SameSite != http.SameSiteStrictMode || got.Path != "/" {
		t.Errorf("GET / set cookie %+v, want %s=the secret, HttpOnly, SameSite=Strict, Path=/", got, a.cookie)
	}
	if resp := (req{"GET", "/api/x", "", nil}).send(t, addr); len(resp.Cookies()) != 0 {
		t.Errorf("GET /api/x set cookies %v, want none (only the page starts a session)", resp.Cookies())
	}
	// Not in device mode, where there is no panel.
	daddr, _ := accessServer(t, AccessConfig{Session: "panel-session-secret"})
	if resp := (req{"GET", "/", "", nil}).send(t, daddr); len(resp.Cookies()) != 0 {
		t.Errorf("device GET / set cookies %v, want none", resp.Cookies())
	}
}

// Rotating the token: the new one works at once, the old one no more.
func TestTokenRotation(t *testing.T) {
	tok := &Token{}
	tok.Set(testToken)
	addr, _ := accessServer(t, AccessConfig{Token: tok})
	const next = "n3xt-t0ken-0123456789abcdef"
	tok.Set(next)
	for _, tc := range []struct {
		token string
		want  int
	}{{testToken, 401}, {next, 200}} {
		if got := (req{"GET", "/api/x", "", hdr("Authorization", "Bearer "+tc.token)}).send(t, addr).StatusCode; got != tc.want {
			t.Errorf("GET /api/x with the %s token = %d, want %d", map[bool]string{true: "new", false: "old"}[tc.token == next], got, tc.want)
		}
	}
}

// A server wired without a policy is closed, not open.
func TestServerWithoutAccess(t *testing.T) {
	rec := httptest.NewRecorder()
	(&Server{}).Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/status", nil))
	if rec.Code != http.StatusForbidden {
		t.Errorf("GET /api/status with no Access = %d, want 403", rec.Code)
	}
}

// A listener given a name or a LAN address answers to it too, an
// unspecified one only to loopback names.
func TestAccessHosts(t *testing.T) {
	for _, tc := range []struct {
		listen string
		tls    bool
		host   string
		want   bool
	}{
		{"pillbox.local:8443", true, "pillbox.local:8443", true},
		{"pillbox.local:8443", true, "Pillbox.Local:8443", true},
		{"192.168.1.20:8443", true, "192.168.1.20:8443", true},
		{"0.0.0.0:8443", true, "0.0.0.0:8443", false},
		{"0.0.0.0:8443", true, "localhost:8443", true},
		{"[::]:8443", true, "[::]:8443", false},
		{"127.0.0.1:443", true, "localhost", true},
		{"127.0.0.1:80", false, "localhost", true},
		{"127.0.0.1:80", false, "localhost:443", false},
	} {
		_, port, _ := net.SplitHostPort(tc.listen)
		p, _ := strconv.Atoi(port)
		a := NewAccess(AccessConfig{Listen: tc.listen, Port: p, TLS: tc.tls})
		h, ok := a.authority(tc.host)
		if got := ok && a.hosts[h]; got != tc.want {
			t.Errorf("listening on %s (TLS %t), Host %q accepted = %t, want %t", tc.listen, tc.tls, tc.host, got, tc.want)
		}
	}
}

func TestParseBearer(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"Bearer " + testToken, testToken, true},
		{"BEARER " + testToken, testToken, true},
		{"Bearer   " + testToken, testToken, true},
		{"Bearer " + testToken + " ", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer short", "", false},
		{"Bearer " + testToken + "==", testToken + "==", true},
		{"Bearer ==" + testToken, "", false},
		{"Bearer " + testToken + "\x00", "", false},
		{"Bearer\t" + testToken, "", false},
		{"Token " + testToken, "", false},
		{"Bearer " + strings.Repeat("a", MaxTokenLen+1), "", false},
	} {
		got, ok := ParseBearer(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseBearer(%q) = %q, %t, want %q, %t", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCanonicalHost(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"localhost:8080", "localhost:8080", true},
		{"LocalHost:8080", "localhost:8080", true},
		{"127.0.0.1:8080", "127.0.0.1:8080", true},
		{"[::1]:8080", "[::1]:8080", true},
		{"[0:0:0:0:0:0:0:1]:8080", "[::1]:8080", true},
		{"[::1]", "[::1]", true},
		{"pillbox.local", "pillbox.local", true},
		{"::1:8080", "", false},
		{"[::1%lo]:8080", "", false},
		{"[::ffff:127.0.0.1]:8080", "[::ffff:127.0.0.1]:8080", true},
		{"localhost.:8080", "", false},
		{"localhost:", "", false},
		{"localhost:08080", "", false},
		{"localhost:+80", "", false},
		{"localhost:0", "", false},
		{"localhost:65536", "", false},
		{"evil.example", "evil.example", true},
		{"a@localhost:8080", "", false},
		{"local_host:8080", "", false},
		{"-x.example", "", false},
		{"[::1]x", "", false},
		{"[::1", "", false},
		{"127.0.0.01:8080", "", false},
		{"", "", false},
	} {
		got, ok := CanonicalHost(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("CanonicalHost(%q) = %q, %t, want %q, %t", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// Whatever a client sends as Host, the answer is a canonical host that
// canonicalises to itself, or a refusal; never a panic.
func FuzzCanonicalHost(f *testing.F) {
	for _, s := range []string{"localhost:8080", "[::1]:8080", "127.0.0.1", "evil.example:80", "[::1%25eth0]:1", "a..b", ":80", "[]:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got, ok := CanonicalHost(h)
		if !ok {
			if got != "" {
				t.Errorf("CanonicalHost(%q) refused but returned %q", h, got)
			}
			return
		}
		again, ok2 := CanonicalHost(got)
		if !ok2 || again != got {
			t.Errorf("CanonicalHost(%q) = %q, which canonicalises to %q, %t", h, got, again, ok2)
		}
		if strings.ContainsAny(got, "@/?#% \t\r\n") || strings.ToLower(got) != got {
			t.Errorf("CanonicalHost(%q) = %q, not a canonical host", h, got)
		}
	})
}

// Whatever a client sends as Authorization, a token is returned only when
// it is a valid one and is what the header carried after "Bearer ".
func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer " + testToken, "bearer x", "Bearer", "Basic abc", "Bearer  a=b" + testToken} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := ParseBearer(h)
		if !ok {
			return
		}
		if !ValidToken(tok) || !strings.HasSuffix(h, " "+tok) || !strings.EqualFold(h[:6], "bearer") {
			t.Errorf("ParseBearer(%q) = %q: not the header's valid token", h, tok)
		}
		var tk Token
		tk.Set(tok)
		if !tk.Valid(tok) || tk.Valid(tok+"x") {
			t.Errorf("a Token set to %q does not accept exactly it", tok)
		}
	})
}
