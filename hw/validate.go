package hw

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/internal/problem"
	"github.com/pillbox/pillbox/internal/textdist"
)

// Defaults of the board section, applied by Defaulted so that the
// validator, the real board and the simulated board agree on them (each
// motor kind declares its own, in its motor_*.go file).
const (
	DefaultSwitchDebounce = 20 * time.Millisecond
	DefaultAudioDevice    = "default"
	DefaultVolume         = 50
	DefaultSpeechRate     = 140
)

// Defaulted returns c with an empty Device and a zero Volume and Rate
// filled in.
func (c SpeakerConfig) Defaulted() SpeakerConfig {
	if c.Device == "" {
		c.Device = DefaultAudioDevice
	}
	if c.Volume == 0 {
		c.Volume = DefaultVolume
	}
	if c.Rate == 0 {
		c.Rate = DefaultSpeechRate
	}
	return c
}

// Defaulted returns c with an empty Pull and a zero Debounce filled in for
// a sensor of kind in: pull "up" for an active-low input, else "down";
// DefaultSwitchDebounce except for the drop sensor (a pill crosses the
// beam in a few milliseconds).
func (c InputConfig) Defaulted(in Input) InputConfig {
	if c.Pull == "" {
		c.Pull = "down"
		if c.ActiveLow {
			c.Pull = "up"
		}
	}
	if c.Debounce == 0 && in != Drop {
		c.Debounce = DefaultSwitchDebounce
	}
	return c
}

// Defaulted returns m with what its kind defaults (MotorKind.Defaults)
// filled in; a motor of an unknown kind comes back as it is.
func (m MotorConfig) Defaulted() MotorConfig {
	if k, ok := MotorKindNamed(m.Kind); ok && k.Defaults != nil {
		k.Defaults(&m)
	}
	return m
}

// ValidateBoard checks the board section and the compartments against the
// 40-pin header and the drivers' limits. Paths are from the file's root.
func ValidateBoard(b BoardConfig, comps []CompartmentConfig) problem.List {
	v := boardValidator{used: map[string]string{}}
	i2c := b.Display != nil || b.ServoDriver != nil
	if i2c {
		// The I2C bus owns SDA and SCL whatever the order of the file.
		for _, p := range []string{"GPIO2", "GPIO3"} {
			v.used[p] = "the I2C bus (display or servo driver)"
		}
	}

	v.input("board.button", &b.Button, true, "the patient's button")
	v.input("board.drop", &b.Drop, true, "the pill-drop sensor")
	if b.Lid != nil {
		v.input("board.lid", b.Lid, false, "")
	}
	if b.Cup != nil {
		v.input("board.cup", b.Cup, false, "")
	}
	for _, o := range []struct {
		path string
		c    *OutputConfig
	}{{"board.buzzer", b.Buzzer}, {"board.led_ready", b.LEDReady}, {"board.led_attention", b.LEDAttention}, {"board.led_fault", b.LEDFault}} {
		if o.c != nil {
			v.pin(problem.Join(o.path, "pin"), o.c.Pin)
		}
	}

	if d := b.Display; d != nil {
		if d.Kind != "ssd1306" && d.Kind != "hd44780" {
			v.Add("board.display.kind", `use "ssd1306" for a 128x64 OLED or "hd44780" for a 16x2 LCD with an I2C backpack`,
				"unknown display kind %q", d.Kind)
		}
		v.i2cAddr("board.display.address", d.Address, "the display's address is printed on its board: 0x3c for most OLEDs, 0x27 or 0x3f for LCD backpacks")
		if d.LargeText && d.Kind == "hd44780" {
			v.Add("board.display.large_text", "remove large_text, or fit a 128x64 SSD1306 OLED: a character LCD has one size of letters",
				"large_text needs an ssd1306 display")
		}
	}
	if s := b.Speaker; s != nil {
		v.speaker(s.Defaulted())
	}
	if s := b.ServoDriver; s != nil {
		v.i2cAddr("board.servo_driver.address", s.Address, "a PCA9685 board answers at 0x40 unless its address pads are bridged")
		if d := b.Display; d != nil && d.Address == s.Address {
			v.Add("board.servo_driver.address", "give the display and the servo driver different addresses (run i2cdetect -y 1 to see them)",
				"the display and the servo driver both use address %#02x", s.Address)
		}
	}

	if len(comps) == 0 {
		v.Add("compartments", "list at least one compartment with its id, motor, capacity and count", "no compartments")
	}
	ids := map[int]int{}
	channels := map[int]int{}
	for i, c := range comps {
		path := problem.Index("compartments", i)
		switch first, dup := ids[c.ID]; {
		case c.ID <= 0:
			v.Add(path+".id", "number compartments 1, 2, 3... as labelled on the device", "compartment id %d is not positive", c.ID)
		case dup:
			v.AddOther(path+".id", problem.Index("compartments", first), "give each compartment its own id", "compartment id %d is also used by compartments[%d]", c.ID, first)
		default:
			ids[c.ID] = i
		}
		if c.Capacity <= 0 {
			v.Add(path+".capacity", "set capacity to the number of pills the compartment holds when full", "capacity %d is not positive", c.Capacity)
		}
		if c.Count < 0 || (c.Capacity > 0 && c.Count > c.Capacity) {
			v.Add(path+".count", "set count to the pills in the compartment now, between 0 and its capacity", "count %d is outside 0..%d", c.Count, max(c.Capacity, 0))
		}
		v.motor(path+".motor", c.Motor.Defaulted(), b.ServoDriver != nil, channels, i)
	}
	// Only now is every pin the file uses known, so only now can a fix
	// name the pins that are still free.
	free := v.freeGPIOs()
	for _, f := range v.pinFixes {
		v.List[f.at].Fix = f.fix(free)
	}
	return v.List
}

type boardValidator struct {
	problem.List
	used     map[string]string // pin name -> path or part that uses it
	pinFixes []pinFix          // fixes that name free pins, written last
}

// pinFix is the fix of problem at, written once the free pins are known.
type pinFix struct {
	at  int
	fix func(free []string) string
}

// addPinProblem records a problem whose fix names free pins.
func (v *boardValidator) addPinProblem(path, other string, fix func(free []string) string, format string, args ...any) {
	v.pinFixes = append(v.pinFixes, pinFix{at: len(v.List), fix: fix})
	v.AddOther(path, other, "", format, args...)
}

// freeGPIOs lists the header GPIOs with no special use that the file does
// not use; failing those, the unused ones with a special use (SPI, UART,
// PWM) that a pill dispenser does not need.
func (v *boardValidator) freeGPIOs() []string {
	var plain, special []string
	for _, p := range Header {
		if !p.GPIO() || p.Number == 27 || p.Number == 28 || v.used[p.Name] != "" {
			continue
		}
		if p.Alt == "" {
			plain = append(plain, p.Name)
		} else {
			special = append(special, p.Name)
		}
	}
	if len(plain) > 0 {
		return plain
	}
	return special
}

// freeList says which pins are free, for a fix.
func freeList(free []string) string {
	if len(free) == 0 {
		return "every GPIO of the header is in use: drop a part you do not need (lid, cup, LEDs, buzzer)"
	}
	return "free pins: " + strings.Join(free, ", ")
}

func (v *boardValidator) input(path string, c *InputConfig, required bool, what string) {
	if c.Pin == "" && required {
		v.Add(path+".pin", fmt.Sprintf("wire %s to a free GPIO and give its name, e.g. pin: GPIO17", what), "no pin for %s", what)
	} else {
		v.pin(path+".pin", c.Pin)
	}
	if c.Pull != "" && c.Pull != "up" && c.Pull != "down" && c.Pull != "none" {
		v.Add(path+".pull", `use "up", "down" or "none" (or leave it out: up when active_low, else down)`, "unknown pull %q", c.Pull)
	}
	if c.Debounce < 0 {
		v.Add(path+".debounce", "use a duration such as 20ms, or leave it out", "debounce %s is negative", c.Debounce)
	}
}

func (v *boardValidator) motor(path string, m MotorConfig, haveServoDriver bool, channels map[int]int, i int) {
	k, ok := MotorKindNamed(m.Kind)
	switch {
	case m.Kind == "":
		v.Add(path+".kind", "set kind to "+motorKindList(false), "no motor kind")
	case !ok:
		v.Add(path+".kind", "use "+motorKindList(true), "unknown motor kind %q", m.Kind)
	default:
		k.Check(m, &MotorCheck{v: v, path: path, compartment: i, channels: channels, servoDriver: haveServoDriver})
	}
}

func (v *boardValidator) speaker(s SpeakerConfig) {
	if s.Volume < 1 || s.Volume > 100 {
		v.Add("board.speaker.volume", "use a volume from 1 to 100 (50 is espeak-ng's own loudness), or leave it out",
			"volume %d is outside 1..100", s.Volume)
	}
	if s.Rate < 80 || s.Rate > 300 {
		v.Add("board.speaker.rate", "use 80 to 300 words a minute (140 by default), or leave it out",
			"rate %d is outside 80..300", s.Rate)
	}
	// aplay -D takes a PCM name with optional arguments: no spaces, and
	// nothing a shell or aplay would read as another option.
	if strings.ContainsAny(s.Device, " \t\n'\"`$;&|") || strings.HasPrefix(s.Device, "-") {
		v.Add("board.speaker.device", `use an ALSA device name as "aplay -L" lists it, e.g. "default" or "plughw:CARD=Headphones"`,
			"%q is not an ALSA device name", s.Device)
	}
}

// i2cAddr checks a 7-bit address outside the ranges I2C reserves.
func (v *boardValidator) i2cAddr(path string, a uint16, fix string) {
	if a < 0x03 || a > 0x77 {
		v.Add(path, fix, "I2C address %#02x is outside 0x03..0x77", a)
	}
}

// pin checks a pin name and records its use.
func (v *boardValidator) pin(path, name string) {
	if name == "" {
		v.Add(path, "give the GPIO's name, e.g. GPIO17", "no pin given")
		return
	}
	hp, ok := HeaderPinByName(name)
	if !ok {
		v.addPinProblem(path, "", func(free []string) string { return namePin(name, free) }, "%q is not a GPIO of the 40-pin header", name)
		return
	}
	if hp.Number == 27 || hp.Number == 28 {
		v.Add(path, "pick another GPIO: GPIO0 and GPIO1 are kept for the HAT ID EEPROM", "%s (header pin %d) is reserved for the HAT EEPROM", name, hp.Number)
		return
	}
	if other, dup := v.used[name]; dup {
		if strings.HasPrefix(other, "the I2C") {
			v.addPinProblem(path, "", func(free []string) string {
				return "pick another GPIO (GPIO2 and GPIO3 are SDA and SCL of the I2C bus the display and servo driver use); " + freeList(free)
			}, "%s is already used by %s", name, other)
			return
		}
		v.addPinProblem(path, other, func(free []string) string { return "give each part its own GPIO; " + freeList(free) },
			"%s is already used by %s", name, other)
		return
	}
	v.used[name] = path
}

// namePin explains how to name a pin the installer got wrong; free are the
// pins still free.
func namePin(name string, free []string) string {
	n := strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '_' || r == '-' {
			return -1
		}
		return r
	}, name))
	num := ""
	for _, prefix := range []string{"GPIO", "BCM", "PIN", "P1", ""} {
		if rest, ok := strings.CutPrefix(n, prefix); ok && rest != "" {
			if _, err := strconv.Atoi(rest); err == nil {
				num, n = rest, prefix
				break
			}
		}
	}
	if num != "" {
		k, _ := strconv.Atoi(num)
		gpio := "GPIO" + strconv.Itoa(k)
		if n == "GPIO" || n == "BCM" {
			if hp, ok := HeaderPinByName(gpio); ok {
				return fmt.Sprintf("write %q (header pin %d)", gpio, hp.Number)
			}
			return fmt.Sprintf("GPIO%d is not on the 40-pin header; %s", k, freeList(free))
		}
		// A bare number or "pin 11": most likely the physical pin.
		var b strings.Builder
		b.WriteString("pins are named by their BCM GPIO number, not the header pin number")
		if k >= 1 && k <= len(Header) {
			hp := Header[k-1]
			if hp.GPIO() {
				fmt.Fprintf(&b, `: header pin %d is %s, so write %q`, k, hp.Name, hp.Name)
			} else {
				fmt.Fprintf(&b, ": header pin %d is %s, not a GPIO", k, hp.Name)
			}
		}
		if hp, ok := HeaderPinByName(gpio); ok && hp.Number != 27 && hp.Number != 28 {
			fmt.Fprintf(&b, `; if you meant BCM GPIO %d, write %q (header pin %d)`, k, gpio, hp.Number)
		}
		return b.String()
	}
	if near := closestGPIOs(name); len(near) > 0 {
		return fmt.Sprintf("did you mean %s? Pins are named GPIOn with n the BCM number, e.g. header pin 11 is GPIO17", strings.Join(near, " or "))
	}
	return "name pins GPIOn with n the BCM number, e.g. header pin 11 is GPIO17"
}

// closestGPIOs returns the header GPIO names nearest to name by edit
// distance, if any is close (at most 2 edits).
func closestGPIOs(name string) []string {
	best, out := 3, []string(nil)
	for _, p := range Header {
		if !p.GPIO() {
			continue
		}
		d := textdist.Levenshtein(strings.ToUpper(name), p.Name)
		switch {
		case d < best:
			best, out = d, []string{p.Name}
		case d == best:
			out = append(out, p.Name)
		}
	}
	return out
}
