package web

import (
	"cmp"
	"slices"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
	"github.com/pillbox/pillbox/adherence/insights/fromlog"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/schedule"
)

// riskShown is how many of the coming week's doses the patient page
// lists: the riskiest.
const riskShown = 5

// riskDays is how far ahead the page looks.
const riskDays = 7

// RiskRow is one coming dose with its missed-dose risk and reasons.
type RiskRow struct {
	insights.Risk
	Local string // the scheduled time in the patient's zone
}

// riskiest learns the patient's missed-dose model from the events the
// page read (the last 90 days at least) as pillctl risk does, and returns
// the coming week's riskiest doses, riskiest first. Nil without the
// dispenser's profile (no regimens to schedule from).
func riskiest(evs []dispenser.Event, setup report.Setup, now time.Time) ([]RiskRow, error) {
	if setup.Location == nil || len(setup.Regimens) == 0 {
		return nil, nil
	}
	plan, err := schedule.NewPlan(setup.Regimens, setup.Location)
	if err != nil {
		return nil, err
	}
	l := insights.NewLearner(fromlog.History(evs, setup), insights.DefaultPrior)
	rs := l.Risks(l.Train(now), now, fromlog.Upcoming(plan, now, now.AddDate(0, 0, riskDays)))
	slices.SortStableFunc(rs, func(a, b insights.Risk) int {
		return cmp.Or(cmp.Compare(b.Probability, a.Probability), a.Scheduled.Compare(b.Scheduled))
	})
	out := make([]RiskRow, 0, riskShown)
	for _, r := range rs[:min(len(rs), riskShown)] {
		out = append(out, RiskRow{Risk: r, Local: r.Scheduled.In(setup.Location).Format("Mon 2006-01-02 15:04")})
	}
	return out, nil
}
