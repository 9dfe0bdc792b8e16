package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/schedule"
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
	if w := e.do("GET", "/panel", sess.Value, ""); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), e.PatA.DisplayName) {
		t.Fatalf("panel after login = %d, want 200 with alice's patient", w.Code)
	}
	// Requests keep the session alive; 31 idle minutes end it.
	for range 3 {
		e.Clock.Advance(20 * time.Minute)
		if w := e.do("GET", "/panel", sess.Value, ""); w.Code != http.StatusOK {
			t.Fatalf("panel 20 minutes after the last request = %d, want 200", w.Code)
		}
	}
	e.Clock.Advance(31 * time.Minute)
	if w := e.do("GET", "/panel", sess.Value, ""); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
		t.Errorf("panel after 31 idle minutes = %d %q, want a redirect to /login", w.Code, w.Header().Get("Location"))
	}
	// A session abandoned without a last request is deleted at the next
	// sign-in.
	bob, _ := e.login("bob", testPassword)
	e.Clock.Advance(31 * time.Minute)
	alice, _ := e.login("alice", testPassword)
	if _, _, err := e.Store.Session(e.Ctx, clinic.HashSecret(bob)); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("the store's abandoned session after the next sign-in: %v, want none (ErrNotFound)", err)
	}
	if _, _, err := e.Store.Session(e.Ctx, clinic.HashSecret(alice)); err != nil {
		t.Errorf("the store's new session: %v", err)
	}

	es, err := e.Clinic.AuditLog(e.Ctx, clinic.AuditQuery{Limit: 1000})
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

// tryLogin posts the sign-in form from remote and returns the answer.
func (e *env) tryLogin(username, password, remote string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.tryLoginAt(e.handler, username, password, remote)
}

// tryLoginAt is tryLogin through another server's handler h.
func (e *env) tryLoginAt(h http.Handler, username, password, remote string) *httptest.ResponseRecorder {
	e.t.Helper()
	var lt string
	for _, c := range e.do("GET", "/login", "", "").Result().Cookies() {
		if c.Name == loginCookie {
			lt = c.Value
		}
	}
	form := url.Values{"username": {username}, "password": {password}, "csrf": {lt}}
	r := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(&http.Cookie{Name: loginCookie, Value: lt})
	r.RemoteAddr = remote
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestLoginDelays: failures past a free few make the account wait a
// little longer each time, with the right password too, but never for
// good: after the wait the right password signs in, and clears the
// account's count. The delays live in the database, so a second server on
// it (another adherenced) applies them too.
func TestLoginDelays(t *testing.T) {
	e := newEnv(t)
	const from = "198.51.100.7:4000"
	for i := range clinic.DefaultAccountDelay.Free {
		if w := e.tryLogin("alice", "guess", from); w.Code != http.StatusUnauthorized || w.Header().Get("Retry-After") != "" {
			t.Fatalf("failure %d = %d (Retry-After %q), want 401 without a wait", i+1, w.Code, w.Header().Get("Retry-After"))
		}
	}
	waits := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	for i, wait := range waits {
		w := e.tryLogin("alice", "guess", from)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "Try again in "+waitText(wait)) {
			t.Fatalf("failure %d past the free ones = %d, want 401 saying to wait %s", i+1, w.Code, waitText(wait))
		}
		if w := e.tryLogin("alice", testPassword, from); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
			t.Errorf("right password during the %v wait = %d, want 429 with Retry-After", wait, w.Code)
		}
		other, err := New(Config{Clinic: e.Clinic, Clock: e.Clock})
		if err != nil {
			t.Fatal(err)
		}
		if w := e.tryLoginAt(other.Handler(), "alice", testPassword, from); w.Code != http.StatusTooManyRequests {
			t.Errorf("right password on a second server during the wait = %d, want 429", w.Code)
		}
		e.Clock.Advance(wait)
	}
	if w := e.tryLogin("alice", testPassword, from); w.Code != http.StatusSeeOther {
		t.Fatalf("right password after the wait = %d, want 303", w.Code)
	}
	if w := e.tryLogin("alice", "guess", from); w.Code != http.StatusUnauthorized || w.Header().Get("Retry-After") != "" {
		t.Errorf("a failure after signing in = %d (Retry-After %q), want 401 without a wait: the count starts again", w.Code, w.Header().Get("Retry-After"))
	}
	// The longest wait is a minute: a guesser can slow a clinician, not
	// lock them out (from many networks, so only the account's count
	// grows).
	for i := range 30 {
		e.tryLogin("bob", "guess", fmt.Sprintf("203.0.113.%d:4000", i+1))
		e.Clock.Advance(2 * time.Minute)
	}
	if w := e.tryLogin("bob", "guess", "203.0.113.99:4000"); w.Code != http.StatusUnauthorized || w.Header().Get("Retry-After") != "61" {
		t.Errorf("after 31 failures = %d with Retry-After %q, want 401 and a wait of a minute", w.Code, w.Header().Get("Retry-After"))
	}
	es, _ := e.Clinic.AuditLog(e.Ctx, clinic.AuditQuery{Limit: 1000})
	throttled := 0
	for _, en := range es {
		if en.Action == "login.throttled" && en.Outcome == "throttled" && en.Remote == "198.51.100.7" {
			throttled++
		}
	}
	if throttled != 2*len(waits) { // each wait refused the right password on both servers
		t.Errorf("login.throttled audit entries = %d, want %d", throttled, 2*len(waits))
	}
}

// TestLoginDelaysPerNetwork: guesses at many accounts from one network
// slow that network (an IPv6 client counts by its /64, whatever address
// it takes in it) and no other.
func TestLoginDelaysPerNetwork(t *testing.T) {
	e := newEnv(t)
	for i := range clinic.DefaultNetworkDelay.Free {
		from := fmt.Sprintf("[2001:db8:1:2::%x]:4000", i+1)
		if w := e.tryLogin(fmt.Sprintf("user%d", i), "guess", from); w.Code != http.StatusUnauthorized || w.Header().Get("Retry-After") != "" {
			t.Fatalf("failure %d from the /64 = %d, want 401 without a wait", i+1, w.Code)
		}
	}
	if w := e.tryLogin("someone", "guess", "[2001:db8:1:2::ffff]:4000"); w.Code != http.StatusUnauthorized || w.Header().Get("Retry-After") == "" {
		t.Errorf("failure past the network's free ones = %d, want 401 with a wait", w.Code)
	}
	if w := e.tryLogin("alice", testPassword, "[2001:db8:1:2::abcd]:4000"); w.Code != http.StatusTooManyRequests {
		t.Errorf("sign-in from the same /64 during its wait = %d, want 429", w.Code)
	}
	if w := e.tryLogin("alice", testPassword, "[2001:db8:1:3::1]:4000"); w.Code != http.StatusSeeOther {
		t.Errorf("sign-in from another /64 = %d, want 303", w.Code)
	}
}

// TestLimiterKeepsBusyBuckets: a flood of new keys never resets a busy
// key's bucket; beyond the limiter's size new keys share one bucket.
func TestLimiterKeepsBusyBuckets(t *testing.T) {
	clock := schedule.NewSimClock(t0)
	l := newLimiter(Rate{Burst: 1, Every: time.Hour}, clock)
	if ok, _ := l.allow("victim"); !ok {
		t.Fatal("first request refused")
	}
	for i := range 2 * maxBuckets {
		l.allow(fmt.Sprintf("flood%d", i))
	}
	if ok, _ := l.allow("victim"); ok {
		t.Error("a busy key was allowed again after a flood of new keys")
	}
	if ok, _ := l.allow("newcomer"); ok {
		t.Error("a new key beyond the limiter's size got a bucket of its own")
	}
	if n := len(l.buckets); n > maxBuckets+1 {
		t.Errorf("limiter holds %d buckets, want at most %d", n, maxBuckets+1)
	}
}

func TestTokenRateLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PerToken = Rate{Burst: 2, Every: time.Second} })
	auth := "Bearer " + e.APIAlice
	for i, want := range []int{200, 200, 429} {
		if w := e.do("GET", "/api/v1/patients", auth, ""); w.Code != want {
			t.Errorf("request %d = %d, want %d", i+1, w.Code, want)
		}
	}
	e.Clock.Advance(time.Second)
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
	e := newEnv(t, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
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

func TestDisabledUserLosesAccess(t *testing.T) {
	e := newEnv(t)
	cookie, _ := e.login("alice", testPassword)
	if err := e.Clinic.SetUserDisabled(e.Ctx, clinic.CLI("test"), e.Alice.ID, true); err != nil {
		t.Fatal(err)
	}
	for _, auth := range []string{cookie, "Bearer " + e.APIAlice} {
		if w := e.do("GET", "/api/v1/patients", auth, ""); w.Code != 401 {
			t.Errorf("API as a disabled user = %d, want 401", w.Code)
		}
	}
	if _, err := e.Clinic.CheckPassword(e.Ctx, "alice", testPassword); !errors.Is(err, clinic.ErrBadLogin) {
		t.Errorf("CheckPassword(disabled) = %v, want clinic.ErrBadLogin", err)
	}
}
