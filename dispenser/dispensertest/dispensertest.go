// Package dispensertest has fakes of package dispenser's interfaces for
// the tests of the packages built on it, as periph's gpiotest sits beside
// gpio: an in-memory Log whose failures a test switches on. The SQLite
// store has its own tests; these fakes are for tests about something else.
package dispensertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// MemLog is an in-memory dispenser.Log. It numbers events from 1 as the
// store does ("ev1", "ev2", ...) and keeps their times in UTC.
type MemLog struct {
	// Fail makes every Append fail while set.
	Fail bool
	// FailKind makes an Append containing an event of that kind fail.
	FailKind dispenser.Kind

	mu     sync.Mutex
	events []dispenser.Event
}

var _ dispenser.Log = (*MemLog)(nil)

// ErrDiskFull is what a failing Append returns.
var ErrDiskFull = errors.New("disk full")

// Append stores evs, all or none, unless Fail or FailKind says to fail.
func (l *MemLog) Append(ctx context.Context, evs ...dispenser.Event) ([]dispenser.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if l.Fail {
		return nil, ErrDiskFull
	}
	for _, ev := range evs {
		if l.FailKind != "" && ev.Kind == l.FailKind {
			return nil, ErrDiskFull
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

// Since returns up to limit events after seq, in order.
func (l *MemLog) Since(ctx context.Context, seq int64, limit int) ([]dispenser.Event, error) {
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

// SinceTime returns the events at or after t, in order.
func (l *MemLog) SinceTime(ctx context.Context, t time.Time) ([]dispenser.Event, error) {
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

// LastOfKinds returns the latest event of one of kinds for compartment.
func (l *MemLog) LastOfKinds(ctx context.Context, compartment int, kinds ...dispenser.Kind) (dispenser.Event, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range slices.Backward(l.events) {
		if ev.Compartment == compartment && slices.Contains(kinds, ev.Kind) {
			return ev, true, nil
		}
	}
	return dispenser.Event{}, false, nil
}

// Events returns a copy of every event logged, in order.
func (l *MemLog) Events() []dispenser.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// Kinds lists the kinds of the logged events, of one dose when doseID is
// not empty.
func (l *MemLog) Kinds(doseID string) []dispenser.Kind {
	var out []dispenser.Kind
	for _, ev := range l.Events() {
		if doseID == "" || ev.DoseID == doseID {
			out = append(out, ev.Kind)
		}
	}
	return out
}

// Count returns how many events of kind k were logged.
func (l *MemLog) Count(k dispenser.Kind) int {
	n := 0
	for _, got := range l.Kinds("") {
		if got == k {
			n++
		}
	}
	return n
}
