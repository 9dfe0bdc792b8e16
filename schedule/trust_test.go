package schedule

import (
	"context"
	"errors"
	"testing"
	"time"
)

// memTrustStore is an in-memory TrustStore.
type memTrustStore struct {
	last time.Time
	err  error
	sets int
}

var _ TrustStore = (*memTrustStore)(nil)

func (s *memTrustStore) LastTrusted(context.Context) (time.Time, error) { return s.last, s.err }
func (s *memTrustStore) SetLastTrusted(_ context.Context, t time.Time) error {
	if s.err != nil {
		return s.err
	}
	s.last = t
	s.sets++
	return nil
}

func TestTrust(t *testing.T) {
	now := utc("2026-06-01T12:00:00Z")
	errBoom := errors.New("boom")
	ntp := func(ok bool, err error) func() (bool, error) { return func() (bool, error) { return ok, err } }
	rtc := func(t time.Time, ok bool, err error) func() (time.Time, bool, error) {
		return func() (time.Time, bool, error) { return t, ok, err }
	}
	noRTC := rtc(time.Time{}, false, nil)
	tests := []struct {
		name    string
		wall    time.Time
		ntp     func() (bool, error)
		rtc     func() (time.Time, bool, error)
		last    time.Time
		storeEr error
		want    Verdict
		wantErr bool
	}{
		{"ntp synced", now, ntp(true, nil), noRTC, time.Time{}, nil, Verdict{true, TrustNTP, now}, false},
		{"1970 boot, even with ntp", utc("1970-01-01T00:00:10Z"), ntp(true, nil), noRTC, time.Time{}, nil,
			Verdict{false, TrustBeforeFloor, utc("1970-01-01T00:00:10Z")}, false},
		{"fake-hwclock before floor", utc("2025-12-31T23:59:00Z"), ntp(false, nil), noRTC, utc("2025-01-01T00:00:00Z"), nil,
			Verdict{false, TrustBeforeFloor, utc("2025-12-31T23:59:00Z")}, false},
		{"rtc agrees", now, ntp(false, nil), rtc(now.Add(-30*time.Second), true, nil), time.Time{}, nil, Verdict{true, TrustRTC, now}, false},
		{"rtc disagrees", now, ntp(false, nil), rtc(now.Add(-time.Hour), true, nil), time.Time{}, nil, Verdict{false, TrustNoEvidence, now}, false},
		{"rtc lost its battery", utc("2026-01-02T00:00:00Z"), ntp(false, nil), rtc(utc("2000-01-01T00:00:00Z"), true, nil), time.Time{}, nil,
			Verdict{false, TrustNoEvidence, utc("2026-01-02T00:00:00Z")}, false},
		{"past the last trusted time", now, ntp(false, nil), noRTC, now.Add(-time.Hour), nil, Verdict{true, TrustPersisted, now}, false},
		{"at the last trusted time", now, ntp(false, nil), noRTC, now, nil, Verdict{false, TrustNoEvidence, now}, false},
		{"before the last trusted time", now, ntp(false, nil), noRTC, now.Add(time.Hour), nil, Verdict{false, TrustNoEvidence, now}, false},
		{"nothing ever saved", now, ntp(false, nil), noRTC, time.Time{}, nil, Verdict{false, TrustNoEvidence, now}, false},
		{"ntp unreadable, store vouches", now, ntp(false, errBoom), noRTC, now.Add(-time.Hour), nil, Verdict{true, TrustPersisted, now}, true},
		{"rtc unreadable", now, ntp(false, nil), rtc(time.Time{}, false, errBoom), time.Time{}, nil, Verdict{false, TrustNoEvidence, now}, true},
		{"store unreadable", now, ntp(false, nil), noRTC, now.Add(-time.Hour), errBoom, Verdict{false, TrustNoEvidence, now}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &memTrustStore{last: tt.last, err: tt.storeEr}
			tr := &Trust{Clock: NewSimClock(tt.wall), Store: store, NTPSynced: tt.ntp, RTC: tt.rtc}
			got, err := tr.Check(context.Background())
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("Check() = %+v, %v, want %+v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestTrustRemember(t *testing.T) {
	ctx := context.Background()
	clock := NewSimClock(utc("2026-06-01T12:00:00Z"))
	store := &memTrustStore{}
	synced := true
	tr := &Trust{Clock: clock, Store: store,
		NTPSynced: func() (bool, error) { return synced, nil },
		RTC:       func() (time.Time, bool, error) { return time.Time{}, false, nil }}

	if v, err := tr.Remember(ctx); err != nil || !v.Trusted || !store.last.Equal(clock.Now()) {
		t.Fatalf("Remember with NTP = %+v, %v; saved %s, want %s", v, err, store.last, clock.Now())
	}
	saved := store.last

	// Without an outside authority the bar is not raised, even when trusted.
	synced = false
	clock.Set(utc("2030-01-01T00:00:00Z")) // someone set the date by hand, wrongly
	v, err := tr.Remember(ctx)
	if err != nil || v.Reason != TrustPersisted || !store.last.Equal(saved) {
		t.Errorf("Remember without NTP = %+v, %v; saved %s, want %s kept", v, err, store.last, saved)
	}
	// So once the clock is put right, it is still trusted.
	clock.Set(utc("2026-06-02T00:00:00Z"))
	if v, _ := tr.Check(ctx); !v.Trusted {
		t.Errorf("Check after correcting the clock = %+v, want trusted", v)
	}

	synced = true
	store.err = errors.New("disk full")
	if _, err := tr.Remember(ctx); err == nil {
		t.Error("Remember with a failing store: no error")
	}
	if _, err := (&Trust{Clock: clock, NTPSynced: tr.NTPSynced, RTC: tr.RTC}).Remember(ctx); err == nil {
		t.Error("Remember with no store: no error")
	}
}

// TestKernelSources runs the real sources: whatever this machine says, they
// must answer without failing the process.
func TestKernelSources(t *testing.T) {
	if _, err := KernelNTPSynced(); err != nil {
		t.Logf("KernelNTPSynced: %v (allowed in a sandbox)", err)
	}
	hw, ok, err := ReadRTC()
	if err != nil {
		t.Logf("ReadRTC: %v (allowed without permission)", err)
	}
	if ok && hw.IsZero() {
		t.Errorf("ReadRTC = zero time, ok")
	}
}
