package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// notifySystemd sends a state line to systemd when it started us with
// Type=notify; otherwise it does nothing. The protocol is one datagram on
// the socket named by NOTIFY_SOCKET, which needs no library.
func notifySystemd(state string) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:] // abstract socket
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return
	}
	defer conn.Close()
	conn.Write([]byte(state))
}

// startWatchdog pings systemd's watchdog at half its interval, but only
// while the dose loop answers: a wedged controller stops the pings and
// systemd restarts the daemon.
func startWatchdog(ctx context.Context, ctrl *dispenser.Controller, log *slog.Logger) (stop func()) {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return func() {}
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return func() {}
	}
	interval := time.Duration(usec) * time.Microsecond / 2
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				probe, done := context.WithTimeout(ctx, interval/2)
				_, err := ctrl.Status(probe)
				done()
				if err != nil {
					log.Error("dispenserd: controller not answering; withholding watchdog ping", "err", err)
					continue
				}
				notifySystemd("WATCHDOG=1")
			}
		}
	}()
	return cancel
}
