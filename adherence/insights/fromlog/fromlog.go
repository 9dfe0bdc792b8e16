// Package fromlog feeds package insights from a dispenser's event log and
// readings: the record the device keeps and the clinic receives, so that
// the device, the clinic and pillctl read a patient the same way. It is
// the adapter between the domain's words (events, dose states, readings)
// and insights' own small input types.
package fromlog

import (
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

// defaultWindow is a dose's window either side when the setup does not
// say (a medication no longer in the regimens).
const defaultWindow = time.Hour

// History folds the log (in time order) into the patient's history:
// scheduled doses with their outcomes and when each settled, refills and
// clock jumps. As-needed doses are left out. setup gives the zone and the
// windows.
func History(evs []dispenser.Event, setup report.Setup) *insights.History {
	loc := setup.Location
	if loc == nil {
		loc = time.UTC
	}
	h := &insights.History{Location: loc}
	settled := map[string]time.Time{}
	for _, ev := range evs {
		switch ev.Kind {
		case dispenser.KindRefill:
			h.Refills = append(h.Refills, ev.Time)
		case dispenser.KindClockJump:
			h.ClockJumps = append(h.ClockJumps, ev.Time)
		}
		if ev.DoseID == "" {
			continue
		}
		if st, ok := dispenser.StateForKind(ev.Kind); ok && (st.Final() || st == dispenser.StateNotTaken) &&
			!(ev.Kind == dispenser.KindJam && isRetry(ev.Detail)) {
			settled[ev.DoseID] = ev.Time
		}
	}
	var facts map[string]report.RegimenFacts
	if len(evs) > 0 {
		facts = setup.Facts(evs[0].Time)
	}
	for _, d := range report.FoldDoses(evs) {
		if d.PRN || d.Scheduled.IsZero() {
			continue
		}
		early, late := defaultWindow, defaultWindow
		if f, ok := facts[d.Medication]; ok && f.DosesPerDay > 0 {
			early, late = f.Early, f.Late
		}
		dose := insights.Dose{ID: d.ID, Medication: d.Medication, Scheduled: d.Scheduled,
			Opens: d.Scheduled.Add(-early), Closes: d.Scheduled.Add(late), Settled: settled[d.ID]}
		switch d.Outcome() {
		case report.OutcomeTaken:
			dose.Outcome, dose.TakenAt = insights.Taken, d.Taken
			if dose.TakenAt.IsZero() {
				dose.TakenAt = d.Dispensed
			}
		case report.OutcomeMissed, report.OutcomeNotTaken:
			dose.Outcome = insights.Missed
		case report.OutcomeSkipped:
			dose.Outcome = insights.Skipped
		case report.OutcomeJammed, report.OutcomeUncertain:
			dose.Outcome = insights.Unknown
		default:
			dose.Outcome, dose.Settled = insights.Pending, time.Time{}
		}
		if dose.Outcome != insights.Pending && dose.Settled.IsZero() {
			dose.Settled = dose.Closes // a log cut short: settled by its window at the latest
		}
		h.Doses = append(h.Doses, dose)
	}
	h.Sort()
	return h
}

// isRetry tells a jam the motor retries from the last one (FoldDoses
// reads them the same way).
func isRetry(detail string) bool { return strings.HasPrefix(detail, "retry ") }

// Readings converts the readings that carry a sound value; absent and
// unreliable ones are left out (the device's own rules do the same).
func Readings(rs []vital.Reading) []insights.Reading {
	out := make([]insights.Reading, 0, len(rs))
	for _, r := range rs {
		if !r.HasValue() || len(r.Unreliable) > 0 {
			continue
		}
		out = append(out, insights.Reading{Quantity: insights.Quantity(r.Quantity), Value: r.Value, Unit: r.Unit, Time: r.Time})
	}
	return out
}

// Upcoming are the scheduled doses due in [from, to), as insights takes
// them.
func Upcoming(plan *schedule.Plan, from, to time.Time) []insights.Dose {
	occ := plan.Between(from, to)
	out := make([]insights.Dose, len(occ))
	for i, o := range occ {
		out[i] = insights.Dose{ID: o.ID, Medication: o.Medication, Scheduled: o.At, Opens: o.Opens, Closes: o.Closes}
	}
	return out
}

// FirstStep is how long after a dose of med is due the escalation's first
// step comes: the earlier of the device's second reminder and the first
// text of the medication's ladder (the configured one, else the default
// one before steps naming absent contacts are dropped, which is never
// later). The adaptive first chime may not come later than this.
func FirstStep(esc notify.Escalation, med string) time.Duration {
	first := time.Duration(-1)
	earlier := func(d time.Duration) {
		if first < 0 || d < first {
			first = d
		}
	}
	if rs := esc.Reminders(); len(rs) > 1 {
		earlier(rs[1])
	}
	ladder := esc.Ladder
	for _, ml := range esc.PerMedication {
		if ml.Medication == med {
			ladder = ml.Ladder
		}
	}
	if ladder == nil {
		ladder = notify.DefaultLadder
	}
	for _, s := range ladder {
		earlier(s.After)
	}
	return max(first, 0)
}
