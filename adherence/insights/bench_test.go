package insights_test

import (
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
	"github.com/pillbox/pillbox/adherence/insights/cohort"
)

// yearOfDoses is a generated patient on three doses a day (the most a
// cohort patient takes: about 1,100 doses a year), with the instant after
// the record.
func yearOfDoses(b *testing.B) (*insights.History, time.Time) {
	for i := 0; ; i++ {
		p := cohort.Generate(cohort.DefaultParams, 1, i)
		if len(p.Regimens[0].Times) == 3 {
			return p.History(), p.End()
		}
		if i > 1000 {
			b.Fatal("no patient on three doses a day in 1,000")
		}
	}
}

var sink int

// plainPass is the baseline: one pass over the same doses reading what
// the model reads of each (its local time of day and weekday, its
// outcome), counting misses per slot.
func plainPass(h *insights.History) int {
	var missed [7][24 * 60]int
	n := 0
	for i := range h.Doses {
		d := &h.Doses[i]
		local := d.Scheduled.In(h.Location)
		if d.Outcome == insights.Missed {
			missed[local.Weekday()][local.Hour()*60+local.Minute()]++
			n++
		}
	}
	return n
}

// BenchmarkTrainYear trains a patient's model from a year of doses (what
// the device would do each night) and, in the same loop, makes the plain
// pass over the same doses: ns/train, ns/pass and their ratio. `make
// bench` runs it; docs/insights.md has the figures, on this machine and on
// ARMv6 under qemu.
func BenchmarkTrainYear(b *testing.B) {
	h, end := yearOfDoses(b)
	var pass, train time.Duration
	for b.Loop() {
		t0 := time.Now()
		sink += plainPass(h)
		t1 := time.Now()
		m := insights.NewLearner(h, insights.DefaultPrior).Train(end)
		t2 := time.Now()
		sink += m.Examples
		pass += t1.Sub(t0)
		train += t2.Sub(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(train.Nanoseconds())/n, "ns/train")
	b.ReportMetric(float64(pass.Nanoseconds())/n, "ns/pass")
	b.ReportMetric(float64(train)/float64(pass), "train/pass")
	b.ReportMetric(float64(len(h.Doses)), "doses")
}

// BenchmarkRiskWeek scores the next week's doses with a trained model.
func BenchmarkRiskWeek(b *testing.B) {
	h, end := yearOfDoses(b)
	l := insights.NewLearner(h, insights.DefaultPrior)
	m := l.Train(end)
	var week []insights.Dose
	for d := range h.Doses[len(h.Doses)-21:] {
		x := h.Doses[len(h.Doses)-21+d]
		x.Scheduled = x.Scheduled.AddDate(0, 0, 7)
		week = append(week, x)
	}
	for b.Loop() {
		sink += len(l.Risks(m, end, week))
	}
}

// BenchmarkWatchYear runs a year of daily weights and twice-daily blood
// pressure through the baselines and detectors.
func BenchmarkWatchYear(b *testing.B) {
	var rs []insights.Reading
	for i := 0; len(rs) < 1000; i++ {
		p := cohort.Generate(cohort.DefaultParams, 1, i)
		if p.Truth.HeartFailure && p.Truth.Hypertension {
			rs = p.Readings
		}
	}
	b.ResetTimer()
	for b.Loop() {
		sink += len(insights.Watch(time.UTC, rs).Warnings())
	}
	b.ReportMetric(float64(len(rs)), "readings")
}
