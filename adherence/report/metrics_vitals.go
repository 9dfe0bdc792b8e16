package report

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/notify"
)

// ruleQuantity is the quantity each vitals rule watches (the rule is the
// first part of a vital alert's key; notify/vitals names them). Rules over
// several quantities (news2) or none (device_silent) count under "".
var ruleQuantity = map[string]vital.Quantity{
	"glucose_low": vital.Glucose, "glucose_high": vital.Glucose, "bp_crisis": vital.Systolic,
	"weight_gain": vital.Weight, "bp_missed_trend": vital.Systolic,
}

// VitalThresholds are the patient's own vitals alert thresholds, as the
// dispenser's rules apply them (notify/vitals Thresholds with the defaults
// filled in: FromVitals; the clinic learns them from uplink.Profile).
type VitalThresholds struct {
	GlucoseLow      float64 // mg/dL: an alert below
	GlucoseHigh     float64 // mg/dL: an alert above
	CrisisSystolic  float64 // mmHg: an alert at or above
	CrisisDiastolic float64 // mmHg: an alert at or above
	SpO2Scale       int     // NEWS2 SpO2 scale: 1, or 2 for hypercapnic patients
}

// Where a band comes from, as VitalStats.Range and the charts say.
const (
	RangePatient = "patient" // the patient's alert thresholds
	RangeDefault = "default" // the default reference range
)

// Band returns the band reports use for q and where it comes from:
// the patient's thresholds for glucose, blood pressure and SpO2 when t is
// known, else the quantity's default range (vital.QuantitySpec.Band:
// glucose and blood pressure at the vitals rules' defaults, the others the
// NEWS2 zero-score ranges; docs/reports.md gives the sources). ok is false
// for a quantity without a band (weight). Blood pressure is whole mmHg, so
// the band ends 1 below the crisis threshold, as the default one does (179
// for 180).
func (t *VitalThresholds) Band(q vital.Quantity) (b vital.Band, source string, ok bool) {
	spec, _ := q.Spec()
	if spec.Band == nil {
		return vital.Band{}, "", false
	}
	b = *spec.Band
	if t == nil {
		return b, RangeDefault, true
	}
	switch q {
	case vital.Glucose:
		b = vital.Band{Low: t.GlucoseLow, High: t.GlucoseHigh}
	case vital.Systolic:
		b.High = t.CrisisSystolic - 1
	case vital.Diastolic:
		b.High = t.CrisisDiastolic - 1
	case vital.SpO2:
		if t.SpO2Scale == 2 {
			b = vital.SpO2Scale2Band
		}
	default:
		return b, RangeDefault, true
	}
	return b, RangePatient, true
}

// Band returns the band of q in the report: the patient's thresholds
// where the setup has them (VitalThresholds.Band).
func (r *Report) Band(q vital.Quantity) (b vital.Band, source string, ok bool) {
	return r.setup.Thresholds.Band(q)
}

// GlucoseRange is the consensus time-in-range target, 70-180 mg/dL; it
// does not move with the patient's thresholds.
var GlucoseRange = vital.Band{Low: 70, High: 180}

// VitalStats summarise one quantity's readings over a period. Values
// flagged unreliable by the device, readings a quality flag excludes
// (implausible, a device fault, a control-solution test: not the
// patient's values), and absent values, are counted but left out of the
// figures.
type VitalStats struct {
	Quantity   vital.Quantity `json:"quantity"`
	Unit       string         `json:"unit"`
	Readings   int            `json:"readings"`
	Values     int            `json:"values"` // readings with a reliable value
	Absent     int            `json:"absent"`
	Excluded   int            `json:"excluded"`
	Unreliable int            `json:"unreliable"`
	Min        float64        `json:"min"`
	Median     float64        `json:"median"`
	Max        float64        `json:"max"`
	Abnormal   int            `json:"abnormal"` // values outside the band
	// Range says which band Abnormal counts by: RangePatient or
	// RangeDefault; empty for a quantity without one.
	Range  string `json:"range,omitempty"`
	Alerts int    `json:"alerts"` // vital alerts raised about the quantity
	// InRange is the share of glucose values in 70-180 mg/dL.
	InRange *float64 `json:"in_range,omitempty"`
	// DayChange and WeekChange are the latest weight minus the last one
	// on or before the day 1 (7) days earlier, but no more than 2 (14)
	// days earlier.
	DayChange  *float64 `json:"day_change,omitempty"`
	WeekChange *float64 `json:"week_change,omitempty"`
}

// reliable reports whether a reading's value may be used.
func reliable(r vital.Reading) bool { return r.Clinical() && len(r.Unreliable) == 0 }

// SummarizeVitals summarises the readings and the vital alerts in p, per
// quantity in the order of vital.Quantities, counting abnormal values by the patient's
// thresholds th (nil: unknown, the defaults). rs must be in time order.
func SummarizeVitals(rs []vital.Reading, evs []dispenser.Event, p Period, loc *time.Location, th *VitalThresholds) []VitalStats {
	byQ := map[vital.Quantity][]vital.Reading{}
	for _, r := range rs {
		if p.Contains(DayOf(r.Time, loc)) {
			byQ[r.Quantity] = append(byQ[r.Quantity], r)
		}
	}
	alerts := map[vital.Quantity]map[string]bool{}
	for _, ev := range evs {
		if ev.Kind != notify.KindVitalAlert || !p.Contains(DayOf(ev.Time, loc)) {
			continue
		}
		if _, key, _, err := notify.ParseAlertDetail(ev.Detail); err == nil {
			rule, _, _ := strings.Cut(key, ":")
			q := ruleQuantity[rule]
			if alerts[q] == nil {
				alerts[q] = map[string]bool{}
			}
			alerts[q][key] = true
		}
	}
	var out []VitalStats
	for _, q := range vital.Quantities() {
		qs := byQ[q]
		if len(qs) == 0 && len(alerts[q]) == 0 {
			continue
		}
		out = append(out, summarizeQuantity(q, qs, len(alerts[q]), loc, th))
	}
	return out
}

func summarizeQuantity(q vital.Quantity, rs []vital.Reading, alerts int, loc *time.Location, th *VitalThresholds) VitalStats {
	band, source, banded := th.Band(q)
	s := VitalStats{Quantity: q, Unit: q.Unit(), Readings: len(rs), Alerts: alerts, Range: source}
	var vals []float64
	var used []vital.Reading
	inRange := 0
	for _, r := range rs {
		switch {
		case !r.HasValue():
			s.Absent++
			continue
		case r.Excluded():
			s.Excluded++
			continue
		case len(r.Unreliable) > 0:
			s.Unreliable++
			continue
		}
		vals = append(vals, r.Value)
		used = append(used, r)
		if banded && band.Abnormal(r.Value) {
			s.Abnormal++
		}
		if !GlucoseRange.Abnormal(r.Value) {
			inRange++
		}
	}
	s.Values = len(vals)
	if len(vals) > 0 {
		sorted := slices.Clone(vals)
		slices.Sort(sorted)
		s.Min, s.Max = sorted[0], sorted[len(sorted)-1]
		s.Median = quantile(sorted, 0.5)
	}
	if q == vital.Glucose && len(vals) > 0 {
		share := ratio(inRange, len(vals))
		s.InRange = &share
	}
	if q == vital.Weight {
		s.DayChange = change(used, 1, loc)
		s.WeekChange = change(used, 7, loc)
	}
	return s
}

// change is the latest value minus the last one on a day from n to 2n
// days before the latest's day; nil when there is none.
func change(rs []vital.Reading, n int, loc *time.Location) *float64 {
	if len(rs) == 0 {
		return nil
	}
	last := rs[len(rs)-1]
	day := DayOf(last.Time, loc)
	for i := len(rs) - 2; i >= 0; i-- {
		d := DayOf(rs[i].Time, loc)
		if d > day-Day(n) {
			continue
		}
		if d < day-Day(2*n) {
			return nil
		}
		v := math.Round((last.Value-rs[i].Value)*1000) / 1000
		return &v
	}
	return nil
}
