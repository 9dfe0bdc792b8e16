package clinic

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestLoginCookieAndIdleLogout(t *testing.T) {
	e := newEnv(t)
	page := e.do("GET", "/login", "", "")
	var loginTok string
	for _, c := range page.Result().Cookies() {
		if c.Name == loginCookie {
			loginTok = c.Value
		}
	}
	post := func(username, password, csrf string) *httptest.ResponseRecorder {
		form := url.Values{"username": {username}, "password": {password}, "csrf": {csrf}, "next": {"//evil.example/"}}
		r := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(&http.Cookie{Name: loginCookie, Value: loginTok})
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		return w
	}
	if w := post("alice", testPassword, "wrong"); w.Code != http.StatusForbidden {
		t.Errorf("login with a wrong form token = %d, want 403", w.Code)
	}
	if w := post("alice", "not the password", loginTok); w.Code != http.StatusUnauthorized {
		t.Errorf("login with a wrong password = %d, want 401", w.Code)
	}
	w := post("alice", testPassword, loginTok)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/panel" {
		t.Fatalf("login = %d to %q, want 303 to /panel (never to another site)", w.Code, w.Header().Get("Location"))
	}
	var sess *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || !sess.Secure || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" {
		t.Fatalf("session cookie = %+v, want HttpOnly, Secure (the public URL is https), SameSite=Lax", sess)
	}
	if w := e.do("GET", "/panel", sess.Value, ""); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), e.patA.DisplayName) {
		t.Fatalf("panel after login = %d, want 200 with alice's patient", w.Code)
	}
	// Requests keep the session alive; 31 idle minutes end it.
	for range 3 {
		e.clock.Advance(20 * time.Minute)
		if w := e.do("GET", "/panel", sess.Value, ""); w.Code != http.StatusOK {
			t.Fatalf("panel 20 minutes after the last request = %d, want 200", w.Code)
		}
	}
	e.clock.Advance(31 * time.Minute)
	if w := e.do("GET", "/panel", sess.Value, ""); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
		t.Errorf("panel after 31 idle minutes = %d %q, want a redirect to /login", w.Code, w.Header().Get("Location"))
	}
	// A session abandoned without a last request is deleted at the next
	// sign-in.
	e.login("bob", testPassword)
	e.clock.Advance(31 * time.Minute)
	e.login("alice", testPassword)
	var n int
	if err := e.store.r.QueryRow(`SELECT count(*) FROM clinic_sessions`).Scan(&n); err != nil || n != 1 {
		t.Errorf("sessions after an abandoned one expired = %d, %v; want 1 (the new one)", n, err)
	}

	es, err := e.store.AuditLog(e.ctx, AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range es {
		actions = append(actions, en.Action+"/"+en.Outcome)
		if strings.Contains(en.Target, testPassword) || strings.Contains(en.Target, "pbs_") {
			t.Errorf("audit entry %+v holds a secret", en)
		}
	}
	joined := strings.Join(actions, " ")
	for _, want := range []string{"login.failure/denied", "login.success/ok", "panel.list/ok"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit actions = %s, want %s", joined, want)
		}
	}
}

func TestLogoutAndCSRF(t *testing.T) {
	e := newEnv(t)
	cookie, csrf := e.login("alice", testPassword)
	if w := e.do("POST", "/logout", cookie, ""); w.Code != http.StatusForbidden {
		t.Errorf("logout without CSRF token = %d, want 403", w.Code)
	}
	if w := e.do("POST", "/logout", cookie, "csrf="+csrf, "Content-Type", "application/x-www-form-urlencoded"); w.Code != http.StatusSeeOther {
		t.Errorf("logout = %d, want 303", w.Code)
	}
	if w := e.do("GET", "/api/v1/patients", cookie, ""); w.Code != http.StatusUnauthorized {
		t.Errorf("API after logout = %d, want 401", w.Code)
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t, func(c *ServerConfig) { c.LoginPerUsername = Rate{Burst: 3, Every: 5 * time.Minute} })
	tok := func() string {
		for _, c := range e.do("GET", "/login", "", "").Result().Cookies() {
			if c.Name == loginCookie {
				return c.Value
			}
		}
		return ""
	}
	try := func(password string) int {
		lt := tok()
		form := url.Values{"username": {"alice"}, "password": {password}, "csrf": {lt}}
		r := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(&http.Cookie{Name: loginCookie, Value: lt})
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		return w.Code
	}
	for i := range 3 {
		if got := try("guess"); got != http.StatusUnauthorized {
			t.Fatalf("failed login %d = %d, want 401", i+1, got)
		}
	}
	if got := try(testPassword); got != http.StatusTooManyRequests {
		t.Errorf("login after 3 failures = %d, want 429 even with the right password", got)
	}
	e.clock.Advance(5 * time.Minute)
	if got := try(testPassword); got != http.StatusSeeOther {
		t.Errorf("login 5 minutes later = %d, want 303", got)
	}
}

func TestTokenRateLimit(t *testing.T) {
	e := newEnv(t, func(c *ServerConfig) { c.PerToken = Rate{Burst: 2, Every: time.Second} })
	auth := "Bearer " + e.apiAlice
	for i, want := range []int{200, 200, 429} {
		if w := e.do("GET", "/api/v1/patients", auth, ""); w.Code != want {
			t.Errorf("request %d = %d, want %d", i+1, w.Code, want)
		}
	}
	e.clock.Advance(time.Second)
	if w := e.do("GET", "/api/v1/patients", auth, ""); w.Code != 200 {
		t.Errorf("request a second later = %d, want 200", w.Code)
	}
}

func TestRemoteBehindProxy(t *testing.T) {
	tests := []struct {
		name, peer, xff, want string
	}{
		{"direct", "203.0.113.9:5000", "198.51.100.1", "203.0.113.9"},
		{"through the proxy", "10.0.0.2:5000", "198.51.100.1", "198.51.100.1"},
		{"spoofed hop before the proxy's", "10.0.0.2:5000", "6.6.6.6, 198.51.100.1", "198.51.100.1"},
		{"proxy chain", "10.0.0.2:5000", "198.51.100.1, 10.0.0.3", "198.51.100.1"},
	}
	e := newEnv(t, func(c *ServerConfig) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			r.Header.Set("X-Forwarded-For", tc.xff)
			if got := e.srv.remote(r); got != tc.want {
				t.Errorf("remote(peer %s, X-Forwarded-For %s) = %s, want %s", tc.peer, tc.xff, got, tc.want)
			}
		})
	}
}
