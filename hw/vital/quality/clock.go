package quality

import (
	"fmt"
	"math"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

// ClockVerdict is what the controller makes of a device's clock read on
// connection.
type ClockVerdict struct {
	// Offset is the device's clock minus the controller's.
	Offset time.Duration
	// Off says it is more than ClockTolerance either way; Set says the
	// controller should set the device's clock (it is off, and the
	// controller's own clock is trusted).
	Off, Set bool
}

// JudgeClock compares the time a device's clock showed with the
// controller's clock when it was read.
func JudgeClock(device, at time.Time, trusted bool) ClockVerdict {
	// Sub saturates (a clock reset to a century past is -292 years off):
	// Abs keeps that beyond the tolerance, where negating it would not.
	off := device.Sub(at)
	v := ClockVerdict{Offset: off, Off: off.Abs() > ClockTolerance}
	v.Set = v.Off && trusted
	return v
}

// correctClock judges the time stamp of r against the reception: with the
// device's clock offset known (read on this connection) and beyond the
// tolerance, the stamp is moved by it; without it, a stamp after the
// reception by more than the tolerance proves the clock is ahead, and the
// reading is timed on arrival. Either way DeviceClock keeps the stamp.
// Nothing is judged by an untrusted controller clock, nor a reading timed
// on arrival.
func correctClock(r *vital.Reading, rc Reception) {
	if !rc.Trusted || !r.DeviceTime || !r.DeviceClock.IsZero() {
		return
	}
	stamp := r.Time
	if off, ok := rc.Offsets[r.Device]; ok {
		if off.Abs() <= ClockTolerance {
			return
		}
		if saturated(off) {
			// The clock is further off than a Duration holds: no offset
			// can correct its stamps.
			r.Time, r.DeviceTime, r.DeviceClock = rc.At.UTC(), false, stamp
			r.Flag(vital.ClockCorrected, fmt.Sprintf("the device's clock showed %d when read on connection; timed on arrival", stamp.Year()))
			return
		}
		corrected := stamp.Add(-off)
		if corrected.After(rc.At.Add(ClockTolerance)) {
			// Corrected into the future: the record was stamped before
			// the clock went wrong (a meter whose clock reset when its
			// batteries were changed keeps its older records), so its
			// stamp stands.
			return
		}
		r.Time, r.DeviceClock = corrected.UTC(), stamp
		r.Flag(vital.ClockCorrected, fmt.Sprintf("the device's clock was %s %s when read on connection; the time is corrected by that",
			Duration(off), aheadBehind(off)))
		return
	}
	if ahead := stamp.Sub(rc.At); ahead > ClockTolerance {
		r.Time, r.DeviceTime, r.DeviceClock = rc.At.UTC(), false, stamp
		r.Flag(vital.ClockCorrected, fmt.Sprintf("dated %s after it arrived, so the device's clock is ahead; timed on arrival", Duration(ahead)))
	}
}

func aheadBehind(off time.Duration) string {
	if off < 0 {
		return "behind"
	}
	return "ahead"
}

// saturated reports whether d is a time.Time.Sub that overflowed.
func saturated(d time.Duration) bool { return d == math.MaxInt64 || d == math.MinInt64 }

// Duration writes d for a person, to the unit that matters: "3 days",
// "5 hours", "12 minutes", "40 seconds"; the sign is dropped.
func Duration(d time.Duration) string {
	d = d.Abs()
	// n units, rounded half up without adding to d, which may be the
	// largest Duration.
	plural := func(unit time.Duration, name string) string {
		n := int64(d / unit)
		if d%unit >= unit/2 {
			n++
		}
		if n == 1 {
			return "1 " + name
		}
		return fmt.Sprintf("%d %ss", n, name)
	}
	switch {
	case d >= 48*time.Hour:
		return plural(24*time.Hour, "day")
	case d >= 2*time.Hour:
		return plural(time.Hour, "hour")
	case d >= 2*time.Minute:
		return plural(time.Minute, "minute")
	}
	return plural(time.Second, "second")
}
