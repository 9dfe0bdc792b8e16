package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/adherence/insights"
	"github.com/pillbox/pillbox/adherence/insights/cohort"
	"github.com/pillbox/pillbox/adherence/insights/fromlog"
	"github.com/pillbox/pillbox/cmd/internal/config"
	"github.com/pillbox/pillbox/schedule"
)

// pillctl cohort writes synthetic patients (package cohort; the
// generator and its sources: docs/insights.md):
//   - as a cohort file, JSON lines, for pillctl backtest --cohort and any
//     other analysis; or
//   - with --db and --config, one patient on that config's regimens, as
//     a dispenser's own database (events and readings), for pillctl risk
//     and pillctl report to read.

func init() {
	register(command{name: "cohort", help: "generate synthetic patients from the adherence literature: a cohort file (JSON lines), or one patient as a dispenser database",
		run: runCohort})
}

const maxCohort = 100000

func runCohort(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("cohort", "", stderr)
	patients := fs.Int("patients", 10, "how many `N` patients (JSON lines)")
	seed := fs.Uint64("seed", 1, "the cohort's `SEED`: the same seed gives the same patients")
	first := fs.Int("first", 0, "the index `K` of the first patient; with --db, the patient written")
	days := fs.Int("days", cohort.DefaultParams.Days, "each patient's record, in `DAYS`")
	out := fs.String("out", "-", "the cohort `FILE` to write; - for standard output")
	db := fs.String("db", "", "write one patient as a dispenser database `FILE` (it must not exist), on --config's regimens")
	cfgPath := fs.String("config", "", "the dispenser config `FILE` whose regimens and zone the patient follows (with --db)")
	now := fs.String("now", "", "with --db, end the record at the start of the day of this RFC 3339 `TIME` (default: today)")
	if status, ok := parseFlags(fs, args, 0); !ok {
		return status
	}
	params := cohort.DefaultParams
	params.Days = *days
	switch {
	case params.Validate() != nil:
		fmt.Fprintf(stderr, "pillctl cohort: -days %d: want 1 to 3660\n", *days)
		return 2
	case *patients < 1 || *patients > maxCohort:
		fmt.Fprintf(stderr, "pillctl cohort: -patients %d: want 1 to %d\n", *patients, maxCohort)
		return 2
	case *first < 0:
		fmt.Fprintln(stderr, "pillctl cohort: -first must be 0 or more")
		return 2
	case (*db == "") != (*cfgPath == ""):
		fmt.Fprintln(stderr, "pillctl cohort: --db and --config go together")
		return 2
	}
	if *db != "" {
		at, err := nowFlag(*now)
		if err != nil {
			fmt.Fprintf(stderr, "pillctl cohort: -now: %v\n", err)
			return 2
		}
		n, m, err := writePatientDB(*db, *cfgPath, params, *seed, *first, at)
		if err != nil {
			fmt.Fprintf(stderr, "pillctl cohort: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: patient %d of seed %d, %d days: %d events, %d readings\n", *db, *first, *seed, *days, n, m)
		return 0
	}
	if err := writeCohort(*out, stdout, params, *seed, *first, *patients); err != nil {
		fmt.Fprintf(stderr, "pillctl cohort: %v\n", err)
		return 1
	}
	return 0
}

// nowFlag reads an RFC 3339 time; empty is the clock's now.
func nowFlag(s string) (time.Time, error) {
	if s == "" {
		return time.Now(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, errors.New("want an RFC 3339 time such as 2026-03-08T09:00:00Z")
	}
	return t, nil
}

func writeCohort(path string, stdout io.Writer, params cohort.Params, seed uint64, first, n int) (err error) {
	w := stdout
	if path != "-" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		w = f
	}
	cw, err := cohort.NewWriter(w, cohort.Header{Seed: seed, First: first, Patients: n, Params: params})
	if err != nil {
		return err
	}
	for i := first; i < first+n; i++ {
		p := cohort.Generate(params, seed, i)
		if err := cw.Write(&p); err != nil {
			return err
		}
	}
	return cw.Flush()
}

// writePatientDB generates patient index on the config's regimens, for
// the days before the day of now, and writes its log to a new database.
func writePatientDB(path, cfgPath string, params cohort.Params, seed uint64, index int, now time.Time) (events, readings int, err error) {
	if _, err := os.Stat(path); err == nil || !errors.Is(err, os.ErrNotExist) {
		return 0, 0, fmt.Errorf("%s exists: cohort writes a new database, never into one", path)
	}
	cfg, loc, err := loadConfig(cfgPath)
	if err != nil {
		return 0, 0, err
	}
	plan, err := schedule.NewPlan(cfg.Regimens, loc)
	if err != nil {
		return 0, 0, err
	}
	y, m, d := now.In(loc).Date()
	start := time.Date(y, m, d-params.Days, 0, 0, 0, 0, loc)
	p := cohort.GenerateFor(params, seed, index, cohort.Schedule{Location: loc, Start: start, Days: params.Days,
		Doses: func(from, to time.Time) []insights.Dose { return fromlog.Upcoming(plan, from, to) }})
	comp := map[string]int{}
	for _, md := range cfg.Medications {
		comp[md.ID] = md.Compartment
	}
	evs, rs := p.DeviceLog(comp)
	ctx := context.Background()
	st, err := adherence.Open(ctx, path)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if cerr := st.Close(); err == nil {
			err = cerr
		}
	}()
	// One transaction (and one fsync) a few thousand rows at a time.
	const batch = 4000
	for i := 0; i < len(evs); i += batch {
		if _, err := st.Append(ctx, evs[i:min(i+batch, len(evs))]...); err != nil {
			return 0, 0, err
		}
	}
	for i := 0; i < len(rs); i += batch {
		if _, err := st.AppendReadings(ctx, rs[i:min(i+batch, len(rs))]...); err != nil {
			return 0, 0, err
		}
	}
	return len(evs), len(rs), nil
}

// loadConfig reads a dispenser config that has no problems, and its zone.
func loadConfig(path string) (*config.File, *time.Location, error) {
	cfg, probs, err := config.Load(path)
	if err != nil {
		return nil, nil, err
	}
	if cfg == nil || len(probs) > 0 {
		return nil, nil, fmt.Errorf("%s has problems; run dispenserd --check-config", path)
	}
	loc, err := time.LoadLocation(cfg.Patient.Timezone)
	if err != nil {
		return nil, nil, err
	}
	return cfg, loc, nil
}
