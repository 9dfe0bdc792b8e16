package cohort

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
)

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := Generate(DefaultParams, 7, 3), Generate(DefaultParams, 7, 3)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("Generate(seed 7, patient 3) twice gave two patients")
	}
	if c := Generate(DefaultParams, 8, 3); reflect.DeepEqual(a.Doses, c.Doses) {
		t.Error("seeds 7 and 8 gave patient 3 the same doses")
	}
	if c := Generate(DefaultParams, 7, 4); reflect.DeepEqual(a.Doses, c.Doses) {
		t.Error("patients 3 and 4 of seed 7 have the same doses")
	}
}

// TestCalibration holds the generator to the figures of its sources
// (params.go), counted as electronic monitoring would see them: a cap
// travels with the patient and has no power to lose, so travel, hospital
// and power-cut doses are left out. The bands are those docs/insights.md
// reports against: once-daily doses missed between Vrijens' 10% (patients
// still engaged) and Claxton's 21% (all), more missed twice a day, about
// 42% of once-daily omissions single days and 43% in runs of 3 days or
// more, and about half the patients with a drug holiday in a year.
func TestCalibration(t *testing.T) {
	const n = 400
	unseen := map[string]bool{"travel": true, "hospital": true, "power": true}
	type tally struct{ missed, counted int }
	byPerDay := map[int]*tally{1: {}, 2: {}, 3: {}}
	single, runs3, omitted, withHoliday := 0, 0, 0, 0
	for i := range n {
		p := Generate(DefaultParams, 1, i)
		k := len(p.Regimens[0].Times)
		type day struct{ taken, missed, unseen bool }
		var days []day
		var last time.Time
		for _, d := range p.Doses {
			if d.Medication != "m1" {
				continue
			}
			y, m, dd := d.Scheduled.In(p.Location).Date()
			if date := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC); !date.Equal(last) {
				days, last = append(days, day{}), date
			}
			cur := &days[len(days)-1]
			if unseen[d.Cause] || d.Outcome == insights.Skipped {
				cur.unseen = true
				continue
			}
			byPerDay[k].counted++
			if d.Outcome == insights.Taken {
				cur.taken = true
			} else {
				cur.missed = true
				byPerDay[k].missed++
			}
		}
		run, holiday := 0, false
		for j := 0; j <= len(days); j++ {
			if j < len(days) && days[j].missed && !days[j].taken && !days[j].unseen {
				run++
				continue
			}
			if k == 1 && run > 0 {
				omitted += run
				if run == 1 {
					single++
				}
				if run >= 3 {
					runs3 += run
				}
			}
			holiday = holiday || run >= 3
			run = 0
		}
		if holiday {
			withHoliday++
		}
	}
	rate := func(k int) float64 { return float64(byPerDay[k].missed) / float64(byPerDay[k].counted) }
	for _, c := range []struct {
		name     string
		got      float64
		lo, high float64
	}{
		{"once-daily doses missed", rate(1), 0.10, 0.21},
		{"twice-daily doses missed", rate(2), rate(1), 0.31},
		{"once-daily omissions that are single days", float64(single) / float64(omitted), 0.35, 0.60},
		{"once-daily omissions in runs of 3+ days", float64(runs3) / float64(omitted), 0.25, 0.50},
		{"patients with a 3-day holiday", float64(withHoliday) / n, 0.40, 0.75},
	} {
		if c.got < c.lo || c.got > c.high {
			t.Errorf("%s = %.3f, want %.2f to %.2f", c.name, c.got, c.lo, c.high)
		} else {
			t.Logf("%s = %.3f", c.name, c.got)
		}
	}
}

func TestDosesAreConsistent(t *testing.T) {
	for i := range 30 {
		p := Generate(DefaultParams, 2, i)
		if len(p.Doses) < p.Days {
			t.Fatalf("patient %d: %d doses in %d days", i, len(p.Doses), p.Days)
		}
		for _, d := range p.Doses {
			switch {
			case !d.Opens.Before(d.Scheduled) || !d.Scheduled.Before(d.Closes):
				t.Fatalf("patient %d dose %s: window %v-%v around %v", i, d.ID, d.Opens, d.Closes, d.Scheduled)
			case d.Outcome == insights.Taken && (d.TakenAt.Before(d.Opens) || !d.TakenAt.Before(d.Closes) || !d.Settled.Equal(d.TakenAt)):
				t.Fatalf("patient %d dose %s: taken at %v, settled %v, outside its window %v-%v", i, d.ID, d.TakenAt, d.Settled, d.Opens, d.Closes)
			case d.Outcome == insights.Missed && d.Settled.Before(d.Closes) && d.Cause != "power":
				t.Fatalf("patient %d dose %s: missed (%s) but settled %v before its window closed %v", i, d.ID, d.Cause, d.Settled, d.Closes)
			case d.P < 0 || d.P > 1:
				t.Fatalf("patient %d dose %s: p = %v", i, d.ID, d.P)
			}
		}
		for _, r := range p.Readings {
			if want := map[insights.Quantity]string{insights.Weight: "kg", insights.Systolic: "mm[Hg]", insights.Diastolic: "mm[Hg]",
				insights.Pulse: "/min", insights.Glucose: "mg/dL"}[r.Quantity]; r.Unit != want {
				t.Fatalf("patient %d: %s reading in %q, want %q", i, r.Quantity, r.Unit, want)
			}
		}
	}
}

// TestDecompensationWeightRise checks the labelled events are in the
// weights: the mean of the three readings before admission is above the
// mean of the week before the rise began, by about the labelled gain.
func TestDecompensationWeightRise(t *testing.T) {
	// Every patient in heart failure, decompensating often: this test is
	// about the shape of each event, not how often they come.
	params := DefaultParams
	params.HFShare, params.DecompRate = 1, 3
	var events, rose int
	var sumGain, sumSize float64
	for i := 0; events < 40 && i < 200; i++ {
		p := Generate(params, 3, i)
		for _, l := range p.Labels {
			if l.Kind != LabelDecompensation || l.Size < 1 {
				continue
			}
			before := meanOf(p.Readings, insights.Weight, l.Onset.Add(-7*24*time.Hour), l.Onset)
			last := meanOf(p.Readings, insights.Weight, l.At.Add(-3*24*time.Hour), l.At)
			if math.IsNaN(before) || math.IsNaN(last) {
				continue
			}
			events++
			sumGain += last - before
			sumSize += l.Size
			if last > before {
				rose++
			}
		}
	}
	if events < 40 {
		t.Fatalf("found %d decompensations with weights around them in 200 patients", events)
	}
	if rose < events*8/10 {
		t.Errorf("weight rose before %d of %d decompensations, want 80%% or more", rose, events)
	}
	if ratio := sumGain / sumSize; ratio < 0.5 || ratio > 1.3 {
		t.Errorf("mean gain before admission / labelled gain = %.2f, want 0.5 to 1.3", ratio)
	}
}

func meanOf(rs []insights.Reading, q insights.Quantity, from, to time.Time) float64 {
	sum, n := 0.0, 0
	for _, r := range rs {
		if r.Quantity == q && !r.Time.Before(from) && r.Time.Before(to) {
			sum += r.Value
			n++
		}
	}
	return sum / float64(n)
}

func TestValidate(t *testing.T) {
	if err := DefaultParams.Validate(); err != nil {
		t.Fatalf("DefaultParams: %v", err)
	}
	for name, mod := range map[string]func(*Params){
		"no days":          func(p *Params) { p.Days = 0 },
		"holiday range":    func(p *Params) { p.HolidayMaxDays = p.HolidayMinDays - 1 },
		"skip range":       func(p *Params) { p.SkipMax = p.SkipMin - 0.1 },
		"no supply":        func(p *Params) { p.SupplyDays = 0 },
		"no decomp length": func(p *Params) { p.DecompMinDays = 0 },
	} {
		p := DefaultParams
		mod(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: Validate() = nil, want an error", name)
		}
	}
}
