package driver

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
)

// pinOp is one Out call seen by a recPin, with the (virtual) time of it.
type pinOp struct {
	pin string
	l   gpio.Level
	at  time.Time
}

func (o pinOp) String() string { return fmt.Sprintf("%s=%v", o.pin, o.l) }

// pinLog collects the Out calls of several pins in the order they happened:
// gpiotest keeps only the last level of a pin.
type pinLog struct {
	mu  sync.Mutex
	ops []pinOp
}

func (l *pinLog) add(pin string, lv gpio.Level) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops = append(l.ops, pinOp{pin, lv, time.Now()})
}

// take returns the ops logged so far and forgets them.
func (l *pinLog) take() []pinOp {
	l.mu.Lock()
	defer l.mu.Unlock()
	ops := l.ops
	l.ops = nil
	return ops
}

// recPin is a gpiotest pin that logs every Out, and fails once failAfter
// more Out calls have succeeded (if failAfter > 0).
type recPin struct {
	*gpiotest.Pin
	log       *pinLog
	failAfter int
}

var errPin = errors.New("pin broke")

func (p *recPin) Out(l gpio.Level) error {
	if p.failAfter > 0 {
		p.failAfter--
		if p.failAfter == 0 {
			return errPin
		}
	}
	p.log.add(p.N, l)
	return p.Pin.Out(l)
}

func newRecPin(log *pinLog, name string) *recPin {
	return &recPin{Pin: &gpiotest.Pin{N: name}, log: log}
}

// busOp is one I2C write, with the (virtual) time it happened.
type busOp struct {
	addr uint16
	w    []byte
	at   time.Time
}

// recBus is an i2c.Bus that records writes and fails the failAt-th Tx
// (counting from 1) if failAt > 0.
type recBus struct {
	mu     sync.Mutex
	ops    []busOp
	failAt int
	nack   map[uint16]bool // addresses with no device
	closed int
}

var errBus = errors.New("no ACK")

func (b *recBus) Tx(addr uint16, w, r []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(r) != 0 {
		return errors.New("recBus: reads not supported")
	}
	if b.failAt > 0 && len(b.ops)+1 == b.failAt || b.nack[addr] {
		return errBus
	}
	b.ops = append(b.ops, busOp{addr, append([]byte(nil), w...), time.Now()})
	return nil
}

func (b *recBus) take() []busOp {
	b.mu.Lock()
	defer b.mu.Unlock()
	ops := b.ops
	b.ops = nil
	return ops
}

func (b *recBus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed++
	return nil
}

func (b *recBus) SetSpeed(physic.Frequency) error { return nil }
func (b *recBus) String() string                  { return "recBus" }

var _ i2c.BusCloser = (*recBus)(nil)
var _ gpio.PinIO = (*recPin)(nil)
