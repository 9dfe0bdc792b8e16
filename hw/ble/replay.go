package ble

import (
	"context"
	"errors"
)

var _ Transport = (*Replay)(nil)

// Replay is a transport without a radio: it hands the sink the values it
// is given, in order, as a device would send them. The daemon's tests and
// the simulator drive the whole path from bytes to alerts with it.
type Replay struct {
	ch chan *replayItem
}

type replayItem struct {
	p          Payload
	disconnect bool
	clock      bool
	set        []byte // what the sink answered a clock with
	done       chan struct{}
}

// NewReplay returns a replay transport; it delivers once Run is running.
func NewReplay() *Replay { return &Replay{ch: make(chan *replayItem)} }

// Run delivers what Send and Disconnect are given until ctx ends.
func (r *Replay) Run(ctx context.Context, _ []Device, sink Sink) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case it := <-r.ch:
			switch {
			case it.disconnect:
				sink.Disconnected(it.p.Device)
			case it.clock:
				// The replayed device takes any clock write.
				if it.set = sink.Clock(it.p); it.set != nil {
					sink.ClockSet(it.p.Device, nil)
				}
			default:
				sink.Payload(it.p)
			}
			close(it.done)
		}
	}
}

// ErrNotRunning is returned by Send when no Run takes the values.
var ErrNotRunning = errors.New("ble: replay transport is not running")

// Send hands ps to the sink one by one and returns once the sink has
// handled the last (stored it and run the rules).
func (r *Replay) Send(ctx context.Context, ps ...Payload) error {
	for _, p := range ps {
		if err := r.put(ctx, &replayItem{p: p, done: make(chan struct{})}); err != nil {
			return err
		}
	}
	return nil
}

// ReadClock hands the sink a device's clock value, as the transport does
// on connection, and returns what the sink had written to set it (nil:
// nothing).
func (r *Replay) ReadClock(ctx context.Context, p Payload) ([]byte, error) {
	it := replayItem{p: p, clock: true, done: make(chan struct{})}
	if err := r.put(ctx, &it); err != nil {
		return nil, err
	}
	return it.set, nil
}

// Disconnect tells the sink that device's link dropped.
func (r *Replay) Disconnect(ctx context.Context, device string) error {
	return r.put(ctx, &replayItem{p: Payload{Device: device}, disconnect: true, done: make(chan struct{})})
}

func (r *Replay) put(ctx context.Context, it *replayItem) error {
	select {
	case r.ch <- it:
	case <-ctx.Done():
		return errors.Join(ErrNotRunning, ctx.Err())
	}
	select {
	case <-it.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
