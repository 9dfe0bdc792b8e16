package driver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/pillbox/pillbox/hw"
	"periph.io/x/conn/v3/i2c"
)

// PCA9685 registers and MODE1 bits (NXP PCA9685 product data sheet, rev. 4,
// 7.3 "Register definitions", table 4 and 5).
const (
	pcaMode1    = 0x00
	pcaMode2    = 0x01
	pcaLED0     = 0x06 // LED0_ON_L; channel n at 0x06 + 4n: ON_L, ON_H, OFF_L, OFF_H
	pcaAllLED   = 0xFA // ALL_LED_ON_L
	pcaPrescale = 0xFE

	pcaRestart = 0x80
	pcaAI      = 0x20 // register auto-increment
	pcaSleep   = 0x10
	pcaOutDrv  = 0x04 // MODE2: totem-pole outputs, as servo boards are wired
	pcaFull    = 0x10 // bit 4 of LEDn_ON_H / LEDn_OFF_H: full on / full off

	// PCAOscillator is the internal oscillator frequency (7.3.5).
	PCAOscillator = 25_000_000
	// PCAFrequency is the servo frame rate the driver programs.
	PCAFrequency = 50
	// PCAPrescale is round(25 MHz / (4096 * 50 Hz)) - 1 (equation 1 of 7.3.5).
	PCAPrescale = 121
)

// PCA9685 is the NXP 16-channel, 12-bit PWM controller used on servo HATs.
type PCA9685 struct {
	mu  sync.Mutex
	dev i2c.Dev
}

// NewPCA9685 programs the controller for 50 Hz servo frames and switches
// every channel fully off. The sequence follows the data sheet: PRE_SCALE
// can only be written while MODE1.SLEEP is set (7.3.5); after waking, the
// oscillator needs 500us before RESTART is written (7.3.1.1).
func NewPCA9685(bus i2c.Bus, addr uint16) (*PCA9685, error) {
	if bus == nil {
		return nil, errors.New("pca9685: no I2C bus")
	}
	p := &PCA9685{dev: i2c.Dev{Bus: bus, Addr: addr}}
	steps := []struct {
		w    []byte
		wait time.Duration
	}{
		{[]byte{pcaMode1, pcaSleep}, 0},
		{[]byte{pcaMode2, pcaOutDrv}, 0},
		{[]byte{pcaPrescale, PCAPrescale}, 0},
		{[]byte{pcaMode1, pcaAI}, 500 * time.Microsecond},
		{[]byte{pcaMode1, pcaRestart | pcaAI}, 0},
		// Servos must not twitch at start-up: all channels fully off.
		{[]byte{pcaAllLED, 0, 0, 0, pcaFull}, 0},
	}
	for _, s := range steps {
		if err := p.dev.Tx(s.w, nil); err != nil {
			return nil, fmt.Errorf("pca9685 at %#x: init: %w", addr, err)
		}
		time.Sleep(s.wait)
	}
	return p, nil
}

// PCAPeriod is the length of one PWM frame at PCAPrescale.
const PCAPeriod = time.Second * (PCAPrescale + 1) * 4096 / PCAOscillator

// SetPulse makes channel 0..15 emit a pulse of width every frame, starting
// at count 0; width 0 switches the channel fully off.
func (p *PCA9685) SetPulse(channel int, width time.Duration) error {
	if channel < 0 || channel > 15 {
		return fmt.Errorf("pca9685: channel %d, want 0..15", channel)
	}
	if width < 0 || width >= PCAPeriod {
		return fmt.Errorf("pca9685: pulse %s, want 0..%s", width, PCAPeriod)
	}
	reg := byte(pcaLED0 + 4*channel)
	w := []byte{reg, 0, 0, 0, pcaFull}
	if width > 0 {
		off := PulseCounts(width)
		w = []byte{reg, 0, 0, byte(off), byte(off >> 8)}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.dev.Tx(w, nil); err != nil {
		return fmt.Errorf("pca9685: channel %d: %w", channel, err)
	}
	return nil
}

// Halt switches every channel fully off.
func (p *PCA9685) Halt() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.dev.Tx([]byte{pcaAllLED, 0, 0, 0, pcaFull}, nil); err != nil {
		return fmt.Errorf("pca9685: all off: %w", err)
	}
	return nil
}

// PulseCounts converts a pulse width to the LEDn_OFF count (ticks of the
// prescaled clock, 25 MHz / (PCAPrescale+1)).
func PulseCounts(width time.Duration) int {
	return int(math.Round(width.Seconds() * PCAOscillator / (PCAPrescale + 1)))
}

// Servo is a hobby servo on one PCA9685 channel that opens a gate for one
// pill and closes it again.
type Servo struct {
	mu             sync.Mutex
	pca            *PCA9685
	channel        int
	rest, dispense time.Duration
	settle         time.Duration
}

// NewServo returns a servo on channel whose angle 0 is minPulse and 180 is
// maxPulse. settle is how long the horn needs to reach an angle.
func NewServo(p *PCA9685, channel int, restAngle, dispenseAngle float64, minPulse, maxPulse time.Duration, settle time.Duration) (*Servo, error) {
	switch {
	case p == nil:
		return nil, errors.New("servo: no PCA9685")
	case channel < 0 || channel > 15:
		return nil, fmt.Errorf("servo: channel %d, want 0..15", channel)
	case minPulse <= 0 || maxPulse <= minPulse || maxPulse >= PCAPeriod:
		return nil, fmt.Errorf("servo: pulse range %s..%s, want 0 < min < max < %s", minPulse, maxPulse, PCAPeriod)
	case !validAngle(restAngle) || !validAngle(dispenseAngle):
		return nil, fmt.Errorf("servo: angles %g and %g, want 0..180", restAngle, dispenseAngle)
	case settle < 0:
		return nil, fmt.Errorf("servo: settle %s, want >= 0", settle)
	}
	pulse := func(a float64) time.Duration {
		return minPulse + time.Duration(math.Round(float64(maxPulse-minPulse)*a/180))
	}
	return &Servo{pca: p, channel: channel, rest: pulse(restAngle), dispense: pulse(dispenseAngle), settle: settle}, nil
}

// Halt cuts the servo's pulse, after any move in progress.
func (s *Servo) Halt() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pca.SetPulse(s.channel, 0)
}

// DefaultServoSettle is how long a hobby servo takes to swing to an angle
// and stop (an SG90 turns 60 degrees in 0.1 s unloaded; a loaded gate is
// slower).
const DefaultServoSettle = 400 * time.Millisecond

func validAngle(a float64) bool { return a >= 0 && a <= 180 }

// DispenseOne swings to the dispense angle, waits, swings back to rest,
// waits, and cuts the pulse so the servo does not hum and jitter while it
// holds. If ctx ends while the gate is open the servo still returns to
// rest before DispenseOne returns ctx.Err(): an open gate would let more
// pills through.
func (s *Servo) DispenseOne(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.pca.SetPulse(s.channel, s.dispense); err != nil {
		return fmt.Errorf("servo: %w", err)
	}
	cerr := wait(ctx, s.settle)
	if err := s.pca.SetPulse(s.channel, s.rest); err != nil {
		return fmt.Errorf("servo: back to rest: %w", err)
	}
	time.Sleep(s.settle) // not cancellable: the gate must close
	if err := s.pca.SetPulse(s.channel, 0); err != nil {
		return errors.Join(cerr, fmt.Errorf("servo: %w", err))
	}
	return cerr
}

var _ hw.Motor = (*Servo)(nil)
