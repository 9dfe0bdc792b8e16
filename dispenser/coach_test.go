package dispenser_test

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/schedule"
)

// fakeCoach answers from its fields.
type fakeCoach struct {
	chime   time.Time
	reason  string
	headsUp map[string]dispenser.HeadsUp
	asked   []string
}

func (f *fakeCoach) FirstChime(d dispenser.Dose) (time.Time, string, bool) {
	f.asked = append(f.asked, d.ID)
	return f.chime, f.reason, !f.chime.IsZero()
}

func (f *fakeCoach) HeadsUp(id string) (dispenser.HeadsUp, bool) {
	h, ok := f.headsUp[id]
	return h, ok
}

var _ dispenser.Coach = (*fakeCoach)(nil)

const (
	shifted = dispenser.KindChimeShifted
	prompt  = dispenser.KindHeadsUpPrompt
)

// A learned first chime moves the first reminder and nothing else: the
// window, the second reminder and the dose keep their times, and a restart
// keeps the move.
func TestLearnedFirstChime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		coach := &fakeCoach{chime: local(2026, 3, 2, 7, 40), reason: "earlier"}
		r := newRigConfig(t, local(2026, 3, 2, 5, 0), func(c *dispenser.Config) { c.Coach = coach },
			[]schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		defer r.stop()
		id := "metformin@2026-03-02T08:00"

		r.advanceTo(local(2026, 3, 2, 6, 0))
		r.wantKinds(id, due, shifted)
		evs := r.log.Events()
		if got, want := evs[len(evs)-1].Detail, "at=2026-03-02T12:40:00Z shift=-20m0s reason=earlier"; got != want {
			t.Errorf("chime_shifted detail = %q, want %q", got, want)
		}

		r.advanceTo(local(2026, 3, 2, 7, 39))
		r.wantKinds(id, due, shifted)
		r.stop()
		r.start() // the move is in the log: a restart keeps it
		r.advanceTo(local(2026, 3, 2, 7, 40))
		r.wantKinds(id, due, shifted, reminder)
		r.wantDisplay("Time for pills", "Press the button")
		if got := r.board.Board.Buzzer.Mode(); got != hw.Blink {
			t.Errorf("buzzer at the learned chime = %v, want %v", got, hw.Blink)
		}
		// The second reminder keeps its time after the scheduled one.
		r.advanceTo(local(2026, 3, 2, 8, 14))
		r.wantKinds(id, due, shifted, reminder)
		r.advanceTo(local(2026, 3, 2, 8, 15))
		r.wantKinds(id, due, shifted, reminder, reminder)
		// And the window closes when it did.
		r.advanceTo(local(2026, 3, 2, 9, 59))
		r.wantKinds(id, due, shifted, reminder, reminder)
		r.advanceTo(local(2026, 3, 2, 10, 0))
		r.wantKinds(id, due, shifted, reminder, reminder, missed)
	})
}

// Whatever the coach says, the first chime stays in the window and no
// later than the second reminder; outside the limits it is ignored.
func TestFirstChimeLimits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chime time.Time
		want  []dispenser.Kind // by 8:00
	}{
		{"before the window opens", local(2026, 3, 2, 5, 59), []dispenser.Kind{due, reminder}},
		{"at the window's opening", local(2026, 3, 2, 6, 0), []dispenser.Kind{due, shifted, reminder}},
		{"at the second reminder", local(2026, 3, 2, 8, 15), []dispenser.Kind{due, shifted}},
		{"after the second reminder", local(2026, 3, 2, 8, 16), []dispenser.Kind{due, reminder}},
		{"the usual time", local(2026, 3, 2, 8, 0), []dispenser.Kind{due, reminder}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				coach := &fakeCoach{chime: tc.chime, reason: "later"}
				r := newRigConfig(t, local(2026, 3, 2, 5, 0), func(c *dispenser.Config) { c.Coach = coach },
					[]schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
				defer r.stop()
				r.advanceTo(local(2026, 3, 2, 8, 0))
				r.wantKinds("metformin@2026-03-02T08:00", tc.want...)
			})
		})
	}
}

func TestChimeAllowed(t *testing.T) {
	d := dispenser.Dose{Scheduled: local(2026, 3, 2, 8, 0), Opens: local(2026, 3, 2, 7, 0), Closes: local(2026, 3, 2, 8, 10)}
	for _, tc := range []struct {
		name      string
		reminders []time.Duration
		at        time.Time
		want      bool
	}{
		{"no reminders", nil, local(2026, 3, 2, 8, 0), false},
		{"one reminder: up to it", []time.Duration{0}, local(2026, 3, 2, 8, 0), true},
		{"one reminder: after it", []time.Duration{0}, local(2026, 3, 2, 8, 1), false},
		{"window closes before the second reminder", []time.Duration{0, 15 * time.Minute}, local(2026, 3, 2, 8, 10), false},
		{"just before the window closes", []time.Duration{0, 15 * time.Minute}, local(2026, 3, 2, 8, 9), true},
		{"window opening", []time.Duration{0, 15 * time.Minute}, local(2026, 3, 2, 7, 0), true},
		{"before the opening", []time.Duration{0, 15 * time.Minute}, local(2026, 3, 2, 6, 59), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := dispenser.ChimeAllowed(d, tc.reminders, tc.at); got != tc.want {
				t.Errorf("ChimeAllowed(%v) = %v, want %v", tc.at.Format("15:04"), got, tc.want)
			}
		})
	}
}

// A heads-up prompt chimes and shows its lines before the dose, once
// (a restart does not repeat it), and creates no dose: the window opens
// when it would have.
func TestHeadsUpPrompt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		id := "metformin@2026-03-02T20:00"
		coach := &fakeCoach{headsUp: map[string]dispenser.HeadsUp{
			id: {At: local(2026, 3, 2, 18, 30), Lines: []string{"Pills soon", "8:00 PM"}},
		}}
		r := newRigConfig(t, local(2026, 3, 2, 17, 0), func(c *dispenser.Config) { c.Coach = coach },
			[]schedule.Regimen{daily("metformin", "0 8,20 * * *")}, metformin)
		defer r.stop()
		r.advanceTo(local(2026, 3, 2, 18, 29))
		if n := r.log.Count(prompt); n != 0 {
			t.Fatalf("heads_up_prompt events before their time = %d, want 0", n)
		}
		r.advanceTo(local(2026, 3, 2, 18, 30))
		if n := r.log.Count(prompt); n != 1 {
			t.Fatalf("heads_up_prompt events = %d, want 1", n)
		}
		evs := r.log.Events()
		if ev := evs[len(evs)-1]; ev.DoseID != "" || ev.Detail != "dose="+id {
			t.Errorf("heads_up_prompt = dose %q detail %q, want no dose and detail dose=%s", ev.DoseID, ev.Detail, id)
		}
		r.wantKinds(id) // no dose yet
		r.wantDisplay("Pills soon", "8:00 PM")
		if got := r.board.Board.Buzzer.Mode(); got != hw.Blink {
			t.Errorf("buzzer at the heads-up = %v, want %v", got, hw.Blink)
		}
		r.advance(2 * time.Minute)
		if got := r.board.Board.Buzzer.Mode(); got != hw.Off {
			t.Errorf("buzzer after the heads-up's chime = %v, want %v", got, hw.Off)
		}
		r.stop()
		r.start()
		r.advanceTo(local(2026, 3, 2, 19, 0))
		if n := r.log.Count(prompt); n != 1 {
			t.Errorf("heads_up_prompt events after a restart = %d, want still 1", n)
		}
		r.advanceTo(local(2026, 3, 2, 20, 0))
		r.wantKinds(id, due, reminder)
		if !slices.Contains(coach.asked, id) {
			t.Errorf("the coach was not asked for the first chime of %s", id)
		}
	})
}

// A heads-up due while the device was off is not given hours late.
func TestHeadsUpStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		id := "metformin@2026-03-02T20:00"
		coach := &fakeCoach{headsUp: map[string]dispenser.HeadsUp{id: {At: local(2026, 3, 2, 18, 30)}}}
		r := newRigConfig(t, local(2026, 3, 2, 19, 0), func(c *dispenser.Config) { c.Coach = coach },
			[]schedule.Regimen{daily("metformin", "0 8,20 * * *")}, metformin)
		defer r.stop()
		r.advance(time.Minute)
		for _, k := range r.log.Kinds("") {
			if strings.HasPrefix(string(k), "heads_up") {
				t.Errorf("a heads-up 30 min late was given: %v", r.log.Kinds(""))
			}
		}
	})
}
