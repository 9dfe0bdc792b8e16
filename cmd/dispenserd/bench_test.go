package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw"
)

// timedMotor notes when the controller asks the real driver to move.
type timedMotor struct {
	hw.Motor
	called chan time.Time
}

func (m timedMotor) DispenseOne(ctx context.Context) error {
	m.called <- time.Now()
	return m.Motor.DispenseOne(ctx)
}

// BenchmarkButtonToMotor measures, on the simulated board with the real
// drivers and a real SQLite file, the time from the button line changing to
// the controller starting the motor: the driver's wake-up, the durable
// commits of the press and of the intent to dispense, and the hand-off to
// the motor goroutine. The button's debounce is set to 0 here; a deployed
// button adds its debounce (20ms by default) on top.
func BenchmarkButtonToMotor(b *testing.B) {
	cfg := exampleWith(b,
		"debounce: 20ms", "debounce: 1us",
		"steps_per_unit: 512\n      step_delay: 2ms", "steps_per_unit: 8\n      step_delay: 100us",
		"cron: \"0 8,20 * * *\"", "cron: \"0 6-21 * * *\"\n    window: 20m")
	o := options{config: cfg, sim: true, data: b.TempDir(), listen: "127.0.0.1:0",
		simStart: "2027-01-12T00:50:00-05:00"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := start(ctx, o, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer r.close()
	called := make(chan time.Time, len(r.board.Compartments))
	for i, c := range r.board.Compartments {
		r.board.Compartments[i].Motor = timedMotor{Motor: c.Motor, called: called}
	}
	done := make(chan error, 1)
	go func() { done <- r.serve(ctx) }()
	if _, err := r.ctrl.Status(ctx); err != nil {
		b.Fatal(err)
	}
	// Each press costs about half a second of motor and settling time that
	// is not what is measured, so one b.N iteration is a fixed run of
	// presses and the figures are the latency percentiles over it.
	const presses = 100
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		for range presses {
			now := r.clock.Now()
			next, _ := r.plan.Next(now) // the next hourly dose is due
			r.simClock.Advance(next.At.Sub(now))
			r.ctrl.Poke(ctx)
			t0 := time.Now()
			go r.world.PressButton()
			lat = append(lat, (<-called).Sub(t0))
			if err := r.ctrl.WaitIdle(ctx); err != nil {
				b.Fatal(err)
			}
			for len(called) > 0 { // doses due together: only the first counts
				<-called
			}
			r.world.SetCup(false) // take the pills
			r.world.SetCup(true)
			for _, c := range r.file.Compartments { // never run dry, however large b.N
				r.world.Refill(c.ID, c.Capacity)
				r.ctrl.Refill(ctx, c.ID, c.Capacity)
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(0, "ns/op") // a run of presses, not one operation
	cancel()
	<-done
}

// BenchmarkIdleDaemon runs dispenserd --sim untouched for a minute and
// reports its resident memory and the CPU it used: with no polling loops it
// should sleep. It runs once whatever b.N is; `make bench` includes it.
func BenchmarkIdleDaemon(b *testing.B) {
	if testing.Short() {
		b.Skip("takes a minute")
	}
	dur := time.Minute
	if v := os.Getenv("PILLBOX_IDLE_SECONDS"); v != "" {
		s, _ := strconv.Atoi(v)
		dur = time.Duration(s) * time.Second
	}
	cfg, _ := filepath.Abs("../../examples/dispenser.yaml")
	data := b.TempDir()
	cmd := exec.Command(binary, "--sim", "--config", cfg, "--data", data, "--listen", "127.0.0.1:0")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	buf := make([]byte, 4096)
	var log []byte
	for !strings.Contains(string(log), "dispenserd: ready") {
		n, err := stderr.Read(buf)
		if err != nil {
			b.Fatalf("daemon exited: %s", log)
		}
		log = append(log, buf[:n]...)
	}
	go io.Copy(io.Discard, stderr)
	cpu0 := procCPU(b, cmd.Process.Pid)
	b.ResetTimer()
	<-time.After(dur) // wall time is what is being measured
	cpu1 := procCPU(b, cmd.Process.Pid)
	rss := procRSS(b, cmd.Process.Pid)
	b.ReportMetric(float64(rss)/1024, "RSS-MiB")
	b.ReportMetric(100*(cpu1-cpu0).Seconds()/dur.Seconds(), "CPU-%")
}

// procCPU reads a process's user+system CPU time from /proc.
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// procRSS reads a process's resident set size in KiB.
func procRSS(b *testing.B, pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
