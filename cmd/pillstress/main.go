// Command pillstress is the reliability harness: it runs dispenserd --sim as
// a child process, drives it through its HTTP API and the simulated world,
// breaks it on purpose (SIGKILL at random moments, a failing SMS provider,
// wall-clock jumps across DST, a full or read-only disk, a damaged database,
// stuck and chattering sensors, hostile requests, a month of random faults)
// and checks the safety invariants of DESIGN.md after every step, counting
// pills in the simulated world rather than in the log. It ends with every
// fuzz target of the module. `make stress` runs it in full; `make test`
// runs a bounded subset of the same scenarios as this package's tests.
//
// It prints one table, scenario by scenario, and writes it to a file.
// docs/reliability.md describes the scenarios and what each checks.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pillstress", flag.ContinueOnError)
	fs.SetOutput(stderr)
	full := fs.Bool("full", os.Getenv("PILLBOX_STRESS") == "full", "run the full counts (1,000 kills, 30 days...) instead of the CI subset")
	only := fs.String("only", "", "comma-separated `scenarios` to run (default all; \"fuzz\" for the fuzz targets, \"none\" for none)")
	fuzzTime := fs.Duration("fuzztime", 0, "run every fuzz target for this `long` (0: no fuzzing)")
	out := fs.String("out", "", "write the table to `FILE` (default stress-report.txt at the module root)")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random `seed` (printed, to replay a run)")
	keep := fs.Bool("keep", false, "keep the work folder (daemon data and logs)")
	race := fs.Bool("race", false, "build dispenserd with the race detector; a race it reports fails the scenario")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "pillstress", version)
		return 0
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	for s := range want {
		if s != "fuzz" && s != "none" && !slices.ContainsFunc(scenarios, func(sc scenario) bool { return sc.name == s }) {
			fmt.Fprintf(stderr, "pillstress: unknown scenario %q\n", s)
			return 2
		}
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *out == "" {
		*out = filepath.Join(root, "stress-report.txt")
	}
	work, err := os.MkdirTemp("", "pillstress-")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if !*keep {
		defer os.RemoveAll(work)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Fprintf(stderr, "pillstress: seed %d, %s run, work folder %s\n", *seed, map[bool]string{true: "full", false: "CI"}[*full], work)
	h, err := newHarness(root, work, *full, *race, *seed)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	start := time.Now()
	var results []*result
	for _, sc := range scenarios {
		if len(want) > 0 && !want[sc.name] {
			continue
		}
		fmt.Fprintf(stderr, "pillstress: %s...\n", sc.name)
		r := runScenario(ctx, h, sc)
		fmt.Fprintf(stderr, "pillstress: %s: %d runs, %d failures, %s in %v\n", r.Scenario, r.Runs, r.Failures(), r.Counts(), r.Elapsed.Round(time.Second))
		results = append(results, r)
		if ctx.Err() != nil {
			break
		}
	}
	if *fuzzTime > 0 && (len(want) == 0 || want["fuzz"]) && ctx.Err() == nil {
		results = append(results, fuzzAll(ctx, root, *fuzzTime, stderr)...)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "pillstress %s run, seed %d, %s, total %v\n\n", map[bool]string{true: "full", false: "CI"}[*full], *seed,
		start.Format(time.RFC3339), time.Since(start).Round(time.Second))
	writeTable(&b, results)
	fmt.Fprint(stdout, b.String())
	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(stderr, "pillstress: write report:", err)
		return 1
	}
	fmt.Fprintf(stdout, "\nreport written to %s\n", *out)
	for _, r := range results {
		if r.Failures() > 0 {
			return 1
		}
	}
	return 0
}

// writeTable renders the results as one table, then the failure messages.
func writeTable(w io.Writer, results []*result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\truns\tfailures\ttime\tkey counts")
	for _, r := range results {
		counts := r.Counts()
		if r.Skipped != "" {
			counts = "SKIPPED: " + r.Skipped
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%v\t%s\n", r.Scenario, r.Runs, r.Failures(), r.Elapsed.Round(time.Second), counts)
	}
	tw.Flush()
	for _, r := range results {
		r.mu.Lock()
		notes := slices.Clone(r.notes)
		r.mu.Unlock()
		for _, n := range notes {
			fmt.Fprintf(w, "\n%s, %s:\n", r.Scenario, n.title)
			for _, l := range n.lines {
				fmt.Fprintf(w, "  %s\n", l)
			}
		}
	}
	for _, r := range results {
		msgs := r.Messages()
		if len(msgs) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s failures (first %d of %d):\n", r.Scenario, len(msgs), r.Failures())
		for _, m := range msgs {
			fmt.Fprintf(w, "  - %s\n", strings.ReplaceAll(m, "\n", "\n    "))
		}
	}
}
