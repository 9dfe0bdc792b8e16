package insights_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
)

var due = time.Date(2025, 3, 3, 20, 0, 0, 0, time.UTC)

func delays(mins ...int) []time.Duration {
	out := make([]time.Duration, len(mins))
	for i, m := range mins {
		out[i] = time.Duration(m) * time.Minute
	}
	return out
}

func TestPlanReminder(t *testing.T) {
	window := func(early, late int) (time.Time, time.Time) {
		return due.Add(-time.Duration(early) * time.Minute), due.Add(time.Duration(late) * time.Minute)
	}
	for _, c := range []struct {
		name        string
		early, late int
		step        time.Duration
		delays      []time.Duration
		wantShift   time.Duration
		wantReason  insights.ReminderReason
		wantText    string
		wantTakings int
	}{
		{"too few takings", 60, 60, 20 * time.Minute, delays(30, 31, 29, 30), 0, insights.ReminderNoHabit,
			"at the scheduled time: 4 doses taken in 4 weeks, 5 needed to learn a habit", 4},
		{"scattered", 60, 60, 20 * time.Minute, delays(-50, 50, -40, 40, 0, 55, -55), 0, insights.ReminderNoHabit,
			"at the scheduled time: takings too scattered (±74 min) to call a habit", 7},
		{"on time", 60, 60, 20 * time.Minute, delays(2, 3, 1, 4, 2), 0, insights.ReminderOnTime,
			"at the scheduled time: usually taken 2 min after the time", 5},
		{"later habit", 60, 60, 20 * time.Minute, delays(12, 14, 15, 16, 18), 15 * time.Minute, insights.ReminderLater,
			"moved 15 min later: usually taken 15 min after the time (median of 5 takings)", 5},
		{"capped at the first step", 60, 60, 20 * time.Minute, delays(38, 40, 42, 41, 39), 20 * time.Minute, insights.ReminderCapped,
			"moved 20 min later, the latest before the escalation's first step: usually taken 40 min after the time", 5},
		{"capped by the window", 60, 10, 45 * time.Minute, delays(38, 40, 42, 41, 39), 9 * time.Minute, insights.ReminderCapped,
			"moved 9 min later, the latest before the escalation's first step: usually taken 40 min after the time", 5},
		{"earlier habit", 60, 60, 20 * time.Minute, delays(-25, -20, -22, -24, -23), -23 * time.Minute, insights.ReminderEarlier,
			"moved 23 min earlier: usually taken 23 min before (median of 5 takings)", 5},
		{"before the window", 30, 60, 20 * time.Minute, delays(-50, -45, -48, -47, -46), -30 * time.Minute, insights.ReminderAtOpen,
			"moved 30 min earlier, to when the window opens: usually taken 47 min before", 5},
		{"no room: no escalation delay allowed", 60, 60, 0, delays(30, 31, 29, 30, 32), 0, insights.ReminderNoRoom,
			"at the scheduled time: usually taken 30 min after the time, but the window and the escalation leave no room to move", 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			opens, closes := window(c.early, c.late)
			r := insights.PlanReminder(insights.ReminderInput{Scheduled: due, Opens: opens, Closes: closes, FirstStep: c.step, Delays: c.delays})
			if r.Shift != c.wantShift || !r.At.Equal(due.Add(c.wantShift)) || r.Reason != c.wantReason || r.Takings != c.wantTakings {
				t.Errorf("PlanReminder = shift %v at %v (%s, %d takings), want %v (%s, %d)", r.Shift, r.At, r.Reason, r.Takings,
					c.wantShift, c.wantReason, c.wantTakings)
			}
			if r.Text != c.wantText {
				t.Errorf("text = %q, want %q", r.Text, c.wantText)
			}
		})
	}
}

func TestPlanReminderInvalidWindow(t *testing.T) {
	for name, in := range map[string]insights.ReminderInput{
		"opens after":  {Scheduled: due, Opens: due.Add(time.Minute), Closes: due.Add(time.Hour)},
		"closes at it": {Scheduled: due, Opens: due.Add(-time.Hour), Closes: due},
	} {
		in.FirstStep, in.Delays = 20*time.Minute, delays(30, 30, 30, 30, 30)
		if r := insights.PlanReminder(in); r.Reason != insights.ReminderInvalid || !r.At.Equal(due) {
			t.Errorf("%s: PlanReminder = %v (%s), want the scheduled time (invalid)", name, r.At, r.Reason)
		}
	}
}

// TestReminderSafety: whatever the takings, the first chime stays in the
// window, never after the escalation's first step (so no escalation is
// delayed), and nothing in the answer could widen the window.
func TestReminderSafety(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 20000 {
		early := time.Duration(rng.IntN(180)) * time.Minute
		late := time.Duration(1+rng.IntN(240)) * time.Minute
		step := time.Duration(rng.IntN(120)-10) * time.Minute
		in := insights.ReminderInput{Scheduled: due, Opens: due.Add(-early), Closes: due.Add(late), FirstStep: step}
		for range rng.IntN(30) {
			in.Delays = append(in.Delays, time.Duration(rng.NormFloat64()*float64(90*time.Minute)+float64(rng.IntN(120)-60)*float64(time.Minute)))
		}
		r := insights.PlanReminder(in)
		latest := due.Add(max(step, 0))
		switch {
		case r.At.Before(in.Opens) || !r.At.Before(in.Closes):
			t.Fatalf("case %d: first chime %v outside the window [%v, %v)", i, r.At, in.Opens, in.Closes)
		case r.At.After(latest):
			t.Fatalf("case %d: first chime %v after the first step %v", i, r.At, latest)
		case r.At.Sub(due) != r.Shift:
			t.Fatalf("case %d: shift %v does not match %v", i, r.Shift, r.At)
		case r.Shift != 0 && r.Shift.Abs() < insights.MinShift:
			t.Fatalf("case %d: a move of %v, under the minimum %v", i, r.Shift, insights.MinShift)
		}
	}
}

func TestLearnerReminderUsesTheSlotsTakings(t *testing.T) {
	start := time.Date(2025, 5, 5, 0, 0, 0, 0, ny)
	h := record{start: start, days: 28, times: []int{8 * 60, 20 * 60}, late: 25 * time.Minute, outcome: allTaken}.history()
	l := insights.NewLearner(h, insights.DefaultPrior)
	now := start.AddDate(0, 0, 28)
	at := time.Date(2025, 6, 2, 20, 0, 0, 0, ny)
	d := insights.Dose{Scheduled: at.UTC(), Opens: at.Add(-time.Hour).UTC(), Closes: at.Add(time.Hour).UTC()}
	r := l.Reminder(now, d, 20*time.Minute)
	if r.Takings != 28 || r.Habit != 25*time.Minute || r.Shift != 20*time.Minute {
		t.Errorf("Reminder = %d takings, habit %v, shift %v; want 28, 25m, 20m (capped at the first step)", r.Takings, r.Habit, r.Shift)
	}
}
