package quality

import (
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

func flagged(r vital.Reading, codes ...vital.FlagCode) vital.Reading {
	for _, c := range codes {
		r.Flag(c, "test")
	}
	return r
}

func TestProblemMeasurements(t *testing.T) {
	bad := func(ago time.Duration, code vital.FlagCode) vital.Reading {
		return flagged(rd(vital.Glucose, 95, "95 mg/dL", at.Add(-ago), true), code)
	}
	cuff := func(ago time.Duration) []vital.Reading {
		return []vital.Reading{flagged(rd(vital.Systolic, 350, "350 mmHg", at.Add(-ago), true), vital.Implausible),
			flagged(rd(vital.Diastolic, 90, "90 mmHg", at.Add(-ago), true), vital.Implausible)}
	}
	tests := []struct {
		name string
		rs   []vital.Reading
		want int
	}{
		{"none", []vital.Reading{rd(vital.Glucose, 95, "95 mg/dL", at, true)}, 0},
		{"implausible and faulty count", []vital.Reading{bad(time.Hour, vital.Implausible), bad(2*time.Hour, vital.DeviceFault)}, 2},
		{"a control test or a corrected clock does not", []vital.Reading{bad(time.Hour, vital.ControlSolution), bad(2*time.Hour, vital.ClockCorrected)}, 0},
		{"a measurement counts once", cuff(time.Hour), 1},
		{"outside the window", []vital.Reading{bad(ProblemWindow, vital.Implausible), bad(ProblemWindow-time.Minute, vital.Implausible)}, 1},
		{"after the reception", []vital.Reading{bad(-time.Hour, vital.Implausible)}, 0},
	}
	for _, tt := range tests {
		if got := ProblemsWithin(ProblemTimes(tt.rs), at); got != tt.want {
			t.Errorf("%s: ProblemsWithin(ProblemTimes) = %d, want %d", tt.name, got, tt.want)
		}
	}
	if Keeps(ProblemCount-1) || !Keeps(ProblemCount) {
		t.Errorf("Keeps(%d) = %v, Keeps(%d) = %v; want false, true", ProblemCount-1, Keeps(ProblemCount-1), ProblemCount, Keeps(ProblemCount))
	}
}

func TestSummarize(t *testing.T) {
	ny := newYork(t)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, ny)
	to := time.Date(2026, 3, 8, 0, 0, 0, 0, ny) // 7 days
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, ny) }
	const meter, cuff, scale = "meter", "cuff", "scale"
	g := func(t time.Time, codes ...vital.FlagCode) vital.Reading {
		r := flagged(rd(vital.Glucose, 95, "95 mg/dL", t, true), codes...)
		r.Device = meter
		return r
	}
	check := g(day(3, 9), vital.ControlSolution)
	check.Value = 120
	older := g(day(2, 9), vital.ControlSolution)
	corrected := g(day(4, 8), vital.ClockCorrected)
	corrected.DeviceClock = corrected.Time.Add(-72 * time.Hour)
	repeated := g(day(5, 8))
	repeated.Repeats = 2
	sys := rd(vital.Systolic, 120, "120 mmHg", day(1, 7), true)
	dia := rd(vital.Diastolic, 80, "80 mmHg", day(1, 7), true)
	sys.Device, dia.Device = cuff, cuff
	sys.Repeats, dia.Repeats = 1, 1
	rs := []vital.Reading{
		g(day(1, 8)), older, check, corrected, repeated,
		g(day(5, 12), vital.Implausible), g(day(5, 18), vital.DeviceFault),
		g(time.Date(2026, 3, 8, 0, 0, 0, 0, ny)), // the end is excluded
		g(from.Add(-time.Second)),                // before the start
		sys, dia,
	}
	got := Summarize(rs, []string{scale}, from, to, ny)
	if len(got) != 3 || got[0].Device != scale || got[1].Device != meter || got[2].Device != cuff {
		t.Fatalf("Summarize devices = %+v, want scale, meter, cuff", got)
	}
	s := got[1]
	want := Summary{Device: meter, From: from, To: to, Measurements: 7, Implausible: 1, DeviceFault: 1, ControlSolution: 2,
		ClockCorrected: 1, Repeats: 2, DaysWithoutData: 2, LastMeasurement: day(5, 18)}
	if s.Measurements != want.Measurements || s.Implausible != want.Implausible || s.DeviceFault != want.DeviceFault ||
		s.ControlSolution != want.ControlSolution || s.ClockCorrected != want.ClockCorrected || s.Repeats != want.Repeats ||
		s.DaysWithoutData != want.DaysWithoutData || !s.LastMeasurement.Equal(want.LastMeasurement) {
		t.Errorf("meter summary = %+v, want %+v", s, want)
	}
	if s.LastMeterCheck == nil || !s.LastMeterCheck.Time.Equal(day(3, 9)) || s.LastMeterCheck.Value != 120 {
		t.Errorf("last meter check = %+v, want the one of 3 March at 120", s.LastMeterCheck)
	}
	if s.ClockOffsetS == nil || *s.ClockOffsetS != -72*3600 || !s.ClockCorrectedAt.Equal(day(4, 8)) {
		t.Errorf("clock offset %v at %v, want -259200 s at %v", s.ClockOffsetS, s.ClockCorrectedAt, day(4, 8))
	}
	if c := got[2]; c.Measurements != 1 || c.Repeats != 1 || c.DaysWithoutData != 6 {
		t.Errorf("cuff summary = %+v, want 1 measurement, 1 repeat, 6 days without data", c)
	}
	if sc := got[0]; sc.Measurements != 0 || sc.DaysWithoutData != 7 || sc.LastMeterCheck != nil {
		t.Errorf("scale summary = %+v, want nothing and 7 days without data", sc)
	}
	// A period across the change to daylight saving time (8 March in New
	// York) counts calendar days, not 24-hour spans.
	if n := Summarize(nil, []string{scale}, to, time.Date(2026, 3, 10, 0, 0, 0, 0, ny), ny)[0].DaysWithoutData; n != 2 {
		t.Errorf("days without data over 8-9 March = %d, want 2", n)
	}
}
