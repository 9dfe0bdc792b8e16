package main

import (
	"context"
	"log/slog"

	"github.com/pillbox/pillbox/cmd/internal/systemd"
	"github.com/pillbox/pillbox/dispenser"
)

// notifySystemd sends a state line to systemd when it started us with
// Type=notify (cmd/internal/systemd); otherwise it does nothing.
func notifySystemd(state string) { systemd.Notify(state) }

// startWatchdog pings systemd's watchdog at half its interval, but only
// while the dose loop answers: a wedged controller stops the pings and
// systemd restarts the daemon.
func startWatchdog(ctx context.Context, ctrl *dispenser.Controller, log *slog.Logger) (stop func()) {
	return systemd.StartWatchdog(ctx, func(ctx context.Context) error {
		_, err := ctrl.Status(ctx)
		return err
	}, func(err error) {
		log.Error("dispenserd: controller not answering; withholding watchdog ping", "err", err)
	})
}
