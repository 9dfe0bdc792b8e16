package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// harness is what every scenario shares: the dispenserd binary under test,
// a work folder, the example config, a seeded random source and the size
// of the run.
type harness struct {
	binary  string
	work    string
	root    string // the module's root folder
	example string // examples/dispenser.yaml
	full    bool
	seed    uint64

	mu    sync.Mutex
	rng   *rand.Rand
	races []string // data race reports of daemons built with -race
}

// raced keeps a daemon's data race report for the scenario that ran it.
func (h *harness) raced(report string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.races = append(h.races, report)
}

// takeRaces returns the race reports so far and forgets them.
func (h *harness) takeRaces() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.races
	h.races = nil
	return out
}

// newHarness builds dispenserd from the module at root into work, with the
// race detector when race is set (the daemon's races under stress then
// fail the scenario that met them).
func newHarness(root, work string, full, race bool, seed uint64) (*harness, error) {
	b, err := os.ReadFile(filepath.Join(root, "examples", "dispenser.yaml"))
	if err != nil {
		return nil, fmt.Errorf("pillstress: %w", err)
	}
	h := &harness{root: root, work: work, example: string(b), full: full, seed: seed,
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	h.binary = filepath.Join(work, "dispenserd")
	args := []string{"build", "-o", h.binary}
	if race {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "./cmd/dispenserd")...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pillstress: build dispenserd: %v\n%s", err, out)
	}
	return h, nil
}

// moduleRoot finds the folder holding go.mod, from the working folder up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("pillstress: no go.mod above the working folder")
		}
		dir = parent
	}
}

// intn returns a random int in [0, n), from the seeded source.
func (h *harness) intn(n int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rng.IntN(n)
}

// between returns a random duration in [lo, hi).
func (h *harness) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return lo + time.Duration(h.rng.Int64N(int64(hi-lo)))
}

// size picks the CI or the full count.
func (h *harness) size(ci, full int) int {
	if h.full {
		return full
	}
	return ci
}

// config writes the example config with replacements (old, new pairs; each
// old must be there) and returns its path.
func (h *harness) config(name string, replace ...string) (string, error) {
	return h.writeConfig(name, h.example, replace...)
}

// writeConfig writes text with replacements as the config name.
func (h *harness) writeConfig(name, text string, replace ...string) (string, error) {
	s := text
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			return "", fmt.Errorf("pillstress: the example config no longer contains %q", replace[i])
		}
		s = strings.Replace(s, replace[i], replace[i+1], 1)
	}
	path := filepath.Join(h.work, name+".yaml")
	return path, os.WriteFile(path, []byte(s), 0o600)
}

// Replacements of the example config the scenarios share.
var (
	// twilioBlock is the commented escalation.twilio section.
	twilioBlock = "  #twilio:\n  #  account_sid: AC0123456789abcdef0123456789abcdef\n  #  from: \"+15005550006\""
)

// fastMotors turns the steppers as fast as the simulated rotor follows
// (a phase must hold 500 us), in real time, where a
// scenario is not about the motor: days go by in seconds.
var fastMotors = []string{"step_delay: 2ms", "step_delay: 600us", "step_delay: 1ms", "step_delay: 300us"}

// result is one scenario's line of the report.
type result struct {
	Scenario string
	Runs     int
	failures int
	msgs     []string
	counts   []count
	Elapsed  time.Duration
	Skipped  string // why it did not run, if it did not
	notes    []note
	mu       sync.Mutex
}

// note is a block of lines printed after the table (the soak's days).
type note struct {
	title string
	lines []string
}

// note adds a block of lines to the report, after the table.
func (r *result) note(title string, lines []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, note{title, lines})
}

type count struct {
	key string
	n   float64
	fmt string // "" for an integer
}

func newResult(name string) *result { return &result{Scenario: name} }

// maxMessages bounds the failure messages a result keeps.
const maxMessages = 20

// fail records a failure.
func (r *result) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures++
	if len(r.msgs) < maxMessages {
		r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
	}
}

// add adds n to the key count (created in first-use order).
func (r *result) add(key string, n int) { r.addf(key, float64(n), "") }

// set sets a measured figure, printed with format f.
func (r *result) set(key string, v float64, f string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.counts {
		if r.counts[i].key == key {
			r.counts[i].n, r.counts[i].fmt = v, f
			return
		}
	}
	r.counts = append(r.counts, count{key, v, f})
}

func (r *result) addf(key string, n float64, f string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.counts {
		if r.counts[i].key == key {
			r.counts[i].n += n
			return
		}
	}
	r.counts = append(r.counts, count{key, n, f})
}

func (r *result) get(key string) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.counts {
		if c.key == key {
			return c.n
		}
	}
	return 0
}

func (r *result) Failures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures
}

func (r *result) Messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// Counts renders the key counts: "kills=50 uncertain=12 ...".
func (r *result) Counts() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var parts []string
	for _, c := range r.counts {
		if c.fmt == "" {
			parts = append(parts, fmt.Sprintf("%s=%d", c.key, int64(c.n)))
		} else {
			parts = append(parts, fmt.Sprintf("%s="+c.fmt, c.key, c.n))
		}
	}
	return strings.Join(parts, " ")
}

// scenario is one line of the table.
type scenario struct {
	name string
	run  func(ctx context.Context, h *harness, r *result)
}

// scenarios in the order the report lists them.
var scenarios = []scenario{
	{"crash-storm", crashStorm},
	{"provider-outage", providerOutage},
	{"clock-dst", clockMatrix},
	{"storage-faults", storageFaults},
	{"sensor-faults", sensorFaults},
	{"bad-input", badInput},
	{"soak", soak},
}

// runScenario runs one scenario, turning a panic of the harness itself
// into a failure rather than a lost report.
func runScenario(ctx context.Context, h *harness, sc scenario) (r *result) {
	r = newResult(sc.name)
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			r.fail("harness panic: %v", v)
		}
		r.Elapsed = time.Since(start)
	}()
	sc.run(ctx, h, r)
	for _, report := range h.takeRaces() {
		r.fail("dispenserd (built with -race) reported a data race:\n%s", report)
	}
	return r
}

// debugf prints progress details when PILLSTRESS_DEBUG is set.
func debugf(format string, args ...any) {
	if os.Getenv("PILLSTRESS_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "pillstress: "+format+"\n", args...)
	}
}
