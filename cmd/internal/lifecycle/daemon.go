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

// Life is a daemon's process life. The started daemon is whatever the
// functions share (a variable they close over), not a type parameter: a
// type argument's descriptor goes into the generic code's dictionary, and
// as the binaries link text/template (whose MethodByName makes the linker
// keep every exported method of a type that may reach reflection), that
// kept every exported method of everything the daemon's struct reaches,
// used or not: about 100 kB of dispenserd and 200 kB of adherenced.
type Life struct {
	// Start wires the daemon; ctx ends on SIGTERM or SIGINT. Close is not
	// called when it fails: it cleans up after itself.
	Start func(ctx context.Context) error
	// Serve runs the started daemon until ctx ends or it fails.
	Serve func(ctx context.Context) error
	// Close releases what Start acquired.
	Close func()
	// Reload, when set, is called on each SIGHUP; only then is SIGHUP
	// caught (its default ends the process).
	Reload func()
}

// Run lives the life: Start, Serve until SIGTERM or SIGINT, then Close.
// It returns Start's or Serve's error.
func (l Life) Run() error {
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
	if err := l.Start(ctx); err != nil {
		return err
	}
	defer l.Close()
	if hup != nil {
		done := make(chan struct{})
		defer func() { <-done }()
		go func() {
			defer close(done)
			for {
				select {
				case <-hup:
					l.Reload()
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	err := l.Serve(ctx)
	stop() // ends the reloads before Close
	return err
}
