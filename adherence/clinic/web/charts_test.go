package web

import (
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/hw/vital"
)

// TestChartBands: a chart shades and marks by the patient's alert
// thresholds when they are known, by the default reference range
// otherwise (glucose on the pages by its target range), and its legend
// and description say which, with the unit.
func TestChartBands(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, nyc)
	to := from.AddDate(0, 0, 7)
	at := func(h int) time.Time { return from.Add(time.Duration(h) * time.Hour) }
	reading := func(h int, q vital.Quantity, v float64) vital.Reading {
		return vital.Reading{Quantity: q, Value: v, Unit: q.Unit(), Time: at(h)}
	}
	glucose := []vital.Reading{reading(8, vital.Glucose, 75), reading(20, vital.Glucose, 200), reading(32, vital.Glucose, 260)}
	bp := [][]vital.Reading{
		{reading(8, vital.Systolic, 165), reading(32, vital.Systolic, 120)},
		{reading(8, vital.Diastolic, 105), reading(32, vital.Diastolic, 80)},
	}
	var none *report.VitalThresholds
	custom := &report.VitalThresholds{GlucoseLow: 80, GlucoseHigh: 180, CrisisSystolic: 160, CrisisDiastolic: 100, SpO2Scale: 1}
	tests := []struct {
		name         string
		group        []series
		rs           [][]vital.Reading
		band         bandOf
		legend, desc string
		abnormal     int
	}{
		{"glucose, defaults", chartOf[4], [][]vital.Reading{glucose}, none.Band,
			"Default reference range: 70 to 250 mg/dL", "The shaded band is the default reference range of glucose (70 to 250)", 1},
		{"glucose, the patient's", chartOf[4], [][]vital.Reading{glucose}, custom.Band,
			"Patient's alert thresholds: 80 to 180 mg/dL", "The shaded band is the patient's alert thresholds of glucose (80 to 180)", 3},
		// The pages shade glucose's target range whatever the alert
		// thresholds, as the time-in-range figure counts by it.
		{"glucose on the page", chartOf[4], [][]vital.Reading{glucose}, pageBand(custom.Band),
			"Target range: 70 to 180 mg/dL", "The shaded band is the target range of glucose (70 to 180)", 2},
		{"blood pressure, defaults", chartOf[0], bp, none.Band,
			"Default reference range: systolic 91 to 179, diastolic up to 119 mmHg", "default reference range of systolic (91 to 179)", 0},
		{"blood pressure, the patient's", chartOf[0], bp, custom.Band,
			"Patient's alert thresholds: systolic 91 to 159, diastolic up to 99 mmHg", "patient's alert thresholds of systolic (91 to 159)", 2},
		// The heart rate is never the patient's: the rules have no
		// threshold of its own for it.
		{"heart rate", chartOf[1], [][]vital.Reading{{reading(8, vital.Pulse, 95)}}, custom.Band,
			"Default reference range: 51 to 90 beats/minute", "default reference range of heart rate (51 to 90)", 1},
		{"weight has no band", chartOf[5], [][]vital.Reading{{reading(8, vital.Weight, 80)}}, custom.Band, "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := chart(tc.group, tc.rs, from, to, nyc, tc.band)
			svg := string(c.SVG)
			if tc.legend == "" {
				if strings.Contains(svg, `class="legend"`) || strings.Contains(svg, `class="band"`) {
					t.Errorf("chart SVG has a band or legend, want none: %s", svg)
				}
			} else {
				if want := `class="tick">` + esc(tc.legend) + `</text></g>`; !strings.Contains(svg, want) {
					t.Errorf("chart legend: SVG lacks %q: %s", want, svg)
				}
				if !strings.Contains(svg, esc(tc.desc)) {
					t.Errorf("chart description: SVG lacks %q: %s", tc.desc, svg)
				}
			}
			n := 0
			for _, r := range c.Rows {
				if r.Abnormal {
					n++
				}
			}
			if n != tc.abnormal || strings.Count(svg, `class="abn"`) != tc.abnormal {
				t.Errorf("abnormal rows, red squares = %d, %d; want %d", n, strings.Count(svg, `class="abn"`), tc.abnormal)
			}
		})
	}
}

// TestTrendChart: a point per week with doses for each of the two lines,
// at the week's rates; no chart without a scheduled dose.
func TestTrendChart(t *testing.T) {
	week := func(from report.Day, sched, taken, onTime int) WeekRates {
		st := report.DoseStats{Scheduled: sched, Taken: taken, OnTime: onTime}
		return WeekRates{Period: report.Period{From: from, To: from + 7}, Stats: st, Rates: report.RatesOf(st)}
	}
	const d0 = report.Day(20500)
	tests := []struct {
		name   string
		weeks  []WeekRates
		points int
		titles []string
	}{
		{"no doses", []WeekRates{week(d0, 0, 0, 0)}, 0, nil},
		{"a gap week", []WeekRates{week(d0, 10, 10, 5), week(d0+7, 0, 0, 0), week(d0+14, 4, 2, 1)}, 4,
			[]string{"100% taken, 50% on time (10 doses)", "50% taken, 25% on time (4 doses)"}},
		{"weeks before the first dose left out", []WeekRates{week(d0, 0, 0, 0), week(d0+7, 0, 0, 0), week(d0+14, 4, 4, 4)}, 2,
			[]string{"Adherence week by week, " + (d0 + 14).String() + " to", "week of " + (d0 + 14).String()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svg := string(trendChart(tc.weeks, report.Period{From: d0, To: d0 + report.Day(7*len(tc.weeks))}))
			if tc.points == 0 {
				if svg != "" {
					t.Errorf("trendChart = %.200s, want none", svg)
				}
				return
			}
			if got := strings.Count(svg, "<circle"); got != tc.points {
				t.Errorf("trendChart has %d points, want %d: %s", got, tc.points, svg)
			}
			for _, s := range tc.titles {
				if !strings.Contains(svg, s) {
					t.Errorf("trendChart lacks %q: %s", s, svg)
				}
			}
		})
	}
}
