package driver

import (
	"fmt"
	"sync"
	"time"

	"github.com/pillbox/pillbox/hw"
	"periph.io/x/conn/v3/gpio"
)

// Blink half-periods: Blink is 1 Hz, FastBlink 4 Hz, both 50% duty.
const (
	BlinkHalf     = 500 * time.Millisecond
	FastBlinkHalf = 125 * time.Millisecond
)

// Output is an LED or an active buzzer on one GPIO. Its blink goroutine
// runs only while it blinks, so an idle indicator costs no CPU.
type Output struct {
	mu        sync.Mutex
	pin       gpio.PinOut
	activeLow bool
	mode      hw.Mode
	stop      chan struct{} // closed to end the blink goroutine
	done      chan struct{} // closed when it has ended
}

// NewOutput returns an indicator on p, switched off. An error driving the
// pin shows up on the next Set.
func NewOutput(p gpio.PinOut, activeLow bool) *Output {
	o := &Output{pin: p, activeLow: activeLow}
	_ = o.drive(false)
	return o
}

func (o *Output) drive(on bool) error {
	l := gpio.Level(on != o.activeLow)
	if err := o.pin.Out(l); err != nil {
		return fmt.Errorf("indicator on %s: %w", o.pin.Name(), err)
	}
	return nil
}

// Set switches the mode. Setting the current mode again changes nothing,
// so a blink keeps its rhythm.
func (o *Output) Set(m hw.Mode) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if m < hw.Off || m > hw.FastBlink {
		return fmt.Errorf("indicator on %s: unknown mode %d", o.pin.Name(), m)
	}
	if m == o.mode && o.mode != hw.Off {
		return nil
	}
	o.stopBlink()
	o.mode = m
	switch m {
	case hw.Off:
		return o.drive(false)
	case hw.On:
		return o.drive(true)
	case hw.Blink, hw.FastBlink:
		half := BlinkHalf
		if m == hw.FastBlink {
			half = FastBlinkHalf
		}
		if err := o.drive(true); err != nil {
			return err
		}
		o.stop, o.done = make(chan struct{}), make(chan struct{})
		go o.blink(half, o.stop, o.done)
	}
	return nil
}

// blink toggles the pin, starting from on, until stop is closed. It cannot
// report errors; a pin that fails keeps failing and Set reports it.
func (o *Output) blink(half time.Duration, stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(half)
	defer t.Stop()
	on := true
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			on = !on
			_ = o.drive(on)
		}
	}
}

// stopBlink ends the blink goroutine, if any; o.mu is held.
func (o *Output) stopBlink() {
	if o.stop == nil {
		return
	}
	close(o.stop)
	<-o.done
	o.stop, o.done = nil, nil
}

// Mode returns the mode last set.
func (o *Output) Mode() hw.Mode {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.mode
}

// Close switches the indicator off and ends its goroutine.
func (o *Output) Close() error { return o.Set(hw.Off) }

var _ hw.Indicator = (*Output)(nil)
