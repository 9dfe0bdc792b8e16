package clinic

import (
	"errors"
	"strings"
	"testing"
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
