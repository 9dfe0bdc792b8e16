package clinic

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestPasswordHash(t *testing.T) {
	e := newEnv(t)
	h, err := e.store.hashPassword(e.ctx, testPassword, cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(h, testPassword) {
		t.Fatalf("hashPassword = %q, want an argon2id PHC string", h)
	}
	tests := []struct {
		name, phc, pw string
		want          bool
		wantErr       error
	}{
		{"right password", h, testPassword, true, nil},
		{"wrong password", h, testPassword + "!", false, nil},
		{"not PHC", "plain", testPassword, false, errBadHash},
		{"other algorithm", strings.Replace(h, "argon2id", "argon2i", 1), testPassword, false, errBadHash},
		{"memory too large", strings.Replace(h, "m=64", "m=99999999", 1), testPassword, false, errBadHash},
		{"zero passes", strings.Replace(h, "t=1", "t=0", 1), testPassword, false, errBadHash},
		{"bad salt", strings.Replace(h, "$argon2id$v=19$m=64,t=1,p=1$", "$argon2id$v=19$m=64,t=1,p=1$!!", 1), testPassword, false, errBadHash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.store.verifyPassword(e.ctx, tc.phc, tc.pw)
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("verifyPassword = %v, %v; want %v, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestPasswordDefaultCost checks that the production cost is what the
// package doc promises, on one hash.
func TestPasswordDefaultCost(t *testing.T) {
	e := newEnv(t)
	h, err := e.store.hashPassword(e.ctx, testPassword, DefaultPasswordParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Errorf("default hash = %q, want m=65536,t=3,p=4", h)
	}
	if ok, err := e.store.verifyPassword(e.ctx, h, testPassword); !ok || err != nil {
		t.Errorf("verifyPassword(default hash) = %v, %v; want true", ok, err)
	}
}

func TestPasswordRules(t *testing.T) {
	tests := []struct {
		pw string
		ok bool
	}{
		{"short", false},
		{"twelve chars", true},
		{strings.Repeat("x", 257), false},
		{"\xff\xfe invalid utf8", false},
	}
	for _, tc := range tests {
		if err := CheckPasswordRules(tc.pw); (err == nil) != tc.ok {
			t.Errorf("CheckPasswordRules(%q) = %v, want ok %v", tc.pw, err, tc.ok)
		}
	}
}

func TestDisabledUserLosesAccess(t *testing.T) {
	e := newEnv(t)
	cookie, _ := e.login("alice", testPassword)
	if err := e.store.SetUserDisabled(e.ctx, CLI("test"), e.alice.ID, true); err != nil {
		t.Fatal(err)
	}
	for _, auth := range []string{cookie, "Bearer " + e.apiAlice} {
		if w := e.do("GET", "/api/v1/patients", auth, ""); w.Code != 401 {
			t.Errorf("API as a disabled user = %d, want 401", w.Code)
		}
	}
	if _, err := e.store.CheckPassword(e.ctx, "alice", testPassword); !errors.Is(err, ErrBadLogin) {
		t.Errorf("CheckPassword(disabled) = %v, want ErrBadLogin", err)
	}
}

func TestSetupDemo(t *testing.T) {
	e := newEnv(t)
	d1, err := e.store.SetupDemo(e.ctx, CLI("test"), "Margaret (demo)", "")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := e.store.Authenticate(e.ctx, d1.Token); err != nil || p.DeviceID != DemoDeviceID || p.PatientID != d1.PatientID {
		t.Fatalf("demo token authenticates as %+v, %v; want the demo device", p, err)
	}
	if _, err := e.store.CheckPassword(e.ctx, "demo", d1.Password); err != nil {
		t.Fatalf("demo login: %v", err)
	}
	// Again, keeping the token: same patient, same token, new password.
	d2, err := e.store.SetupDemo(e.ctx, CLI("test"), "Margaret (demo)", d1.Token)
	if err != nil {
		t.Fatal(err)
	}
	if d2.Token != d1.Token || d2.PatientID != d1.PatientID || d2.Password == d1.Password {
		t.Errorf("second SetupDemo = %+v, want the same token and patient and a new password", d2)
	}
	// Without the token: a new one, the old revoked.
	d3, err := e.store.SetupDemo(e.ctx, CLI("test"), "Margaret (demo)", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Authenticate(e.ctx, d1.Token); d3.Token == d1.Token || !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("third SetupDemo kept the old token (%v), want it rotated", err)
	}
	if ok, _ := e.store.OnPanel(e.ctx, mustUser(t, e, "demo").ID, d3.PatientID); !ok {
		t.Error("demo patient is not on the demo clinician's panel")
	}
}

func mustUser(t *testing.T, e *env, name string) User {
	t.Helper()
	u, err := e.store.UserByName(e.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestHashQueue: at most two password hashes run at once (each holds
// 64 MiB); a sign-in that finds both busy waits for one up to HashWait,
// then is refused with 503 and Retry-After, for a known and an unknown
// username alike, and the refusal is audited.
func TestHashQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.store.HashWait = 3 * time.Second
		if cap(e.store.hashing) != 2 {
			t.Fatalf("concurrent hashes = %d, want 2", cap(e.store.hashing))
		}
		// Two sign-ins hold both hashes.
		e.store.hashing <- struct{}{}
		e.store.hashing <- struct{}{}
		for _, user := range []string{"alice", "nobody"} {
			start := time.Now()
			if _, err := e.store.CheckPassword(e.ctx, user, testPassword); !errors.Is(err, ErrBusy) {
				t.Errorf("CheckPassword(%s) with both hashes busy = %v, want ErrBusy", user, err)
			}
			if waited := time.Since(start); waited != 3*time.Second {
				t.Errorf("CheckPassword(%s) waited %v, want HashWait (3s)", user, waited)
			}
		}
		w := e.tryLogin("alice", testPassword, "192.0.2.1:1")
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Errorf("sign-in with both hashes busy = %d (Retry-After %q), want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
		}
		// One hash is released while a sign-in waits: it goes through.
		done := make(chan int)
		go func() { done <- e.tryLogin("alice", testPassword, "192.0.2.1:1").Code }()
		time.Sleep(time.Second)
		<-e.store.hashing
		if code := <-done; code != http.StatusSeeOther {
			t.Errorf("sign-in that waited 1s for a hash = %d, want 303", code)
		}
		es, _ := e.store.AuditLog(e.ctx, AuditQuery{Limit: 1000})
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
