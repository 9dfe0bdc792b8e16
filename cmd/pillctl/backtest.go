package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/pillbox/pillbox/adherence/insights"
	"github.com/pillbox/pillbox/adherence/insights/backtest"
	"github.com/pillbox/pillbox/adherence/insights/cohort"
)

// pillctl backtest scores the insights on a synthetic cohort (package
// backtest): generated from --seed, or read from a cohort file. The full
// size is the default (1,100 patients, over 1,000 patient-years; `make
// backtest`); docs/insights.md reports its figures.

func init() {
	register(command{name: "backtest", help: "score the missed-dose risk and the personal vital-sign warnings on a synthetic cohort, with no look-ahead",
		run: runBacktest})
}

func runBacktest(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("backtest", "", stderr)
	patients := fs.Int("patients", 1100, "score `N` generated patients")
	seed := fs.Uint64("seed", 1, "the scored cohort's `SEED` (1 is the test cohort the docs report)")
	first := fs.Int("first", 0, "the index `K` of the first patient")
	file := fs.String("cohort", "", "score the patients of this cohort `FILE` (pillctl cohort) instead of generating them")
	fitPrior := fs.Bool("fit-prior", false, "fit the population prior on the development cohort first, print it, and score with it")
	devSeed := fs.Uint64("dev-seed", 2, "the development cohort's `SEED` (with --fit-prior; never the scored one)")
	devPatients := fs.Int("dev-patients", 1000, "the development cohort's size `N` (with --fit-prior)")
	threshold := fs.Float64("threshold", insights.DefaultHeadsUp.Threshold, "the heads-up `RISK` to report on")
	vitalsOnly := fs.Bool("vitals-only", false, "score the vital-sign rules only (fast)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if status, ok := parseFlags(fs, args, 0); !ok {
		return status
	}
	switch {
	case *patients < 1 || *patients > maxCohort || *first < 0:
		fmt.Fprintf(stderr, "pillctl backtest: -patients %d, -first %d: want 1 to %d patients from 0 on\n", *patients, *first, maxCohort)
		return 2
	case *threshold <= 0 || *threshold >= 1:
		fmt.Fprintln(stderr, "pillctl backtest: -threshold: want a risk between 0 and 1")
		return 2
	case *fitPrior && (*devSeed == *seed || *devPatients < 1 || *devPatients > maxCohort):
		fmt.Fprintln(stderr, "pillctl backtest: --fit-prior needs a development seed other than the scored one, and 1 or more patients")
		return 2
	}
	opts := backtest.Options{Prior: insights.DefaultPrior, Threshold: *threshold, VitalsOnly: *vitalsOnly}
	if *fitPrior {
		opts.Prior = backtest.FitPrior(cohort.DefaultParams, *devSeed, *devPatients, insights.DefaultPrior)
		fmt.Fprintf(stderr, "prior fitted on %d patients of seed %d:\n  Rate: %.2f\n  Mean: %#v\n", *devPatients, *devSeed, opts.Prior.Rate, opts.Prior.Mean)
	}
	var rep *backtest.Report
	var err error
	if *file != "" {
		var f *os.File
		if f, err = os.Open(*file); err != nil {
			fmt.Fprintf(stderr, "pillctl backtest: %v\n", err)
			return 1
		}
		defer f.Close()
		rep, _, err = backtest.File(f, opts)
	} else {
		rep, err = backtest.Generated(cohort.DefaultParams, *seed, *first, *patients, opts)
	}
	if err != nil {
		fmt.Fprintf(stderr, "pillctl backtest: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "pillctl backtest: %v\n", err)
		return 1
	}
	return 0
}
