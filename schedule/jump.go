package schedule

import "time"

// DefaultJumpThreshold is how far wall and monotonic time may drift apart
// between two readings before it counts as a jump. NTP slews small errors
// gradually; a step beyond this is someone (or something) setting the clock.
const DefaultJumpThreshold = 2 * time.Minute

// JumpDetector notices steps of the wall clock by comparing it with the
// monotonic clock between consecutive readings, as from Clock.Now and
// Clock.Monotonic. The zero value is ready to use, with DefaultJumpThreshold.
type JumpDetector struct {
	// Threshold overrides DefaultJumpThreshold when positive.
	Threshold time.Duration

	primed bool
	wall   time.Time
	mono   time.Duration
}

// Observe records a reading and reports the signed size of the wall-clock
// step since the previous reading (positive: the clock jumped forward). Each
// step is reported once, by the first reading after it.
func (d *JumpDetector) Observe(wall time.Time, mono time.Duration) (jump time.Duration, jumped bool) {
	// Strip Go's monotonic reading: with it, Sub would measure monotonic
	// time and hide exactly the step this is looking for.
	wall = wall.Round(0)
	prevWall, prevMono, primed := d.wall, d.mono, d.primed
	d.wall, d.mono, d.primed = wall, mono, true
	if !primed || mono < prevMono {
		return 0, false
	}
	threshold := d.Threshold
	if threshold <= 0 {
		threshold = DefaultJumpThreshold
	}
	if jump = wall.Sub(prevWall) - (mono - prevMono); jump.Abs() > threshold {
		return jump, true
	}
	return 0, false
}
