package report

import (
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// PanelStats are the figures of one patient on a clinician's panel.
type PanelStats struct {
	// Taking is the taking adherence over the last Days days and
	// Scheduled its denominator (doses with an outcome).
	Taking    float64 `json:"taking"`
	Scheduled int     `json:"scheduled"`
	Missed    int     `json:"missed"` // scheduled doses not taken
	// Weekly is the taking adherence of each of the last weeks, oldest
	// first; -1 for a week without doses.
	Weekly     []float64 `json:"weekly"`
	OpenAlerts int       `json:"open_alerts"`
	OpenHigh   int       `json:"open_high"` // of which high priority
	LastDose   time.Time `json:"last_dose,omitzero"`
}

// SummarizePanel computes a patient's panel figures at now: adherence
// over the last days days, weekly adherence over the last weeks weeks
// (days ending with today), and the alerts open at now. One pass over
// the folded doses; evs in time order.
func SummarizePanel(evs []dispenser.Event, loc *time.Location, now time.Time, days, weeks int) PanelStats {
	return PanelOf(FoldDoses(evs), AlertHistory(evs), loc, now, days, weeks)
}

// PanelOf is SummarizePanel over a log already folded into doses and
// alerts.
func PanelOf(ds []DoseFacts, alerts []AlertRecord, loc *time.Location, now time.Time, days, weeks int) PanelStats {
	if loc == nil {
		loc = time.UTC
	}
	today := DayOf(now, loc)
	recent := Period{From: today + 1 - Day(days), To: today + 1}
	first := today + 1 - Day(7*weeks)
	type tally struct{ n, taken int }
	week := make([]tally, weeks)
	var st PanelStats
	var recentTaken int
	for i := range ds {
		d := &ds[i]
		o := d.Outcome()
		if d.PRN || o == OutcomePending {
			continue
		}
		day := DayOf(d.Scheduled, loc)
		if day < first || day > today {
			continue
		}
		taken := o == OutcomeTaken
		if taken && d.Taken.After(st.LastDose) {
			st.LastDose = d.Taken
		}
		w := &week[int(day-first)/7]
		w.n++
		if recent.Contains(day) {
			st.Scheduled++
		}
		if taken {
			w.taken++
			if recent.Contains(day) {
				recentTaken++
			}
		} else if recent.Contains(day) {
			st.Missed++
		}
	}
	st.Taking = ratio(recentTaken, st.Scheduled)
	st.Weekly = make([]float64, weeks)
	for i, w := range week {
		st.Weekly[i] = -1
		if w.n > 0 {
			st.Weekly[i] = ratio(w.taken, w.n)
		}
	}
	for _, a := range alerts {
		if a.Open(now) {
			st.OpenAlerts++
			if a.Priority == "high" {
				st.OpenHigh++
			}
		}
	}
	return st
}
