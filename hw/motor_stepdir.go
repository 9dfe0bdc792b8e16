package hw

import (
	"fmt"
	"time"
)

// DefaultStepDirDelay is the time between steps of a stepper on a
// step/direction carrier.
const DefaultStepDirDelay = time.Millisecond

// StepDirMotor is a stepper on an A4988 or DRV8825 carrier: STEP and DIR,
// and an optional active-low EN (config: step, dir, enable).
var StepDirMotor = MotorKind{
	Name:     "stepdir",
	Hint:     "A4988 or DRV8825",
	Drive:    DriveStepDir,
	Defaults: defaultStepDelay(DefaultStepDirDelay),
	Check: func(m MotorConfig, c *MotorCheck) {
		for _, f := range []struct{ name, pin, what string }{{"step", m.Step, "STEP"}, {"dir", m.Dir, "DIR"}} {
			if f.pin == "" {
				c.Add(f.name, fmt.Sprintf("give the GPIO wired to the driver's %s input", f.what), "a stepdir motor needs a %s pin", f.name)
			} else {
				c.Pin(f.name, f.pin)
			}
		}
		if m.Enable != "" {
			c.Pin("enable", m.Enable)
		}
		checkStepper(m, c)
	},
	Pins: func(m MotorConfig) []MotorPin {
		out := []MotorPin{{Label: "STEP", Pin: m.Step}, {Label: "DIR", Pin: m.Dir}}
		if m.Enable != "" {
			out = append(out, MotorPin{Label: "EN", Pin: m.Enable})
		}
		return out
	},
	Example: MotorConfig{Kind: "stepdir", Step: "GPIO20", Dir: "GPIO21", Enable: "GPIO26", StepsPerUnit: 320},
}
