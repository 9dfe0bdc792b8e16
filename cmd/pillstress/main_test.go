package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The CI subset of the harness: each scenario at its CI counts (about 50
// kills, a day of outage, the DST cells of one zone each way, ...), as
// Go tests, so `make test` keeps the harness and what it guards honest.
// PILLBOX_STRESS=full runs the full counts instead; PILLSTRESS_SEED replays
// a run. Under -race the daemon is built with the race detector too.

var (
	testHarness *harness
	testRoot    string
	sourcesOnce sync.Once
	sourcesErr  error
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeDaemonEnv); mode != "" {
		fakeDaemon(mode) // a child of TestDaemon*: dispenserd's flags are not ours
	}
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // every test skips itself
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PILLSTRESS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "PILLSTRESS_SEED:", err)
			os.Exit(2)
		}
		seed = n
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testRoot = root
	work, err := os.MkdirTemp("", "pillstress-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testHarness, err = newHarness(root, work, os.Getenv("PILLBOX_STRESS") == "full", raceBuild, seed)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(work)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "pillstress: seed %d (PILLSTRESS_SEED=%d replays it)\n", seed, seed)
	code := m.Run()
	os.RemoveAll(work)
	os.Exit(code)
}

// touchSources stats every Go file of the module. The daemon under test is
// built by a go build child, whose reads go test cannot see; files a test
// stats (inside m.Run: go test does not see what TestMain does before it)
// are part of its cache key, so a change to the daemon's code runs these
// tests again instead of reusing a stale pass.
func touchSources(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "testdata", "dist", "data":
				return filepath.SkipDir
			}
			return nil
		}
		// Everything the daemon is built from: code, embedded files, the
		// example config the harness starts from; not the prose.
		if ext := filepath.Ext(path); ext != ".md" && ext != ".png" && ext != ".svg" {
			_, err := os.Stat(path)
			return err
		}
		return nil
	})
}

// dependOnSources makes the module's sources part of this run's cache key.
func dependOnSources(t *testing.T) {
	sourcesOnce.Do(func() { sourcesErr = touchSources(testRoot) })
	if sourcesErr != nil {
		t.Fatal(sourcesErr)
	}
}

// stress runs one scenario as a test: its failures are the test's.
func stress(t *testing.T, name string) {
	if testing.Short() {
		t.Skip("runs the daemon binary under faults")
	}
	dependOnSources(t)
	t.Parallel()
	var sc scenario
	for _, s := range scenarios {
		if s.name == name {
			sc = s
		}
	}
	if sc.run == nil {
		t.Fatalf("no scenario %q", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	r := runScenario(ctx, testHarness, sc)
	t.Logf("%s: %d runs, %d failures, %s in %v", r.Scenario, r.Runs, r.Failures(), r.Counts(), r.Elapsed.Round(time.Second))
	for _, m := range r.Messages() {
		t.Error(m)
	}
	if n := r.Failures() - len(r.Messages()); n > 0 {
		t.Errorf("and %d more failures", n)
	}
	if r.Runs == 0 {
		t.Errorf("%s ran nothing", name)
	}
}

func TestCrashStorm(t *testing.T)     { stress(t, "crash-storm") }
func TestProviderOutage(t *testing.T) { stress(t, "provider-outage") }
func TestClockAndDST(t *testing.T)    { stress(t, "clock-dst") }
func TestStorageFaults(t *testing.T)  { stress(t, "storage-faults") }
func TestSensorFaults(t *testing.T)   { stress(t, "sensor-faults") }
func TestBadInput(t *testing.T)       { stress(t, "bad-input") }
func TestSoak(t *testing.T)           { stress(t, "soak") }

// Every scenario has its test.
func TestScenariosCovered(t *testing.T) {
	dependOnSources(t)
	tests := map[string]bool{"crash-storm": true, "provider-outage": true, "clock-dst": true, "storage-faults": true,
		"sensor-faults": true, "bad-input": true, "soak": true}
	for _, s := range scenarios {
		if !tests[s.name] {
			t.Errorf("scenario %s has no test in main_test.go", s.name)
		}
	}
}

func TestSlope(t *testing.T) {
	tests := []struct {
		xs, ys []float64
		want   float64
	}{
		{[]float64{1, 2, 3}, []float64{10, 10, 10}, 0},
		{[]float64{1, 2, 3}, []float64{1, 3, 5}, 2},
		{[]float64{1}, []float64{7}, 0},
		{nil, nil, 0},
	}
	for _, tt := range tests {
		if got := slope(tt.xs, tt.ys); got != tt.want {
			t.Errorf("slope(%v, %v) = %v, want %v", tt.xs, tt.ys, got, tt.want)
		}
	}
}
