package clinic_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/internal/clinictest"
	"github.com/pillbox/pillbox/adherence/clinic/web"
)

// signIn posts the sign-in form to h as a browser would (the form's
// cookie first) and returns the answer.
func signIn(t *testing.T, h http.Handler, username, password string) *httptest.ResponseRecorder {
	t.Helper()
	page := httptest.NewRecorder()
	h.ServeHTTP(page, httptest.NewRequest("GET", "/login", nil))
	var form *http.Cookie
	for _, c := range page.Result().Cookies() {
		if c.Name == "pillbox_login" {
			form = c
		}
	}
	if form == nil {
		t.Fatal("GET /login set no form cookie")
	}
	body := url.Values{"username": {username}, "password": {password}, "csrf": {form.Value}}
	r := httptest.NewRequest("POST", "/login", strings.NewReader(body.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(form)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestHashQueue: at most two password hashes run at once (each holds
// 64 MiB); a sign-in that finds both busy waits for one up to HashWait,
// then is refused with 503 and Retry-After, for a known and an unknown
// username alike, and the refusal is audited.
func TestHashQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := clinictest.New(t)
		srv, err := web.New(web.Config{Clinic: e.Clinic, Clock: e.Clock})
		if err != nil {
			t.Fatal(err)
		}
		h := srv.Handler()
		e.Clinic.HashWait = 3 * time.Second
		if clinic.ConcurrentHashes != 2 {
			t.Fatalf("concurrent hashes = %d, want 2", clinic.ConcurrentHashes)
		}
		// Two sign-ins hold both hashes.
		release := clinic.HoldHashes(e.Clinic, 2)
		for _, user := range []string{"alice", "nobody"} {
			start := time.Now()
			if _, err := e.Clinic.CheckPassword(e.Ctx, user, clinictest.Password); !errors.Is(err, clinic.ErrBusy) {
				t.Errorf("CheckPassword(%s) with both hashes busy = %v, want ErrBusy", user, err)
			}
			if waited := time.Since(start); waited != 3*time.Second {
				t.Errorf("CheckPassword(%s) waited %v, want HashWait (3s)", user, waited)
			}
		}
		w := signIn(t, h, "alice", clinictest.Password)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Errorf("sign-in with both hashes busy = %d (Retry-After %q), want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
		}
		// One hash is released while a sign-in waits: it goes through.
		done := make(chan int)
		go func() { done <- signIn(t, h, "alice", clinictest.Password).Code }()
		time.Sleep(time.Second)
		release()
		if code := <-done; code != http.StatusSeeOther {
			t.Errorf("sign-in that waited 1s for a hash = %d, want 303", code)
		}
		es, _ := e.Clinic.AuditLog(e.Ctx, clinic.AuditQuery{Limit: 1000})
		busy := 0
		for _, en := range es {
			if en.Action == "login.busy" {
				busy++
			}
		}
		if busy != 1 {
			t.Errorf("login.busy audit entries = %d, want 1", busy)
		}
	})
}
