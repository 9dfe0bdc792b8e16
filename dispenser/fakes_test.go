package dispenser_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw"
)

// memLog is an in-memory dispenser.Log whose failures tests switch on. The
// SQLite store has its own tests; these are about the state machine.
type memLog struct {
	mu     sync.Mutex
	events []dispenser.Event
	// Fail makes every Append fail while set.
	Fail bool
	// FailKind makes an Append containing that kind fail.
	FailKind dispenser.Kind
}

var _ dispenser.Log = (*memLog)(nil)

func (l *memLog) Append(ctx context.Context, evs ...dispenser.Event) ([]dispenser.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if l.Fail {
		return nil, errors.New("disk full")
	}
	for _, ev := range evs {
		if l.FailKind != "" && ev.Kind == l.FailKind {
			return nil, errors.New("disk full")
		}
	}
	out := make([]dispenser.Event, len(evs))
	for i, ev := range evs {
		ev.Seq = int64(len(l.events) + 1)
		ev.ID = fmt.Sprintf("ev%d", ev.Seq)
		ev.Time = ev.Time.UTC()
		l.events = append(l.events, ev)
		out[i] = ev
	}
	return out, nil
}

func (l *memLog) Since(ctx context.Context, seq int64, limit int) ([]dispenser.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []dispenser.Event
	for _, ev := range l.events {
		if ev.Seq > seq && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (l *memLog) SinceTime(ctx context.Context, t time.Time) ([]dispenser.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []dispenser.Event
	for _, ev := range l.events {
		if !ev.Time.Before(t) {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (l *memLog) LastOfKinds(ctx context.Context, compartment int, kinds ...dispenser.Kind) (dispenser.Event, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.events) - 1; i >= 0; i-- {
		ev := l.events[i]
		if ev.Compartment == compartment && slices.Contains(kinds, ev.Kind) {
			return ev, true, nil
		}
	}
	return dispenser.Event{}, false, nil
}

// kinds lists the kinds of the logged events, optionally only for one dose.
func (l *memLog) kinds(doseID string) []dispenser.Kind {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []dispenser.Kind
	for _, ev := range l.events {
		if doseID == "" || ev.DoseID == doseID {
			out = append(out, ev.Kind)
		}
	}
	return out
}

func (l *memLog) count(k dispenser.Kind) int {
	n := 0
	for _, got := range l.kinds("") {
		if got == k {
			n++
		}
	}
	return n
}

// fakeSensor is a sensor the test flips.
type fakeSensor struct {
	in     hw.Input
	mu     sync.Mutex
	active bool
	ch     chan<- hw.Edge
}

func (s *fakeSensor) Active() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

func (s *fakeSensor) Watch(ctx context.Context, ch chan<- hw.Edge) error {
	s.mu.Lock()
	s.ch = ch
	s.mu.Unlock()
	<-ctx.Done()
	return nil
}

// Set changes the level and reports the edge, as a debounced driver does.
func (s *fakeSensor) Set(active bool) {
	s.mu.Lock()
	s.active = active
	ch := s.ch
	s.mu.Unlock()
	if ch != nil {
		ch <- hw.Edge{Input: s.in, Active: active}
	}
}

// fakeMotor drops the pills its script says on each turn, through the drop
// sensor, the way the real chute does.
type fakeMotor struct {
	mu    sync.Mutex
	drop  *fakeSensor
	Turns int
	// Script[i] is how many pills fall on turn i; past its end, one.
	Script []int
	Err    error
}

func (m *fakeMotor) DispenseOne(ctx context.Context) error {
	m.mu.Lock()
	n := 1
	if m.Turns < len(m.Script) {
		n = m.Script[m.Turns]
	}
	m.Turns++
	err := m.Err
	m.mu.Unlock()
	if err != nil {
		return err
	}
	<-time.After(500 * time.Millisecond) // the wheel turning, in synctest's virtual time
	for range n {
		m.drop.Set(true)
		m.drop.Set(false)
	}
	return nil
}

func (m *fakeMotor) turns() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.Turns
}

type fakeIndicator struct {
	mu   sync.Mutex
	mode hw.Mode
}

func (i *fakeIndicator) Set(m hw.Mode) error { i.mu.Lock(); i.mode = m; i.mu.Unlock(); return nil }
func (i *fakeIndicator) Mode() hw.Mode       { i.mu.Lock(); defer i.mu.Unlock(); return i.mode }

type fakeDisplay struct {
	mu    sync.Mutex
	lines []string
}

func (d *fakeDisplay) Show(lines ...string) error {
	d.mu.Lock()
	d.lines = slices.Clone(lines)
	d.mu.Unlock()
	return nil
}

func (d *fakeDisplay) text() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.lines)
}

var (
	_ hw.Sensor    = (*fakeSensor)(nil)
	_ hw.Motor     = (*fakeMotor)(nil)
	_ hw.Indicator = (*fakeIndicator)(nil)
	_ hw.Display   = (*fakeDisplay)(nil)
)

type fakeBoard struct {
	button, drop, lid, cup *fakeSensor
	motors                 map[int]*fakeMotor
	display                *fakeDisplay
	board                  *hw.Board
}

func newFakeBoard(compartments ...int) *fakeBoard {
	f := &fakeBoard{
		button:  &fakeSensor{in: hw.Button},
		drop:    &fakeSensor{in: hw.Drop},
		lid:     &fakeSensor{in: hw.Lid},
		cup:     &fakeSensor{in: hw.Cup, active: true},
		motors:  map[int]*fakeMotor{},
		display: &fakeDisplay{},
	}
	b := &hw.Board{Button: f.button, Drop: f.drop, Lid: f.lid, Cup: f.cup, Display: f.display,
		Buzzer: &fakeIndicator{}, Ready: &fakeIndicator{}, Attention: &fakeIndicator{}, Fault: &fakeIndicator{},
		Close: func() error { return nil }}
	for _, id := range compartments {
		m := &fakeMotor{drop: f.drop}
		f.motors[id] = m
		b.Compartments = append(b.Compartments, hw.Compartment{ID: id, Motor: m})
	}
	f.board = b
	return f
}

func (f *fakeBoard) press() {
	f.button.Set(true)
	f.button.Set(false)
}
