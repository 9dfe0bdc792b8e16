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
	ch chan replayItem
}

type replayItem struct {
	p          Payload
	disconnect bool
	done       chan struct{}
}

// NewReplay returns a replay transport; it delivers once Run is running.
func NewReplay() *Replay { return &Replay{ch: make(chan replayItem)} }

// Run delivers what Send and Disconnect are given until ctx ends.
func (r *Replay) Run(ctx context.Context, _ []Device, sink Sink) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case it := <-r.ch:
			if it.disconnect {
				sink.Disconnected(it.p.Device)
			} else {
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
		if err := r.put(ctx, replayItem{p: p, done: make(chan struct{})}); err != nil {
			return err
		}
	}
	return nil
}

// Disconnect tells the sink that device's link dropped.
func (r *Replay) Disconnect(ctx context.Context, device string) error {
	return r.put(ctx, replayItem{p: Payload{Device: device}, disconnect: true, done: make(chan struct{})})
}

func (r *Replay) put(ctx context.Context, it replayItem) error {
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
