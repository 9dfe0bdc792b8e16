package hw

import (
	"fmt"
	"time"

	"github.com/pillbox/pillbox/internal/problem"
)

// The pulse range of most hobby servos: 0 and 180 degrees.
const (
	DefaultMinPulse = 500 * time.Microsecond
	DefaultMaxPulse = 2500 * time.Microsecond
)

// ServoMotor is a hobby servo on a channel of the board's PCA9685 (config:
// channel, rest_angle, dispense_angle, min_pulse, max_pulse): it swings
// from its rest angle to its dispense angle and back to release one pill.
var ServoMotor = MotorKind{
	Name:  "servo",
	Hint:  "on a PCA9685",
	Drive: DriveServo,
	Defaults: func(m *MotorConfig) {
		if m.MinPulse == 0 {
			m.MinPulse = DefaultMinPulse
		}
		if m.MaxPulse == 0 {
			m.MaxPulse = DefaultMaxPulse
		}
	},
	Check: func(m MotorConfig, c *MotorCheck) {
		if !c.ServoDriver() {
			c.Add("kind", "add a board.servo_driver section with the PCA9685's I2C address (usually 0x40)",
				"a servo motor needs a servo_driver on the board")
		}
		if m.Channel < 0 || m.Channel > 15 {
			c.Add("channel", "use the PCA9685 output number the servo is plugged into, 0 to 15", "channel %d is outside 0..15", m.Channel)
		} else if first, taken := c.ClaimChannel(m.Channel); taken {
			c.AddOther("channel", problem.Index("compartments", first), "plug each servo into its own PCA9685 output", "channel %d is also used by compartments[%d]", m.Channel, first)
		}
		for _, a := range []struct {
			name string
			deg  float64
		}{{"rest_angle", m.RestAngle}, {"dispense_angle", m.DispenseAngle}} {
			if a.deg < 0 || a.deg > 180 {
				c.Add(a.name, "use an angle from 0 to 180 degrees", "%s %g is outside 0..180", a.name, a.deg)
			}
		}
		if m.MinPulse <= 0 || m.MaxPulse <= m.MinPulse || m.MaxPulse >= 20*time.Millisecond {
			c.Add("max_pulse", "most servos take min_pulse 500us and max_pulse 2500us; leave both out for those",
				"pulse range %s..%s is not 0 < min < max < 20ms", m.MinPulse, m.MaxPulse)
		}
	},
	Pins: func(MotorConfig) []MotorPin { return nil },
	Elsewhere: func(m MotorConfig) string {
		return fmt.Sprintf("servo on PCA9685 channel %d", m.Channel)
	},
	Example: MotorConfig{Kind: "servo", Channel: 0, RestAngle: 0, DispenseAngle: 90},
}
