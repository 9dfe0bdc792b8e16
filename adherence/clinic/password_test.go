package clinic

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
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

// heapHeld is the heap memory the runtime holds from the OS: objects (live
// or not yet swept), free spans not yet returned, and unused span space.
func heapHeld() uint64 {
	ms := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
	metrics.Read(ms)
	var n uint64
	for _, m := range ms {
		n += m.Value.Uint64()
	}
	return n
}

// TestHashMemoryReturned: once no hash has run for returnAfter, the
// hashes' memory is back with the OS, not held by an idle service until a
// GC happens to run; while sign-ins follow each other, or a hash is still
// running, it is kept for them.
func TestHashMemoryReturned(t *testing.T) {
	const hashKiB = 16 << 10
	p := PasswordParams{Time: 1, MemoryKiB: hashKiB, Threads: 1}
	clock := schedule.NewSimClock(time.Time{})
	s := New(nil, clock)
	returns := 0
	freeOSMemory = func() { returns++; debug.FreeOSMemory() }
	t.Cleanup(func() { freeOSMemory = debug.FreeOSMemory })
	hash := func(p PasswordParams) {
		t.Helper()
		if _, err := s.hashPassword(context.Background(), testPassword, p); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string, want int) {
		t.Helper()
		if returns != want {
			t.Errorf("%s: memory returned %d times, want %d", when, returns, want)
		}
	}
	runtime.GC()
	base := heapHeld()
	hash(p)
	clock.Advance(returnAfter - time.Millisecond)
	check("just before the hashes have been idle for returnAfter", 0)
	hash(p) // the next sign-in starts the wait again
	clock.Advance(returnAfter - time.Millisecond)
	check("a second hash soon after the first, then just under returnAfter", 0)
	clock.Advance(time.Millisecond)
	check("returnAfter after the last hash", 1)
	if held := heapHeld(); held > base+hashKiB<<10/4 {
		t.Errorf("heap held after the return = %d MiB, %d MiB before two %d MiB hashes", held>>20, base>>20, hashKiB>>10)
	}

	// A hash still running (held here) when the wait ends keeps it.
	hash(p)
	s.hashing <- struct{}{}
	clock.Advance(returnAfter)
	check("returnAfter after a hash, with another running", 1)
	s.release(p)
	clock.Advance(returnAfter)
	check("returnAfter after the running hash ended", 2)

	// A cheap hash leaves its little memory to the GC.
	hash(cheap)
	clock.Advance(returnAfter)
	check("returnAfter after a cheap hash", 2)
}
