// Package hwtest has fakes of package hw's interfaces for the tests of the
// packages that drive a board, as periph's gpiotest sits beside gpio:
// sensors a test flips, motors that drop pills through the drop sensor the
// way the real chute does, an indicator and a display that remember what
// they were told, and a Board made of them. They are safe for concurrent
// use.
package hwtest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/pillbox/pillbox/hw"
)

var (
	_ hw.Sensor    = (*Sensor)(nil)
	_ hw.Motor     = (*Motor)(nil)
	_ hw.Indicator = (*Indicator)(nil)
	_ hw.Display   = (*Display)(nil)
	_ hw.Speaker   = (*Speaker)(nil)
)

// Sensor is a sensor the test flips.
type Sensor struct {
	// In is the input it reports edges as.
	In hw.Input

	mu     sync.Mutex
	active bool
	ch     chan<- hw.Edge
}

// Active reports the level.
func (s *Sensor) Active() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// Watch reports the edges Set makes on ch until ctx is done.
func (s *Sensor) Watch(ctx context.Context, ch chan<- hw.Edge) error {
	s.mu.Lock()
	s.ch = ch
	s.mu.Unlock()
	<-ctx.Done()
	return nil
}

// Set changes the level and reports the edge to the watcher, if any, as a
// debounced driver does; it blocks until the watcher takes it.
func (s *Sensor) Set(active bool) {
	s.mu.Lock()
	s.active = active
	ch := s.ch
	s.mu.Unlock()
	if ch != nil {
		ch <- hw.Edge{Input: s.In, Active: active}
	}
}

// Hold changes the level without an edge, as a part that sticks does (a
// beam covered by dust after its one pulse was counted).
func (s *Sensor) Hold(active bool) {
	s.mu.Lock()
	s.active = active
	s.mu.Unlock()
}

// Motor drops the pills its script says on each turn through Drop, the way
// the real chute does: an active then an inactive edge per pill.
type Motor struct {
	// Drop is the drop sensor the pills fall through.
	Drop *Sensor
	// TurnTime is how long a turn takes before its pills fall (virtual
	// time under testing/synctest).
	TurnTime time.Duration
	// Script[i] is how many pills fall on turn i; past its end, one.
	Script []int
	// Err, when set, is what DispenseOne returns, without turning.
	Err error

	mu    sync.Mutex
	turns int
}

// DispenseOne turns once, or fails with Err.
func (m *Motor) DispenseOne(ctx context.Context) error {
	m.mu.Lock()
	n := 1
	if m.turns < len(m.Script) {
		n = m.Script[m.turns]
	}
	m.turns++
	err := m.Err
	m.mu.Unlock()
	if err != nil {
		return err
	}
	<-time.After(m.TurnTime)
	for range n {
		m.Drop.Set(true)
		m.Drop.Set(false)
	}
	return nil
}

// Turns returns how many times DispenseOne was called.
func (m *Motor) Turns() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.turns
}

// Indicator remembers its mode.
type Indicator struct {
	mu   sync.Mutex
	mode hw.Mode
}

func (i *Indicator) Set(m hw.Mode) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.mode = m
	return nil
}

func (i *Indicator) Mode() hw.Mode {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.mode
}

// Display remembers the lines last shown.
type Display struct {
	mu    sync.Mutex
	lines []string
}

func (d *Display) Show(lines ...string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lines = slices.Clone(lines)
	return nil
}

// Lines returns the lines last shown.
func (d *Display) Lines() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.lines)
}

// Said is one prompt a Speaker was asked to say.
type Said struct{ Text, Lang string }

// Speaker records the prompts it is asked to say. Block, when set, makes
// Say wait until it is closed (a player stuck on a dead audio device);
// Err, when set, is what Say returns (a speaker that cannot speak).
type Speaker struct {
	Block chan struct{}
	Err   error

	mu    sync.Mutex
	said  []Said
	stops int
}

func (s *Speaker) Say(ctx context.Context, text, lang string) error {
	if s.Block != nil {
		select {
		case <-s.Block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.said = append(s.said, Said{text, lang})
	return s.Err
}

func (s *Speaker) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stops++
}

// Said returns the prompts asked for, oldest first.
func (s *Speaker) Said() []Said {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.said)
}

// Stops counts the calls to Stop.
func (s *Speaker) Stops() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stops
}

// TurnTime is the time a Board's motors take to turn.
const TurnTime = 500 * time.Millisecond

// Board is a complete board of fakes: Board is the hw.Board a controller
// drives, the other fields the parts the test acts on and reads.
type Board struct {
	Button, Drop, Lid, Cup *Sensor
	Motors                 map[int]*Motor // by compartment id
	Display                *Display
	Speaker                *Speaker
	Board                  *hw.Board
}

// NewBoard returns a board with a motor for each compartment id, turning
// in TurnTime and dropping through the drop sensor, with the cup in place
// and the lid closed.
func NewBoard(compartments ...int) *Board {
	f := &Board{
		Button:  &Sensor{In: hw.Button},
		Drop:    &Sensor{In: hw.Drop},
		Lid:     &Sensor{In: hw.Lid},
		Cup:     &Sensor{In: hw.Cup, active: true},
		Motors:  map[int]*Motor{},
		Display: &Display{},
		Speaker: &Speaker{},
	}
	b := &hw.Board{Button: f.Button, Drop: f.Drop, Lid: f.Lid, Cup: f.Cup, Display: f.Display, Speaker: f.Speaker,
		Buzzer: &Indicator{}, Ready: &Indicator{}, Attention: &Indicator{}, Fault: &Indicator{},
		Close: func() error { return nil }}
	for _, id := range compartments {
		m := &Motor{Drop: f.Drop, TurnTime: TurnTime}
		f.Motors[id] = m
		b.Compartments = append(b.Compartments, hw.Compartment{ID: id, Motor: m})
	}
	f.Board = b
	return f
}

// Press presses and releases the button.
func (f *Board) Press() {
	f.Button.Set(true)
	f.Button.Set(false)
}
