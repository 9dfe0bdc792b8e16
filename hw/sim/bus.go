package sim

import (
	"errors"
	"fmt"
	"sync"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
)

// ErrNoAck is what a transaction to an address with no device on it fails
// with, as the Linux I2C driver reports a missing acknowledge.
var ErrNoAck = errors.New("no acknowledge (no device at this address)")

// Device is a chip on the simulated I2C bus.
type Device interface {
	// Tx handles one transaction addressed to the device: w is written,
	// then len(r) bytes are read.
	Tx(w, r []byte) error
}

// Bus is a simulated I2C bus. Transactions are serialised, as on a real
// bus, and each is handed whole to the device at its address.
type Bus struct {
	name string

	mu     sync.Mutex
	devs   map[uint16]Device
	speed  physic.Frequency
	closed bool
}

// NewBus returns an empty bus named name (the "1" of /dev/i2c-1).
func NewBus(name string) *Bus {
	return &Bus{name: name, devs: map[uint16]Device{}, speed: 100 * physic.KiloHertz}
}

// Attach connects d at the 7-bit address addr, replacing any device there.
func (b *Bus) Attach(addr uint16, d Device) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.devs[addr] = d
}

func (b *Bus) String() string { return "sim-i2c-" + b.name }

// Tx implements i2c.Bus.
func (b *Bus) Tx(addr uint16, w, r []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("%s: bus is closed", b)
	}
	d := b.devs[addr]
	if d == nil {
		return fmt.Errorf("%s: address %#x: %w", b, addr, ErrNoAck)
	}
	return d.Tx(w, r)
}

// SetSpeed implements i2c.Bus. The speed is only recorded: transactions
// take no simulated time.
func (b *Bus) SetSpeed(f physic.Frequency) error {
	if f <= 0 {
		return fmt.Errorf("%s: speed %s, want > 0", b, f)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.speed = f
	return nil
}

// Close implements i2c.BusCloser; later transactions fail.
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

var _ i2c.BusCloser = (*Bus)(nil)
