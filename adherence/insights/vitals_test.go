package insights_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
)

var day0 = time.Date(2025, 1, 6, 7, 30, 0, 0, ny)

// series makes one reading a day of q, value(d) on day d.
func series(q insights.Quantity, days int, value func(d int) float64) []insights.Reading {
	rs := make([]insights.Reading, days)
	for d := range rs {
		rs[d] = insights.Reading{Quantity: q, Value: value(d), Unit: q.Unit(), Time: day0.AddDate(0, 0, d).UTC()}
	}
	return rs
}

func noisy(seed uint64, level, sd float64) func(int) float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	return func(int) float64 { return level + sd*rng.NormFloat64() }
}

func TestBaselineLearnsTheUsual(t *testing.T) {
	m := insights.Watch(ny, series(insights.Weight, 120, noisy(1, 80, 0.5)))
	bs := m.Baselines()
	if len(bs) != 1 || !bs[0].Ready || bs[0].Part != "" {
		t.Fatalf("baselines = %+v, want one ready weight baseline", bs)
	}
	if b := bs[0]; math.Abs(b.Level-80) > 0.3 || b.Spread < 0.35 || b.Spread > 0.7 || b.Readings != 120 {
		t.Errorf("baseline = level %.2f spread %.2f from %d, want 80 +- 0.3, 0.5 +- 0.15 from 120", b.Level, b.Spread, b.Readings)
	}
	if ws := m.Warnings(); len(ws) > 0 {
		t.Errorf("steady weights raised %d warnings: %+v", len(ws), ws[0])
	}
}

func TestBaselinePerPartOfDay(t *testing.T) {
	var rs []insights.Reading
	rng := rand.New(rand.NewPCG(2, 2))
	for d := range 40 {
		morning := day0.AddDate(0, 0, d)
		rs = append(rs,
			insights.Reading{Quantity: insights.Systolic, Value: 140 + 5*rng.NormFloat64(), Unit: "mm[Hg]", Time: morning.UTC()},
			insights.Reading{Quantity: insights.Systolic, Value: 125 + 5*rng.NormFloat64(), Unit: "mm[Hg]", Time: morning.Add(12 * time.Hour).UTC()})
	}
	levels := map[string]float64{}
	for _, b := range insights.Watch(ny, rs).Baselines() {
		levels[b.Part] = b.Level
	}
	if math.Abs(levels["morning"]-140) > 3 || math.Abs(levels["evening"]-125) > 3 {
		t.Errorf("systolic baselines = %v, want morning near 140 and evening near 125", levels)
	}
}

func TestWeightRiseWarns(t *testing.T) {
	steady := noisy(3, 78, 0.4)
	rs := series(insights.Weight, 70, func(d int) float64 {
		v := steady(d)
		if d >= 60 { // +2.5 kg over 10 days
			v += 2.5 * float64(d-59) / 10
		}
		return v
	})
	ws := insights.Watch(ny, rs).Warnings()
	if len(ws) != 1 {
		t.Fatalf("%d warnings, want 1: %+v", len(ws), ws)
	}
	w := ws[0]
	if w.Opened.Before(rs[60].Time) || w.Quantity != insights.Weight || w.Kind != insights.WarningRising || w.Priority != insights.PriorityLow {
		t.Errorf("warning = %+v, want a low-priority weight rise after day 60", w)
	}
	if !strings.HasPrefix(w.Text(), "weight up ") || !strings.Contains(w.Text(), "on the usual 78") {
		t.Errorf("text = %q, want the rise on the usual weight", w.Text())
	}
	if e := w.Evidence; e.Mean-e.Level < 0.5 || e.Readings < 2 || e.Score <= insights.DefaultDetector.C {
		t.Errorf("evidence = %+v, want a rise of 0.5 kg or more over 2 readings or more, above the threshold", e)
	}
}

func TestOneWildReadingDoesNotWarn(t *testing.T) {
	for _, q := range []insights.Quantity{insights.Weight, insights.Systolic} {
		base := map[insights.Quantity]float64{insights.Weight: 80, insights.Systolic: 130}[q]
		sd := map[insights.Quantity]float64{insights.Weight: 0.5, insights.Systolic: 8}[q]
		steady := noisy(4, base, sd)
		rs := series(q, 60, func(d int) float64 {
			if d == 45 {
				return base + 10*sd
			}
			return steady(d)
		})
		if ws := insights.Watch(ny, rs).Warnings(); len(ws) > 0 {
			t.Errorf("%s: one reading of 10 spreads raised %+v", q, ws[0])
		}
	}
}

func TestPressureDriftWarns(t *testing.T) {
	steady := noisy(5, 132, 8)
	rs := series(insights.Systolic, 100, func(d int) float64 {
		v := steady(d)
		if d >= 60 {
			v += math.Min(float64(d-60), 28) // +1 mmHg a day for four weeks
		}
		return v
	})
	ws := insights.Watch(ny, rs).Warnings()
	if len(ws) == 0 {
		t.Fatal("a 28 mmHg drift raised no warning")
	}
	if ws[0].Opened.Before(rs[60].Time) || ws[0].Opened.After(rs[85].Time) {
		t.Errorf("warning opened %v, want between day 60 and 85", ws[0].Opened)
	}
}

// TestNoFlapping: a weight hovering around the warning's threshold opens
// at most one warning, held by the hysteresis.
func TestNoFlapping(t *testing.T) {
	for _, c := range []struct {
		q     insights.Quantity
		level float64
		step  float64
	}{{insights.Weight, 80, 0.9}, {insights.Systolic, 130, 9}} {
		rng := rand.New(rand.NewPCG(6, 6))
		rs := series(c.q, 120, func(d int) float64 {
			v := c.level + rng.NormFloat64()*c.step/5
			if d >= 50 && d%2 == 0 { // alternate around a raised level
				v += 1.3 * c.step
			} else if d >= 50 {
				v += 0.9 * c.step
			}
			return v
		})
		ws := insights.Watch(ny, rs).Warnings()
		opens := 0
		for _, w := range ws {
			if w.Opened.After(rs[50].Time) && w.Opened.Before(rs[65].Time) {
				opens++
			}
		}
		if opens > 1 {
			t.Errorf("%s: %d warnings opened in the two weeks after the rise, want at most 1: %+v", c.q, opens, ws)
		}
	}
}

func TestGlucoseVariability(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var rs []insights.Reading
	for d := range 60 {
		cv := 0.2
		if d >= 20 && d < 40 {
			cv = 0.55
		}
		for _, h := range []int{0, 12} {
			rs = append(rs, insights.Reading{Quantity: insights.Glucose, Value: math.Max(40, 140*(1+cv*rng.NormFloat64())), Unit: "mg/dL",
				Time: day0.AddDate(0, 0, d).Add(time.Duration(h) * time.Hour).UTC()})
		}
	}
	var gv []insights.Warning
	for _, w := range insights.Watch(ny, rs).Warnings() {
		if w.Kind == insights.WarningGlucoseVariability {
			gv = append(gv, w)
		}
	}
	if len(gv) != 1 {
		t.Fatalf("%d glucose variability warnings, want 1: %+v", len(gv), gv)
	}
	w := gv[0]
	if w.Opened.Before(day0.AddDate(0, 0, 20)) || w.Open() || w.Closed.Before(day0.AddDate(0, 0, 40)) {
		t.Errorf("warning from %v to %v, want from after day 20 to after day 40", w.Opened, w.Closed)
	}
	if !strings.Contains(w.Text(), "target 36% or less") {
		t.Errorf("text = %q", w.Text())
	}
}

func TestGlucoseSummary(t *testing.T) {
	rs := []insights.Reading{
		{Quantity: insights.Glucose, Value: 60, Unit: "mg/dL"}, {Quantity: insights.Glucose, Value: 100, Unit: "mg/dL"},
		{Quantity: insights.Glucose, Value: 140, Unit: "mg/dL"}, {Quantity: insights.Glucose, Value: 200, Unit: "mg/dL"},
		{Quantity: insights.Glucose, Value: 5.5, Unit: "mmol/L"}, {Quantity: insights.Weight, Value: 80, Unit: "kg"},
	}
	s := insights.GlucoseSummaryOf(rs)
	if s.N != 4 || s.Mean != 125 || s.InRange != 0.5 || s.Below70 != 0.25 || s.Above180 != 0.25 {
		t.Errorf("summary = %+v, want 4 readings, mean 125, half in range, a quarter below and above", s)
	}
	if want := math.Sqrt((65*65+25*25+15*15+75*75)/3.0) / 125; math.Abs(s.CV-want) > 1e-9 {
		t.Errorf("CV = %v, want %v", s.CV, want)
	}
}

func TestReadingsIgnored(t *testing.T) {
	m := insights.NewMonitor(ny)
	t0 := day0.UTC()
	for _, r := range []insights.Reading{
		{Quantity: insights.Weight, Value: 80, Unit: "kg", Time: t0},
		{Quantity: insights.Weight, Value: 176, Unit: "[lb_av]", Time: t0.Add(time.Hour)}, // another unit
		{Quantity: insights.Weight, Value: math.NaN(), Unit: "kg", Time: t0.Add(2 * time.Hour)},
		{Quantity: insights.Weight, Value: 81, Unit: "kg", Time: t0.Add(-time.Hour)}, // older than the latest
		{Quantity: "spo2", Value: 97, Unit: "%", Time: t0},                           // no baseline
	} {
		m.Add(r)
	}
	if m.Ignored != 4 {
		t.Errorf("Ignored = %d, want 4", m.Ignored)
	}
}

// TestWarningsOnlyAdd: on any readings, every warning is low priority
// (below every threshold alert) and closes after it opens: the personal
// rules add warnings and have no way to touch the fixed ones.
func TestWarningsOnlyAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	qs := []insights.Quantity{insights.Weight, insights.Systolic, insights.Diastolic, insights.Pulse, insights.Glucose}
	var rs []insights.Reading
	at := day0.UTC()
	for range 5000 {
		at = at.Add(time.Duration(rng.IntN(36*60)) * time.Minute)
		q := qs[rng.IntN(len(qs))]
		rs = append(rs, insights.Reading{Quantity: q, Value: 50 + 100*rng.Float64(), Unit: q.Unit(), Time: at})
	}
	for _, w := range insights.Watch(ny, rs).Warnings() {
		if w.Priority != insights.PriorityLow {
			t.Fatalf("warning with priority %q: %+v", w.Priority, w)
		}
		if !w.Open() && w.Closed.Before(w.Opened) {
			t.Fatalf("warning closed before it opened: %+v", w)
		}
	}
}
