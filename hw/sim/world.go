// Package sim is the simulated dispenser board. It runs the real drivers of
// package hw/driver over gpiotest pins and a simulated I2C bus whose device
// models (SSD1306, HD44780 behind a PCF8574, PCA9685) decode the traffic by
// their datasheets, a speaker model keeps the last spoken prompt, and it adds a small physics model, the World: motor
// motion decoded from the pins turns the wheels, each full unit of forward
// motion drops a pill through the drop beam into the cup, and a patient and
// a fault injector act on the sensors. The daemon's sim mode and its HTTP
// API use New, Board, Snapshot, the patient actions and the fault
// injectors.
package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/hw/driver"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
)

// Timing of the simulated world.
const (
	// fallTime is how long a released pill takes to reach the drop beam;
	// beamTime is how long it blocks it.
	fallTime = 20 * time.Millisecond
	beamTime = 4 * time.Millisecond
	// pressTime is how long PressButton holds the button.
	pressTime = 150 * time.Millisecond
	// bounceGap is the time between two contact bounces or chatter edges.
	bounceGap = 300 * time.Microsecond
)

// How indicator modes are told apart on a pin.
const (
	indicatorSteadyAfter = 1200 * time.Millisecond // no toggle for longer than two slow blink halves
	indicatorFastBelow   = 300 * time.Millisecond  // a toggle interval under this is a fast blink
)

// Option configures New.
type Option func(*options)

type options struct {
	stateFile string
	bounce    int
	log       *slog.Logger
}

// WithLogger is where driver.NewBoard reports optional parts that are
// missing; by default nowhere.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithStateFile keeps the physical state (pill counts, pills in the cup,
// dispensed and taken totals, pending jams, lid and cup) in path: New loads
// it if it exists, and every physical change is written through (atomic
// rename, fsynced), so a restarted daemon finds the world as it was.
func WithStateFile(path string) Option { return func(o *options) { o.stateFile = path } }

// WithButtonBounce makes every press and release of the button bounce n
// times (2n extra edges, bounceGap apart) before it settles.
func WithButtonBounce(n int) Option { return func(o *options) { o.bounce = max(n, 0) } }

// World is the simulated dispenser: its pins, bus, device models, drivers
// and physics. It is safe for concurrent use.
type World struct {
	opts  options
	bus   *Bus
	oled  *SSD1306Model
	lcd   *HD44780Model
	pca   *PCA9685Model
	voice *SpeakerModel
	board *hw.Board

	mu         sync.Mutex
	comps      []*compartment
	sensors    map[hw.Input]*sensor
	indicators map[string]*indicator
	pins       map[string]*Pin
	lidOpen    bool
	cupPresent bool
	pressed    bool
	beam       int // pills in the drop beam now
	clock      time.Time
	saveErr    error
}

type compartment struct {
	cfg                              hw.CompartmentConfig
	count, capacity                  int
	dispensed, inCup, taken, spilled int
	jams, jammed, emptyTurns         int
	pos, units                       int // position in (half) steps, units turned
	coils                            coils
	stepDir                          stepDir
	servo                            *servo
}

type sensor struct {
	in        hw.Input
	pin       *Pin
	activeLow bool
	stuck     *bool
}

type indicator struct {
	pin       *Pin
	activeLow bool
	on        bool
	changed   [2]time.Time // the last two changes, newest first
}

// New builds the simulated board for a configuration, which must pass
// hw.ValidateBoard: a simulated pin for every configured pin and an I2C
// bus with the configured display and PCA9685, each wired to the physics,
// then the real board on them, built by driver.NewBoard exactly as the
// host opener builds it on a Raspberry Pi. The world starts with the
// configured pill counts (or the state file's), lid closed and cup in
// place.
func New(b hw.BoardConfig, comps []hw.CompartmentConfig, opts ...Option) (*World, error) {
	if err := hw.ValidateBoard(b, comps).Err(); err != nil {
		return nil, fmt.Errorf("sim: board configuration: %w", err)
	}
	w := &World{
		opts:       options{log: slog.New(slog.DiscardHandler)},
		sensors:    map[hw.Input]*sensor{},
		indicators: map[string]*indicator{},
		pins:       map[string]*Pin{},
		cupPresent: true,
	}
	for _, o := range opts {
		o(&w.opts)
	}
	for _, cc := range comps {
		cc.Motor = cc.Motor.Defaulted()
		w.comps = append(w.comps, &compartment{cfg: cc, count: cc.Count, capacity: max(cc.Capacity, cc.Count)})
	}
	if w.opts.stateFile != "" {
		if err := w.load(w.opts.stateFile); err != nil {
			return nil, err
		}
	}
	if err := w.wire(b); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	ports := driver.Ports{
		Pin: func(name string) gpio.PinIO {
			if p := w.Pin(name); p != nil {
				return p
			}
			return nil
		},
		OpenI2C: func(string) (i2c.BusCloser, error) { return w.bus, nil },
	}
	if b.Speaker != nil {
		w.voice = &SpeakerModel{}
		ports.OpenSpeaker = w.voice.openSpeaker
	}
	board, err := driver.NewBoard(b, comps, ports, w.opts.log)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	w.board = board
	if w.opts.stateFile != "" {
		// Written now so that a bad path fails here, not silently later.
		if err := w.Save(w.opts.stateFile); err != nil {
			return nil, errors.Join(err, board.Close())
		}
	}
	return w, nil
}

// wire makes the simulated pins and I2C devices the configuration names,
// each connected to the physics.
func (w *World) wire(b hw.BoardConfig) error {
	for _, in := range []struct {
		in  hw.Input
		cfg *hw.InputConfig
	}{{hw.Button, &b.Button}, {hw.Drop, &b.Drop}, {hw.Lid, b.Lid}, {hw.Cup, b.Cup}} {
		if in.cfg == nil {
			continue
		}
		p, err := w.pin(in.cfg.Pin, in.in.String(), nil)
		if err != nil {
			return err
		}
		s := &sensor{in: in.in, pin: p, activeLow: in.cfg.ActiveLow}
		w.sensors[in.in] = s
		p.reset(w.levelLocked(s)) // at its true level before the driver first reads it
	}

	for _, o := range []struct {
		name string
		cfg  *hw.OutputConfig
	}{{"buzzer", b.Buzzer}, {"led_ready", b.LEDReady}, {"led_attention", b.LEDAttention}, {"led_fault", b.LEDFault}} {
		if o.cfg == nil {
			continue
		}
		ind := &indicator{activeLow: o.cfg.ActiveLow}
		p, err := w.pin(o.cfg.Pin, o.name, func(l gpio.Level) { w.indicatorOut(ind, l) })
		if err != nil {
			return err
		}
		ind.pin = p
		w.indicators[o.name] = ind
	}

	w.bus = NewBus(b.I2CBus)
	if d := b.Display; d != nil {
		switch d.Kind {
		case "ssd1306":
			w.oled = NewSSD1306Model()
			w.bus.Attach(d.Address, w.oled)
		case "hd44780":
			w.lcd = NewHD44780Model()
			w.bus.Attach(d.Address, w.lcd)
		}
	}
	if s := b.ServoDriver; s != nil {
		w.pca = NewPCA9685Model()
		w.pca.OnChange(w.servoOut)
		w.bus.Attach(s.Address, w.pca)
	}

	for _, c := range w.comps {
		if err := w.wireMotor(c); err != nil {
			return err
		}
	}
	return nil
}

// pin makes the simulated pin name for use; each pin has one use.
func (w *World) pin(name, use string, onOut func(gpio.Level)) (*Pin, error) {
	if _, dup := w.pins[name]; dup {
		return nil, fmt.Errorf("%s: pin %s is already used", use, name)
	}
	num := -1
	if n, err := strconv.Atoi(strings.TrimPrefix(name, "GPIO")); err == nil {
		num = n
	}
	p := newPin(name, num, onOut)
	w.pins[name] = p
	return p, nil
}

// wireMotor connects compartment c's mechanism, as its kind's drive moves
// it, to the pins the kind wires (hw.MotorKind.Pins) or to its PCA9685
// channel.
func (w *World) wireMotor(c *compartment) error {
	m := c.cfg.Motor
	k, ok := hw.MotorKindNamed(m.Kind)
	if !ok {
		return fmt.Errorf("compartment %d: unknown motor kind %q", c.cfg.ID, m.Kind)
	}
	if k.Drive == hw.DriveServo {
		c.servo = newServo(m.MinPulse, m.MaxPulse, m.RestAngle, m.DispenseAngle)
		return nil
	}
	for i, p := range k.Pins(m) {
		var f func(high bool) // a change of the pin, under the world lock
		switch {
		case k.Drive == hw.DriveHalfStep && i < 4:
			f = func(high bool) { w.moveLocked(c, c.coils.set(i, high, time.Now())) }
		case k.Drive == hw.DriveStepDir && i == 0: // STEP
			f = func(high bool) { w.moveLocked(c, c.stepDir.setStep(high)) }
		case k.Drive == hw.DriveStepDir && i == 1: // DIR
			f = func(high bool) { c.stepDir.dir = high }
		case k.Drive == hw.DriveStepDir && i == 2: // EN
			// EN is active low; unwired, the carrier is always on.
			f = func(high bool) { c.stepDir.disabled = high }
		default:
			return fmt.Errorf("compartment %d: no model of %s pin %s", c.cfg.ID, k.Name, p.Label)
		}
		if _, err := w.pin(p.Pin, fmt.Sprintf("compartment %d %s", c.cfg.ID, p.Label), func(l gpio.Level) {
			w.mu.Lock()
			defer w.mu.Unlock()
			f(l == gpio.High)
		}); err != nil {
			return err
		}
	}
	return nil
}

// servoOut follows a PCA9685 channel's output with the servo on it.
func (w *World) servoOut(ch int, p PWM) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.comps {
		if c.servo == nil || c.cfg.Motor.Channel != ch {
			continue
		}
		s := c.servo
		released, travel := s.pulse(p, time.Now())
		w.unitsLocked(c, released)
		if s.arrive != nil {
			s.arrive.Stop()
		}
		if travel > 0 {
			s.arrive = time.AfterFunc(travel, func() {
				w.mu.Lock()
				defer w.mu.Unlock()
				w.unitsLocked(c, s.advance(time.Now()))
			})
		}
	}
}

// moveLocked moves a stepper compartment by delta (half) steps; each full
// unit of forward motion beyond the furthest reached turns one unit out.
func (w *World) moveLocked(c *compartment, delta int) {
	if delta == 0 {
		return
	}
	if c.cfg.Motor.Reverse {
		delta = -delta // the motor is mounted the other way round
	}
	c.pos += delta
	if spu := c.cfg.Motor.StepsPerUnit; spu > 0 && c.pos >= (c.units+1)*spu {
		n := c.pos/spu - c.units
		c.units += n
		w.unitsLocked(c, n)
	}
}

// unitsLocked turns n units of compartment c out: each drops a pill unless
// a jam holds it or the compartment is empty.
func (w *World) unitsLocked(c *compartment, n int) {
	for range n {
		switch {
		case c.jams > 0:
			c.jams--
			c.jammed++
		case c.count == 0:
			c.emptyTurns++
		default:
			c.count--
			c.dispensed++
			if w.cupPresent {
				c.inCup++
			} else {
				c.spilled++
			}
			w.dropLocked()
		}
	}
	if n > 0 {
		w.saveLocked()
	}
}

// dropLocked sends a pill through the drop beam: it breaks the beam after
// fallTime, for beamTime.
func (w *World) dropLocked() {
	time.AfterFunc(fallTime, func() {
		w.mu.Lock()
		w.beam++
		w.updateLocked(hw.Drop)
		w.mu.Unlock()
		time.AfterFunc(beamTime, func() {
			w.mu.Lock()
			w.beam--
			w.updateLocked(hw.Drop)
			w.mu.Unlock()
		})
	})
}

// physicalLocked is the true state a sensor senses.
func (w *World) physicalLocked(in hw.Input) bool {
	switch in {
	case hw.Button:
		return w.pressed
	case hw.Drop:
		return w.beam > 0
	case hw.Lid:
		return w.lidOpen
	case hw.Cup:
		return w.cupPresent
	}
	return false
}

// levelLocked is the level on a sensor's line: its true state unless the
// sensor is stuck.
func (w *World) levelLocked(s *sensor) gpio.Level {
	active := w.physicalLocked(s.in)
	if s.stuck != nil {
		active = *s.stuck
	}
	return gpio.Level(active != s.activeLow)
}

// updateLocked drives a sensor's line to its level.
func (w *World) updateLocked(in hw.Input) {
	if s := w.sensors[in]; s != nil {
		s.pin.drive(w.levelLocked(s))
	}
}

func (w *World) indicatorOut(ind *indicator, l gpio.Level) {
	w.mu.Lock()
	defer w.mu.Unlock()
	on := (l == gpio.High) != ind.activeLow
	if on == ind.on {
		return
	}
	ind.on = on
	ind.changed[1], ind.changed[0] = ind.changed[0], time.Now()
}

// mode infers what an indicator is doing from its recent toggles.
func (ind *indicator) mode(now time.Time) hw.Mode {
	last, prev := ind.changed[0], ind.changed[1]
	switch {
	case last.IsZero() || prev.IsZero() || now.Sub(last) > indicatorSteadyAfter:
		if ind.on {
			return hw.On
		}
		return hw.Off
	case last.Sub(prev) < indicatorFastBelow:
		return hw.FastBlink
	}
	return hw.Blink
}

// Board returns the board of real drivers on the simulated hardware, as
// driver.NewBoard built it.
func (w *World) Board() *hw.Board { return w.board }

// OLED returns the SSD1306 model, or nil when the display is not one.
func (w *World) OLED() *SSD1306Model { return w.oled }

// LCD returns the HD44780 model, or nil when the display is not one.
func (w *World) LCD() *HD44780Model { return w.lcd }

// Speaker returns the audio output model, or nil when no speaker is
// configured.
func (w *World) Speaker() *SpeakerModel { return w.voice }

// PCA9685 returns the PCA9685 model, or nil when none is configured.
func (w *World) PCA9685() *PCA9685Model { return w.pca }

// Pin returns the simulated pin with a config name ("GPIO17"), or nil.
func (w *World) Pin(name string) *Pin {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pins[name]
}

func (w *World) compartment(id int) (*compartment, error) {
	for _, c := range w.comps {
		if c.cfg.ID == id {
			return c, nil
		}
	}
	return nil, fmt.Errorf("sim: no compartment %d", id)
}
