package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// fakeDaemonEnv makes the test binary, started as a child by TestMain,
// play dispenserd: "ready" says it is ready and runs until killed, "fail"
// says why on stderr and exits with status 3, "mute" runs without a word.
const fakeDaemonEnv = "PILLSTRESS_FAKE_DAEMON"

// fakeDaemon is the child's whole life.
func fakeDaemon(mode string) {
	switch mode {
	case "ready":
		fmt.Fprintln(os.Stderr, `level=INFO msg="dispenserd: ready"`)
	case "fail":
		fmt.Fprintln(os.Stderr, "dispenserd: open store: database is locked")
		os.Exit(3)
	}
	// Wait to be killed, as the daemon does: the harness sends SIGTERM or
	// SIGKILL (which needs no handler).
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	<-stop
	os.Exit(0)
}

// fakeDaemonFor is a daemon whose child is the test binary playing mode.
func fakeDaemonFor(t *testing.T, mode string) *daemon {
	t.Helper()
	h := &harness{binary: os.Args[0], work: t.TempDir()}
	d, err := h.newDaemon("fake", "unused.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d.env = []string{fakeDaemonEnv + "=" + mode}
	t.Cleanup(d.kill)
	return d
}

// A child that exits before it is ready is reported with how it ended and
// what it wrote, or that it wrote nothing: the kill that ended the crash
// storm's restart once left only "exited before it was ready:".
func TestDaemonExitBeforeReady(t *testing.T) {
	tests := []struct {
		mode string
		kill bool // killed from outside while it starts
		want []string
	}{
		{"fail", false, []string{"exited before it was ready", "exit status 3", "database is locked"}},
		{"mute", true, []string{"exited before it was ready", "signal: killed", "(no output)"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			d := fakeDaemonFor(t, tt.mode)
			if err := d.spawn(); err != nil {
				t.Fatal(err)
			}
			if tt.kill {
				d.current().cmd.Process.Kill()
			}
			err := d.waitReady(context.Background())
			if err == nil {
				t.Fatalf("waitReady = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("waitReady = %q, want it to say %q", err, w)
				}
			}
			if d.alive() || d.current() != nil {
				t.Errorf("after the exit: alive %t, current %v; want neither", d.alive(), d.current())
			}
		})
	}
}

// A kill or a reap aimed at one run and carried out after the next run
// started (the crash storm's provider hook, a second killer still waiting
// for the same exit) leaves the next run alone.
func TestDaemonLateKillSparesNextRun(t *testing.T) {
	tests := []struct {
		name string
		late func(d *daemon, old *proc)
	}{
		{"kill", func(d *daemon, old *proc) {
			if d.killRun(old.run) {
				t.Errorf("killRun(%d) with run %d running = true, want false", old.run, d.run())
			}
		}},
		{"reap", func(d *daemon, old *proc) { d.reap(old) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := fakeDaemonFor(t, "ready")
			ctx := context.Background()
			if err := d.start(ctx); err != nil {
				t.Fatal(err)
			}
			old := d.current()
			d.kill()
			if err := d.start(ctx); err != nil {
				t.Fatal(err)
			}
			next := d.current()
			tt.late(d, old)
			if !d.alive() || d.current() != next {
				t.Fatalf("after a late %s of run %d: alive %t, current run %d; want run %d alive", tt.name, old.run, d.alive(), d.run(), next.run)
			}
			if !d.killRun(next.run) || d.alive() {
				t.Errorf("killRun(%d) of the running run: alive %t after, want killed", next.run, d.alive())
			}
		})
	}
}

// A daemon's address is free and outside the ephemeral range that other
// processes' connections draw from while the daemon is down.
func TestFreeAddr(t *testing.T) {
	for range 20 {
		addr, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(addr)
		if p, _ := strconv.Atoi(port); p < 10000 || p >= ephemeralStart() {
			t.Fatalf("freeAddr() = %s, want a port from 10000 to %d", addr, ephemeralStart()-1)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("freeAddr() = %s, not free: %v", addr, err)
		}
		l.Close()
	}
}
