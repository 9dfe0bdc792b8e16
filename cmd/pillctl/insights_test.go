package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/insights/backtest"
	"github.com/pillbox/pillbox/adherence/insights/coach"
	"github.com/pillbox/pillbox/adherence/insights/cohort"
)

const exampleConfig = "../../examples/dispenser.yaml"

func run(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	status = dispatch(args, &o, &e)
	return status, o.String(), e.String()
}

func TestCohortFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cohort.jsonl")
	if st, _, e := run(t, "cohort", "--patients", "3", "--seed", "4", "--first", "2", "--days", "40", "--out", path); st != 0 {
		t.Fatalf("cohort: status %d: %s", st, e)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	h, err := cohort.Read(f, func(p *cohort.Patient) error {
		ids = append(ids, p.ID)
		if p.Days != 40 || len(p.Doses) < 40 {
			t.Errorf("%s: %d days, %d doses; want 40 days and a dose a day or more", p.ID, p.Days, len(p.Doses))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if h.Seed != 4 || h.First != 2 || strings.Join(ids, ",") != "p000002,p000003,p000004" {
		t.Errorf("cohort file: seed %d first %d patients %v, want 4, 2, p000002-p000004", h.Seed, h.First, ids)
	}
	// The backtest reads it back (the vital-sign part: quick).
	st, out, e := run(t, "backtest", "--cohort", path, "--vitals-only", "--json")
	if st != 0 {
		t.Fatalf("backtest --cohort: status %d: %s", st, e)
	}
	var rep backtest.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Patients != 3 {
		t.Errorf("backtest --cohort JSON: %v, %d patients; want 3", err, rep.Patients)
	}
}

func TestCohortDatabaseAndRisk(t *testing.T) {
	db := filepath.Join(t.TempDir(), "patient.db")
	now := "2026-03-02T14:00:00Z"
	st, out, e := run(t, "cohort", "--db", db, "--config", exampleConfig, "--first", "7", "--days", "90", "--now", now)
	if st != 0 || !strings.Contains(out, "events") {
		t.Fatalf("cohort --db: status %d, %q: %s", st, out, e)
	}
	if st, _, e := run(t, "cohort", "--db", db, "--config", exampleConfig); st != 1 || !strings.Contains(e, "exists") {
		t.Errorf("cohort --db onto an existing database: status %d, %q; want 1 and a refusal", st, e)
	}
	st, out, e = run(t, "risk", "--db", db, "--config", exampleConfig, "--days", "2", "--now", now)
	if st != 0 {
		t.Fatalf("risk: status %d: %s", st, e)
	}
	var got coach.Report
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("risk output is not JSON: %v\n%s", err, out)
	}
	// examples/dispenser.yaml: metformin 08:00 and 20:00, lisinopril 09:00.
	if len(got.Doses) != 6 || got.Learned < 200 || got.Timezone != "America/New_York" {
		t.Fatalf("risk: %d doses, learned from %d, zone %s; want 6 doses over 2 days, 200 or more, America/New_York",
			len(got.Doses), got.Learned, got.Timezone)
	}
	asOf, _ := time.Parse(time.RFC3339, now)
	for _, d := range got.Doses {
		switch {
		case d.Risk <= 0 || d.Risk >= 1:
			t.Errorf("%s: risk %v, want a probability", d.DoseID, d.Risk)
		case len(d.Reasons) == 0 || d.Reasons[0].Text == "":
			t.Errorf("%s: no reason in words", d.DoseID)
		case d.Scheduled.Before(asOf) || d.Scheduled.After(asOf.AddDate(0, 0, 2)):
			t.Errorf("%s due %v, outside the 2 days from %v", d.DoseID, d.Scheduled, asOf)
		case d.FirstChime.At.Sub(d.Scheduled) > 15*time.Minute || d.FirstChime.Text == "":
			t.Errorf("%s: first chime %v after a dose due %v: later than the second reminder (15m)", d.DoseID, d.FirstChime.At, d.Scheduled)
		}
	}
	if len(got.Vitals) == 0 {
		t.Error("no vital-sign baseline from 90 days of readings")
	}
}

func TestInsightsCommandsRefuseBadUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"cohort", "--patients", "0"}, "-patients 0"},
		{[]string{"cohort", "--days", "0"}, "-days 0"},
		{[]string{"cohort", "--db", "x.db"}, "go together"},
		{[]string{"risk", "--db", "x.db"}, "give --db and --config"},
		{[]string{"risk", "--db", "x.db", "--config", "y", "--days", "90"}, "-days 90"},
		{[]string{"risk", "--db", "x.db", "--config", "y", "--now", "yesterday"}, "RFC 3339"},
		{[]string{"backtest", "--threshold", "2"}, "-threshold"},
		{[]string{"backtest", "--fit-prior", "--dev-seed", "1"}, "development seed"},
	} {
		if st, _, e := run(t, c.args...); st != 2 || !strings.Contains(e, c.want) {
			t.Errorf("pillctl %s: status %d, %q; want 2 and %q", strings.Join(c.args, " "), st, e, c.want)
		}
	}
	if st, _, e := run(t, "risk", "--db", filepath.Join(t.TempDir(), "none.db"), "--config", exampleConfig); st != 1 || !strings.Contains(e, "no such file") {
		t.Errorf("risk on a missing database: status %d, %q; want 1 and the missing file", st, e)
	}
}

func TestBacktestSmall(t *testing.T) {
	st, out, e := run(t, "backtest", "--patients", "4", "--seed", "3")
	if st != 0 {
		t.Fatalf("backtest: status %d: %s", st, e)
	}
	for _, want := range []string{"missed-dose risk", "AUC", "reliability", "vital-sign rules", backtest.RuleFixed2kg3d} {
		if !strings.Contains(out, want) {
			t.Errorf("backtest report lacks %q:\n%s", want, out)
		}
	}
}
