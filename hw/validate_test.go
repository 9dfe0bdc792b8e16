package hw

import (
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/internal/problem"
)

// validBoard is a full, valid configuration: every test case breaks one
// thing in it.
func validBoard() (BoardConfig, []CompartmentConfig) {
	b := BoardConfig{
		I2CBus:       "1",
		Display:      &DisplayConfig{Kind: "ssd1306", Address: 0x3c, LargeText: true},
		Speaker:      &SpeakerConfig{Device: "plughw:CARD=Headphones,DEV=0", Volume: 80, Rate: 120},
		ServoDriver:  &ServoDriverConfig{Address: 0x40},
		Button:       InputConfig{Pin: "GPIO17", ActiveLow: true, Pull: "up"},
		Drop:         InputConfig{Pin: "GPIO27"},
		Lid:          &InputConfig{Pin: "GPIO22", ActiveLow: true},
		Cup:          &InputConfig{Pin: "GPIO23", Pull: "none"},
		Buzzer:       &OutputConfig{Pin: "GPIO18"},
		LEDReady:     &OutputConfig{Pin: "GPIO24"},
		LEDAttention: &OutputConfig{Pin: "GPIO25"},
		LEDFault:     &OutputConfig{Pin: "GPIO12"},
	}
	comps := []CompartmentConfig{
		{ID: 1, Capacity: 30, Count: 30, Motor: MotorConfig{Kind: "uln2003", Pins: []string{"GPIO5", "GPIO6", "GPIO13", "GPIO19"}, StepsPerUnit: 512}},
		{ID: 2, Capacity: 30, Count: 0, Motor: MotorConfig{Kind: "stepdir", Step: "GPIO20", Dir: "GPIO21", Enable: "GPIO26", StepsPerUnit: 200}},
		{ID: 3, Capacity: 14, Count: 7, Motor: MotorConfig{Kind: "servo", Channel: 0, RestAngle: 0, DispenseAngle: 90}},
	}
	return b, comps
}

// oneProblem breaks a valid board with break_ and returns the one problem
// ValidateBoard finds, failing the test if it finds another number.
func oneProblem(t *testing.T, break_ func(*BoardConfig, *[]CompartmentConfig)) problem.Problem {
	t.Helper()
	b, comps := validBoard()
	break_(&b, &comps)
	got := ValidateBoard(b, comps)
	if len(got) != 1 {
		t.Fatalf("ValidateBoard() = %d problems, want 1:\n%v", len(got), got)
	}
	return got[0]
}

func TestValidateBoardValid(t *testing.T) {
	b, comps := validBoard()
	if got := ValidateBoard(b, comps); len(got) != 0 {
		t.Errorf("ValidateBoard(valid) = %v, want no problems", got)
	}
	// Optional parts left out, and GPIO2/3 free without I2C.
	b = BoardConfig{Button: InputConfig{Pin: "GPIO2"}, Drop: InputConfig{Pin: "GPIO3"}}
	if got := ValidateBoard(b, comps[:2]); len(got) != 0 {
		t.Errorf("ValidateBoard(minimal) = %v, want no problems", got)
	}
}

func TestValidateBoard(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(b *BoardConfig, c *[]CompartmentConfig)
		path   string
		want   string // in Msg or Fix
	}{
		{"physical pin number", func(b *BoardConfig, c *[]CompartmentConfig) { b.Button.Pin = "11" },
			"board.button.pin", `header pin 11 is GPIO17, so write "GPIO17"`},
		{"physical pin that is ground", func(b *BoardConfig, c *[]CompartmentConfig) { b.Button.Pin = "pin 9" },
			"board.button.pin", "header pin 9 is GND, not a GPIO"},
		{"bare BCM number", func(b *BoardConfig, c *[]CompartmentConfig) { b.Button.Pin = "4" },
			"board.button.pin", `if you meant BCM GPIO 4, write "GPIO4" (header pin 7)`},
		{"lower case", func(b *BoardConfig, c *[]CompartmentConfig) { b.Drop.Pin = "gpio 16" },
			"board.drop.pin", `write "GPIO16" (header pin 36)`},
		{"GPIO not on the header", func(b *BoardConfig, c *[]CompartmentConfig) { b.Drop.Pin = "GPIO30" },
			"board.drop.pin", "GPIO30 is not on the 40-pin header"},
		{"typo", func(b *BoardConfig, c *[]CompartmentConfig) { b.Drop.Pin = "GPI16" },
			"board.drop.pin", "did you mean GPIO6 or GPIO16?"},
		{"nonsense name", func(b *BoardConfig, c *[]CompartmentConfig) { b.Drop.Pin = "left" },
			"board.drop.pin", "header pin 11 is GPIO17"},
		{"pin used twice", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[0].Motor.Pins[1] = "GPIO17" },
			"compartments[0].motor.pins[1]", "GPIO17 is already used by board.button.pin"},
		{"I2C pin with a display", func(b *BoardConfig, c *[]CompartmentConfig) { b.LEDFault.Pin = "GPIO2" },
			"board.led_fault.pin", "SDA and SCL"},
		{"HAT EEPROM pin", func(b *BoardConfig, c *[]CompartmentConfig) { b.Lid.Pin = "GPIO0" },
			"board.lid.pin", "HAT EEPROM"},
		{"button missing", func(b *BoardConfig, c *[]CompartmentConfig) { b.Button.Pin = "" },
			"board.button.pin", "no pin for the patient's button"},
		{"drop missing", func(b *BoardConfig, c *[]CompartmentConfig) { b.Drop = InputConfig{} },
			"board.drop.pin", "no pin for the pill-drop sensor"},
		{"optional part without pin", func(b *BoardConfig, c *[]CompartmentConfig) { b.Buzzer.Pin = "" },
			"board.buzzer.pin", "no pin given"},
		{"bad pull", func(b *BoardConfig, c *[]CompartmentConfig) { b.Cup.Pull = "pullup" },
			"board.cup.pull", `unknown pull "pullup"`},
		{"negative debounce", func(b *BoardConfig, c *[]CompartmentConfig) { b.Button.Debounce = -time.Millisecond },
			"board.button.debounce", "negative"},
		{"display kind", func(b *BoardConfig, c *[]CompartmentConfig) { b.Display.Kind = "oled" },
			"board.display.kind", `unknown display kind "oled"`},
		{"display address too high", func(b *BoardConfig, c *[]CompartmentConfig) { b.Display.Address = 0x78 },
			"board.display.address", "outside 0x03..0x77"},
		{"servo driver address reserved", func(b *BoardConfig, c *[]CompartmentConfig) { b.ServoDriver.Address = 0x02 },
			"board.servo_driver.address", "outside 0x03..0x77"},
		{"display and servo driver share an address", func(b *BoardConfig, c *[]CompartmentConfig) { b.ServoDriver.Address = 0x3c },
			"board.servo_driver.address", "both use address 0x3c"},
		{"no compartments", func(b *BoardConfig, c *[]CompartmentConfig) { *c = nil },
			"compartments", "no compartments"},
		{"unknown motor kind", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[1].Motor.Kind = "nema17" },
			"compartments[1].motor.kind", `unknown motor kind "nema17"`},
		{"no motor kind", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[1].Motor.Kind = "" },
			"compartments[1].motor.kind", "no motor kind"},
		{"uln2003 with three pins", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[0].Motor.Pins = (*c)[0].Motor.Pins[:3] },
			"compartments[0].motor.pins", "needs 4 pins, got 3"},
		{"uln2003 bad pin", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[0].Motor.Pins[3] = "GPIO99" },
			"compartments[0].motor.pins[3]", "not a GPIO"},
		{"stepdir without step", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[1].Motor.Step = "" },
			"compartments[1].motor.step", "needs a step pin"},
		{"stepdir without dir", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[1].Motor.Dir = "" },
			"compartments[1].motor.dir", "needs a dir pin"},
		{"stepdir enable shared", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[1].Motor.Enable = "GPIO21" },
			"compartments[1].motor.enable", "already used by compartments[1].motor.dir"},
		{"steps per unit", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[0].Motor.StepsPerUnit = 0 },
			"compartments[0].motor.steps_per_unit", "steps_per_unit 0 is not positive"},
		{"negative step delay", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[1].Motor.StepDelay = -1 },
			"compartments[1].motor.step_delay", "negative"},
		{"servo without driver", func(b *BoardConfig, c *[]CompartmentConfig) { b.ServoDriver = nil },
			"compartments[2].motor.kind", "add a board.servo_driver section"},
		{"servo channel", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[2].Motor.Channel = 16 },
			"compartments[2].motor.channel", "channel 16 is outside 0..15"},
		{"servo channel shared", func(b *BoardConfig, c *[]CompartmentConfig) {
			*c = append(*c, CompartmentConfig{ID: 4, Capacity: 1, Motor: MotorConfig{Kind: "servo"}})
		}, "compartments[3].motor.channel", "channel 0 is also used by compartments[2]"},
		{"servo angle", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[2].Motor.DispenseAngle = 270 },
			"compartments[2].motor.dispense_angle", "outside 0..180"},
		{"servo pulses swapped", func(b *BoardConfig, c *[]CompartmentConfig) {
			(*c)[2].Motor.MinPulse, (*c)[2].Motor.MaxPulse = 2*time.Millisecond, time.Millisecond
		}, "compartments[2].motor.max_pulse", "not 0 < min < max"},
		{"duplicate id", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[2].ID = 1 },
			"compartments[2].id", "compartment id 1 is also used by compartments[0]"},
		{"id zero", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[0].ID = 0 },
			"compartments[0].id", "not positive"},
		{"capacity", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[0].Capacity, (*c)[0].Count = 0, 0 },
			"compartments[0].capacity", "capacity 0 is not positive"},
		{"count over capacity", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[0].Count = 31 },
			"compartments[0].count", "count 31 is outside 0..30"},
		{"negative count", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[1].Count = -1 },
			"compartments[1].count", "count -1 is outside 0..30"},
		{"large text on an LCD", func(b *BoardConfig, c *[]CompartmentConfig) { b.Display.Kind, b.Display.Address = "hd44780", 0x27 },
			"board.display.large_text", "large_text needs an ssd1306 display"},
		{"volume too high", func(b *BoardConfig, c *[]CompartmentConfig) { b.Speaker.Volume = 101 },
			"board.speaker.volume", "volume 101 is outside 1..100"},
		{"negative volume", func(b *BoardConfig, c *[]CompartmentConfig) { b.Speaker.Volume = -5 },
			"board.speaker.volume", "volume -5 is outside 1..100"},
		{"rate too slow", func(b *BoardConfig, c *[]CompartmentConfig) { b.Speaker.Rate = 40 },
			"board.speaker.rate", "rate 40 is outside 80..300"},
		{"device with a space", func(b *BoardConfig, c *[]CompartmentConfig) { b.Speaker.Device = "hw:0 -v" },
			"board.speaker.device", `"hw:0 -v" is not an ALSA device name`},
		{"device like an option", func(b *BoardConfig, c *[]CompartmentConfig) { b.Speaker.Device = "--help" },
			"board.speaker.device", "not an ALSA device name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := oneProblem(t, tt.break_)
			if p.Path != tt.path || !strings.Contains(p.Msg+" (fix: "+p.Fix, tt.want) {
				t.Errorf("ValidateBoard() = %q, want path %q and text containing %q", p, tt.path, tt.want)
			}
			if p.Fix == "" {
				t.Errorf("problem %q has no fix", p)
			}
		})
	}
}

func TestDefaulted(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		c    InputConfig
		want InputConfig
	}{
		{"button active low", Button, InputConfig{ActiveLow: true}, InputConfig{ActiveLow: true, Pull: "up", Debounce: 20 * time.Millisecond}},
		{"lid active high", Lid, InputConfig{}, InputConfig{Pull: "down", Debounce: 20 * time.Millisecond}},
		{"drop keeps no debounce", Drop, InputConfig{}, InputConfig{Pull: "down"}},
		{"explicit values kept", Cup, InputConfig{Pull: "none", Debounce: 5 * time.Millisecond}, InputConfig{Pull: "none", Debounce: 5 * time.Millisecond}},
	}
	for _, tt := range tests {
		if got := tt.c.Defaulted(tt.in); got != tt.want {
			t.Errorf("%s: Defaulted() = %+v, want %+v", tt.name, got, tt.want)
		}
	}
	motors := []struct {
		m    MotorConfig
		want MotorConfig
	}{
		{MotorConfig{Kind: "uln2003"}, MotorConfig{Kind: "uln2003", StepDelay: 2 * time.Millisecond}},
		{MotorConfig{Kind: "stepdir", StepDelay: 3}, MotorConfig{Kind: "stepdir", StepDelay: 3}},
		{MotorConfig{Kind: "stepdir"}, MotorConfig{Kind: "stepdir", StepDelay: time.Millisecond}},
		{MotorConfig{Kind: "servo"}, MotorConfig{Kind: "servo", MinPulse: 500 * time.Microsecond, MaxPulse: 2500 * time.Microsecond}},
	}
	for _, tt := range motors {
		if got := tt.m.Defaulted(); got.Kind != tt.want.Kind || got.StepDelay != tt.want.StepDelay || got.MinPulse != tt.want.MinPulse || got.MaxPulse != tt.want.MaxPulse {
			t.Errorf("%+v.Defaulted() = %+v, want %+v", tt.m, got, tt.want)
		}
	}
}

// FuzzValidatePin feeds arbitrary pin names and numbers through the
// validator: it must never panic, and every problem must say how to fix it.
func FuzzValidatePin(f *testing.F) {
	for _, s := range []string{"GPIO17", "11", "pin 9", "gpio 16", "GPI16", "BCM4", "P1_11", "GPIO30", "", "GPIO-1", "99999999999999999999"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, pin string, channel int) {
		b, comps := validBoard()
		b.Button.Pin = pin
		comps[0].Motor.Pins[2] = pin
		comps[2].Motor.Channel = channel
		for _, p := range ValidateBoard(b, comps) {
			if p.Fix == "" || p.Msg == "" || p.Path == "" {
				t.Errorf("problem without path, message or fix: %+v", p)
			}
		}
	})
}

func TestSpeakerDefaults(t *testing.T) {
	got := SpeakerConfig{}.Defaulted()
	if want := (SpeakerConfig{Device: "default", Volume: 50, Rate: 140}); got != want {
		t.Errorf("SpeakerConfig{}.Defaulted() = %+v, want %+v", got, want)
	}
	b, comps := validBoard()
	b.Speaker = &SpeakerConfig{}
	if probs := ValidateBoard(b, comps); len(probs) != 0 {
		t.Errorf("ValidateBoard(speaker: {}) = %v, want the defaults accepted", probs)
	}
}

// A fix that suggests pins names only those the file leaves free,
// including pins it uses further down; a pin used twice names its first
// use by path, for the loader to give its line.
func TestFreePinFixes(t *testing.T) {
	// Every plain GPIO taken by the button, the drop sensor, the lid and
	// three ULN2003s; the LED on a pin that does not exist.
	crowded := func(b *BoardConfig, c *[]CompartmentConfig) {
		*b = BoardConfig{Button: InputConfig{Pin: "GPIO4"}, Drop: InputConfig{Pin: "GPIO16"}, Lid: &InputConfig{Pin: "GPIO26"},
			LEDFault: &OutputConfig{Pin: "GPIO41"}}
		*c = []CompartmentConfig{
			{ID: 1, Capacity: 1, Motor: MotorConfig{Kind: "uln2003", Pins: []string{"GPIO17", "GPIO27", "GPIO22", "GPIO23"}, StepsPerUnit: 1}},
			{ID: 2, Capacity: 1, Motor: MotorConfig{Kind: "uln2003", Pins: []string{"GPIO24", "GPIO25", "GPIO5", "GPIO6"}, StepsPerUnit: 1}},
		}
	}
	tests := []struct {
		name          string
		break_        func(b *BoardConfig, c *[]CompartmentConfig)
		path, other   string
		msg, wantFix  string
		wantFixSuffix bool
	}{
		{"pins used further down are not free", func(b *BoardConfig, c *[]CompartmentConfig) { b.LEDFault.Pin = "GPIO41" },
			"board.led_fault.pin", "", `"GPIO41" is not a GPIO of the 40-pin header`,
			"GPIO41 is not on the 40-pin header; free pins: GPIO4, GPIO16", false},
		{"a pin freed by the mistake is free", func(b *BoardConfig, c *[]CompartmentConfig) { b.Drop.Pin = "GPIO30" },
			"board.drop.pin", "", `"GPIO30" is not a GPIO of the 40-pin header`,
			"GPIO30 is not on the 40-pin header; free pins: GPIO4, GPIO27, GPIO16", false},
		{"pin used twice names the first use", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[0].Motor.Pins[1] = "GPIO17" },
			"compartments[0].motor.pins[1]", "board.button.pin", "GPIO17 is already used by board.button.pin",
			"give each part its own GPIO; free pins: GPIO4, GPIO6, GPIO16", false},
		{"I2C pin", func(b *BoardConfig, c *[]CompartmentConfig) { b.LEDFault.Pin = "GPIO3" },
			"board.led_fault.pin", "", "GPIO3 is already used by the I2C bus (display or servo driver)",
			"free pins: GPIO4, GPIO16", true},
		{"no plain pin free: the special ones", crowded,
			"board.led_fault.pin", "", `"GPIO41" is not a GPIO of the 40-pin header`,
			"free pins: GPIO2, GPIO3, GPIO14, GPIO15, GPIO18, GPIO10, GPIO9, GPIO11, GPIO8, GPIO7, GPIO12, GPIO13, GPIO19, GPIO20, GPIO21", true},
		{"duplicate compartment id names the first", func(b *BoardConfig, c *[]CompartmentConfig) { (*c)[2].ID = 1 },
			"compartments[2].id", "compartments[0]", "compartment id 1 is also used by compartments[0]", "give each compartment its own id", false},
		{"shared servo channel names the first", func(b *BoardConfig, c *[]CompartmentConfig) {
			*c = append(*c, CompartmentConfig{ID: 4, Capacity: 1, Motor: MotorConfig{Kind: "servo"}})
		}, "compartments[3].motor.channel", "compartments[2]", "channel 0 is also used by compartments[2]", "plug each servo into its own PCA9685 output", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := oneProblem(t, tt.break_)
			fixOK := p.Fix == tt.wantFix || tt.wantFixSuffix && strings.HasSuffix(p.Fix, tt.wantFix)
			if p.Path != tt.path || p.Other != tt.other || p.Msg != tt.msg || !fixOK {
				t.Errorf("ValidateBoard() = path %q, other %q, msg %q, fix %q;\nwant %q, %q, %q, fix %q", p.Path, p.Other, p.Msg, p.Fix, tt.path, tt.other, tt.msg, tt.wantFix)
			}
		})
	}
}
