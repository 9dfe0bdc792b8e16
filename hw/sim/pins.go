package sim

import (
	"sync"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// edgeQueue is how many unread edges an input pin keeps, like the kernel's
// event buffer; a sensor with a watcher never comes close.
const edgeQueue = 256

// Pin is a simulated GPIO: a gpiotest.Pin that reports every Out to the
// world (gpiotest alone keeps only the last level) and whose input level is
// driven by the world, each change queued as an edge.
type Pin struct {
	*gpiotest.Pin

	onOut func(gpio.Level) // nil for inputs

	mu      sync.Mutex
	driven  gpio.Level // what the world drives the line to
	dropped int        // edges lost to a full queue
}

func newPin(name string, num int, onOut func(gpio.Level)) *Pin {
	return &Pin{
		Pin: &gpiotest.Pin{
			N: name, Num: num,
			// Set now: gpiotest fills a nil Clock inside WaitForEdge,
			// which races with a second waiter.
			Clock:     clockwork.NewRealClock(),
			EdgesChan: make(chan gpio.Level, edgeQueue),
		},
		onOut: onOut,
	}
}

// Out implements gpio.PinOut and tells the world.
func (p *Pin) Out(l gpio.Level) error {
	if err := p.Pin.Out(l); err != nil {
		return err
	}
	if p.onOut != nil {
		p.onOut(l)
	}
	return nil
}

// In implements gpio.PinIn. gpiotest sets the line to the pull's level; a
// sensor drives the line harder than a pull resistor, so the world's level
// is put back.
func (p *Pin) In(pull gpio.Pull, edge gpio.Edge) error {
	err := p.Pin.In(pull, edge)
	p.mu.Lock()
	l := p.driven
	p.mu.Unlock()
	p.Pin.Lock()
	p.Pin.L = l
	p.Pin.Unlock()
	return err
}

// drive sets the line as the world sees it and queues an edge if it moved.
// Read returns the new level at once; a driver that is behind on its edges
// sees each queued level as it takes the edge, as with kernel edge events.
func (p *Pin) drive(l gpio.Level) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l == p.driven {
		return
	}
	p.driven = l
	p.Pin.Lock()
	p.Pin.L = l
	p.Pin.Unlock()
	select {
	case p.EdgesChan <- l:
	default:
		p.dropped++
	}
}

// reset sets the line without an edge, as it is at power-on.
func (p *Pin) reset(l gpio.Level) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.driven = l
	p.Pin.Lock()
	p.Pin.L = l
	p.Pin.Unlock()
}

// Level returns the level of the line: the one the world drives on an
// input, the one the driver last wrote on an output.
func (p *Pin) Level() gpio.Level {
	if p.onOut == nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.driven
	}
	p.Pin.Lock()
	defer p.Pin.Unlock()
	return p.Pin.L
}

var _ gpio.PinIO = (*Pin)(nil)
