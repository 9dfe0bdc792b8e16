package backtest

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
	"github.com/pillbox/pillbox/adherence/insights/cohort"
	"github.com/pillbox/pillbox/adherence/insights/internal/lookahead"
)

func TestAUC(t *testing.T) {
	for _, c := range []struct {
		name string
		ps   []float64
		ys   []bool
		want float64
	}{
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 1},
		{"reversed", []float64{0.9, 0.8, 0.2, 0.1}, []bool{false, false, true, true}, 0},
		{"all tied", []float64{0.5, 0.5, 0.5, 0.5}, []bool{false, true, false, true}, 0.5},
		{"one swap", []float64{0.1, 0.3, 0.2, 0.4}, []bool{false, false, true, true}, 0.75},
		{"tie across classes", []float64{0.1, 0.5, 0.5, 0.9}, []bool{false, false, true, true}, 0.875},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := AUC(c.ps, c.ys); math.Abs(got-c.want) > 1e-12 {
				t.Errorf("AUC = %v, want %v", got, c.want)
			}
		})
	}
	if got := AUC([]float64{0.1, 0.2}, []bool{true, true}); !math.IsNaN(got) {
		t.Errorf("AUC without a negative = %v, want NaN", got)
	}
}

func TestBrierAndReliability(t *testing.T) {
	ps := []float64{0.05, 0.05, 0.15, 0.95, 0.95}
	ys := []bool{false, true, false, true, true}
	if got, want := Brier(ps, ys), (0.0025+0.9025+0.0225+0.0025+0.0025)/5; math.Abs(got-want) > 1e-12 {
		t.Errorf("Brier = %v, want %v", got, want)
	}
	bins := Reliability(ps, ys, 10)
	want := []Bin{{0, 0.1, 2, 0.05, 0.5}, {0.1, 0.2, 1, 0.15, 0}, {0.9, 1, 2, 0.95, 1}}
	if len(bins) != len(want) {
		t.Fatalf("%d bins, want %d: %+v", len(bins), len(want), bins)
	}
	for i := range want {
		g, w := bins[i], want[i]
		if math.Abs(g.From-w.From) > 1e-9 || g.N != w.N || math.Abs(g.Predicted-w.Predicted) > 1e-9 || g.Observed != w.Observed {
			t.Errorf("bin %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestFixedWeightRule(t *testing.T) {
	at := func(d float64) time.Time {
		return time.Date(2025, 1, 1, 7, 0, 0, 0, time.UTC).Add(time.Duration(d * 24 * float64(time.Hour)))
	}
	w := func(d, kg float64) insights.Reading {
		return insights.Reading{Quantity: insights.Weight, Value: kg, Unit: "kg", Time: at(d)}
	}
	twoIn3 := []gainWindow{{2, 72 * time.Hour}}
	for _, c := range []struct {
		name string
		ws   []insights.Reading
		want []float64 // days the episodes open
	}{
		{"no rise", []insights.Reading{w(0, 80), w(1, 80.5), w(2, 80), w(3, 81.9)}, nil},
		{"2 kg in 3 days", []insights.Reading{w(0, 80), w(1, 80.5), w(2, 81), w(3, 82)}, []float64{3}},
		{"no reading 3 days before", []insights.Reading{w(0, 80), w(4, 83)}, nil},
		{"held, then cleared, then again", []insights.Reading{w(0, 80), w(3, 82), w(4, 81.8), w(6, 81.8), w(9, 80), w(12, 82.1)}, []float64{3, 12}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []float64
			for _, e := range fixedWeight(c.ws, twoIn3) {
				got = append(got, math.Round(e.from.Sub(at(0)).Hours()/24))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("episodes open on days %v, want %v", got, c.want)
			}
		})
	}
}

func TestTallyRule(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d) }
	ev := cohort.Label{Kind: cohort.LabelDecompensation, Onset: day(40), At: day(50)}
	runs := []ruleRun{{years: 1, events: []cohort.Label{ev}, episodes: []episode{
		{from: day(10)},              // false
		{from: day(30), to: day(40)}, // open before the window: neither detects nor... false
		{from: day(40)},              // in the window: detects, 10 days ahead
		{from: day(45)},              // in the window, not the first
		{from: day(52)},              // after the event, within 3 days: not false
		{from: day(60)},              // false
	}}}
	tl := tallyRule(runs)
	if tl.events != 1 || tl.detected != 1 || tl.falseAlerts != 3 || tl.alerts != 6 || !slices.Equal(tl.warnDays, []float64{10}) {
		t.Errorf("tally = %+v, want 1 event detected 10 days ahead, 3 false of 6 alerts", tl)
	}
}

// TestNoLookAhead scores a patient, then rewrites everything that settled
// after an instant (outcomes, takings, refills, clock jumps, readings):
// no prediction made before that instant, and no vital alert that opened
// before it, may change.
func TestNoLookAhead(t *testing.T) {
	opts := Options{Prior: insights.DefaultPrior}.withDefaults()
	p := cohort.Generate(cohort.DefaultParams, 1, 5)
	cut := p.Start.AddDate(0, 0, 200).Add(7 * time.Hour)
	before := scoreDoses(&p, p.History(), opts)
	vitals := scoreVitals(&p)

	q := p
	q.Doses = slices.Clone(p.Doses)
	for i := range q.Doses {
		lookahead.Flip(&q.Doses[i].Dose, cut)
	}
	q.Refills = append(slices.DeleteFunc(slices.Clone(p.Refills), func(r time.Time) bool { return r.After(cut) }), cut.Add(time.Hour))
	q.ClockJumps = append(slices.Clone(p.ClockJumps), cut.Add(2*time.Hour))
	q.Readings = slices.Clone(p.Readings)
	for i := range q.Readings {
		if q.Readings[i].Time.After(cut) {
			q.Readings[i].Value += 5
		}
	}
	after := scoreDoses(&q, q.History(), opts)
	if len(after) != len(before) {
		t.Fatalf("%d scored doses after the rewrite, %d before", len(after), len(before))
	}
	checked, moved := 0, 0
	for i := range before {
		b, a := before[i], after[i]
		if b.at.Add(-insights.Horizon).After(cut) {
			if a.p != b.p {
				moved++
			}
			continue
		}
		checked++
		for k := range predOracle {
			if a.p[k] != b.p[k] {
				t.Fatalf("%s, judged %v before the rewrite at %v: %s said %v, now %v",
					b.at, insights.Horizon, cut, predictorNames[k], b.p[k], a.p[k])
			}
		}
	}
	if checked < 200 || moved == 0 {
		t.Fatalf("checked %d predictions before the cut, %d after it moved: the test proves nothing", checked, moved)
	}
	vAfter := scoreVitals(&q)
	for i, r := range vitals {
		var b, a []episode
		for _, e := range r.episodes {
			if e.from.Before(cut) {
				b = append(b, episode{from: e.from})
			}
		}
		for _, e := range vAfter[i].episodes {
			if e.from.Before(cut) {
				a = append(a, episode{from: e.from})
			}
		}
		if !slices.Equal(a, b) {
			t.Errorf("%s: alerts before the cut changed with readings after it: %v, then %v", r.rule, b, a)
		}
	}
}

// TestGoalsAtCISize runs the backtest at a size `go test` affords, on the
// test cohort's seed, and holds what the full size shows
// (docs/insights.md): the risk's AUC at 0.80 or more, 0.05 above both
// baselines, with a lower Brier score; the personal weight rule detecting
// more of the decompensations than the fixed "2 kg in 3 days" rule at no
// more false alerts a patient-year. The issue asked twice the fixed rule's
// sensitivity; on this cohort the fixed rule finds more (about 39%) than
// in the study the goal comes from (21%), twice that is about the 80% of
// decompensations that come with any weight gain at all, and the personal
// rule reaches 1.4 times it at full size: the test holds 1.25 times, the
// goal is reported as missed.
func TestGoalsAtCISize(t *testing.T) {
	if testing.Short() {
		t.Skip("the CI-size backtest takes a few seconds; not in -short")
	}
	risk, err := Generated(cohort.DefaultParams, 1, 0, 30, Options{Prior: insights.DefaultPrior})
	if err != nil {
		t.Fatal(err)
	}
	m := risk.Risk.Model()
	overall, lastWeek := risk.Risk.Baselines()
	if m.AUC < 0.80 || m.AUC < overall.AUC+0.05 || m.AUC < lastWeek.AUC+0.05 {
		t.Errorf("risk AUC %.3f (overall rate %.3f, last week %.3f): want 0.80 or more and 0.05 over both baselines",
			m.AUC, overall.AUC, lastWeek.AUC)
	}
	if m.Brier >= overall.Brier || m.Brier >= lastWeek.Brier {
		t.Errorf("risk Brier %.4f (overall rate %.4f, last week %.4f): want under both", m.Brier, overall.Brier, lastWeek.Brier)
	}
	vit, err := Generated(cohort.DefaultParams, 1, 0, 400, Options{VitalsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	personal, _ := vit.Rule(RulePersonalWeight)
	fixed, _ := vit.Rule(RuleFixed2kg3d)
	if personal.Events < 40 {
		t.Fatalf("%d decompensations in the CI cohort: too few to judge", personal.Events)
	}
	if personal.Sensitivity < 1.25*fixed.Sensitivity || personal.FalsePerYear > fixed.FalsePerYear {
		t.Errorf("personal weight rule: sensitivity %.3f at %.2f false alerts a patient-year; fixed 2 kg/3 days: %.3f at %.2f; want 1.25 times the sensitivity at no more false alerts",
			personal.Sensitivity, personal.FalsePerYear, fixed.Sensitivity, fixed.FalsePerYear)
	}
	var b bytes.Buffer
	if err := vit.WriteText(&b); err != nil || !strings.Contains(b.String(), RulePersonalWeight) {
		t.Errorf("WriteText = %v, %q", err, b.String())
	}
	t.Logf("risk AUC %.3f (baselines %.3f, %.3f); weight sensitivity %.3f vs %.3f, false alerts %.2f vs %.2f a patient-year",
		m.AUC, overall.AUC, lastWeek.AUC, personal.Sensitivity, fixed.Sensitivity, personal.FalsePerYear, fixed.FalsePerYear)
}
