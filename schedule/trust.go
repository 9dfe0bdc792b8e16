package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// BuildFloor is the earliest wall time ever trusted. A Raspberry Pi has no
// real-time clock: it boots at 1970 or at the time fake-hwclock saved, and
// no reading before this software existed can be right.
var BuildFloor = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TrustStore persists the last wall time known to be right; the adherence
// store implements it.
type TrustStore interface {
	// LastTrusted returns the zero time when nothing was ever saved.
	LastTrusted(ctx context.Context) (time.Time, error)
	SetLastTrusted(ctx context.Context, t time.Time) error
}

// TrustReason says why the wall clock is, or is not, trusted. The strings go
// into the log (clock_trusted detail); never rename one.
type TrustReason string

const (
	TrustNTP         TrustReason = "ntp"          // the kernel says NTP disciplines the clock
	TrustRTC         TrustReason = "rtc"          // a sane hardware clock agrees with it
	TrustPersisted   TrustReason = "persisted"    // it is past the last time known to be right
	TrustBeforeFloor TrustReason = "before_floor" // not trusted: it reads before BuildFloor
	TrustNoEvidence  TrustReason = "no_evidence"  // not trusted: nothing vouches for it
)

// Verdict is the outcome of one trust check.
type Verdict struct {
	Trusted bool
	Reason  TrustReason
	Wall    time.Time // the wall time that was judged
}

// Trust decides whether the wall clock can be believed. Until it can, the
// controller declares no dose missed and sends no burst of alerts: a Pi that
// booted at 1970, or at yesterday's fake-hwclock time, would otherwise find
// every dose since its last shutdown "missed", or none.
//
// The clock is trusted when, and only when, it reads on or after Floor and
// (a) the kernel reports NTP synchronisation, or (b) a hardware RTC with a
// sane time agrees with it, or (c) it reads later than the last trusted time
// in Store.
type Trust struct {
	Clock Clock
	Store TrustStore
	// Floor defaults to BuildFloor.
	Floor time.Time
	// NTPSynced defaults to KernelNTPSynced.
	NTPSynced func() (bool, error)
	// RTC reads the hardware clock; ok is false when there is none. It
	// defaults to ReadRTC.
	RTC func() (t time.Time, ok bool, err error)
	// RTCTolerance is how far the wall clock may be from the RTC and still
	// agree with it (RTC chips drift seconds a day). Default 2 minutes.
	RTCTolerance time.Duration
}

const defaultRTCTolerance = 2 * time.Minute

// Check judges the wall clock now. It always returns a verdict; err
// reports sources that could not be read (for the log), and the verdict
// treats each of them as not vouching.
func (t *Trust) Check(ctx context.Context) (Verdict, error) {
	v, _, err := t.check(ctx)
	return v, err
}

// Remember saves the current wall time as the last trusted one when NTP or
// the RTC vouches for it; call it periodically (hourly is plenty) and at
// shutdown. Only an outside authority may raise the bar: a clock set to the
// future by hand and saved would otherwise refuse the right time until the
// wrong one had passed.
func (t *Trust) Remember(ctx context.Context) (Verdict, error) {
	v, external, err := t.check(ctx)
	if !external {
		return v, err
	}
	if t.Store == nil {
		return v, errors.Join(err, errors.New("schedule: save last trusted time: no store"))
	}
	if serr := t.Store.SetLastTrusted(ctx, v.Wall); serr != nil {
		err = errors.Join(err, fmt.Errorf("schedule: save last trusted time: %w", serr))
	}
	return v, err
}

// check returns the verdict and whether NTP or the RTC gave it.
func (t *Trust) check(ctx context.Context) (Verdict, bool, error) {
	wall := t.Clock.Now()
	v := Verdict{Wall: wall, Reason: TrustNoEvidence}
	floor := t.Floor
	if floor.IsZero() {
		floor = BuildFloor
	}
	if wall.Before(floor) {
		v.Reason = TrustBeforeFloor
		return v, false, nil
	}
	var errs []error
	ntp := t.NTPSynced
	if ntp == nil {
		ntp = KernelNTPSynced
	}
	synced, err := ntp()
	if err != nil {
		errs = append(errs, fmt.Errorf("schedule: read NTP state: %w", err))
	}
	if synced {
		v.Trusted, v.Reason = true, TrustNTP
		return v, true, errors.Join(errs...)
	}
	rtc := t.RTC
	if rtc == nil {
		rtc = ReadRTC
	}
	hw, ok, err := rtc()
	if err != nil {
		errs = append(errs, fmt.Errorf("schedule: read RTC: %w", err))
	}
	tol := t.RTCTolerance
	if tol <= 0 {
		tol = defaultRTCTolerance
	}
	// A battery-less RTC reads 1970 after power loss: it must be past the
	// floor too, and agree with the wall clock the kernel set from it.
	if ok && !hw.Before(floor) && wall.Sub(hw).Abs() <= tol {
		v.Trusted, v.Reason = true, TrustRTC
		return v, true, errors.Join(errs...)
	}
	if t.Store != nil {
		last, err := t.Store.LastTrusted(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("schedule: read last trusted time: %w", err))
		} else if !last.IsZero() && wall.After(last) {
			v.Trusted, v.Reason = true, TrustPersisted
		}
	}
	return v, false, errors.Join(errs...)
}
