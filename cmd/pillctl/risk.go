package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/adherence/insights"
	"github.com/pillbox/pillbox/adherence/insights/fromlog"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
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

const maxRiskDays = 28

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

// riskOutput is what pillctl risk prints.
type riskOutput struct {
	AsOf     time.Time `json:"as_of"`
	Timezone string    `json:"timezone"`
	Days     int       `json:"days"`
	// Learned is how many past doses the model learned from; 0 means the
	// risks are the population's.
	Learned  int                 `json:"learned_from_doses"`
	Doses    []riskDose          `json:"doses"`
	Vitals   []insights.Baseline `json:"baselines"`
	Warnings []riskWarning       `json:"warnings"`
}

type riskDose struct {
	DoseID     string            `json:"dose_id"`
	Medication string            `json:"medication"`
	Scheduled  time.Time         `json:"scheduled"`
	Local      string            `json:"local"`
	Risk       float64           `json:"risk"`
	Reasons    []insights.Reason `json:"reasons"`
	FirstChime riskChime         `json:"first_chime"`
}

type riskChime struct {
	At           time.Time               `json:"at"`
	ShiftMinutes int                     `json:"shift_minutes"`
	Reason       insights.ReminderReason `json:"reason"`
	Text         string                  `json:"text"`
}

type riskWarning struct {
	insights.Warning
	Text string `json:"text"`
}

func buildRisk(path, cfgPath string, at time.Time, fixed bool, days int) (*riskOutput, error) {
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
	evs, rs, err := deviceLog(ctx, st)
	if err != nil {
		return nil, err
	}
	if n := len(evs); !fixed && n > 0 && evs[n-1].Time.After(at) {
		at = evs[n-1].Time // a simulated dispenser's clock runs ahead
	}
	h := fromlog.History(evs, report.Setup{Location: loc, Medications: cfg.Medications, Regimens: cfg.Regimens})
	l := insights.NewLearner(h, insights.DefaultPrior)
	m := l.Train(at)
	out := &riskOutput{AsOf: at.UTC(), Timezone: loc.String(), Days: days, Learned: m.Examples, Doses: []riskDose{}, Warnings: []riskWarning{}}
	for _, d := range fromlog.Upcoming(plan, at, at.AddDate(0, 0, days)) {
		r := l.Risk(m, at, d)
		c := l.Reminder(at, d, fromlog.FirstStep(cfg.Escalation.Escalation, d.Medication))
		out.Doses = append(out.Doses, riskDose{DoseID: d.ID, Medication: d.Medication, Scheduled: d.Scheduled.UTC(),
			Local: d.Scheduled.In(loc).Format("Mon 2006-01-02 15:04"), Risk: math.Round(r.Probability*1000) / 1000, Reasons: r.Reasons,
			FirstChime: riskChime{At: c.At.UTC(), ShiftMinutes: int(c.Shift.Minutes()), Reason: c.Reason, Text: c.Text}})
	}
	mon := insights.Watch(loc, fromlog.Readings(rs))
	out.Vitals = mon.Baselines()
	for _, w := range mon.Warnings() {
		if w.Open() {
			out.Warnings = append(out.Warnings, riskWarning{w, w.Text()})
		}
	}
	return out, nil
}

// deviceLog reads a dispenser database's whole log and readings, in time
// order (the device's log is in seq order).
func deviceLog(ctx context.Context, st *adherence.Store) ([]dispenser.Event, []vital.Reading, error) {
	evs, err := pageAll(func(seq int64) ([]dispenser.Event, error) { return st.Since(ctx, seq, 5000) },
		func(e dispenser.Event) int64 { return e.Seq })
	if err != nil {
		return nil, nil, err
	}
	rs, err := pageAll(func(seq int64) ([]vital.Reading, error) { return st.ReadingsSince(ctx, seq, 5000) },
		func(r vital.Reading) int64 { return r.Seq })
	if err != nil {
		return nil, nil, err
	}
	slices.SortStableFunc(evs, func(a, b dispenser.Event) int { return a.Time.Compare(b.Time) })
	slices.SortStableFunc(rs, func(a, b vital.Reading) int { return a.Time.Compare(b.Time) })
	return evs, rs, nil
}
