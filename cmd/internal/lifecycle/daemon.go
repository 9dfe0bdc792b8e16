// Package lifecycle owns the process life the daemons share: a context that
// ends on SIGTERM or SIGINT, the start, the serve until it ends, and the
// close whatever happened; and, for a daemon that asks, a reload on
// SIGHUP.
package lifecycle

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Life is a daemon's process life, S its started state.
type Life[S any] struct {
	// Start wires the daemon; ctx ends on SIGTERM or SIGINT. Close is not
	// called when it fails: it cleans up after itself.
	Start func(ctx context.Context) (S, error)
	// Serve runs the started daemon until ctx ends or it fails.
	Serve func(s S, ctx context.Context) error
	// Close releases what Start acquired.
	Close func(s S)
	// Reload, when set, is called on each SIGHUP; only then is SIGHUP
	// caught (its default ends the process).
	Reload func(s S)
}

// Run lives the life: Start, Serve until SIGTERM or SIGINT, then Close.
// It returns Start's or Serve's error.
func (l Life[S]) Run() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	var hup chan os.Signal
	if l.Reload != nil {
		// Caught from before the start, so that a SIGHUP sent while the
		// daemon starts does not end it.
		hup = make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	s, err := l.Start(ctx)
	if err != nil {
		return err
	}
	defer l.Close(s)
	if hup != nil {
		done := make(chan struct{})
		defer func() { <-done }()
		go func() {
			defer close(done)
			for {
				select {
				case <-hup:
					l.Reload(s)
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	err = l.Serve(s, ctx)
	stop() // ends the reloads before Close
	return err
}
