package report

import (
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/notify"
)

func vitalReading(at string, q vital.Quantity, v float64) vital.Reading {
	return vital.Reading{Quantity: q, Value: v, Unit: q.Unit(), Time: local(at).UTC(), Device: "AA:BB:CC:DD:EE:FF"}
}

func vitalAlert(t *testing.T, at string, p notify.Priority, key, text string) dispenser.Event {
	t.Helper()
	d, err := notify.AlertDetail(p, key, text)
	if err != nil {
		t.Fatal(err)
	}
	return dispenser.Event{Time: local(at).UTC(), Kind: notify.KindVitalAlert, Detail: d}
}

func ptr(v float64) *float64 { return &v }

func TestSummarizeVitals(t *testing.T) {
	absent := vitalReading("2026-03-06 07:05", vital.Glucose, 0)
	absent.Absent = "NaN (not a number)"
	shaky := vitalReading("2026-03-06 07:10", vital.Glucose, 150)
	shaky.Unreliable = []string{"sample size insufficient"}
	rs := []vital.Reading{
		vitalReading("2026-03-01 08:00", vital.Weight, 80.0),
		vitalReading("2026-03-05 08:00", vital.Weight, 80.6),
		vitalReading("2026-03-06 07:00", vital.Glucose, 65),
		absent, shaky,
		vitalReading("2026-03-06 12:00", vital.Glucose, 100),
		vitalReading("2026-03-06 18:00", vital.Glucose, 180),
		vitalReading("2026-03-07 07:00", vital.Glucose, 181),
		vitalReading("2026-03-07 07:00", vital.Weight, 81.0),
		vitalReading("2026-03-07 12:00", vital.Glucose, 250),
		vitalReading("2026-03-07 18:00", vital.Glucose, 260),
		vitalReading("2026-03-07 19:00", vital.Systolic, 185),
		vitalReading("2026-03-07 19:00", vital.Diastolic, 95),
		vitalReading("2026-03-08 07:00", vital.Weight, 81.5),
		vitalReading("2026-03-08 07:30", vital.Systolic, 120),
		vitalReading("2026-03-08 07:30", vital.Diastolic, 80),
		vitalReading("2026-03-08 09:00", vital.Systolic, 90),
		vitalReading("2026-03-08 09:00", vital.Diastolic, 60),
		vitalReading("2026-03-08 20:00", vital.Weight, 81.9),
		vitalReading("2026-04-01 08:00", vital.Weight, 70), // outside the period
	}
	evs := []dispenser.Event{
		vitalAlert(t, "2026-03-06 07:01", notify.Medium, "glucose_low:t1", "Low blood sugar."),
		vitalAlert(t, "2026-03-06 07:20", notify.High, "glucose_low:t1", "Very low blood sugar."), // the same alert, raised
		vitalAlert(t, "2026-03-07 18:01", notify.Medium, "glucose_high:t2", "Very high blood sugar."),
		vitalAlert(t, "2026-03-07 19:06", notify.High, "bp_crisis:t3", "Blood pressure in the crisis range."),
	}
	p := Period{From: day("2026-03-01"), To: day("2026-03-09")}
	got := SummarizeVitals(rs, evs, p, ny, nil)
	want := []VitalStats{
		// 185 is a crisis reading, 90 at or below NEWS2's 90.
		{Quantity: vital.Systolic, Unit: "mm[Hg]", Readings: 3, Values: 3, Min: 90, Median: 120, Max: 185, Abnormal: 2, Range: RangeDefault, Alerts: 1},
		{Quantity: vital.Diastolic, Unit: "mm[Hg]", Readings: 3, Values: 3, Min: 60, Median: 80, Max: 95, Range: RangeDefault},
		// Values 65 100 180 181 250 260 (the absent and the unreliable one
		// left out): median (180+181)/2; 65 and 260 outside 70-250; 100
		// and 180 in 70-180, 2 of 6. Two alerts (one raised twice).
		{Quantity: vital.Glucose, Unit: "mg/dL", Readings: 8, Values: 6, Absent: 1, Unreliable: 1, Min: 65, Median: 180.5,
			Max: 260, Abnormal: 2, Range: RangeDefault, Alerts: 2, InRange: ptr(2.0 / 6)},
		// Latest 81.9 (Sun evening): the day before's last is 81.0 (+0.9),
		// the last on or before a week earlier is Mar 1's 80.0 (+1.9).
		{Quantity: vital.Weight, Unit: "kg", Readings: 5, Values: 5, Min: 80, Median: 81, Max: 81.9,
			DayChange: ptr(0.9), WeekChange: ptr(1.9)},
	}
	if len(got) != len(want) {
		t.Fatalf("SummarizeVitals = %+v, want %d quantities", got, len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.InRange != nil && w.InRange != nil && math.Abs(*g.InRange-*w.InRange) < 1e-12 {
			g.InRange = w.InRange
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("SummarizeVitals[%s] =\n%+v\nwant\n%+v", w.Quantity, fmtStats(g), fmtStats(w))
		}
	}
}

// TestSummarizeVitalsThresholds: abnormal values count by the patient's
// alert thresholds when they are known, by the defaults otherwise; the
// glucose time in range stays 70-180 whatever the thresholds.
func TestSummarizeVitalsThresholds(t *testing.T) {
	rs := []vital.Reading{
		vitalReading("2026-03-07 07:00", vital.Systolic, 165),
		vitalReading("2026-03-07 07:00", vital.Diastolic, 105),
		vitalReading("2026-03-07 07:00", vital.SpO2, 90),
		vitalReading("2026-03-07 07:00", vital.Pulse, 95),
		vitalReading("2026-03-07 07:00", vital.Glucose, 75),
		vitalReading("2026-03-07 12:00", vital.Glucose, 190),
		vitalReading("2026-03-07 19:00", vital.Glucose, 260),
		vitalReading("2026-03-08 07:00", vital.Systolic, 185),
		vitalReading("2026-03-08 07:00", vital.Diastolic, 95),
		vitalReading("2026-03-08 07:00", vital.SpO2, 86),
	}
	defaults := VitalThresholds{GlucoseLow: 70, GlucoseHigh: 250, CrisisSystolic: 180, CrisisDiastolic: 120, SpO2Scale: 1}
	custom := VitalThresholds{GlucoseLow: 80, GlucoseHigh: 180, CrisisSystolic: 160, CrisisDiastolic: 100, SpO2Scale: 2}
	type fig struct {
		abnormal int
		rng      string
	}
	tests := []struct {
		name string
		th   *VitalThresholds
		want map[vital.Quantity]fig
	}{
		{"unknown: the defaults", nil, map[vital.Quantity]fig{
			vital.Systolic: {1, RangeDefault}, vital.Diastolic: {0, RangeDefault}, vital.SpO2: {2, RangeDefault},
			vital.Pulse: {1, RangeDefault}, vital.Glucose: {1, RangeDefault}}},
		// The default thresholds sent by a device count as the defaults
		// do, but are the patient's.
		{"the defaults, sent", &defaults, map[vital.Quantity]fig{
			vital.Systolic: {1, RangePatient}, vital.Diastolic: {0, RangePatient}, vital.SpO2: {2, RangePatient},
			vital.Pulse: {1, RangeDefault}, vital.Glucose: {1, RangePatient}}},
		// Crisis at 160/100: 165/105 and 185 are abnormal; scale 2 takes
		// 90 as normal, 86 not; glucose 75 is below 80, 190 and 260 above
		// 180; the heart rate keeps the NEWS2 range.
		{"custom", &custom, map[vital.Quantity]fig{
			vital.Systolic: {2, RangePatient}, vital.Diastolic: {1, RangePatient}, vital.SpO2: {1, RangePatient},
			vital.Pulse: {1, RangeDefault}, vital.Glucose: {3, RangePatient}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := SummarizeVitals(rs, nil, Period{day("2026-03-01"), day("2026-03-09")}, ny, tc.th)
			if len(got) != len(tc.want) {
				t.Fatalf("SummarizeVitals = %d quantities, want %d", len(got), len(tc.want))
			}
			for _, s := range got {
				if w := tc.want[s.Quantity]; s.Abnormal != w.abnormal || s.Range != w.rng {
					t.Errorf("%s: abnormal, range = %d, %q; want %d, %q", s.Quantity, s.Abnormal, s.Range, w.abnormal, w.rng)
				}
				if s.Quantity == vital.Glucose && (s.InRange == nil || math.Abs(*s.InRange-1.0/3) > 1e-12) {
					t.Errorf("glucose in range = %v, want 1/3 (75 in 70-180)", fmtStats(s))
				}
			}
		})
	}
}

func TestVitalThresholdsBand(t *testing.T) {
	th := &VitalThresholds{GlucoseLow: 60, GlucoseHigh: 300, CrisisSystolic: 170, CrisisDiastolic: 110, SpO2Scale: 2}
	scale1 := &VitalThresholds{GlucoseLow: 70, GlucoseHigh: 250, CrisisSystolic: 180, CrisisDiastolic: 120, SpO2Scale: 1}
	tests := []struct {
		th     *VitalThresholds
		q      vital.Quantity
		want   vital.Band
		source string
		ok     bool
	}{
		{nil, vital.Glucose, vital.Band{Low: 70, High: 250}, RangeDefault, true},
		{nil, vital.Weight, vital.Band{}, "", false},
		{th, vital.Glucose, vital.Band{Low: 60, High: 300}, RangePatient, true},
		{th, vital.Systolic, vital.Band{Low: 91, High: 169}, RangePatient, true},
		{th, vital.Diastolic, vital.Band{Low: math.Inf(-1), High: 109}, RangePatient, true},
		{th, vital.SpO2, vital.Band{Low: 88, High: 100}, RangePatient, true},
		{scale1, vital.SpO2, vital.Band{Low: 96, High: 100}, RangePatient, true},
		{th, vital.Pulse, vital.Band{Low: 51, High: 90}, RangeDefault, true},
		{th, vital.Temperature, vital.Band{Low: 36.1, High: 38.0}, RangeDefault, true},
		{th, vital.Weight, vital.Band{}, "", false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%v/%s", tc.th != nil, tc.q), func(t *testing.T) {
			b, src, ok := tc.th.Band(tc.q)
			if b != tc.want || src != tc.source || ok != tc.ok {
				t.Errorf("Band(%s) = %v, %q, %v; want %v, %q, %v", tc.q, b, src, ok, tc.want, tc.source, tc.ok)
			}
		})
	}
}

func fmtStats(s VitalStats) any {
	type plain VitalStats
	f := func(p *float64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	return struct {
		plain
		InRange, Day, Week any
	}{plain(s), f(s.InRange), f(s.DayChange), f(s.WeekChange)}
}

func TestWeightChangeGaps(t *testing.T) {
	tests := []struct {
		name      string
		rs        []vital.Reading
		day, week *float64
	}{
		{"one reading", []vital.Reading{vitalReading("2026-03-08 07:00", vital.Weight, 80)}, nil, nil},
		// The previous weight is 3 days back: too old for a day change,
		// too recent for a week change.
		{"three days apart", []vital.Reading{vitalReading("2026-03-05 07:00", vital.Weight, 80),
			vitalReading("2026-03-08 07:00", vital.Weight, 81)}, nil, nil},
		// 13 days back still makes a week change (7 to 14 days).
		{"thirteen days apart", []vital.Reading{vitalReading("2026-02-23 07:00", vital.Weight, 82),
			vitalReading("2026-03-08 07:00", vital.Weight, 81)}, nil, ptr(-1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := SummarizeVitals(tc.rs, nil, Period{day("2026-02-01"), day("2026-04-01")}, ny, nil)[0]
			if !reflect.DeepEqual(s.DayChange, tc.day) || !reflect.DeepEqual(s.WeekChange, tc.week) {
				t.Errorf("changes = %v, %v; want %v, %v", fmtStats(s).(interface{}), s.WeekChange, tc.day, tc.week)
			}
		})
	}
}

func TestAlertHistory(t *testing.T) {
	ev := func(at string, k dispenser.Kind, detail string) dispenser.Event {
		return dispenser.Event{Time: local(at).UTC(), Kind: k, Detail: detail}
	}
	dose := "metformin@2026-03-07T08:00"
	clear, _ := notify.ClearDetail("glucose_low:t1", "normal")
	evs := []dispenser.Event{
		{Time: local("2026-03-07 10:00").UTC(), Kind: dispenser.KindMissed, DoseID: dose, Medication: "metformin"},
		ev("2026-03-07 10:00", notify.KindSMSQueued, "msg=1 to=caregiver1 priority=medium alerts=dose:"+dose+" codes=4F7 why=step"),
		ev("2026-03-07 10:00", notify.KindSMSSent, "msg=1 to=caregiver1 sid=SM1 attempt=1"),
		ev("2026-03-07 10:01", notify.KindSMSDelivered, "msg=1 to=caregiver1 status=delivered"),
		ev("2026-03-07 10:30", notify.KindSMSQueued, "msg=2 to=caregiver2 priority=medium alerts=dose:"+dose+" codes=4F7 why=step"),
		ev("2026-03-07 10:31", notify.KindSMSFailed, "msg=2 to=caregiver2 status=undelivered code=30003"),
		ev("2026-03-07 10:40", notify.KindAlertAck, "alert=dose:"+dose+" code=4F7 by=caregiver1"),
		vitalAlert(t, "2026-03-08 07:01", notify.High, "glucose_low:t1", "Very low blood sugar."),
		ev("2026-03-08 07:01", notify.KindSMSQueued, "msg=3 to=caregiver1 priority=high alerts=vital_alert:glucose_low:t1 codes=9QX why=step"),
		ev("2026-03-08 07:02", notify.KindSMSDelivered, "msg=3 to=caregiver1 status=delivered"),
		ev("2026-03-08 08:00", notify.KindVitalAlertCleared, clear),
		ev("2026-03-09 09:00", notify.KindSMSQueued, "msg=4 to=caregiver1 priority=medium alerts=jam:2 codes=ABC why=step"),
		ev("2026-03-09 09:00", notify.KindSMSSent, "msg=4 to=caregiver1 sid=SM4 attempt=1"),
	}
	got := AlertHistory(evs)
	want := []AlertRecord{
		{Key: "dose:" + dose, Kind: "dose", Priority: "medium", Opened: local("2026-03-07 10:00").UTC(),
			Messages: []Message{
				{ID: 1, To: "caregiver1", Priority: "medium", Why: "step", Queued: local("2026-03-07 10:00").UTC(), Status: "delivered", Updated: local("2026-03-07 10:01").UTC()},
				{ID: 2, To: "caregiver2", Priority: "medium", Why: "step", Queued: local("2026-03-07 10:30").UTC(), Status: "failed", Updated: local("2026-03-07 10:31").UTC()},
			},
			AckedBy: "caregiver1", AckedAt: local("2026-03-07 10:40").UTC()},
		{Key: "vital_alert:glucose_low:t1", Kind: "vital_alert", Priority: "high", Text: "Very low blood sugar.",
			Opened: local("2026-03-08 07:01").UTC(),
			Messages: []Message{{ID: 3, To: "caregiver1", Priority: "high", Why: "step", Queued: local("2026-03-08 07:01").UTC(),
				Status: "delivered", Updated: local("2026-03-08 07:02").UTC()}},
			Resolved: local("2026-03-08 08:00").UTC()},
		{Key: "jam:2", Kind: "jam", Priority: "medium", Opened: local("2026-03-09 09:00").UTC(),
			Messages: []Message{{ID: 4, To: "caregiver1", Priority: "medium", Why: "step", Queued: local("2026-03-09 09:00").UTC(),
				Status: "sent", Updated: local("2026-03-09 09:00").UTC()}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AlertHistory =\n%+v\nwant\n%+v", got, want)
	}
	now := local("2026-03-10 09:00")
	for i, open := range []bool{false, false, true} {
		if got[i].Open(now) != open {
			t.Errorf("alert %s open at %v = %v, want %v", got[i].Key, now, !open, open)
		}
	}
	if got[2].Open(now.Add(7 * 24 * time.Hour)) {
		t.Errorf("alert %s is open after a week, want closed as the notifier closes it", got[2].Key)
	}
}
