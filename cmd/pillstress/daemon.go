package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/sim"
)

// daemon is one simulated dispenser: a config, a data folder and the
// dispenserd --sim child processes run on them, one at a time. The world
// state file lives in the data folder, so a killed and restarted child
// meets the same pills.
type daemon struct {
	h      *harness
	config string
	data   string
	addr   string
	hook   string   // the Twilio webhooks' listener, for a texting daemon
	env    []string // extra environment of the child
	args   []string // extra flags of every start
	api    *api

	mu   sync.Mutex
	proc *proc // the child running, nil when none
	logs *tail // the output of the last child started
	runs int
}

// proc is one run of the child. A kill or a reap acts on the run it was
// aimed at: one that comes late (a provider hook, a second killer still
// waiting for the same exit) must not touch the run started after it.
type proc struct {
	cmd    *exec.Cmd
	run    int
	logs   *tail
	exited chan struct{} // closed once the child is gone and state is set
	state  *os.ProcessState
	err    error // cmd.Wait's
}

// how says how the run ended ("exit status 1", "signal: killed"); call it
// once exited is closed.
func (p *proc) how() string {
	if p.state != nil {
		return p.state.String()
	}
	return fmt.Sprintf("wait: %v", p.err)
}

// ended describes a run that ended, with the end of its output (stdout and
// stderr, interleaved as written).
func (p *proc) ended(what string, lines int) string {
	out := p.logs.last(lines)
	if strings.TrimSpace(out) == "" {
		out = "(no output)"
	}
	return fmt.Sprintf("%s (run %d, pid %d, %s); its output ends:\n%s", what, p.run, p.cmd.Process.Pid, p.how(), out)
}

// newDaemon makes a daemon on a fresh data folder under the harness's
// work folder, listening on a free loopback port it keeps across restarts.
func (h *harness) newDaemon(name, config string) (*daemon, error) {
	data, err := os.MkdirTemp(h.work, name+"-")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return &daemon{h: h, config: config, data: data, addr: addr, api: newAPI("http://" + addr)}, nil
}

// newTextingDaemon makes a daemon on the example config with replace
// applied (as config takes them) whose texts go, through the real
// twilio-go client, to a new Twilio stand-in; its webhooks point at their
// own listener's address. The caller closes the provider.
func (h *harness) newTextingDaemon(name string, replace ...string) (*daemon, *provider, error) {
	p, err := startProvider(h.work)
	if err != nil {
		return nil, nil, fmt.Errorf("provider: %w", err)
	}
	d, err := h.newDaemon(name, "")
	if err == nil {
		d.hook, err = freeAddr()
	}
	if err == nil {
		d.config, err = h.config(name, append([]string{twilioBlock, twilioConfig(d.hook)}, replace...)...)
	}
	if err != nil {
		p.Close()
		return nil, nil, err
	}
	d.env = p.env()
	return d, p, nil
}

// freeAddr picks a loopback address that is free now, with its port below
// the kernel's ephemeral range: a daemon is started on it later, and again
// after each kill, and any process's outgoing connection or ":0" listener
// in between could take a port from that range (a soak start once failed
// with "bind: address already in use").
func freeAddr() (string, error) {
	lo, hi := 10000, ephemeralStart()
	for range 100 {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(lo+mrand.IntN(hi-lo))))
		if err != nil {
			continue // taken
		}
		addr := l.Addr().String()
		l.Close()
		return addr, nil
	}
	return "", fmt.Errorf("pillstress: no free port in %d-%d after 100 tries", lo, hi-1)
}

// ephemeralStart is the first port of the kernel's ephemeral range
// (Linux's default when it cannot be read).
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	if f := strings.Fields(string(b)); len(f) == 2 {
		if n, err := strconv.Atoi(f[0]); err == nil && n > 11000 {
			return n
		}
	}
	return 32768
}

// db is the daemon's database file.
func (d *daemon) db() string { return filepath.Join(d.data, "dispenser.db") }

// start runs the child and returns once it says it is ready, or fails with
// the end of its log when it exits or does not get ready in time.
func (d *daemon) start(ctx context.Context, extra ...string) error {
	if err := d.spawn(extra...); err != nil {
		return err
	}
	return d.waitReady(ctx)
}

// spawn starts the child without waiting for it.
func (d *daemon) spawn(extra ...string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.proc != nil {
		return errors.New("pillstress: daemon already running")
	}
	args := []string{"--sim", "--config", d.config, "--data", d.data, "--listen", d.addr,
		"--sim-state", filepath.Join(d.data, "world.json")}
	args = append(append(args, d.args...), extra...)
	cmd := exec.Command(d.h.binary, args...)
	cmd.Env = append(os.Environ(), d.env...)
	d.logs = newTail(64<<10, d.h.raced)
	cmd.Stdout, cmd.Stderr = d.logs, d.logs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pillstress: start dispenserd: %w", err)
	}
	d.runs++
	p := &proc{cmd: cmd, run: d.runs, logs: d.logs, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.exited)
	}()
	d.proc = p
	return nil
}

// current is the child running, or nil.
func (d *daemon) current() *proc {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.proc
}

// run is the number of the child running, 0 when none.
func (d *daemon) run() int {
	if p := d.current(); p != nil {
		return p.run
	}
	return 0
}

// readyTimeout bounds a start; the machine is shared and slow at times.
const readyTimeout = 60 * time.Second

func (d *daemon) waitReady(ctx context.Context) error {
	p := d.current()
	if p == nil {
		return errors.New("pillstress: no dispenserd started to wait for")
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		if p.logs.contains("dispenserd: ready") {
			return nil
		}
		select {
		case <-p.exited:
			d.reap(p)
			return errors.New(p.ended("dispenserd exited before it was ready", 20))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dispenserd not ready after %v (run %d, pid %d, still running); its output ends:\n%s",
				readyTimeout, p.run, p.cmd.Process.Pid, p.logs.last(20))
		}
	}
}

// alive reports whether the child is running.
func (d *daemon) alive() bool {
	p := d.current()
	if p == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (d *daemon) pid() int {
	if p := d.current(); p != nil {
		return p.cmd.Process.Pid
	}
	return 0
}

// kill sends SIGKILL, as a power cut would, and waits for the child to be
// gone. It is harmless when the child is not running.
func (d *daemon) kill() { d.signal(d.current(), syscall.SIGKILL) }

// killRun kills the child if it is still run number run (see run), and
// reports whether it was: a kill decided for one run, carried out late,
// spares the next.
func (d *daemon) killRun(run int) bool {
	p := d.current()
	if p == nil || p.run != run {
		return false
	}
	d.signal(p, syscall.SIGKILL)
	return true
}

// stop asks the child to shut down cleanly.
func (d *daemon) stop() { d.signal(d.current(), syscall.SIGTERM) }

// signal signals p (nil: none) and waits for it to be gone. Once p has been
// waited for, Signal is a no-op, whatever process may have its pid since.
func (d *daemon) signal(p *proc, sig syscall.Signal) {
	if p == nil {
		return
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	d.reap(p)
}

// reap forgets p once it is gone, unless a later run has replaced it.
func (d *daemon) reap(p *proc) {
	d.mu.Lock()
	if d.proc == p {
		d.proc = nil
	}
	d.mu.Unlock()
	p.logs.flushRace()
}

// flushRace reports a race report shorter than the cut-off once the
// process is gone.
func (t *tail) flushRace() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.race != nil && t.onRace != nil {
		t.onRace(string(t.race))
		t.onRace = nil
	}
}

// crashed describes how a child that died by itself (not alive) ended.
func (d *daemon) crashed() string {
	if p := d.current(); p != nil {
		select {
		case <-p.exited:
			return p.ended("dispenserd died on its own", 30)
		default:
		}
	}
	return fmt.Sprintf("dispenserd died on its own; its log ends:\n%s", d.logs.last(30))
}

// tail keeps the last bytes written to it, for failure messages, and
// whether a marker ever appeared.
type tail struct {
	mu    sync.Mutex
	max   int
	buf   []byte
	ready bool
	// race is the start of the first data race report of a daemon built
	// with -race.
	race   []byte
	onRace func(report string)
}

func newTail(max int, onRace func(string)) *tail { return &tail{max: max, onRace: onRace} }

const raceMarker = "WARNING: DATA RACE"

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if !t.ready && bytes.Contains(t.buf, []byte("dispenserd: ready")) {
		t.ready = true
	}
	if t.race == nil {
		if i := bytes.LastIndex(t.buf, []byte(raceMarker)); i >= 0 {
			t.race = append([]byte{}, t.buf[i:]...)
		}
	} else if len(t.race) < 6<<10 {
		t.race = append(t.race, p...)
		if len(t.race) >= 6<<10 && t.onRace != nil {
			t.onRace(string(t.race))
			t.onRace = nil
		}
	}
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max/2:]...)
	}
	return len(p), nil
}

func (t *tail) contains(s string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s == "dispenserd: ready" {
		return t.ready
	}
	return bytes.Contains(t.buf, []byte(s))
}

func (t *tail) last(lines int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	ls := strings.Split(strings.TrimRight(string(t.buf), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// api is a client of the daemon's HTTP API.
type api struct {
	base string
	c    *http.Client

	mu       sync.Mutex
	presses  []time.Time // recent presses, for pace
	released time.Time   // when the last press answered
}

func newAPI(base string) *api {
	return &api{base: base, c: &http.Client{Timeout: 90 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
}

// httpError is an answer with an unexpected status.
type httpError struct {
	method, path string
	code         int
	body         string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("%s %s = %d %s", e.method, e.path, e.code, strings.TrimSpace(e.body))
}

// call sends body as JSON (nil: none) and decodes a 2xx answer into out
// (nil: ignored); any other status is an *httpError.
func (a *api) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	if method != "GET" { // every other request is JSON, empty or not, as the API requires
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.c.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return &httpError{method, path, resp.StatusCode, string(b)}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

func (a *api) status(ctx context.Context) (dispenser.Status, error) {
	var st dispenser.Status
	err := a.call(ctx, "GET", "/api/status", nil, &st)
	return st, err
}

func (a *api) world(ctx context.Context) (sim.State, error) {
	var w sim.State
	err := a.call(ctx, "GET", "/api/sim/world", nil, &w)
	return w, err
}

// events returns every event after since, in pages.
func (a *api) events(ctx context.Context, since int64) ([]dispenser.Event, error) {
	var all []dispenser.Event
	for {
		var page []dispenser.Event
		if err := a.call(ctx, "GET", fmt.Sprintf("/api/events?since=%d&limit=10000", since), nil, &page); err != nil {
			return all, err
		}
		all = append(all, page...)
		if len(page) < 10000 {
			return all, nil
		}
		since = page[len(page)-1].Seq
	}
}

// waitEvent long-polls until an event after since matches, or ctx ends.
func (a *api) waitEvent(ctx context.Context, since int64, match func(dispenser.Event) bool) (dispenser.Event, error) {
	for {
		var page []dispenser.Event
		if err := a.call(ctx, "GET", fmt.Sprintf("/api/events?since=%d&limit=10000&wait=5s", since), nil, &page); err != nil {
			return dispenser.Event{}, err
		}
		for _, ev := range page {
			if match(ev) {
				return ev, nil
			}
			since = ev.Seq
		}
		if err := ctx.Err(); err != nil {
			return dispenser.Event{}, err
		}
	}
}

func (a *api) advance(ctx context.Context, d time.Duration) error {
	return a.call(ctx, "POST", "/api/sim/clock", map[string]string{"advance": d.String()}, nil)
}

// advanceTo moves the clock forward to t (nothing if it is past).
func (a *api) advanceTo(ctx context.Context, t time.Time) error {
	st, err := a.status(ctx)
	if err != nil {
		return err
	}
	if gap := t.Sub(st.Now); gap > 0 {
		return a.advance(ctx, gap)
	}
	return nil
}

// setClock steps the wall clock, as NTP would.
func (a *api) setClock(ctx context.Context, t time.Time) error {
	return a.call(ctx, "POST", "/api/sim/clock", map[string]string{"set": t.Format(time.RFC3339)}, nil)
}

func (a *api) setNTP(ctx context.Context, synced bool) error {
	return a.call(ctx, "POST", "/api/sim/ntp", map[string]bool{"synced": synced}, nil)
}

// Pacing of simulated presses. The button's debounce runs on real time: a
// press sent within the debounce of the last release (which happens just
// before the press's answer) would read as one long press. Its flapping guard does too: more than 20 edges (10 presses)
// within 10 s is a faulty switch. A harness that squeezes days into
// seconds would trip both, so presses keep a patient's pace in real time.
const (
	pressGap    = 80 * time.Millisecond
	pressWindow = 10 * time.Second
	pressMax    = 8
)

// press presses the button; with wait, it answers once any dispense it
// started is over.
// pressToDispense presses the button (after the checker read everything
// before it) and waits up to timeout for the dispense it starts, so that
// the caller can kill or break something while the motor turns. started
// is false when no dispense began in time; err is a failure to check or
// press.
func (a *api) pressToDispense(ctx context.Context, chk *checker, timeout time.Duration) (ev dispenser.Event, started bool, err error) {
	if err := chk.check(ctx); err != nil {
		return dispenser.Event{}, false, err
	}
	since := chk.lastSeq
	if err := a.press(ctx, false); err != nil {
		return dispenser.Event{}, false, err
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ev, werr := a.waitEvent(wctx, since, func(ev dispenser.Event) bool { return ev.Kind == dispenser.KindDispenseStarted })
	return ev, werr == nil, nil
}

func (a *api) press(ctx context.Context, wait bool) error {
	a.pace()
	path := "/api/sim/button"
	if wait {
		path += "?wait=1"
	}
	err := a.call(ctx, "POST", path, nil, nil)
	a.mu.Lock()
	a.released = time.Now() // the release is in the answer; its debounce is not
	a.mu.Unlock()
	return err
}

func (a *api) pace() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if gap := time.Since(a.released); gap < pressGap {
		time.Sleep(pressGap - gap)
	}
	for len(a.presses) >= pressMax {
		if wait := pressWindow - time.Since(a.presses[len(a.presses)-pressMax]); wait > 0 {
			time.Sleep(wait)
		}
		a.presses = a.presses[1:]
	}
	a.presses = append(a.presses, time.Now())
}

func (a *api) cup(ctx context.Context, present bool) error {
	return a.call(ctx, "POST", "/api/sim/cup?wait=1", map[string]bool{"present": present}, nil)
}

func (a *api) lid(ctx context.Context, open bool) error {
	return a.call(ctx, "POST", "/api/sim/lid?wait=1", map[string]bool{"open": open}, nil)
}

// take lifts the cup and puts it back: the patient takes what is in it.
func (a *api) take(ctx context.Context) error {
	if err := a.cup(ctx, false); err != nil {
		return err
	}
	return a.cup(ctx, true)
}

func (a *api) fault(ctx context.Context, body map[string]any) error {
	return a.call(ctx, "POST", "/api/sim/fault", body, nil)
}

// smsView is one text in GET /api/sim/sms.
type smsView struct {
	ID        int64     `json:"id"`
	Direction string    `json:"direction"`
	To        string    `json:"to"`
	Body      string    `json:"body"`
	Status    string    `json:"status"`
	Time      time.Time `json:"time"`
	Code      string    `json:"code"`
	Priority  string    `json:"priority"`
}

func (a *api) sms(ctx context.Context) ([]smsView, error) {
	var v []smsView
	err := a.call(ctx, "GET", "/api/sim/sms", nil, &v)
	return v, err
}
