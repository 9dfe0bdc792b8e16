package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/adherence/insights/coach"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/schedule"
)

// pillctl risk reads a dispenser's database and config and prints the
// coming days' scheduled doses with their missed-dose risk, its reasons
// and the adaptive first chime, and the patient's vital-sign baselines and
// open early warnings, as JSON (docs/insights.md).

func init() {
	register(command{name: "risk", help: "print the coming doses' missed-dose risk with reasons, and the vital-sign baselines, from a dispenser database (JSON)",
		run: runRisk})
}

const maxRiskDays = coach.MaxDays

func runRisk(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("risk", "", stderr)
	db := fs.String("db", "", "the dispenser's database `FILE`")
	cfgPath := fs.String("config", "", "the dispenser's config `FILE` (regimens, zone, escalation)")
	days := fs.Int("days", 7, "the coming `N` days")
	now := fs.String("now", "", "as of this RFC 3339 `TIME` instead of now (default: now, or the log's last event if later)")
	if status, ok := parseFlags(fs, args, 0); !ok {
		return status
	}
	switch {
	case *db == "" || *cfgPath == "":
		fmt.Fprintln(stderr, "pillctl risk: give --db and --config")
		return 2
	case *days < 1 || *days > maxRiskDays:
		fmt.Fprintf(stderr, "pillctl risk: -days %d: want 1 to %d\n", *days, maxRiskDays)
		return 2
	}
	at, err := nowFlag(*now)
	if err != nil {
		fmt.Fprintf(stderr, "pillctl risk: -now: %v\n", err)
		return 2
	}
	out, err := buildRisk(*db, *cfgPath, at, *now != "", *days)
	if err != nil {
		fmt.Fprintf(stderr, "pillctl risk: %v\n", err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(stderr, "pillctl risk: %v\n", err)
		return 1
	}
	return 0
}

func buildRisk(path, cfgPath string, at time.Time, fixed bool, days int) (*coach.Report, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err // a mistyped path must not create a database
	}
	cfg, loc, err := loadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	plan, err := schedule.NewPlan(cfg.Regimens, loc)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	st, err := adherence.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	evs, rs, err := coach.ReadLog(ctx, st)
	if err != nil {
		return nil, err
	}
	if n := len(evs); !fixed && n > 0 && evs[n-1].Time.After(at) {
		at = evs[n-1].Time // a simulated dispenser's clock runs ahead
	}
	return coach.BuildReport(coach.Input{Events: evs, Readings: rs, Plan: plan, Escalation: cfg.Escalation.Escalation,
		Setup: report.Setup{Location: loc, Medications: cfg.Medications, Regimens: cfg.Regimens}}, at, days), nil
}
