// Package systemd speaks the two parts of systemd's service protocol the
// daemons use: sd_notify state lines (READY=1 once serving, STOPPING=1 on
// the way out) and the watchdog (WATCHDOG=1 at half the unit's
// WatchdogSec=, withheld while the daemon's own check fails, so that
// systemd restarts a daemon that is running but no longer works). The
// protocol is one datagram on the socket NOTIFY_SOCKET names, which needs
// no library; without systemd (NOTIFY_SOCKET unset) everything here does
// nothing.
package systemd

import (
	"context"
	"net"
	"os"
	"strconv"
	"time"
)

// Notify sends a state line to systemd when it started the process with
// Type=notify; otherwise it does nothing. A failure to send is returned
// for logging; it never stops a daemon.
func Notify(state string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:] // abstract socket
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}

// WatchdogInterval is how often to ping systemd's watchdog: half the
// interval it asks for (WATCHDOG_USEC), as sd_watchdog_enabled(3)
// advises. ok is false when the watchdog is off or meant for another
// process (WATCHDOG_PID).
func WatchdogInterval() (every time.Duration, ok bool) {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0, false
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0, false
	}
	return time.Duration(usec) * time.Microsecond / 2, true
}

// Watchdog calls ping every interval while probe answers within half of
// it, until ctx ends. A probe that fails or is late skips that ping and is
// given to failed (which may be nil): a daemon that is wedged stops
// pinging, and systemd restarts it.
func Watchdog(ctx context.Context, every time.Duration, probe func(context.Context) error, ping func(), failed func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, done := context.WithTimeout(ctx, every/2)
			err := probe(pctx)
			done()
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				if failed != nil {
					failed(err)
				}
				continue
			}
			ping()
		}
	}
}

// StartWatchdog runs Watchdog with systemd's interval and WATCHDOG=1 as
// the ping, when systemd asked for one; stop ends it.
func StartWatchdog(ctx context.Context, probe func(context.Context) error, failed func(error)) (stop func()) {
	every, ok := WatchdogInterval()
	if !ok {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Watchdog(ctx, every, probe, func() { Notify("WATCHDOG=1") }, failed)
	}()
	return func() { cancel(); <-done }
}
