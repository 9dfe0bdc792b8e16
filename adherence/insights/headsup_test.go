package insights_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
)

var night = insights.QuietHours{From: 22 * 60, To: 7 * 60}

func TestQuietHours(t *testing.T) {
	for _, c := range []struct {
		q    insights.QuietHours
		at   string
		want bool
	}{
		{night, "21:59", false}, {night, "22:00", true}, {night, "03:00", true}, {night, "06:59", true}, {night, "07:00", false},
		{insights.QuietHours{From: 13 * 60, To: 14 * 60}, "13:30", true}, {insights.QuietHours{From: 13 * 60, To: 14 * 60}, "14:00", false},
		{insights.QuietHours{}, "03:00", false},
	} {
		tm, _ := time.ParseInLocation("15:04", c.at, ny)
		if got := c.q.In(tm); got != c.want {
			t.Errorf("%+v.In(%s) = %v, want %v", c.q, c.at, got, c.want)
		}
	}
}

func input(id string, p float64, due time.Time) insights.HeadsUpInput {
	return insights.HeadsUpInput{Risk: insights.Risk{DoseID: id, Scheduled: due.UTC(), Probability: p,
		Reasons: []insights.Reason{{ID: insights.ReasonSlotWeek, Text: "missed 3 of the last 4 Saturday evening doses"}}}, FirstChime: due.UTC()}
}

func TestPlanHeadsUps(t *testing.T) {
	sat := func(h, m int) time.Time { return time.Date(2025, 3, 8, h, m, 0, 0, ny) }
	sun := func(h, m int) time.Time { return time.Date(2025, 3, 9, h, m, 0, 0, ny) }
	pol := insights.HeadsUpPolicy{Threshold: 0.5, Lead: 30 * time.Minute, Quiet: night, Location: ny, Text: true}
	in := []insights.HeadsUpInput{
		input("low", 0.2, sat(8, 0)),
		input("sat-am", 0.6, sat(7, 10)), // its prompt would be at 06:40: moved to 07:00
		input("sat-pm", 0.8, sat(20, 0)), // the day's riskiest: the text
		input("sun-am", 0.7, sun(7, 0)),  // quiet until 07:00, due at 07:00: no prompt, no text
		input("sun-pm", 0.55, sun(20, 0)),
	}
	got := insights.PlanHeadsUps(in, pol, map[string]bool{})
	want := map[string][2]string{ // prompt, text (local times, "" for none)
		"sat-am": {"07:00", ""},
		"sat-pm": {"19:30", "19:30"},
		"sun-am": {"", ""},
		"sun-pm": {"19:30", "19:30"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d heads-ups, want %d: %+v", len(got), len(want), got)
	}
	hm := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(ny).Format("15:04")
	}
	for _, h := range got {
		w, ok := want[h.DoseID]
		if !ok {
			t.Errorf("heads-up for %s, which is under the threshold", h.DoseID)
			continue
		}
		if hm(h.PromptAt) != w[0] || hm(h.TextAt) != w[1] {
			t.Errorf("%s: prompt %q text %q, want %q and %q", h.DoseID, hm(h.PromptAt), hm(h.TextAt), w[0], w[1])
		}
	}
	// Already texted on Saturday: Saturday gets none.
	for _, h := range insights.PlanHeadsUps(in, pol, map[string]bool{"2025-03-08": true}) {
		if h.DoseID == "sat-pm" && !h.TextAt.IsZero() {
			t.Errorf("texted Saturday again at %v", h.TextAt)
		}
	}
	// Not opted in: prompts, no texts.
	pol.Text = false
	for _, h := range insights.PlanHeadsUps(in, pol, nil) {
		if !h.TextAt.IsZero() {
			t.Errorf("%s: a text at %v without opt-in", h.DoseID, h.TextAt)
		}
	}
}

// TestHeadsUpSafety: over random plans, at most one text a local day,
// never a prompt or text in quiet hours, a prompt always before the first
// chime, a text always before the dose, only doses over the threshold.
func TestHeadsUpSafety(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 2000 {
		pol := insights.HeadsUpPolicy{Threshold: rng.Float64(), Lead: time.Duration(rng.IntN(120)) * time.Minute,
			Quiet: insights.QuietHours{From: rng.IntN(24 * 60), To: rng.IntN(24 * 60)}, Location: ny, Text: true}
		var in []insights.HeadsUpInput
		base := time.Date(2025, 3, 1, 0, 0, 0, 0, ny)
		for k := range 20 {
			due := base.Add(time.Duration(rng.IntN(10*24*60)) * time.Minute)
			d := input(fmt.Sprint(k), rng.Float64(), due)
			d.FirstChime = due.Add(time.Duration(rng.IntN(40)-20) * time.Minute).UTC()
			in = append(in, d)
		}
		texts := map[string]int{}
		for _, h := range insights.PlanHeadsUps(in, pol, nil) {
			if h.Probability < pol.Threshold {
				t.Fatalf("plan %d: heads-up for risk %.2f under threshold %.2f", i, h.Probability, pol.Threshold)
			}
			var chime time.Time
			for _, d := range in {
				if d.Risk.DoseID == h.DoseID {
					chime = d.FirstChime
				}
			}
			if !h.PromptAt.IsZero() && (pol.Quiet.In(h.PromptAt.In(ny)) || !h.PromptAt.Before(chime)) {
				t.Fatalf("plan %d: prompt at %v (quiet %+v, first chime %v)", i, h.PromptAt.In(ny), pol.Quiet, chime.In(ny))
			}
			if !h.TextAt.IsZero() {
				if pol.Quiet.In(h.TextAt.In(ny)) || !h.TextAt.Before(h.Scheduled) {
					t.Fatalf("plan %d: text at %v (quiet %+v, dose %v)", i, h.TextAt.In(ny), pol.Quiet, h.Scheduled.In(ny))
				}
				texts[h.Scheduled.In(ny).Format(time.DateOnly)]++
			}
		}
		for day, n := range texts {
			if n > 1 {
				t.Fatalf("plan %d: %d texts on %s", i, n, day)
			}
		}
	}
}

func TestHeadsUpText(t *testing.T) {
	h := insights.HeadsUp{Scheduled: time.Date(2025, 3, 8, 20, 0, 0, 0, ny).UTC(),
		Reasons: []insights.Reason{{Text: "missed 3 of the last 4 Saturday evening doses"}}}
	for _, c := range []struct {
		h24  bool
		want string
	}{
		{false, "Heads-up: Margaret often misses the Saturday 8:00 PM dose (missed 3 of the last 4 Saturday evening doses)."},
		{true, "Heads-up: Margaret often misses the Saturday 20:00 dose (missed 3 of the last 4 Saturday evening doses)."},
	} {
		if got := insights.HeadsUpText("Margaret", h, ny, c.h24); got != c.want {
			t.Errorf("HeadsUpText(24h %v) = %q, want %q", c.h24, got, c.want)
		}
	}
}
