package hw

import "time"

// BoardConfig is the `board:` section of the config file: which header pin
// drives what, by periph pin name ("GPIO17").
type BoardConfig struct {
	// I2CBus is the periph I2C bus name ("1" for /dev/i2c-1); used by the
	// display and the PCA9685 servo driver.
	I2CBus string `yaml:"i2c_bus"`
	// Display is optional.
	Display *DisplayConfig `yaml:"display"`
	// Speaker is optional: spoken prompts through the Pi's audio output.
	Speaker *SpeakerConfig `yaml:"speaker"`
	// ServoDriver is the PCA9685 that drives servo compartments, if any.
	ServoDriver *ServoDriverConfig `yaml:"servo_driver"`

	Button InputConfig  `yaml:"button"`
	Drop   InputConfig  `yaml:"drop"`
	Lid    *InputConfig `yaml:"lid"`
	Cup    *InputConfig `yaml:"cup"`

	Buzzer       *OutputConfig `yaml:"buzzer"`
	LEDReady     *OutputConfig `yaml:"led_ready"`
	LEDAttention *OutputConfig `yaml:"led_attention"`
	LEDFault     *OutputConfig `yaml:"led_fault"`
}

// DisplayConfig selects the patient display.
type DisplayConfig struct {
	Kind    string `yaml:"kind"`    // "ssd1306" (128x64 OLED) or "hd44780" (16x2 LCD on a PCF8574 backpack)
	Address uint16 `yaml:"address"` // I2C address, e.g. 0x3c (SSD1306) or 0x27 (PCF8574)
	// LargeText draws short messages twice as tall again (10 characters,
	// 2 lines) for a patient who sees poorly; SSD1306 only.
	LargeText bool `yaml:"large_text"`
}

// SpeakerConfig is the audio output that speaks prompts: espeak-ng
// renders them and ALSA's aplay plays them.
type SpeakerConfig struct {
	// Device is the ALSA device, as aplay -D takes it; default "default"
	// (the system's default output, with ALSA's format conversion).
	Device string `yaml:"device"`
	// Volume is 1..100; default 50, which is espeak-ng's own loudness.
	// Above it the voice is louder and may distort on small speakers.
	Volume int `yaml:"volume"`
	// Rate is the speaking speed in words a minute, 80..300; default 140,
	// slower than espeak-ng's 175 and easier to follow.
	Rate int `yaml:"rate"`
}

// ServoDriverConfig is a PCA9685 16-channel PWM controller on I2C.
type ServoDriverConfig struct {
	Address uint16 `yaml:"address"` // usually 0x40
}

// InputConfig is a sensor or button wired to one GPIO.
type InputConfig struct {
	Pin       string `yaml:"pin"`        // periph name, e.g. "GPIO17"
	ActiveLow bool   `yaml:"active_low"` // true when the active state reads low (switch to ground)
	Pull      string `yaml:"pull"`       // "up", "down" or "none"; default "up" when active_low, else "down"
	// Debounce is how long a level must hold before it counts; default 20ms
	// for the button and switches, 0 for the drop sensor (a pill crosses the
	// beam in a few milliseconds).
	Debounce time.Duration `yaml:"debounce"`
}

// OutputConfig is an LED or buzzer on one GPIO.
type OutputConfig struct {
	Pin       string `yaml:"pin"`
	ActiveLow bool   `yaml:"active_low"`
}

// CompartmentConfig is one entry of the `compartments:` list.
type CompartmentConfig struct {
	ID       int         `yaml:"id"`       // 1..N, as labelled on the device
	Motor    MotorConfig `yaml:"motor"`    // what turns the wheel
	Capacity int         `yaml:"capacity"` // pills it holds when full
	Count    int         `yaml:"count"`    // pills in it now (at install or last refill)
}

// MotorConfig describes one compartment's actuator.
type MotorConfig struct {
	// Kind is the name of a MotorKind: "uln2003" (28BYJ-48 unipolar
	// stepper, four coil pins, half-step), "stepdir" (A4988/DRV8825: step,
	// dir, optional enable) or "servo" (a channel of the PCA9685). The
	// fields below are each kind's; a kind reads only its own.
	Kind string `yaml:"kind"`

	Pins   []string `yaml:"pins"`   // uln2003: IN1..IN4
	Step   string   `yaml:"step"`   // stepdir
	Dir    string   `yaml:"dir"`    // stepdir
	Enable string   `yaml:"enable"` // stepdir, optional (active low on A4988)

	// StepsPerUnit is how many (half-)steps move the wheel by one pill slot.
	StepsPerUnit int `yaml:"steps_per_unit"`
	// StepDelay is the time between steps; default 2ms (uln2003) or 1ms (stepdir).
	StepDelay time.Duration `yaml:"step_delay"`
	// Reverse flips the direction of rotation.
	Reverse bool `yaml:"reverse"`

	Channel       int           `yaml:"channel"`        // servo: PCA9685 channel 0..15
	RestAngle     float64       `yaml:"rest_angle"`     // servo: degrees at rest
	DispenseAngle float64       `yaml:"dispense_angle"` // servo: degrees that release one unit
	MinPulse      time.Duration `yaml:"min_pulse"`      // servo: pulse at 0 degrees, default 500us
	MaxPulse      time.Duration `yaml:"max_pulse"`      // servo: pulse at 180 degrees, default 2500us
}
