package vitals

import (
	"math"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
)

var th = Thresholds{}.withDefaults()

// short names a verdict for failure messages and tables.
func short(v verdict) string {
	switch v.state {
	case ignore:
		return "ignore"
	case normal:
		return "normal"
	case hold:
		return "hold"
	}
	return "abnormal/" + string(rune('0'+v.level)) + "/" + v.priority.String()
}

func TestGlucoseRules(t *testing.T) {
	tests := []struct {
		v         float64
		low, high string
	}{
		{40, "abnormal/2/high", "normal"},
		{53.9, "abnormal/2/high", "normal"},
		{54, "abnormal/1/medium", "normal"}, // level 2 is < 54
		{69.9, "abnormal/1/medium", "normal"},
		{70, "hold", "normal"}, // back at the threshold: still within the hysteresis margin
		{74.9, "hold", "normal"},
		{75, "normal", "normal"},
		{180, "normal", "normal"},
		{245, "normal", "normal"},
		{245.1, "normal", "hold"},
		{250, "normal", "hold"}, // hyperglycaemia is > 250
		{250.1, "normal", "abnormal/1/medium"},
		{600, "normal", "abnormal/1/medium"},
	}
	for _, tt := range tests {
		if got := short(glucoseLow(tt.v, th)); got != tt.low {
			t.Errorf("glucoseLow(%v) = %s, want %s", tt.v, got, tt.low)
		}
		if got := short(glucoseHigh(tt.v, th)); got != tt.high {
			t.Errorf("glucoseHigh(%v) = %s, want %s", tt.v, got, tt.high)
		}
	}
	custom := th
	custom.GlucoseLow, custom.GlucoseVeryLow = 80, 60
	if got := short(glucoseLow(75, custom)); got != "abnormal/1/medium" {
		t.Errorf("glucoseLow(75) with glucose_low 80 = %s, want abnormal/1/medium", got)
	}
}

func TestBPCrisis(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	at := func(min float64) time.Time { return t0.Add(time.Duration(min * float64(time.Minute))) }
	crisis := bp{at: at(0), sys: 185, dia: 100}
	tests := []struct {
		name    string
		cur     bp
		earlier []bp
		want    string
	}{
		{"first crisis reading only holds", bp{at: at(0), sys: 190, dia: 110}, nil, "hold"},
		{"confirmed 3 minutes later", bp{at: at(3), sys: 182, dia: 95}, []bp{crisis}, "abnormal/1/high"},
		{"diastolic alone confirms", bp{at: at(4), sys: 150, dia: 121}, []bp{{at: at(0), sys: 160, dia: 120}}, "abnormal/1/high"},
		{"exactly 5 minutes confirms", bp{at: at(5), sys: 180, dia: 90}, []bp{crisis}, "abnormal/1/high"},
		{"6 minutes is too late", bp{at: at(6), sys: 190, dia: 90}, []bp{crisis}, "hold"},
		{"earlier reading not in crisis", bp{at: at(3), sys: 190, dia: 90}, []bp{{at: at(0), sys: 179, dia: 119}}, "hold"},
		{"unreliable first reading may start the pair", bp{at: at(3), sys: 190, dia: 90},
			[]bp{{at: at(0), sys: 190, dia: 90, unreliable: true}}, "abnormal/1/high"},
		{"unreliable confirming reading raises nothing", bp{at: at(3), sys: 190, dia: 90, unreliable: true}, []bp{crisis}, "ignore"},
		{"unreliable normal reading clears nothing", bp{at: at(3), sys: 120, dia: 80, unreliable: true}, nil, "ignore"},
		{"normal clears", bp{at: at(10), sys: 174, dia: 114}, nil, "normal"},
		{"within the hysteresis margin holds", bp{at: at(10), sys: 176, dia: 100}, nil, "hold"},
		{"diastolic within the margin holds", bp{at: at(10), sys: 150, dia: 116}, nil, "hold"},
		{"the same measurement does not confirm itself", crisis, []bp{crisis}, "hold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := short(bpCrisis(tt.cur, tt.earlier, th)); got != tt.want {
				t.Errorf("bpCrisis(%+v, %+v) = %s, want %s", tt.cur, tt.earlier, got, tt.want)
			}
		})
	}
}

// TestNEWS2Bands checks every band edge of the RCP's NEWS2 chart 1.
func TestNEWS2Bands(t *testing.T) {
	tests := []struct {
		name string
		f    func(float64) int
		vals []float64
		want []int
	}{
		{"spo2 scale 1", func(v float64) int { return news2SpO2(v, 1) },
			[]float64{85, 91, 92, 93, 94, 95, 96, 100}, []int{3, 3, 2, 2, 1, 1, 0, 0}},
		{"spo2 scale 2 on air", func(v float64) int { return news2SpO2(v, 2) },
			[]float64{80, 83, 84, 85, 86, 87, 88, 92, 97}, []int{3, 3, 2, 2, 1, 1, 0, 0, 0}},
		{"systolic", news2Systolic,
			[]float64{70, 90, 91, 100, 101, 110, 111, 219, 220, 250}, []int{3, 3, 2, 2, 1, 1, 0, 0, 3, 3}},
		{"pulse", news2Pulse,
			[]float64{30, 40, 41, 50, 51, 90, 91, 110, 111, 130, 131, 180}, []int{3, 3, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3}},
		{"temperature", news2Temperature,
			[]float64{34, 35.0, 35.1, 36.0, 36.1, 38.0, 38.1, 39.0, 39.1, 41}, []int{3, 3, 1, 1, 0, 0, 1, 1, 2, 2}},
	}
	for _, tt := range tests {
		for i, v := range tt.vals {
			if got := tt.f(v); got != tt.want[i] {
				t.Errorf("%s score of %v = %d, want %d", tt.name, v, got, tt.want[i])
			}
		}
	}
}

func TestNEWS2Partial(t *testing.T) {
	tests := []struct {
		name  string
		obs   map[vital.Quantity]float64
		score int
		red   bool
		want  string
	}{
		{"all normal", map[vital.Quantity]float64{vital.SpO2: 97, vital.Pulse: 72, vital.Systolic: 125, vital.Temperature: 36.8}, 0, false, "normal"},
		{"score 3 clears", map[vital.Quantity]float64{vital.SpO2: 94, vital.Pulse: 95, vital.Temperature: 38.5}, 3, false, "normal"},
		{"score 4 holds", map[vital.Quantity]float64{vital.SpO2: 93, vital.Pulse: 115}, 4, false, "hold"},
		{"single red parameter", map[vital.Quantity]float64{vital.SpO2: 90}, 3, true, "abnormal/1/medium"},
		{"score 5", map[vital.Quantity]float64{vital.SpO2: 93, vital.Pulse: 115, vital.Temperature: 38.5}, 5, false, "abnormal/1/medium"},
		{"score 7", map[vital.Quantity]float64{vital.SpO2: 93, vital.Pulse: 120, vital.Systolic: 105, vital.Temperature: 39.5}, 7, false, "abnormal/2/high"},
		{"other quantities do not count", map[vital.Quantity]float64{vital.Glucose: 20}, 0, false, "normal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			score, red := news2Partial(tt.obs, 1)
			if score != tt.score || red != tt.red {
				t.Errorf("news2Partial(%v) = %d, %v; want %d, %v", tt.obs, score, red, tt.score, tt.red)
			}
			if got := short(news2(score, red, len(tt.obs))); got != tt.want {
				t.Errorf("news2(%d, %v) = %s, want %s", score, red, got, tt.want)
			}
		})
	}
}

func TestWeightGain(t *testing.T) {
	now := time.Date(2026, 3, 10, 7, 0, 0, 0, time.UTC)
	w := func(hoursAgo float64, kg float64) vital.Reading {
		return vital.Reading{Quantity: vital.Weight, Value: kg, Time: now.Add(-time.Duration(hoursAgo * float64(time.Hour)))}
	}
	tests := []struct {
		name    string
		cur     float64
		earlier []vital.Reading
		want    string
	}{
		{"no earlier weight", 80, nil, "hold"},
		{"1 kg since yesterday", 81, []vital.Reading{w(24, 80)}, "abnormal/1/medium"},
		{"0.9 kg since yesterday is within the margin", 80.9, []vital.Reading{w(24, 80)}, "hold"},
		{"0.6 kg since yesterday clears", 80.6, []vital.Reading{w(24, 80)}, "normal"},
		{"yesterday's weigh-in 5 hours late still counts", 81.2, []vital.Reading{w(19, 80)}, "abnormal/1/medium"},
		{"this morning's earlier weight is not a day's baseline", 81.5, []vital.Reading{w(2, 80)}, "hold"},
		{"2 kg in 3 days, slowly", 82, []vital.Reading{w(72, 80), w(48, 80.7), w(24, 81.4)}, "abnormal/1/medium"},
		{"2.3 kg in a week", 82.3, []vital.Reading{w(168, 80), w(72, 80.6), w(24, 81.5)}, "abnormal/1/medium"},
		{"closest to the window is the baseline", 81, []vital.Reading{w(29, 79), w(24, 80.5)}, "normal"},
		{"weight loss clears", 78, []vital.Reading{w(24, 80), w(72, 80)}, "normal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := short(weightGain(tt.cur, now, tt.earlier, DefaultWeightGain)); got != tt.want {
				t.Errorf("weightGain(%v, %v) = %s, want %s", tt.cur, tt.earlier, got, tt.want)
			}
		})
	}
}

func TestSlopePerDay(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	sys := func(day float64, v float64) vital.Reading {
		return vital.Reading{Quantity: vital.Systolic, Value: v, Time: t0.Add(time.Duration(day * 24 * float64(time.Hour)))}
	}
	tests := []struct {
		name  string
		rs    []vital.Reading
		slope float64
		ok    bool
	}{
		{"rising 5 a day", []vital.Reading{sys(0, 130), sys(1, 135), sys(2, 140)}, 5, true},
		{"flat", []vital.Reading{sys(0, 130), sys(1, 130), sys(2, 130)}, 0, true},
		{"falling", []vital.Reading{sys(0, 140), sys(2, 130), sys(4, 120)}, -5, true},
		{"too few", []vital.Reading{sys(0, 130), sys(1, 150)}, 0, false},
		{"all in one day", []vital.Reading{sys(0, 130), sys(0.2, 150), sys(0.5, 170)}, 0, false},
		{"empty", nil, 0, false},
	}
	for _, tt := range tests {
		slope, ok := slopePerDay(tt.rs, 3)
		if ok != tt.ok || math.Abs(slope-tt.slope) > 1e-9 {
			t.Errorf("%s: slopePerDay = %v, %v; want %v, %v", tt.name, slope, ok, tt.slope, tt.ok)
		}
	}
}

func TestMissedStreak(t *testing.T) {
	day := func(d int, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
	ev := func(seq int64, kind dispenser.Kind, med string, sched time.Time) dispenser.Event {
		return dispenser.Event{Seq: seq, Kind: kind, Medication: med, Scheduled: sched, Time: sched.Add(2 * time.Hour)}
	}
	bpMeds := map[string]bool{"lisinopril": true}
	tests := []struct {
		name  string
		evs   []dispenser.Event
		count int
		span  time.Duration
		want  string // verdict with a rising trend
	}{
		{"two daily doses missed", []dispenser.Event{
			ev(1, dispenser.KindDispensed, "lisinopril", day(1, 9)),
			ev(2, dispenser.KindMissed, "lisinopril", day(2, 9)),
			ev(3, dispenser.KindMissed, "lisinopril", day(3, 9)),
		}, 2, 24 * time.Hour, "abnormal/1/medium"},
		{"one missed", []dispenser.Event{ev(1, dispenser.KindMissed, "lisinopril", day(2, 9))}, 1, 0, "normal"},
		{"two missed the same day", []dispenser.Event{
			ev(1, dispenser.KindMissed, "lisinopril", day(2, 8)),
			ev(2, dispenser.KindMissed, "lisinopril", day(2, 20)),
		}, 2, 12 * time.Hour, "normal"},
		{"a dispense breaks the run", []dispenser.Event{
			ev(1, dispenser.KindMissed, "lisinopril", day(1, 9)),
			ev(2, dispenser.KindMissed, "lisinopril", day(2, 9)),
			ev(3, dispenser.KindDispensed, "lisinopril", day(3, 9)),
		}, 0, 0, "normal"},
		{"a skip neither breaks nor extends", []dispenser.Event{
			ev(1, dispenser.KindMissed, "lisinopril", day(1, 9)),
			ev(2, dispenser.KindSkipped, "lisinopril", day(2, 9)),
			ev(3, dispenser.KindMissed, "lisinopril", day(3, 9)),
		}, 2, 48 * time.Hour, "abnormal/1/medium"},
		{"other medications do not count", []dispenser.Event{
			ev(1, dispenser.KindMissed, "metformin", day(1, 9)),
			ev(2, dispenser.KindMissed, "metformin", day(2, 9)),
		}, 0, 0, "normal"},
		{"log order, not slice order", []dispenser.Event{
			ev(3, dispenser.KindDispensed, "lisinopril", day(3, 9)),
			ev(1, dispenser.KindMissed, "lisinopril", day(1, 9)),
			ev(2, dispenser.KindMissed, "lisinopril", day(2, 9)),
		}, 0, 0, "normal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			count, span := missedStreak(tt.evs, bpMeds)
			if count != tt.count || span != tt.span {
				t.Errorf("missedStreak = %d, %s; want %d, %s", count, span, tt.count, tt.span)
			}
			if got := short(bpMissedTrend(count, span, 3, true, th)); got != tt.want {
				t.Errorf("bpMissedTrend(%d, %s, rising) = %s, want %s", count, span, got, tt.want)
			}
		})
	}
	// Missed for two days but the trend is flat or unknown: hold.
	for _, tr := range []struct {
		slope float64
		ok    bool
	}{{0.5, true}, {10, false}} {
		if got := short(bpMissedTrend(2, 24*time.Hour, tr.slope, tr.ok, th)); got != "hold" {
			t.Errorf("bpMissedTrend(missed, slope %v ok %v) = %s, want hold", tr.slope, tr.ok, got)
		}
	}
}
