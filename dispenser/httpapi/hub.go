package httpapi

import (
	"context"
	"sync"

	"github.com/pillbox/pillbox/dispenser"
)

// Hub fans committed events out to waiting requests and live streams. The
// controller calls Publish from its goroutine, so Publish never blocks: a
// subscriber that falls behind loses events and is told to resync.
type Hub struct {
	mu   sync.Mutex
	subs map[*sub]struct{}
}

type sub struct {
	ch     chan dispenser.Event
	missed bool
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[*sub]struct{}{}} }

// Publish hands events to every subscriber.
func (h *Hub) Publish(evs []dispenser.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		for _, ev := range evs {
			select {
			case s.ch <- ev:
			default:
				s.missed = true
			}
		}
	}
}

func (h *Hub) subscribe() *sub {
	s := &sub{ch: make(chan dispenser.Event, 256)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *Hub) unsubscribe(s *sub) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// waitFor runs act, then waits until an event matching pred is published.
func (h *Hub) waitFor(ctx context.Context, act func() error, pred func(dispenser.Event) bool) error {
	s := h.subscribe()
	defer h.unsubscribe(s)
	if err := act(); err != nil {
		return err
	}
	for {
		select {
		case ev := <-s.ch:
			if pred(ev) {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
