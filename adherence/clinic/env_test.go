package clinic

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/schedule"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// cheap makes password hashing fast enough for tests; the production cost
// is tested once in TestPasswordDefaultCost.
var cheap = PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1}

const testPassword = "correct horse battery"

// env is a clinic with two clinicians on separate panels, an admin, one
// patient on each panel with a registered device, and tokens of each kind.
type env struct {
	t       testing.TB
	ctx     context.Context
	clock   *schedule.SimClock
	st      *adherence.Store
	store   *Store
	srv     *Server
	handler http.Handler

	alice, bob, admin User    // alice has patient A, bob patient B
	patA, patB        Patient // patA on alice's panel, patB on bob's
	devA, devB        Device
	tokA, tokB        string // device tokens
	apiAlice, apiBob  string // API tokens
	revokedAPI        string // alice's revoked API token
	revokedDevice     string // devA's token before rotation
}

func newEnv(t testing.TB, cfg ...func(*ServerConfig)) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, ctx: ctx, clock: schedule.NewSimClock(t0)}
	var err error
	if e.st, err = adherence.OpenMemory(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	if e.store, err = Open(ctx, e.st, e.clock); err != nil {
		t.Fatal(err)
	}
	e.store.Password = cheap
	cli := CLI("test")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	e.alice, err = e.store.CreateUser(ctx, cli, "alice", "Dr Alice", RoleClinician, testPassword)
	must(err)
	e.bob, err = e.store.CreateUser(ctx, cli, "bob", "Dr Bob", RoleClinician, testPassword)
	must(err)
	e.admin, err = e.store.CreateUser(ctx, cli, "root", "Admin", RoleAdmin, testPassword)
	must(err)
	e.patA, err = e.store.CreatePatient(ctx, cli, "Ann Patient")
	must(err)
	e.patB, err = e.store.CreatePatient(ctx, cli, "Ben Patient")
	must(err)
	must(e.store.SetPanel(ctx, cli, e.alice.ID, e.patA.ID, true))
	must(e.store.SetPanel(ctx, cli, e.bob.ID, e.patB.ID, true))
	must(e.store.AddCaregiver(ctx, cli, e.patA.ID, Caregiver{Name: "Carol", Phone: "+15555550101"}))
	must(e.store.AddCaregiver(ctx, cli, e.patA.ID, Caregiver{Name: "Dan", Phone: "+15555550102"}))
	e.devA, e.revokedDevice, err = e.store.RegisterDevice(ctx, cli, e.patA.ID, "kitchen")
	must(err)
	e.tokA, err = e.store.RotateDeviceToken(ctx, cli, e.devA.ID)
	must(err)
	e.devB, e.tokB, err = e.store.RegisterDevice(ctx, cli, e.patB.ID, "")
	must(err)
	e.apiAlice, err = e.store.IssueAPIToken(ctx, cli, e.alice.ID, "script")
	must(err)
	e.apiBob, err = e.store.IssueAPIToken(ctx, cli, e.bob.ID, "")
	must(err)
	e.revokedAPI, err = e.store.IssueAPIToken(ctx, cli, e.alice.ID, "old")
	must(err)
	p, err := e.store.Authenticate(ctx, e.revokedAPI)
	must(err)
	must(e.store.RevokeToken(ctx, cli, p.TokenID))

	sc := ServerConfig{Store: e.store, Clock: e.clock, PublicURL: "https://clinic.test"}
	for _, f := range cfg {
		f(&sc)
	}
	if e.srv, err = NewServer(sc); err != nil {
		t.Fatal(err)
	}
	e.handler = e.srv.Handler()
	return e
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
	p, err := e.store.Session(e.ctx, cookie, DefaultSessionLimits)
	if err != nil {
		e.t.Fatalf("login(%s): session: %v", username, err)
	}
	return cookie, p.CSRF
}
