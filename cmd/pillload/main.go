// Command pillload is the clinic's load harness: it plays N simulated
// dispensers syncing at once over HTTP to an adherenced, each with a
// simulated week of a patient's log (doses with what the dispenser logs for
// each, texts, refills, vital-sign readings) pushed by the real
// uplink.Pusher as a dispenser pushes it: after each commit, and a
// heartbeat (with the dispenser's profile) when nothing was pushed for an
// interval. The week is played as fast as the server takes it (or
// --speedup times real time), each device staying under the clinic's
// per-token rate limit.
//
// It reports the sustained rate of events stored, the syncs per second,
// the sync latency (p50, p99), the errors (there must be none), whether
// every event was stored exactly once, and the CPU each side used, which
// says what limits the run.
//
// By default it starts an adherenced of its own (built from this module, or
// --adherenced) on a new database (a new SQLite file, or the empty
// PostgreSQL database --db names) where it registers the devices, and
// afterwards checks the database itself. With --url and --devices it loads
// any running adherenced instead (devices registered with `pillctl clinic
// device add`), and checks what the server acknowledged. docs/clinic.md
// shows both.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	adherencereport "github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/cmd/internal/clinicdb"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify/vitals"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// options are the command's flags.
type options struct {
	n          int
	days       int
	interval   time.Duration
	speedup    float64
	rate       pace
	seed       uint64
	url        string
	devices    string
	serverPid  int
	adherenced string
	db         string
	keep       bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pillload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.n, "n", 1000, "simulated `dispensers` syncing at once")
	fs.IntVar(&o.days, "days", 7, "simulated `days` each dispenser logs and pushes")
	fs.DurationVar(&o.interval, "interval", uplink.DefaultInterval, "the dispensers' heartbeat `period` when nothing else was pushed (their sync: interval)")
	fs.Float64Var(&o.speedup, "speedup", 0, "play the simulated days this many `times` faster than real time (0: as fast as the server takes them)")
	fs.IntVar(&o.rate.burst, "device-burst", 100, "requests a dispenser may make at once; with --device-rate, under adherenced's per-token limit (120, then 4/s)")
	fs.Float64Var(&o.rate.perSec, "device-rate", 3.5, "then at most this many `requests` per second per dispenser (0: no limit)")
	fs.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()), "random `seed` of the logs and heartbeat phases (printed, to replay a run)")
	fs.StringVar(&o.url, "url", "", "load the adherenced at this base `URL` instead of starting one (needs --devices)")
	fs.StringVar(&o.devices, "devices", "", "with --url: a `FILE` of registered dispensers, one \"DEVICE-ID TOKEN\" per line")
	fs.IntVar(&o.serverPid, "server-pid", 0, "with --url: the adherenced's `PID`, to report its CPU time")
	fs.StringVar(&o.db, "db", "", "start adherenced on this `DATABASE`, an empty PostgreSQL one (postgres://...), instead of a new SQLite file")
	fs.StringVar(&o.adherenced, "adherenced", "", "the adherenced `binary` to start (default: build ./cmd/adherenced of this module)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work folder (database, adherenced's log)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "pillload", version)
		return 0
	}
	if err := o.check(fs.NArg()); err != nil {
		fmt.Fprintln(stderr, "pillload:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := load(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	r.write(stdout)
	if !r.ok() {
		return 1
	}
	return 0
}

func (o *options) check(nargs int) error {
	switch {
	case nargs > 0:
		return errors.New("no arguments expected; see -h")
	case o.n < 1 || o.days < 1:
		return errors.New("--n and --days must be at least 1")
	case o.interval < 10*time.Second || o.interval > 30*time.Minute:
		return errors.New("--interval must be between 10s and 30m, as a dispenser's")
	case o.speedup < 0 || o.rate.perSec < 0 || o.rate.burst < 1:
		return errors.New("--speedup and --device-rate must not be negative, --device-burst at least 1")
	case (o.url == "") != (o.devices == ""):
		return errors.New("--url and --devices go together")
	case o.url != "" && o.db != "":
		return errors.New("--db goes without --url (pillload starts adherenced on it)")
	case o.db != "" && !clinicdb.IsPostgres(o.db):
		return errors.New("--db must be a postgres:// URL (without it pillload makes a new SQLite file)")
	case o.url == "" && o.serverPid != 0:
		return errors.New("--server-pid goes with --url (pillload knows the pid of the adherenced it starts)")
	}
	return nil
}

// load runs the whole thing and returns what it measured.
func load(ctx context.Context, o options, stderr io.Writer) (*report, error) {
	work, err := os.MkdirTemp("", "pillload-")
	if err != nil {
		return nil, fmt.Errorf("pillload: %w", err)
	}
	if o.keep {
		fmt.Fprintf(stderr, "pillload: work folder %s (kept)\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	r := &report{o: o}
	var srv *local
	var creds []credential
	if o.url == "" {
		bin := o.adherenced
		if bin == "" {
			if bin, err = buildAdherenced(work); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(stderr, "pillload: registering %d dispensers and starting %s\n", o.n, bin)
		if srv, creds, err = startLocal(ctx, bin, work, o.db, o.n); err != nil {
			return nil, err
		}
		defer srv.cmd.Process.Kill() // if we return early; stop() has run otherwise
		backend := "SQLite " + srv.db
		if o.db != "" {
			backend = "PostgreSQL " + clinicdb.Redact(o.db)
		}
		r.target = fmt.Sprintf("adherenced started by pillload (%s) at %s", backend, srv.url)
		o.url, o.serverPid = srv.url, srv.cmd.Process.Pid
	} else {
		if creds, err = readDevices(o.devices, o.n); err != nil {
			return nil, err
		}
		r.target = "the adherenced at " + o.url
	}

	// The simulated days end at today's midnight (UTC), so that every
	// event is in the past, as a backlog's would be.
	r.start = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -o.days)
	r.end = r.start.AddDate(0, 0, o.days)
	rng := rand.New(rand.NewPCG(o.seed, 0x10ad))
	run := fmt.Sprintf("%08x", rng.Uint32())
	devs := make([]*device, o.n)
	for i, c := range creds {
		phase := time.Duration(rng.Int64N(int64(o.interval)))
		devs[i] = newDevice(c.device, c.token, c.patient, run, i, o.seed, r.start, o.days, o.interval, phase)
	}
	r.devs = devs
	setup := adherencereport.SyntheticSetup(time.UTC)
	var meters []vitals.Device
	for _, m := range setup.Meters {
		meters = append(meters, vitals.Device{Address: m.Address, Kind: m.Kind, Name: m.Name})
	}
	profile := uplink.NewProfile(dispenser.Patient{Timezone: "UTC"}, setup.Medications, setup.Regimens, meters)
	// One connection per dispenser, kept between its syncs, as each real
	// one has its own.
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConns, base.MaxIdleConnsPerHost = o.n+16, o.n+16
	defer base.CloseIdleConnections()

	fmt.Fprintf(stderr, "pillload: seed %d; %d dispensers, %d days each, %d syncs in all; loading %s\n",
		o.seed, o.n, o.days, r.plannedPushes(), o.url)
	r.before = sample(o.serverPid)
	began := r.before.at
	paced := func(at time.Time) error {
		if o.speedup > 0 {
			due := began.Add(time.Duration(float64(at.Sub(r.start)) / o.speedup))
			t := time.NewTimer(time.Until(due))
			defer t.Stop()
			select {
			case <-ctx.Done():
			case <-t.C:
			}
		}
		return ctx.Err()
	}
	stopProgress := r.progress(stderr)
	var wg sync.WaitGroup
	for _, d := range devs {
		wg.Go(func() {
			if err := d.run(ctx, base, o.url, profile, o.rate, paced); err != nil {
				d.failed(err.Error())
			}
		})
	}
	wg.Wait()
	r.after = sample(o.serverPid)
	stopProgress()
	r.stopped = ctx.Err() != nil
	if !r.stopped {
		r.checkAcks()
	}
	if o.serverPid > 0 {
		r.serverHWM, _ = procField(o.serverPid, "status", "VmHWM")
		r.serverWrote, _ = procField(o.serverPid, "io", "write_bytes")
	}
	if srv != nil {
		r.dbSize = fileSize(srv.db)
		if err := srv.stop(); err != nil {
			r.problems = append(r.problems, err.Error())
		}
		if !r.stopped {
			r.checkedDB = true
			r.problems = append(r.problems, srv.verify(context.Background(), devs, r.start.AddDate(0, 0, -1), r.end.AddDate(0, 0, 2))...)
		}
	}
	return r, nil
}

// buildAdherenced builds ./cmd/adherenced of the module around the working
// folder into dir.
func buildAdherenced(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", errors.New("pillload: not inside the pillbox module, so no adherenced to build: give --adherenced")
	}
	bin := filepath.Join(dir, "adherenced")
	build := exec.Command("go", "build", "-o", bin, "./cmd/adherenced")
	build.Dir = filepath.Dir(gomod)
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("pillload: build adherenced: %v\n%s", err, out)
	}
	return bin, nil
}

// readDevices reads n "DEVICE-ID TOKEN" lines (blank lines and # comments
// aside).
func readDevices(path string, n int) ([]credential, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pillload: devices: %w", err)
	}
	defer f.Close()
	var out []credential
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan() && len(out) < n; line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		fs := strings.Fields(t)
		if len(fs) != 2 {
			return nil, fmt.Errorf("pillload: %s:%d: want \"DEVICE-ID TOKEN\"", path, line)
		}
		out = append(out, credential{device: fs[0], token: fs[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pillload: devices: %w", err)
	}
	if len(out) < n {
		return nil, fmt.Errorf("pillload: %s has %d dispensers, --n asks for %d", path, len(out), n)
	}
	return out, nil
}

// report is what a run measured.
type report struct {
	o             options
	target        string
	start, end    time.Time
	devs          []*device
	before, after usage
	// Per 10 s of the run: syncs, and events and readings stored, per second.
	syncWindows, windows []float64
	stopped              bool
	serverHWM            int64
	serverWrote, dbSize  int64
	checkedDB            bool
	problems             []string
}

func (r *report) plannedPushes() int {
	n := 0
	for _, d := range r.devs {
		n += len(d.pushes)
	}
	return n
}

// totals adds up the devices' counters.
func (r *report) totals() (requests, stored, dups, errs, sent int) {
	for _, d := range r.devs {
		d.mu.Lock()
		requests, stored, dups, errs = requests+d.requests, stored+d.stored, dups+d.dups, errs+d.errors
		d.mu.Unlock()
		sent += len(d.events) + len(d.readings)
	}
	return
}

// progress prints a line every 10 s and keeps each window's storing
// rate; the returned func stops it.
func (r *report) progress(w io.Writer) func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		lastReq, last, _, _, _ := r.totals()
		lastAt := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				req, stored, _, errs, sent := r.totals()
				secs := now.Sub(lastAt).Seconds()
				rate := float64(stored-last) / secs
				r.windows = append(r.windows, rate)
				r.syncWindows = append(r.syncWindows, float64(req-lastReq)/secs)
				fmt.Fprintf(w, "pillload: %v: %d syncs, %d of %d events and readings stored (%.0f/s), %d errors\n",
					now.Sub(r.before.at).Round(time.Second), req, stored, sent, rate, errs)
				lastReq, last, lastAt = req, stored, now
			}
		}
	}()
	return func() { close(done); <-finished }
}

// checkAcks checks that the server acknowledged every device's whole log,
// and stored as much as was sent.
func (r *report) checkAcks() {
	for _, d := range r.devs {
		if d.ackedSeq != int64(len(d.events)) || d.ackedRd != int64(len(d.readings)) {
			r.problems = append(r.problems, fmt.Sprintf("device %s: acknowledged events up to %d of %d, readings up to %d of %d",
				d.id, d.ackedSeq, len(d.events), d.ackedRd, len(d.readings)))
		}
	}
	if _, stored, _, _, sent := r.totals(); stored != sent {
		r.problems = append(r.problems, fmt.Sprintf("the server's acknowledgements count %d stored, %d were sent", stored, sent))
	}
}

func (r *report) ok() bool {
	_, _, dups, errs, _ := r.totals()
	return !r.stopped && errs == 0 && dups == 0 && len(r.problems) == 0
}

func (r *report) write(w io.Writer) {
	o := r.o
	wall := r.after.at.Sub(r.before.at)
	requests, stored, dups, errs, _ := r.totals()
	var evs, rds int
	for _, d := range r.devs {
		evs += len(d.events)
		rds += len(d.readings)
	}
	pace := "as fast as the server takes them"
	if o.speedup > 0 {
		pace = fmt.Sprintf("%g times real time", o.speedup)
	}
	fmt.Fprintf(w, "pillload %s: %d dispensers, %d simulated days each (%s to %s), heartbeat every %v, %s; seed %d\n",
		version, o.n, o.days, r.start.Format("2006-01-02"), r.end.Format("2006-01-02"), o.interval, pace, o.seed)
	fmt.Fprintf(w, "target: %s\n", r.target)
	if r.stopped {
		fmt.Fprintln(w, "STOPPED before the end: the figures cover the part that ran")
	}
	simulated := r.end.Sub(r.start)
	if r.stopped {
		fmt.Fprintf(w, "wall time %v\n\n", wall.Round(time.Second))
	} else {
		fmt.Fprintf(w, "wall time %v: the simulated days went by %.0f times faster than real time\n\n",
			wall.Round(time.Second), simulated.Seconds()/wall.Seconds())
	}
	lat := sortedLatencies(r.devs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	per := func(n int) string { return fmt.Sprintf("%.0f/s", float64(n)/wall.Seconds()) }
	fmt.Fprintf(tw, "syncs (HTTP requests)\t%d\t%s%s\n", requests, per(requests), spread(r.syncWindows))
	fmt.Fprintf(tw, "events sent\t%d\t%s\n", evs, per(evs))
	fmt.Fprintf(tw, "readings sent\t%d\t%s\n", rds, per(rds))
	fmt.Fprintf(tw, "events and readings stored\t%d\t%s%s\n", stored, per(stored), spread(r.windows))
	fmt.Fprintf(tw, "errors\t%d\t\n", errs)
	fmt.Fprintf(tw, "duplicates acknowledged\t%d\t\n", dups)
	tw.Flush()
	fmt.Fprintf(w, "sync latency: p50 %v, p99 %v, p99.9 %v, max %v\n", round(percentile(lat, 0.5)),
		round(percentile(lat, 0.99)), round(percentile(lat, 0.999)), round(percentile(lat, 1)))
	once := "every event and reading acknowledged, and stored once in the database"
	if !r.checkedDB {
		once = "every event and reading acknowledged (the database, not pillload's, was not checked)"
	}
	switch {
	case r.stopped:
		once = "not checked: the run was stopped"
	case len(r.problems) > 0:
		once = "NO (see below)"
	}
	fmt.Fprintf(w, "exactly once: %s\n", once)
	fmt.Fprintln(w)
	server := "adherenced: unknown (give --server-pid)"
	if r.after.serverOK {
		server = fmt.Sprintf("adherenced %.2f cores", cores(r.after.server-r.before.server, wall))
	}
	if total := float64(r.after.total - r.before.total); total > 0 {
		fmt.Fprintf(w, "CPU (%d cores): %s, pillload %.2f cores; machine idle %.0f%%, iowait %.0f%%\n", ncpu, server,
			cores(r.after.self-r.before.self, wall), 100*float64(r.after.idle-r.before.idle)/total,
			100*float64(r.after.iowait-r.before.iowait)/total)
	}
	if r.serverHWM > 0 {
		fmt.Fprintf(w, "adherenced peak RSS %.0f MB, wrote %.0f MB to disk", float64(r.serverHWM)/1e6, float64(r.serverWrote)/1e6)
		if r.dbSize > 0 {
			fmt.Fprintf(w, "; database %.0f MB", float64(r.dbSize)/1e6)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "limited by: %s\n", limits(wall, r.before, r.after, ncpu))
	if !r.stopped && wall > 0 {
		x := simulated.Seconds() / wall.Seconds()
		fmt.Fprintf(w, "at real-time rates that is the sync traffic of %d dispensers x %.0f = %.0f dispensers\n", o.n, x, float64(o.n)*x)
	}
	kinds := map[string]int{}
	for _, d := range r.devs {
		for k, n := range d.errKinds {
			kinds[k] += n
		}
	}
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		fmt.Fprintf(w, "errors: %d %s\n", kinds[k], k)
	}
	var firsts []string
	for _, d := range r.devs {
		if d.firstErr != "" && len(firsts) < 5 {
			firsts = append(firsts, fmt.Sprintf("device %s: %s", d.id, d.firstErr))
		}
	}
	if len(firsts) > 0 {
		fmt.Fprintf(w, "\nfirst errors:\n  %s\n", strings.Join(firsts, "\n  "))
	}
	if len(r.problems) > 0 {
		fmt.Fprintf(w, "\nproblems (%d):\n", len(r.problems))
		for i, p := range r.problems {
			if i == 10 {
				fmt.Fprintf(w, "  ... and %d more\n", len(r.problems)-10)
				break
			}
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
}

// spread gives the slowest and fastest 10 s of a run, the last window
// aside (the tail, dispensers finishing).
func spread(windows []float64) string {
	if len(windows) < 2 {
		return ""
	}
	ws := windows[:len(windows)-1]
	return fmt.Sprintf(" (10 s windows: %.0f to %.0f/s)", slices.Min(ws), slices.Max(ws))
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
