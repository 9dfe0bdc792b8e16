package driver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pillbox/pillbox/hw"
	"periph.io/x/conn/v3/gpio"
)

// HalfStep is the 8-phase half-step sequence of a 28BYJ-48 unipolar
// stepper through a ULN2003 array, as the coil levels of IN1..IN4. Each
// step changes exactly one coil, so writing only the coil that changes
// never shows an intermediate phase. Forward runs the table upwards.
var HalfStep = [8][4]gpio.Level{
	{gpio.High, gpio.Low, gpio.Low, gpio.Low},  // 1000
	{gpio.High, gpio.High, gpio.Low, gpio.Low}, // 1100
	{gpio.Low, gpio.High, gpio.Low, gpio.Low},  // 0100
	{gpio.Low, gpio.High, gpio.High, gpio.Low}, // 0110
	{gpio.Low, gpio.Low, gpio.High, gpio.Low},  // 0010
	{gpio.Low, gpio.Low, gpio.High, gpio.High}, // 0011
	{gpio.Low, gpio.Low, gpio.Low, gpio.High},  // 0001
	{gpio.High, gpio.Low, gpio.Low, gpio.High}, // 1001
}

// ULN2003 drives a 28BYJ-48 stepper through a ULN2003 darlington array in
// half steps.
//
// The driver assumes the rotor sits at HalfStep[0] when it is built and
// remembers the last phase it energised. A move first energises that rest
// phase, then each step moves one phase (up the table, or down with
// reverse), energises it and waits the step delay; then all coils go low.
// So the first forward move after construction shows 1000, 1100, 0100, ...
// and eight steps end on 1000; each step is exactly one pin write.
// Keeping the phase across calls means the next move starts where the
// rotor was left instead of snapping to another phase.
type ULN2003 struct {
	mu      sync.Mutex // one motion at a time
	pins    [4]gpio.PinOut
	levels  [4]gpio.Level // what each pin was last driven to
	steps   int
	delay   time.Duration
	reverse bool
	phase   int // index into HalfStep of the last energised phase
}

// NewULN2003 returns a stepper on IN1..IN4 that moves stepsPerUnit half
// steps per pill, waiting stepDelay after each step (about 2ms for a
// 28BYJ-48; much less and it stalls). All coils are driven low at once.
func NewULN2003(pins [4]gpio.PinOut, stepsPerUnit int, stepDelay time.Duration, reverse bool) (*ULN2003, error) {
	for i, p := range pins {
		if p == nil {
			return nil, fmt.Errorf("uln2003: pin IN%d is missing", i+1)
		}
	}
	if stepsPerUnit <= 0 {
		return nil, fmt.Errorf("uln2003: steps per unit %d, want > 0", stepsPerUnit)
	}
	if stepDelay < 0 {
		return nil, fmt.Errorf("uln2003: step delay %s, want >= 0", stepDelay)
	}
	m := &ULN2003{pins: pins, steps: stepsPerUnit, delay: stepDelay, reverse: reverse}
	if err := m.coilsOff(); err != nil {
		return nil, err
	}
	return m, nil
}

// DispenseOne turns the wheel by one pill slot and leaves the coils off.
// On cancellation it stops between two steps and returns ctx.Err().
func (m *ULN2003) DispenseOne(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := 1
	if m.reverse {
		dir = -1
	}
	err := func() error {
		// Energise the phase the rotor rests at first: from there every
		// step changes exactly one coil, so no phase is skipped even
		// between two pin writes.
		if err := m.energise(); err != nil {
			return err
		}
		for range m.steps {
			m.phase = (m.phase + dir + len(HalfStep)) % len(HalfStep)
			if err := m.energise(); err != nil {
				return err
			}
			if err := wait(ctx, m.delay); err != nil {
				return err
			}
		}
		return nil
	}()
	// A 28BYJ-48 left energised draws ~240mA and heats up for nothing: the
	// gear train holds the wheel.
	return errors.Join(err, m.coilsOff())
}

// energise drives the coils of HalfStep[m.phase], writing only the pins
// that change, in order IN1..IN4.
func (m *ULN2003) energise() error {
	for i, l := range HalfStep[m.phase] {
		if l == m.levels[i] {
			continue
		}
		if err := m.pins[i].Out(l); err != nil {
			return fmt.Errorf("uln2003: drive IN%d: %w", i+1, err)
		}
		m.levels[i] = l
	}
	return nil
}

func (m *ULN2003) coilsOff() error {
	var errs []error
	for i, p := range m.pins {
		if err := p.Out(gpio.Low); err != nil {
			errs = append(errs, fmt.Errorf("uln2003: switch off IN%d: %w", i+1, err))
			continue
		}
		m.levels[i] = gpio.Low
	}
	return errors.Join(errs...)
}

// Halt switches every coil off, after any move in progress.
func (m *ULN2003) Halt() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.coilsOff()
}

// Phase returns the index into HalfStep of the phase last energised.
func (m *ULN2003) Phase() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.phase
}

// StepDir drives a bipolar stepper through an A4988 or DRV8825 carrier.
//
// DIR is High for forward and Low with reverse. ENABLE is active low: it is
// held High (outputs off) except during a move. Without an enable pin the
// driver keeps its holding current between moves; wire ENABLE to let it rest.
type StepDir struct {
	mu            sync.Mutex
	step, dir, en gpio.PinOut
	steps         int
	high, low     time.Duration
	forward       gpio.Level
}

// Minimum timings from the A4988 datasheet (Allegro A4988-DS, figure 1,
// "Logic Interface Timing Diagram"): STEP high and low at least 1us, DIR
// set up at least 200ns before the STEP rising edge. The DRV8825 needs
// 1.9us high and low (TI SLVSA73F, 7.6 timing requirements); the 2us floor
// covers both. Real step delays are a millisecond or more.
const (
	minStepPulse = 2 * time.Microsecond
	dirSetup     = time.Microsecond
)

// NewStepDir returns a stepper that moves stepsPerUnit steps per pill, each
// step stepDelay long (STEP high for half of it, low for the other half).
// enable may be nil.
func NewStepDir(step, dir, enable gpio.PinOut, stepsPerUnit int, stepDelay time.Duration, reverse bool) (*StepDir, error) {
	if step == nil || dir == nil {
		return nil, errors.New("stepdir: step and dir pins are required")
	}
	if stepsPerUnit <= 0 {
		return nil, fmt.Errorf("stepdir: steps per unit %d, want > 0", stepsPerUnit)
	}
	if stepDelay < 0 {
		return nil, fmt.Errorf("stepdir: step delay %s, want >= 0", stepDelay)
	}
	half := max(stepDelay/2, minStepPulse)
	m := &StepDir{step: step, dir: dir, en: enable, steps: stepsPerUnit, high: half, low: half, forward: gpio.High}
	if reverse {
		m.forward = gpio.Low
	}
	if err := step.Out(gpio.Low); err != nil {
		return nil, fmt.Errorf("stepdir: drive STEP low: %w", err)
	}
	if err := m.disable(); err != nil {
		return nil, err
	}
	return m, nil
}

// DispenseOne turns the wheel by one pill slot and disables the driver.
// On cancellation it stops between two steps and returns ctx.Err().
func (m *StepDir) DispenseOne(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	err := func() error {
		if err := m.dir.Out(m.forward); err != nil {
			return fmt.Errorf("stepdir: drive DIR: %w", err)
		}
		if m.en != nil {
			if err := m.en.Out(gpio.Low); err != nil {
				return fmt.Errorf("stepdir: enable: %w", err)
			}
		}
		time.Sleep(dirSetup)
		for range m.steps {
			if err := m.step.Out(gpio.High); err != nil {
				return fmt.Errorf("stepdir: drive STEP high: %w", err)
			}
			time.Sleep(m.high) // not cancellable: a pulse is never cut short
			if err := m.step.Out(gpio.Low); err != nil {
				return fmt.Errorf("stepdir: drive STEP low: %w", err)
			}
			if err := wait(ctx, m.low); err != nil {
				return err
			}
		}
		return nil
	}()
	return errors.Join(err, m.disable())
}

// Halt disables the driver's outputs, after any move in progress.
func (m *StepDir) Halt() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.disable()
}

func (m *StepDir) disable() error {
	if m.en == nil {
		return nil
	}
	if err := m.en.Out(gpio.High); err != nil {
		return fmt.Errorf("stepdir: disable: %w", err)
	}
	return nil
}

// wait sleeps for d unless ctx is done first. A zero d only checks ctx.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

var (
	_ hw.Motor = (*ULN2003)(nil)
	_ hw.Motor = (*StepDir)(nil)
)
