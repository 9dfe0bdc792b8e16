package clinic

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/schedule"
)

// cheap makes password hashing fast enough for tests.
var cheap = PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1}

const testPassword = "correct horse battery"

func TestPasswordHash(t *testing.T) {
	s := New(nil, schedule.NewSimClock(time.Time{}))
	h, err := s.hashPassword(context.Background(), testPassword, cheap)
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
			got, err := s.verifyPassword(context.Background(), tc.phc, tc.pw)
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("verifyPassword = %v, %v; want %v, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestPasswordDefaultCost checks that the production cost is what the
// package doc promises, on one hash.
func TestPasswordDefaultCost(t *testing.T) {
	s := New(nil, schedule.NewSimClock(time.Time{}))
	h, err := s.hashPassword(context.Background(), testPassword, DefaultPasswordParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Errorf("default hash = %q, want m=65536,t=3,p=4", h)
	}
	if ok, err := s.verifyPassword(context.Background(), h, testPassword); !ok || err != nil {
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

func TestDelayWait(t *testing.T) {
	d := Delay{Free: 2, First: time.Second, Max: 5 * time.Second}
	for n, want := range []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		if got := d.Wait(n); got != want {
			t.Errorf("Wait after %d failures = %v, want %v", n, got, want)
		}
	}
	if got := (Delay{Free: -1}).Wait(1000); got != 0 {
		t.Errorf("Wait with delays off = %v, want 0", got)
	}
}
