package sim

import (
	"math"
	"time"
)

// The mechanisms, decoded from what the drivers put on the pins. Each
// decoder reports motion in its own units (half steps, steps, or released
// units for the servo); the world turns units into pills.

// halfStep are the eight half-step phases of a 28BYJ-48 on a ULN2003, coil
// IN1 as bit 3 so that they read as in the usual tables.
var halfStep = [8]byte{0b1000, 0b1100, 0b0100, 0b0110, 0b0010, 0b0011, 0b0001, 0b1001}

// minPhaseHold is how long a phase must stay energised for the rotor to
// reach it. A phase that lasts less is a glitch the rotor does not follow,
// such as the one a driver shows for an instant while it switches the
// coils off one by one.
const minPhaseHold = 500 * time.Microsecond

// coils decodes a unipolar stepper's four coil lines into half steps.
// The rotor starts at phase 0 (1000), where the wheel was assembled.
type coils struct {
	on     byte      // current coil pattern
	since  time.Time // when it was set
	rotor  int       // phase the rotor sits at
	faults int       // patterns or jumps the rotor cannot follow
}

// set drives coil i (0 = IN1) and returns how many half steps the rotor
// moved (+1, -1 or 0) because the previous pattern was held long enough.
func (c *coils) set(i int, high bool, now time.Time) int {
	bit := byte(8 >> i)
	next := c.on &^ bit
	if high {
		next |= bit
	}
	if next == c.on {
		return 0
	}
	moved := 0
	if now.Sub(c.since) >= minPhaseHold {
		moved = c.reach(c.on)
	}
	c.on, c.since = next, now
	return moved
}

// reach moves the rotor to the phase energised by pattern p.
func (c *coils) reach(p byte) int {
	if p == 0 {
		return 0 // de-energised: the gear train holds the wheel
	}
	phase := -1
	for i, h := range halfStep {
		if h == p {
			phase = i
		}
	}
	if phase < 0 {
		c.faults++ // not a half-step phase: opposing coils, or three on
		return 0
	}
	d := (phase - c.rotor + len(halfStep)) % len(halfStep)
	c.rotor = phase
	switch d {
	case 0:
		return 0
	case 1:
		return 1
	case len(halfStep) - 1:
		return -1
	}
	c.faults++ // a jump of more than a half step: the rotor loses steps
	return 0
}

// stepDir decodes an A4988/DRV8825: one step per STEP rising edge while
// ENABLE is low (or not wired), in the direction DIR says (high =
// forward).
type stepDir struct {
	step, dir, disabled bool
}

func (s *stepDir) setStep(high bool) int {
	rising := high && !s.step
	s.step = high
	if !rising || s.disabled {
		return 0
	}
	if s.dir {
		return 1
	}
	return -1
}

// Servo mechanics: a hobby servo turns at about 60 degrees per 0.1 s
// (SG90 at 4.8 V); a gate counts as at an angle within servoTolerance.
const (
	servoSpeed     = 600.0 // degrees per second
	servoTolerance = 5.0   // degrees
	// servoMinHz and servoMaxHz bound the frame rates an analog servo
	// follows; outside them it gets no usable signal and stays put.
	servoMinHz = 40
	servoMaxHz = 60
)

// servo follows the pulses of one PCA9685 channel. Swinging to the
// dispense angle opens the gate and releases the unit in it; the next one
// loads only when the gate is back at rest.
type servo struct {
	minPulse, maxPulse time.Duration
	rest, dispense     float64

	from, target float64   // current swing
	start        time.Time // when it started
	loaded       bool      // a unit waits in the gate
	arrive       *time.Timer
}

func newServo(minPulse, maxPulse time.Duration, rest, dispense float64) *servo {
	return &servo{minPulse: minPulse, maxPulse: maxPulse, rest: rest, dispense: dispense,
		from: rest, target: rest, loaded: true}
}

// angleAt is where the horn is at t.
func (s *servo) angleAt(t time.Time) float64 {
	travel := servoSpeed * t.Sub(s.start).Seconds()
	if d := s.target - s.from; math.Abs(d) <= travel {
		return s.target
	} else if d > 0 {
		return s.from + travel
	}
	return s.from - travel
}

// advance moves the horn to where it is at now and returns how many units
// the gate released on the way: passing the rest angle loads a unit,
// passing the dispense angle with a unit loaded releases it, in the order
// the horn meets them.
func (s *servo) advance(now time.Time) int {
	a, b := s.from, s.angleAt(now)
	s.from, s.start = b, now
	lo, hi := min(a, b)-servoTolerance, max(a, b)+servoTolerance
	stops := [2]float64{s.rest, s.dispense}
	if math.Abs(s.dispense-a) < math.Abs(s.rest-a) {
		stops[0], stops[1] = stops[1], stops[0]
	}
	released := 0
	for _, at := range stops {
		switch {
		case at < lo || at > hi:
		case at == s.rest:
			s.loaded = true
		case s.loaded:
			s.loaded = false
			released++
		}
	}
	return released
}

// pulse takes a new output of the channel at now; it returns the units
// released by the swing so far and how long the new swing will take.
func (s *servo) pulse(p PWM, now time.Time) (released int, travel time.Duration) {
	released = s.advance(now)
	hz := p.Frequency()
	if p.Width <= 0 || p.Width >= p.Period || hz < servoMinHz || hz > servoMaxHz {
		s.target = s.from // no usable pulses: the servo stays where it is
		return released, 0
	}
	angle := 180 * float64(p.Width-s.minPulse) / float64(s.maxPulse-s.minPulse)
	s.target = min(max(angle, 0), 180) // end stops
	return released, time.Duration(math.Abs(s.target-s.from) / servoSpeed * float64(time.Second))
}
