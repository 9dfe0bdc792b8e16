package hw

import (
	"fmt"
	"strings"
	"time"

	"github.com/pillbox/pillbox/internal/problem"
)

// MotorKind is a kind of compartment actuator, as the config's motor.kind
// names it. Each kind is declared once, in its own file (motor_*.go): its
// defaults, its checks, the GPIOs it wires and the drive that moves it.
// The validator, the real board (hw/driver), the simulated board (hw/sim)
// and pillctl's pin map all read the declaration; docs/extending.md shows
// how to add a kind.
type MotorKind struct {
	// Name is how the config writes the kind ("uln2003").
	Name string
	// Hint says what installers know the kind as, in messages that list
	// the kinds ("28BYJ-48 on a ULN2003 board").
	Hint string
	// Drive is how the driver moves the motor and the simulator models its
	// motion from the pins. Kinds that differ only in defaults, limits or
	// wiring share one.
	Drive Drive
	// Defaults fills in what the config leaves out (MotorConfig.Defaulted).
	Defaults func(*MotorConfig)
	// Check reports what is wrong with a motor of the kind, declaring each
	// pin it wires with MotorCheck.Pin (which checks it against the header
	// and the other parts). It gets the motor with its defaults applied.
	Check func(MotorConfig, *MotorCheck)
	// Pins lists the GPIOs the motor wires, in the order its drive takes
	// them.
	Pins func(MotorConfig) []MotorPin
	// Elsewhere describes a connection that is not a header pin, for the
	// pin map ("servo on PCA9685 channel 3"); nil when there is none.
	Elsewhere func(MotorConfig) string
	// Example is a valid motor of the kind, wired as examples/dispenser.yaml
	// wires its motors (GPIO5-6, 13, 19-21, 26, PCA9685 channel 0): the
	// tests of the validator, the drivers and the simulator build one of
	// every kind from it.
	Example MotorConfig
}

// Drive is how a motor is moved: the protocol its driver speaks on its
// pins, which hw/driver implements and hw/sim decodes back into motion.
type Drive int

const (
	// DriveHalfStep energises four coil inputs, the kind's pins IN1..IN4
	// in that order, in the 8-phase half-step sequence of a unipolar
	// stepper (driver.ULN2003).
	DriveHalfStep Drive = iota + 1
	// DriveStepDir pulses STEP with the direction on DIR and an optional
	// active-low EN, the kind's pins in that order, as A4988-style carriers
	// take them (driver.StepDir).
	DriveStepDir
	// DriveServo sets a hobby servo's angle on a channel of the board's
	// PCA9685 (driver.Servo).
	DriveServo
)

// MotorPin is one GPIO a motor is wired to.
type MotorPin struct {
	// Label is the input it drives on the driver board ("IN1", "STEP").
	Label string
	// Pin is the periph pin name ("GPIO17").
	Pin string
}

// MotorKinds lists every motor kind, in the order messages name them.
func MotorKinds() []MotorKind {
	out := make([]MotorKind, len(motorKinds))
	for i, k := range motorKinds {
		out[i] = *k
	}
	return out
}

// MotorKindNamed returns the kind the config calls name; ok is false for
// a name no kind has.
func MotorKindNamed(name string) (k MotorKind, ok bool) {
	for _, k := range motorKinds {
		if k.Name == name {
			return *k, true
		}
	}
	return MotorKind{}, false
}

// motorKinds are the kinds, each declared in its file; this list orders
// them as messages list them.
var motorKinds = []*MotorKind{&ULN2003Motor, &StepDirMotor, &ServoMotor}

// MotorCheck is what a kind's Check reports through for one motor: its
// problems, at keys under the motor's path ("steps_per_unit"), and the
// pins and channel it claims.
type MotorCheck struct {
	v           *boardValidator
	path        string // the motor's path, "compartments[1].motor"
	compartment int    // index in compartments, for messages about a shared channel
	channels    map[int]int
	servoDriver bool
}

// Add records a problem at key under the motor.
func (c *MotorCheck) Add(key, fix, format string, args ...any) {
	c.v.Add(problem.Join(c.path, key), fix, format, args...)
}

// AddOther records a problem at key under the motor that is about the
// value at other (a path from the file's root) too.
func (c *MotorCheck) AddOther(key, other, fix, format string, args ...any) {
	c.v.AddOther(problem.Join(c.path, key), other, fix, format, args...)
}

// Pin checks the pin at key: a GPIO of the header, free for this use.
func (c *MotorCheck) Pin(key, name string) { c.v.pin(problem.Join(c.path, key), name) }

// ServoDriver reports whether the board has a PCA9685.
func (c *MotorCheck) ServoDriver() bool { return c.servoDriver }

// ClaimChannel records that the motor uses PCA9685 channel ch, or returns
// the index of the compartment that claimed it first.
func (c *MotorCheck) ClaimChannel(ch int) (first int, taken bool) {
	if first, taken := c.channels[ch]; taken {
		return first, true
	}
	c.channels[ch] = c.compartment
	return 0, false
}

// checkStepper checks what every stepper kind has: the steps per pill
// slot and the delay between steps.
func checkStepper(m MotorConfig, c *MotorCheck) {
	if m.StepsPerUnit <= 0 {
		c.Add("steps_per_unit", "set steps_per_unit to the steps that move the wheel by one pill slot (a 28BYJ-48 makes 4096 half steps per turn)",
			"steps_per_unit %d is not positive", m.StepsPerUnit)
	}
	if m.StepDelay < 0 {
		c.Add("step_delay", "use a duration such as 2ms, or leave it out", "step_delay %s is negative", m.StepDelay)
	}
}

// defaultStepDelay returns a defaults function that sets a zero StepDelay.
func defaultStepDelay(d time.Duration) func(*MotorConfig) {
	return func(m *MotorConfig) {
		if m.StepDelay == 0 {
			m.StepDelay = d
		}
	}
}

// motorKindList names the kinds for a message: `"a", "b" or "c"`, each
// followed by its hint when hints is set.
func motorKindList(hints bool) string {
	var parts []string
	for _, k := range motorKinds {
		s := fmt.Sprintf("%q", k.Name)
		if hints {
			s += " (" + k.Hint + ")"
		}
		parts = append(parts, s)
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}
