package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/internal/clinictest"
	"github.com/pillbox/pillbox/adherence/clinic/metrics"
)

var t0 = clinictest.T0

const testPassword = clinictest.Password

var batchJSON = clinictest.BatchJSON

// env is the shared clinic fixture (clinictest) served by a Server.
type env struct {
	*clinictest.Fixture
	t       testing.TB
	srv     *Server
	handler http.Handler
}

func newEnv(t testing.TB, cfg ...func(*Config)) *env {
	t.Helper()
	return serve(t, clinictest.New(t), cfg...)
}

// serve serves f with a Server configured by cfg.
func serve(t testing.TB, f *clinictest.Fixture, cfg ...func(*Config)) *env {
	t.Helper()
	// With the metrics, as adherenced serves them, so that the route
	// tests walk GET /metrics too.
	c := Config{Clinic: f.Clinic, Clock: f.Clock, PublicURL: "https://clinic.test",
		Metrics: metrics.New(metrics.Config{Silence: f.Clinic, Clock: f.Clock, Refusals: Refusals})}
	for _, f := range cfg {
		f(&c)
	}
	srv, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return &env{Fixture: f, t: t, srv: srv, handler: srv.Handler()}
}

// do serves one request; auth is "Bearer ..." or a session cookie value.
func (e *env) do(method, target, auth, body string, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	switch {
	case strings.HasPrefix(auth, "Bearer "):
		r.Header.Set("Authorization", auth)
	case auth != "":
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: auth})
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

// login signs in through the form and returns the session cookie value
// and the CSRF token of the session.
func (e *env) login(username, password string) (cookie, csrf string) {
	e.t.Helper()
	w := e.tryLogin(username, password, "192.0.2.1:1234")
	if w.Code != http.StatusSeeOther {
		e.t.Fatalf("login(%s) = %d, want 303; body %s", username, w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			cookie = c.Value
		}
	}
	p, err := e.Clinic.Session(e.Ctx, cookie, clinic.DefaultSessionLimits)
	if err != nil {
		e.t.Fatalf("login(%s): session: %v", username, err)
	}
	return cookie, p.CSRF
}
