package vitals

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/notify"
)

// Rule ids: stored in event details and used in alert keys; never rename one.
const (
	RuleGlucoseLow    = "glucose_low"     // ADA level 1 (medium) and level 2 (high) hypoglycaemia
	RuleGlucoseHigh   = "glucose_high"    // level 2 hyperglycaemia (medium)
	RuleBPCrisis      = "bp_crisis"       // hypertensive crisis confirmed by a repeat reading (high)
	RuleNEWS2         = "news2"           // partial NEWS2 score (medium at 5 or a red parameter, high at 7)
	RuleWeightGain    = "weight_gain"     // heart-failure weight gain (medium)
	RuleBPMissedTrend = "bp_missed_trend" // blood-pressure medication missed and systolic rising (medium)
	RuleDeviceSilent  = "device_silent"   // a device that should report has been silent (low)
	RuleDeviceProblem = "device_problem"  // a device that keeps sending implausible or faulty readings (low)
)

// Priority is the notifier's alert priority (IEC 60601-1-8 in spirit).
type Priority = notify.Priority

const (
	Low    = notify.Low
	Medium = notify.Medium
	High   = notify.High
)

// ParsePriority reads "low", "medium" or "high".
func ParsePriority(s string) (Priority, bool) { return notify.ParsePriority(s) }

// Hysteresis: once a rule has raised an alert, the value has to come back
// past its threshold by this margin before the alert clears, so a value
// wandering around the threshold gives one alert, not one per crossing.
const (
	glucoseHysteresis = 5   // mg/dL
	bpHysteresis      = 5   // mmHg
	weightHysteresis  = 0.3 // kg
)

// state is what a rule makes of the latest data.
type state int

const (
	// ignore: the data says nothing either way (unreliable, stale, absent).
	ignore state = iota
	// normal: back within limits past the hysteresis margin; clears an alert.
	normal
	// hold: between the clear and the raise limits, or abnormal but not
	// enough to raise alone; keeps an alert, raises none.
	hold
	// abnormal: raises an alert, or escalates one to a higher level.
	abnormal
)

// verdict is one rule's judgement of one observation.
type verdict struct {
	state    state
	level    int // when abnormal: 1, 2, ...; a higher level escalates
	priority Priority
	summary  string // plain words, no values: it may reach an SMS
}

func cleared() verdict { return verdict{state: normal} }
func held() verdict    { return verdict{state: hold} }

// glucoseLow judges one glucose value (mg/dL) against the hypoglycaemia
// levels.
func glucoseLow(v float64, t Thresholds) verdict {
	switch {
	case v < t.GlucoseVeryLow:
		return verdict{abnormal, 2, High, "very low blood sugar (level 2 hypoglycaemia)"}
	case v < t.GlucoseLow:
		return verdict{abnormal, 1, Medium, "low blood sugar (level 1 hypoglycaemia)"}
	case v < t.GlucoseLow+glucoseHysteresis:
		return held()
	}
	return cleared()
}

// glucoseHigh judges one glucose value (mg/dL) against the hyperglycaemia
// limit.
func glucoseHigh(v float64, t Thresholds) verdict {
	switch {
	case v > t.GlucoseHigh:
		return verdict{abnormal, 1, Medium, "very high blood sugar"}
	case v > t.GlucoseHigh-glucoseHysteresis:
		return held()
	}
	return cleared()
}

// bp is one blood pressure measurement: a systolic and a diastolic
// reading taken together.
type bp struct {
	at         time.Time
	sys, dia   float64
	unreliable bool
}

func (b bp) crisis(t Thresholds) bool {
	return b.sys >= t.CrisisSystolic || b.dia >= t.CrisisDiastolic
}

// bpCrisis judges the measurement cur, given the measurements before it.
// A crisis reading alone only holds: the AHA asks for a repeat after 5
// minutes, so the alert is raised by a second crisis reading within
// CrisisConfirmWithin of an earlier one. An unreliable measurement never
// raises or clears, but may be the first of the pair.
func bpCrisis(cur bp, earlier []bp, t Thresholds) verdict {
	if cur.unreliable {
		return verdict{state: ignore}
	}
	if cur.crisis(t) {
		for _, e := range earlier {
			d := cur.at.Sub(e.at)
			if d > 0 && d <= t.CrisisConfirmWithin && e.crisis(t) {
				return verdict{abnormal, 1, High, "blood pressure in the crisis range on two readings"}
			}
		}
		return held()
	}
	if cur.sys < t.CrisisSystolic-bpHysteresis && cur.dia < t.CrisisDiastolic-bpHysteresis {
		return cleared()
	}
	return held()
}

// NEWS2 parameter scores, from the Royal College of Physicians' NEWS2
// chart 1 (2017). Band edges are written as the chart's whole numbers; a
// value between two bands (a converted 35.05 °C) scores with the band above
// the lower edge.

func news2SpO2(v float64, scale int) int {
	if scale == 2 { // on air; every reading at home is taken on air
		switch {
		case v <= 83:
			return 3
		case v <= 85:
			return 2
		case v <= 87:
			return 1
		}
		return 0
	}
	switch {
	case v <= 91:
		return 3
	case v <= 93:
		return 2
	case v <= 95:
		return 1
	}
	return 0
}

func news2Systolic(v float64) int {
	switch {
	case v <= 90:
		return 3
	case v <= 100:
		return 2
	case v <= 110:
		return 1
	case v < 220:
		return 0
	}
	return 3
}

func news2Pulse(v float64) int {
	switch {
	case v <= 40:
		return 3
	case v <= 50:
		return 1
	case v <= 90:
		return 0
	case v <= 110:
		return 1
	case v <= 130:
		return 2
	}
	return 3
}

func news2Temperature(v float64) int {
	switch {
	case v <= 35.0:
		return 3
	case v <= 36.0:
		return 1
	case v <= 38.0:
		return 0
	case v <= 39.0:
		return 1
	}
	return 2
}

// news2Quantities are the NEWS2 parameters a home device measures.
// Respiration rate and consciousness are not measured, and the patient is
// taken to be on air: the score is partial, a lower bound of the full one.
var news2Quantities = []vital.Quantity{vital.SpO2, vital.Pulse, vital.Systolic, vital.Temperature}

// news2Partial scores an observation set (one value per parameter present).
// red reports a single parameter scoring 3.
func news2Partial(obs map[vital.Quantity]float64, scale int) (score int, red bool) {
	for q, v := range obs {
		var s int
		switch q {
		case vital.SpO2:
			s = news2SpO2(v, scale)
		case vital.Pulse:
			s = news2Pulse(v)
		case vital.Systolic:
			s = news2Systolic(v)
		case vital.Temperature:
			s = news2Temperature(v)
		default:
			continue
		}
		score += s
		red = red || s == 3
	}
	return score, red
}

// news2 judges a partial score with the RCP's trigger levels: 7 or more is
// an emergency response (high), 5-6 or a single red parameter an urgent one
// (medium). It clears at 3 or less with no red parameter.
func news2(score int, red bool, measured int) verdict {
	summary := fmt.Sprintf("partial NEWS2 score %d from %d of 7 parameters (respiration rate and consciousness not measured)", score, measured)
	switch {
	case score >= 7:
		return verdict{abnormal, 2, High, summary}
	case score >= 5 || red:
		return verdict{abnormal, 1, Medium, summary}
	case score <= 3:
		return cleared()
	}
	return held()
}

// weightGain judges the weight cur (kg, at at) against earlier weights:
// for each window, the baseline is the earlier weight measured closest to
// Within before, no further than a quarter of Within from that instant.
func weightGain(cur float64, at time.Time, earlier []vital.Reading, windows []WeightGain) verdict {
	any, allBelow := false, true
	for _, w := range windows {
		target := at.Add(-w.Within)
		best, found := 0.0, false
		var bestDist time.Duration
		for _, r := range earlier {
			if !r.Time.Before(at) {
				continue
			}
			d := r.Time.Sub(target)
			if d < 0 {
				d = -d
			}
			if d <= w.Within/4 && (!found || d < bestDist) {
				best, bestDist, found = r.Value, d, true
			}
		}
		if !found {
			continue
		}
		any = true
		gain := cur - best
		if gain >= w.Kg-1e-9 {
			return verdict{abnormal, 1, Medium, fmt.Sprintf("weight gain over the limit of %v kg in %s (heart failure)", w.Kg, days(w.Within))}
		}
		if gain >= w.Kg-weightHysteresis {
			allBelow = false
		}
	}
	if any && allBelow {
		return cleared()
	}
	return held()
}

// days writes a duration in whole days when it is one ("3 days"), else in
// hours.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		if n := int(d / (24 * time.Hour)); n == 1 {
			return "1 day"
		} else {
			return fmt.Sprintf("%d days", n)
		}
	}
	return fmt.Sprintf("%g hours", d.Hours())
}

// slopePerDay is the least-squares slope of the values against their times,
// in units per day; ok is false for fewer than min points or points spanning
// less than a day, which say nothing of a trend.
func slopePerDay(rs []vital.Reading, min int) (slope float64, ok bool) {
	if len(rs) < min || len(rs) < 2 {
		return 0, false
	}
	t0 := rs[0].Time
	var first, last time.Time = rs[0].Time, rs[0].Time
	var sx, sy, sxx, sxy float64
	for _, r := range rs {
		if r.Time.Before(first) {
			first = r.Time
		}
		if r.Time.After(last) {
			last = r.Time
		}
		x := r.Time.Sub(t0).Hours() / 24
		sx += x
		sy += r.Value
		sxx += x * x
		sxy += x * r.Value
	}
	if last.Sub(first) < 24*time.Hour {
		return 0, false
	}
	n := float64(len(rs))
	den := n*sxx - sx*sx
	if den == 0 || math.IsNaN(den) {
		return 0, false
	}
	return (n*sxy - sx*sy) / den, true
}

// missedStreak reports the longest current run of missed doses among the
// medications in meds: for each, the doses missed since its last dispense,
// counted by the time each was scheduled. A skip (a caregiver's decision)
// neither extends nor breaks a run.
func missedStreak(evs []dispenser.Event, meds map[string]bool) (count int, span time.Duration) {
	type run struct {
		n           int
		first, last time.Time
	}
	runs := map[string]*run{}
	sorted := append([]dispenser.Event(nil), evs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Seq < sorted[j].Seq })
	for _, ev := range sorted {
		if !meds[ev.Medication] {
			continue
		}
		switch ev.Kind {
		case dispenser.KindDispensed, dispenser.KindTaken:
			delete(runs, ev.Medication)
		case dispenser.KindMissed:
			at := ev.Scheduled
			if at.IsZero() {
				at = ev.Time
			}
			r := runs[ev.Medication]
			if r == nil {
				r = &run{first: at}
				runs[ev.Medication] = r
			}
			r.n++
			r.last = at
		}
	}
	for _, r := range runs {
		if s := r.last.Sub(r.first); s > span || s == span && r.n > count {
			count, span = r.n, s
		}
	}
	return count, span
}

// bpMissedTrend judges the cross-rule: blood-pressure doses missed in a
// row across MissedDays days and the systolic trend rising. Taking a dose
// again breaks the run and clears it.
func bpMissedTrend(count int, span time.Duration, slope float64, slopeOK bool, t Thresholds) verdict {
	missed := count >= t.MissedDays && span >= time.Duration(t.MissedDays-1)*24*time.Hour
	switch {
	case !missed:
		return cleared()
	case slopeOK && slope >= t.TrendRise:
		return verdict{abnormal, 1, Medium, fmt.Sprintf("blood-pressure medication missed for %d days and blood pressure rising", t.MissedDays)}
	}
	return held()
}
