package backtest

import (
	"fmt"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
	"github.com/pillbox/pillbox/adherence/insights/cohort"
)

// Rules compared on the labelled events. The fixed ones are the device's
// own (notify/vitals, mirrored here reading by reading: a weight is
// compared with the reading closest to `within` earlier, no further from
// it than within/4; the episode closes when every comparison is 0.3 kg
// under its limit).
const (
	RulePersonalWeight = "personal weight (crossover on the own noise)"
	RuleFixed2kg3d     = "fixed: 2 kg in 3 days"
	RuleDeviceWeight   = "fixed: the device's default set (1 kg/day, 2 kg/3 days, 2.3 kg/week)"
	RulePersonalBP     = "personal systolic (CUSUM on the own baseline)"
	RuleFixedCrisis    = "fixed: systolic 180 or more"
)

// WeightCurve are the crossover thresholds (C, in standard errors) the
// report also scores the personal weight rule at, to show what it trades:
// the default's neighbours. Only DefaultDetector.C was chosen (on the
// development cohort); the others are for reading, not for picking.
var WeightCurve = []float64{1.75, 2, 2.5, 3}

// curveRule names the personal weight rule at threshold c.
func curveRule(c float64) string {
	return fmt.Sprintf("  personal weight at C = %.2f (for comparison)", c)
}

// ruleRun is one rule's alert episodes on one patient, with the events
// they should have come before.
type ruleRun struct {
	rule     string
	kind     string // the label kind it is scored on
	years    float64
	episodes []episode
	events   []cohort.Label
}

// episode is an alert from when it opened to when it closed (zero: still
// open at the end of the record).
type episode struct{ from, to time.Time }

type gainWindow struct {
	kg     float64
	within time.Duration
}

const weightHysteresis = 0.3 // kg, as notify/vitals

func scoreVitals(p *cohort.Patient) []ruleRun {
	var weights, systolic []insights.Reading
	for _, r := range p.Readings {
		switch r.Quantity {
		case insights.Weight:
			weights = append(weights, r)
		case insights.Systolic:
			systolic = append(systolic, r)
		}
	}
	var events = map[string][]cohort.Label{}
	for _, l := range p.Labels {
		events[l.Kind] = append(events[l.Kind], l)
	}
	var out []ruleRun
	mon := insights.Watch(p.Location, p.Readings)
	personal := map[insights.Quantity][]episode{}
	for _, w := range mon.Warnings() {
		if w.Kind == insights.WarningRising {
			personal[w.Quantity] = append(personal[w.Quantity], episode{w.Opened, w.Closed})
		}
	}
	years := p.YearsOfRecord()
	if p.Truth.HeartFailure {
		ev := events[cohort.LabelDecompensation]
		out = append(out,
			ruleRun{RulePersonalWeight, cohort.LabelDecompensation, years, personal[insights.Weight], ev},
			ruleRun{RuleFixed2kg3d, cohort.LabelDecompensation, years, fixedWeight(weights, []gainWindow{{2, 72 * time.Hour}}), ev},
			ruleRun{RuleDeviceWeight, cohort.LabelDecompensation, years,
				fixedWeight(weights, []gainWindow{{1, 24 * time.Hour}, {2, 72 * time.Hour}, {2.3, 7 * 24 * time.Hour}}), ev})
		for _, c := range WeightCurve {
			m := insights.NewMonitor(p.Location)
			m.Detector.C = c
			var eps []episode
			for _, r := range weights {
				for _, w := range m.Add(r) {
					if w.Open() {
						eps = append(eps, episode{from: w.Opened})
					}
				}
			}
			out = append(out, ruleRun{curveRule(c), cohort.LabelDecompensation, years, eps, ev})
		}
	}
	if p.Truth.Hypertension {
		ev := events[cohort.LabelDrift]
		out = append(out,
			ruleRun{RulePersonalBP, cohort.LabelDrift, years, personal[insights.Systolic], ev},
			ruleRun{RuleFixedCrisis, cohort.LabelDrift, years, fixedCrisis(systolic, 180, 10), ev})
	}
	return out
}

// fixedWeight runs the device's weight-gain rule over weights (in time
// order) and returns its alert episodes.
func fixedWeight(ws []insights.Reading, windows []gainWindow) []episode {
	var eps []episode
	open := false
	for i, r := range ws {
		found, allBelow, abnormal := false, true, false
		for _, w := range windows {
			target := r.Time.Add(-w.within)
			best, bestDist, ok := 0.0, time.Duration(0), false
			for j := i - 1; j >= 0 && !ws[j].Time.Before(target.Add(-w.within/4)); j-- {
				d := ws[j].Time.Sub(target)
				if d < 0 {
					d = -d
				}
				if d <= w.within/4 && (!ok || d < bestDist) {
					best, bestDist, ok = ws[j].Value, d, true
				}
			}
			if !ok {
				continue
			}
			found = true
			gain := r.Value - best
			if gain >= w.kg-1e-9 {
				abnormal = true
				break
			}
			if gain >= w.kg-weightHysteresis {
				allBelow = false
			}
		}
		switch {
		case abnormal && !open:
			eps, open = append(eps, episode{from: r.Time}), true
		case !abnormal && found && allBelow && open:
			eps[len(eps)-1].to, open = r.Time, false
		}
	}
	return eps
}

// fixedCrisis alerts on a value at or over limit, and closes under
// limit - hysteresis.
func fixedCrisis(rs []insights.Reading, limit, hysteresis float64) []episode {
	var eps []episode
	open := false
	for _, r := range rs {
		switch {
		case r.Value >= limit && !open:
			eps, open = append(eps, episode{from: r.Time}), true
		case r.Value < limit-hysteresis && open:
			eps[len(eps)-1].to, open = r.Time, false
		}
	}
	return eps
}

// Windows in which an alert counts for an event. A decompensation: an
// alert opening in the 14 days before admission, the usual horizon of
// heart-failure telemonitoring studies (e.g. Gyllensten et al., JMIR Med
// Inform 2016;4:e3); one opening up to 3 days after (the patient is in
// hospital, so there are none) is not false. A hypertensive drift: an
// alert opening from the rise's start to when it has risen fully (the
// labelled day); until it is treated, 14 days on, an alert is late but
// not false.
func eventWindow(l cohort.Label) (from, to, notFalseUntil time.Time) {
	if l.Kind == cohort.LabelDecompensation {
		return l.At.Add(-14 * 24 * time.Hour), l.At, l.At.Add(3 * 24 * time.Hour)
	}
	return l.Onset, l.At, l.At.Add(14 * 24 * time.Hour)
}

// ruleTally scores one rule over every patient's run: an event is
// detected when an alert episode opens in its window, with the days from
// then to the event as its warning; an episode that opens outside every
// event's window (to its not-false end) is a false alert. An alert still
// open from before the window does not detect the event: it was about
// something else.
type ruleTally struct {
	events, detected, falseAlerts, alerts int
	years                                 float64
	warnDays                              []float64
}

func tallyRule(runs []ruleRun) ruleTally {
	var t ruleTally
	for _, r := range runs {
		t.years += r.years
		t.alerts += len(r.episodes)
		for _, l := range r.events {
			t.events++
			from, to, _ := eventWindow(l)
			for _, e := range r.episodes {
				if !e.from.Before(from) && e.from.Before(to) {
					t.detected++
					t.warnDays = append(t.warnDays, l.At.Sub(e.from).Hours()/24)
					break
				}
			}
		}
		for _, e := range r.episodes {
			related := false
			for _, l := range r.events {
				from, _, until := eventWindow(l)
				if !e.from.Before(from) && e.from.Before(until) {
					related = true
					break
				}
			}
			if !related {
				t.falseAlerts++
			}
		}
	}
	return t
}
