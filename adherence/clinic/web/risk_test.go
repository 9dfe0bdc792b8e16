package web

import (
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/report"
)

// TestRiskiest: the coming week's riskiest doses, riskiest first, each
// in the week, with its reasons in words; none without a profile.
func TestRiskiest(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, nyc)
	evs, _ := report.Synthetic(42, now.AddDate(0, 0, -60), 60, 0.7)
	setup := report.SyntheticSetup(nyc)
	rows, err := riskiest(evs, setup, now)
	if err != nil || len(rows) != riskShown {
		t.Fatalf("riskiest = %d rows, %v; want %d", len(rows), err, riskShown)
	}
	for i, r := range rows {
		if i > 0 && r.Probability > rows[i-1].Probability {
			t.Errorf("row %d risk %.3f above row %d's %.3f: want riskiest first", i, r.Probability, i-1, rows[i-1].Probability)
		}
		if r.Scheduled.Before(now) || !r.Scheduled.Before(now.AddDate(0, 0, riskDays)) {
			t.Errorf("row %d scheduled %v, want within the coming %d days", i, r.Scheduled, riskDays)
		}
		if len(r.Reasons) == 0 || strings.TrimSpace(r.Reasons[0].Text) == "" {
			t.Errorf("row %d has no reason in words: %+v", i, r.Reasons)
		}
	}
	if rows, err := riskiest(evs, report.Setup{}, now); rows != nil || err != nil {
		t.Errorf("riskiest without a profile = %v, %v; want nothing", rows, err)
	}
}
