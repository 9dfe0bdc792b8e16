package driver

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/pillbox/pillbox/hw"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
)

// Ports is where a board's pins and I2C bus come from: periph's registries
// on a Raspberry Pi (package host), simulated pins and a simulated bus in
// the simulator.
type Ports struct {
	// Pin returns the GPIO with a periph name ("GPIO17"), or nil.
	Pin func(name string) gpio.PinIO
	// OpenI2C opens the I2C bus with a periph name ("1", "" for the first).
	OpenI2C func(name string) (i2c.BusCloser, error)
	// OpenSpeaker starts the speaker (package speech on the device, a
	// model in the simulator); nil where there is none. A speaker that
	// has a Close method is closed with the board.
	OpenSpeaker func(c hw.SpeakerConfig, log *slog.Logger) (hw.Speaker, error)
}

// NewBoard builds every driver the configuration names. A required part
// that fails (a motor, the button, the drop sensor) makes it fail with an
// error wrapping hw.ErrHardware, after releasing what it had built: the
// device must not run without knowing what it dispensed. An optional part
// that is not configured or does not answer is replaced by a no-op part,
// logged as an error and listed in Board.Missing.
//
// The configuration must have passed hw.ValidateBoard; NewBoard checks it
// again and refuses it otherwise.
func NewBoard(cfg hw.BoardConfig, comps []hw.CompartmentConfig, ports Ports, log *slog.Logger) (*hw.Board, error) {
	if probs := hw.ValidateBoard(cfg, comps); len(probs) > 0 {
		return nil, fmt.Errorf("board: invalid configuration: %w", probs)
	}
	bb := &boardBuilder{ports: ports, log: log}
	b, err := bb.build(cfg, comps)
	if err != nil {
		return nil, errors.Join(err, bb.close())
	}
	b.Close = sync.OnceValue(bb.close)
	return b, nil
}

type boardBuilder struct {
	ports   Ports
	log     *slog.Logger
	halts   []func() error // run in reverse order by close
	missing []string
}

func (bb *boardBuilder) onClose(f func() error) { bb.halts = append(bb.halts, f) }

// close halts the actuators and releases the bus, later parts first.
func (bb *boardBuilder) close() error {
	var errs []error
	for _, f := range slices.Backward(bb.halts) {
		errs = append(errs, f())
	}
	bb.halts = nil
	return errors.Join(errs...)
}

func (bb *boardBuilder) build(cfg hw.BoardConfig, comps []hw.CompartmentConfig) (*hw.Board, error) {
	b := &hw.Board{}
	var bus i2c.Bus
	if cfg.Display != nil || cfg.ServoDriver != nil {
		bc, err := bb.ports.OpenI2C(cfg.I2CBus)
		if err != nil {
			// Without a bus there is no display; servos are checked below.
			bb.log.Error("I2C bus not available", "bus", cfg.I2CBus, "err", err)
		} else {
			bus = bc
			bb.onClose(bc.Close)
		}
	}

	var pca *PCA9685
	if cfg.ServoDriver != nil && bus != nil {
		p, err := NewPCA9685(bus, cfg.ServoDriver.Address)
		if err != nil {
			bb.log.Error("servo driver not answering", "address", cfg.ServoDriver.Address, "err", err)
		} else {
			pca = p
			bb.onClose(p.Halt)
		}
	}
	for i, c := range comps {
		m, err := bb.motor(c.Motor.Defaulted(), pca)
		if err != nil {
			return nil, fmt.Errorf("board: compartments[%d] (id %d): %w: %w", i, c.ID, hw.ErrHardware, err)
		}
		b.Compartments = append(b.Compartments, hw.Compartment{ID: c.ID, Motor: m})
	}

	var err error
	if b.Button, err = bb.input(cfg.Button, hw.Button); err != nil {
		return nil, fmt.Errorf("board: %w: %w", hw.ErrHardware, err)
	}
	if b.Drop, err = bb.input(cfg.Drop, hw.Drop); err != nil {
		return nil, fmt.Errorf("board: %w: %w", hw.ErrHardware, err)
	}
	b.Lid = bb.optionalInput(cfg.Lid, hw.Lid)
	b.Cup = bb.optionalInput(cfg.Cup, hw.Cup)

	b.Display = bb.display(cfg.Display, bus)
	b.Speaker = bb.speaker(cfg.Speaker)
	b.Buzzer = bb.output(cfg.Buzzer, "buzzer")
	b.Ready = bb.output(cfg.LEDReady, "led_ready")
	b.Attention = bb.output(cfg.LEDAttention, "led_attention")
	b.Fault = bb.output(cfg.LEDFault, "led_fault")
	b.Missing = bb.missing
	return b, nil
}

func (bb *boardBuilder) pin(name string) (gpio.PinIO, error) {
	p := bb.ports.Pin(name)
	if p == nil {
		return nil, fmt.Errorf("no pin %s on this board", name)
	}
	return p, nil
}

// motor builds the driver of m's kind's drive on the pins the kind wires
// (hw.MotorKind.Pins, in the order the drive takes them).
func (bb *boardBuilder) motor(m hw.MotorConfig, pca *PCA9685) (hw.Motor, error) {
	k, ok := hw.MotorKindNamed(m.Kind)
	if !ok {
		return nil, fmt.Errorf("unknown motor kind %q", m.Kind)
	}
	var pins []gpio.PinOut
	for _, p := range k.Pins(m) {
		pin, err := bb.pin(p.Pin)
		if err != nil {
			return nil, err
		}
		pins = append(pins, pin)
	}
	var (
		motor interface {
			hw.Motor
			Halt() error
		}
		err error
	)
	switch k.Drive {
	case hw.DriveHalfStep:
		if len(pins) != 4 {
			return nil, fmt.Errorf("%s: %d coil pins, want 4", k.Name, len(pins))
		}
		motor, err = NewULN2003([4]gpio.PinOut(pins), m.StepsPerUnit, m.StepDelay, m.Reverse)
	case hw.DriveStepDir:
		if len(pins) < 2 {
			return nil, fmt.Errorf("%s: %d pins, want STEP and DIR", k.Name, len(pins))
		}
		var en gpio.PinOut
		if len(pins) > 2 {
			en = pins[2]
		}
		motor, err = NewStepDir(pins[0], pins[1], en, m.StepsPerUnit, m.StepDelay, m.Reverse)
	case hw.DriveServo:
		if pca == nil {
			return nil, errors.New("servo driver not available")
		}
		motor, err = NewServo(pca, m.Channel, m.RestAngle, m.DispenseAngle, m.MinPulse, m.MaxPulse, DefaultServoSettle)
	default:
		return nil, fmt.Errorf("%s: no driver for drive %d", k.Name, k.Drive)
	}
	if err != nil {
		return nil, err
	}
	bb.onClose(motor.Halt)
	return motor, nil
}

// Pull maps a config pull name ("up", "down", "none") to periph's. "none"
// is gpio.Float, not PullNoChange, so that a bias left by an earlier
// program is cleared where the pin driver can. The Pi's gpioioctl driver
// (host v3.8.5) cannot: it sends no bias flag for Float, so the kernel
// keeps the old bias (docs/config.md says what to do). Anything else is
// PullNoChange; hw.ValidateBoard rejects it first.
func Pull(name string) gpio.Pull {
	switch name {
	case "up":
		return gpio.PullUp
	case "down":
		return gpio.PullDown
	case "none":
		return gpio.Float
	}
	return gpio.PullNoChange
}

func (bb *boardBuilder) input(c hw.InputConfig, in hw.Input) (*Input, error) {
	c = c.Defaulted(in)
	p, err := bb.pin(c.Pin)
	if err != nil {
		return nil, fmt.Errorf("%s sensor: %w", in, err)
	}
	return NewInput(p, in, c.ActiveLow, Pull(c.Pull), c.Debounce)
}

func (bb *boardBuilder) optionalInput(c *hw.InputConfig, in hw.Input) hw.Sensor {
	if c == nil {
		bb.absent(in.String(), "not configured", nil)
		return NopSensor{}
	}
	s, err := bb.input(*c, in)
	if err != nil {
		bb.absent(in.String(), "not working", err)
		return NopSensor{}
	}
	return s
}

func (bb *boardBuilder) display(c *hw.DisplayConfig, bus i2c.Bus) hw.Display {
	if c == nil {
		bb.absent("display", "not configured", nil)
		return NopDisplay{}
	}
	if bus == nil {
		bb.absent("display", "no I2C bus", errors.New("I2C bus did not open"))
		return NopDisplay{}
	}
	var d hw.Display
	var err error
	switch c.Kind {
	case "ssd1306":
		var oled *SSD1306
		if oled, err = NewSSD1306(bus, c.Address); err == nil {
			oled.SetLargeText(c.LargeText)
			d = oled
		}
	case "hd44780":
		d, err = NewHD44780(bus, c.Address)
	default:
		err = fmt.Errorf("unknown display kind %q", c.Kind)
	}
	if err != nil {
		bb.absent("display", "not answering", err)
		return NopDisplay{}
	}
	return d
}

// speaker starts the configured speaker. Leaving it out of the config is
// a choice, not a missing part: the device has always been silent.
func (bb *boardBuilder) speaker(c *hw.SpeakerConfig) hw.Speaker {
	if c == nil {
		return NopSpeaker{}
	}
	if bb.ports.OpenSpeaker == nil {
		bb.absent("speaker", "no audio output", errors.New("no speaker on these ports"))
		return NopSpeaker{}
	}
	s, err := bb.ports.OpenSpeaker(c.Defaulted(), bb.log)
	if err != nil {
		bb.absent("speaker", "cannot speak", err)
		return NopSpeaker{}
	}
	if c, ok := s.(interface{ Close() error }); ok {
		bb.onClose(c.Close)
	}
	return s
}

func (bb *boardBuilder) output(c *hw.OutputConfig, name string) hw.Indicator {
	if c == nil {
		bb.absent(name, "not configured", nil)
		return NopIndicator{}
	}
	p, err := bb.pin(c.Pin)
	if err != nil {
		bb.absent(name, "not working", err)
		return NopIndicator{}
	}
	o := NewOutput(p, c.ActiveLow)
	bb.onClose(o.Close)
	return o
}

// absent records an optional part that will be a no-op, loudly: a patient
// who gets no beep or no display needs a caregiver to know. A part that is
// configured but fails is an error; one left out of the file a warning.
func (bb *boardBuilder) absent(part, why string, err error) {
	bb.missing = append(bb.missing, part)
	if err == nil {
		bb.log.Warn("optional part missing, replaced by a no-op", "part", part, "why", why)
		return
	}
	bb.log.Error("optional part missing, replaced by a no-op", "part", part, "why", why, "err", err)
}
