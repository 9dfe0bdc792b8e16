package driver

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pillbox/pillbox/hw"
	"periph.io/x/conn/v3/gpio"
)

// EdgePoll bounds each wait for an edge of the drop sensor, and
// LevelPoll each wait of the button, lid and cup, so that Watch notices the
// end of its context (and a line that moved without an edge we saw). It
// cannot block forever instead: WaitForEdge(-1) returns at once on the
// Linux character device, and Halt, which would interrupt a wait, means
// different things on different pin drivers. The drop sensor keeps the
// short bound because a lost pill edge must be found before the dispenser
// gives up waiting for the pill; the others wake rarely, so an idle device
// sleeps.
const (
	EdgePoll  = 250 * time.Millisecond
	LevelPoll = 2 * time.Second
)

// edgeSettle is how long the drop sensor waits for a late edge event before
// it believes a level that disagrees with the edges it counted.
const edgeSettle = 10 * time.Millisecond

// Input is a switch or sensor on one GPIO, watched by edge interrupts.
//
// Buttons, the lid and the cup report debounced levels: a new level counts
// once it has held for the debounce time, and only changes of the debounced
// level are sent. Kernel edges queue, so a burst of bounces read late still
// ends in one change.
//
// The drop sensor counts pulses instead: a pill crosses the beam in a few
// milliseconds, and the level may be back before the edge is read. Every
// rising/falling pair of edges is one pill, sent as Edge{Drop, true} then
// Edge{Drop, false}. Its debounce is ignored, since merging two real pills
// into one is the dangerous mistake (the dispenser would add a pill).
// Edges are counted by parity because periph's WaitForEdge does not say
// which way a line moved; a simulated pin must therefore deliver levels
// that alternate, as a real line does.
type Input struct {
	pin       gpio.PinIn
	in        hw.Input
	activeLow bool
	debounce  time.Duration
	active    atomic.Bool // debounced state (drop: level as counted)
	watching  atomic.Bool
}

// NewInput configures p as an input with pull (pass gpio.Float for "none":
// PullNoChange would keep whatever bias an earlier program left) and edge
// detection on both edges, and reads its initial state.
func NewInput(p gpio.PinIn, in hw.Input, activeLow bool, pull gpio.Pull, debounce time.Duration) (*Input, error) {
	if p == nil {
		return nil, fmt.Errorf("%s sensor: no pin", in)
	}
	if debounce < 0 {
		return nil, fmt.Errorf("%s sensor: debounce %s, want >= 0", in, debounce)
	}
	if err := p.In(pull, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("%s sensor on %s: configure input: %w", in, p.Name(), err)
	}
	s := &Input{pin: p, in: in, activeLow: activeLow, debounce: debounce}
	s.active.Store(s.level())
	return s, nil
}

// level reads the line: true when it is in its active state.
func (s *Input) level() bool { return (s.pin.Read() == gpio.High) != s.activeLow }

// Active reports the debounced state.
func (s *Input) Active() bool { return s.active.Load() }

// Watch sends each change until ctx is done, then returns nil; it reacts
// to the end of ctx within EdgePoll (drop sensor) or LevelPoll (the others).
// Only one Watch may run at a time.
func (s *Input) Watch(ctx context.Context, ch chan<- hw.Edge) error {
	if !s.watching.CompareAndSwap(false, true) {
		return fmt.Errorf("%s sensor on %s: already watched", s.in, s.pin.Name())
	}
	defer s.watching.Store(false)
	if s.in == hw.Drop {
		s.watchPulses(ctx, ch)
	} else {
		s.watchLevel(ctx, ch)
	}
	return nil
}

var errDone = errors.New("watch done")

func (s *Input) send(ctx context.Context, ch chan<- hw.Edge, active bool) error {
	select {
	case ch <- hw.Edge{Input: s.in, Active: active}:
		return nil
	case <-ctx.Done():
		return errDone
	}
}

func (s *Input) watchLevel(ctx context.Context, ch chan<- hw.Edge) {
	stable := s.active.Load()
	for ctx.Err() == nil {
		lvl := s.level()
		if lvl == stable {
			// Wake on an edge or the poll, then look again: a timeout
			// also catches a level that changed without an edge we saw.
			s.pin.WaitForEdge(LevelPoll)
			continue
		}
		if !s.holds(ctx, lvl) {
			continue
		}
		stable = lvl
		s.active.Store(lvl)
		if s.send(ctx, ch, lvl) != nil {
			return
		}
	}
}

// holds reports whether the line stays at lvl for the debounce time; any
// edge that leaves it at lvl starts the time again.
func (s *Input) holds(ctx context.Context, lvl bool) bool {
	deadline := time.Now().Add(s.debounce)
	for ctx.Err() == nil {
		left := time.Until(deadline)
		if left <= 0 {
			return s.level() == lvl
		}
		if s.pin.WaitForEdge(min(left, LevelPoll)) {
			if s.level() != lvl {
				return false
			}
			deadline = time.Now().Add(s.debounce)
		}
	}
	return false
}

func (s *Input) watchPulses(ctx context.Context, ch chan<- hw.Edge) {
	lvl := s.active.Load()
	for ctx.Err() == nil {
		edge := s.pin.WaitForEdge(EdgePoll)
		if !edge && s.level() != lvl {
			// Either an edge was lost, or one came just after the
			// timeout and its event is on its way: give it edgeSettle
			// before believing the line, or a pill would be missed.
			if edge = s.pin.WaitForEdge(edgeSettle); !edge {
				lvl = s.level()
				s.active.Store(lvl)
			}
		}
		if !edge {
			continue
		}
		lvl = !lvl
		s.active.Store(lvl)
		if !lvl {
			continue
		}
		if s.send(ctx, ch, true) != nil || s.send(ctx, ch, false) != nil {
			return
		}
	}
}

var _ hw.Sensor = (*Input)(nil)
