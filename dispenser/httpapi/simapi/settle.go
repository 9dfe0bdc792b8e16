package simapi

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/dispenser/httpapi"
	"github.com/pillbox/pillbox/hw/sim"
	"github.com/pillbox/pillbox/schedule"
)

// Settler waits for the parts of the daemon that act on the event log in
// goroutines of their own (the notifier, the vitals cross-rule) to have
// acted on all of it. On a device they do so within milliseconds of a
// commit; a simulated clock can step hours in a millisecond, and without
// this the notifier would queue and send a step's texts when its
// goroutines got round to it, at a simulated time hours late, and after
// the step had answered.
type Settler struct {
	logger  *slog.Logger
	commits atomic.Uint64 // batches committed to the log
	settled atomic.Uint64 // commits when the parts were last found settled

	mu    sync.Mutex
	parts []func(context.Context) error
}

// NewSettler returns a settler; tell it of every commit (Committed).
func NewSettler(logger *slog.Logger) *Settler { return &Settler{logger: logger} }

// Add adds a part: settle returns once the part has acted on every event
// committed before the call.
func (s *Settler) Add(settle func(context.Context) error) {
	s.mu.Lock()
	s.parts = append(s.parts, settle)
	s.mu.Unlock()
}

// Committed is told of every batch the log commits.
func (s *Settler) Committed([]dispenser.Event) { s.commits.Add(1) }

// settleTimeout bounds the settling after a timer's call, which has no
// request to bound it; the parts answer within milliseconds.
const settleTimeout = 30 * time.Second

// maxSettleRounds bounds the rounds of parts: each round's commits may set
// off another part (a dose missed, the cross-rule's vital alert, its
// text), a chain a few links long. More rounds than this are commits from
// elsewhere, which the step need not wait for.
const maxSettleRounds = 8

// Settle settles every part, in rounds until one commits nothing.
func (s *Settler) Settle(ctx context.Context) error {
	s.mu.Lock()
	parts := s.parts
	s.mu.Unlock()
	for range maxSettleRounds {
		before := s.commits.Load()
		for _, settle := range parts {
			if err := settle(ctx); err != nil {
				return err
			}
		}
		if s.commits.Load() == before {
			s.settled.Store(before)
			break
		}
	}
	return nil
}

// Clock is c as the daemon's parts see it: after each timer's call, the
// parts settle before the clock moves on, so that what the call set off
// happens at the simulated time it fell due. A call that committed nothing
// (most: the display's clock ticks every minute) leaves nothing to settle,
// when nothing else was committed since the last settling either: the
// parts' own timers do their work inside the call.
func (s *Settler) Clock(c *schedule.SimClock) schedule.Clock { return settlingClock{c, s} }

type settlingClock struct {
	*schedule.SimClock
	s *Settler
}

func (c settlingClock) AfterFunc(d time.Duration, f func()) schedule.Timer {
	return c.SimClock.AfterFunc(d, func() {
		f()
		if c.s.commits.Load() == c.s.settled.Load() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
		defer cancel()
		if err := c.s.Settle(ctx); err != nil {
			c.s.logger.Error("dispenserd: sim clock: a timer's consequences did not settle", "err", err)
		}
	})
}

// Clock is the simulated clock as the HTTP API moves it: every move is
// recorded in the world's state file, so a killed daemon's successor
// resumes the world's time; and a step answers once settled.
type Clock struct {
	*schedule.SimClock
	World *sim.World
	// Loop is the dose loop, which settles first.
	Loop interface {
		WaitIdle(ctx context.Context) error
	}
	Settler *Settler
}

var (
	_ httpapi.SimClock = Clock{}
	_ httpapi.Settler  = Clock{}
)

// Settle waits, after a step of the clock and the controller's look at
// it, for the dose loop to be idle and for the parts that act on the log
// to have acted on it: then the log holds everything the step set off.
func (c Clock) Settle(ctx context.Context) error {
	if err := c.Loop.WaitIdle(ctx); err != nil {
		return err
	}
	return c.Settler.Settle(ctx)
}

// Advance moves the clock and the world's saved time.
func (c Clock) Advance(d time.Duration) {
	c.SimClock.Advance(d)
	c.World.SetClock(c.Now())
}

// Set sets the clock and the world's saved time.
func (c Clock) Set(t time.Time) {
	c.SimClock.Set(t)
	c.World.SetClock(c.Now())
}
