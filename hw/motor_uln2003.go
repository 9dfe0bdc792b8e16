package hw

import (
	"fmt"
	"time"

	"github.com/pillbox/pillbox/internal/problem"
)

// DefaultULN2003Delay is the time between half steps of a 28BYJ-48: much
// less and it stalls.
const DefaultULN2003Delay = 2 * time.Millisecond

// ULN2003Motor is a 28BYJ-48 unipolar stepper on a ULN2003 darlington
// board: four coil pins, IN1..IN4 (config: pins), in half steps.
var ULN2003Motor = MotorKind{
	Name:     "uln2003",
	Hint:     "28BYJ-48 on a ULN2003 board",
	Drive:    DriveHalfStep,
	Defaults: defaultStepDelay(DefaultULN2003Delay),
	Check: func(m MotorConfig, c *MotorCheck) {
		if len(m.Pins) != 4 {
			c.Add("pins", "list the four GPIOs wired to IN1, IN2, IN3 and IN4 of the ULN2003 board, in that order",
				"a uln2003 motor needs 4 pins, got %d", len(m.Pins))
		}
		for j, p := range m.Pins {
			c.Pin(problem.Index("pins", j), p)
		}
		checkStepper(m, c)
	},
	Pins: func(m MotorConfig) []MotorPin {
		var out []MotorPin
		for i, p := range m.Pins {
			out = append(out, MotorPin{Label: fmt.Sprintf("IN%d", i+1), Pin: p})
		}
		return out
	},
	Example: MotorConfig{Kind: "uln2003", Pins: []string{"GPIO5", "GPIO6", "GPIO13", "GPIO19"}, StepsPerUnit: 512},
}
