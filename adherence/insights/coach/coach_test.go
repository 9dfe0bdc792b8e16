package coach

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

var newYork = func() *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return loc
}()

// Four weeks from Monday 2 March 2026: metformin at 8:00 and 20:00, the
// morning one taken about 20 minutes late, the evening one always missed;
// lisinopril at 9:00, taken on time.
var (
	first    = time.Date(2026, 3, 2, 0, 0, 0, 0, newYork)
	regimens = []schedule.Regimen{
		{Medication: "metformin", Cron: "0 8,20 * * *", AdaptiveReminders: true},
		{Medication: "lisinopril", Cron: "0 9 * * *"},
	}
	meds = []dispenser.Medication{
		{ID: "metformin", PillsPerDose: 1, Compartment: 1},
		{ID: "lisinopril", PillsPerDose: 1, Compartment: 2},
	}
)

func doseID(med string, at time.Time) string {
	return med + "@" + at.In(newYork).Format("2006-01-02T15:04")
}

// history writes days of that record into st.
func history(t *testing.T, st *adherence.Store, days int) {
	t.Helper()
	var evs []dispenser.Event
	ev := func(k dispenser.Kind, med string, sched, at time.Time) {
		evs = append(evs, dispenser.Event{Time: at, Kind: k, DoseID: doseID(med, sched), Medication: med, Scheduled: sched})
	}
	take := func(med string, sched time.Time, late time.Duration) {
		ev(dispenser.KindDoseDue, med, sched, sched.Add(-time.Hour))
		ev(dispenser.KindDispenseStarted, med, sched, sched.Add(late))
		ev(dispenser.KindDispensed, med, sched, sched.Add(late))
		ev(dispenser.KindTaken, med, sched, sched.Add(late+time.Minute))
	}
	for d := range days {
		day := first.AddDate(0, 0, d)
		take("metformin", day.Add(8*time.Hour), time.Duration(18+d%5)*time.Minute)
		take("lisinopril", day.Add(9*time.Hour), time.Duration(d%3)*time.Minute)
		eve := day.Add(20 * time.Hour)
		ev(dispenser.KindDoseDue, "metformin", eve, eve.Add(-time.Hour))
		ev(dispenser.KindMissed, "metformin", eve, eve.Add(time.Hour))
	}
	if _, err := st.Append(t.Context(), evs...); err != nil {
		t.Fatal(err)
	}
}

type rig struct {
	clock *schedule.SimClock
	store *adherence.Store
	coach *Coach
}

func newRig(t *testing.T, cfg Config, contacts []notify.Contact) *rig {
	t.Helper()
	st, err := adherence.OpenMemory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	history(t, st, 28)
	plan, err := schedule.NewPlan(regimens, newYork)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{clock: schedule.NewSimClock(first.AddDate(0, 0, 28).Add(5 * time.Hour)), store: st}
	r.coach = New(Options{Config: cfg, Clock: r.clock, Store: st, Plan: plan, Contacts: contacts,
		Setup:   report.Setup{Location: newYork, Medications: meds, Regimens: regimens},
		Patient: dispenser.Patient{FirstName: "Margaret"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := r.coach.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.coach.Stop)
	return r
}

func (r *rig) dose(med string, h int) dispenser.Dose {
	at := first.AddDate(0, 0, 28).Add(time.Duration(h) * time.Hour)
	return dispenser.Dose{ID: doseID(med, at), Medication: med, Scheduled: at, Opens: at.Add(-time.Hour), Closes: at.Add(time.Hour)}
}

func (r *rig) kinds(t *testing.T, k dispenser.Kind) []dispenser.Event {
	t.Helper()
	evs, _, err := ReadLog(context.Background(), r.store)
	if err != nil {
		t.Fatal(err)
	}
	var out []dispenser.Event
	for _, ev := range evs {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}

// The first chime of an adaptive regimen's dose moves toward the habit,
// capped by the escalation's first step (the second device reminder at
// 15 min); a regimen without adaptive_reminders keeps its time.
func TestCoachFirstChime(t *testing.T) {
	r := newRig(t, Config{}, nil)
	at, reason, ok := r.coach.FirstChime(r.dose("metformin", 8))
	if want := r.dose("metformin", 8).Scheduled.Add(15 * time.Minute); !ok || !at.Equal(want) || reason != "capped" {
		t.Errorf("FirstChime(metformin 8:00) = %v %q %v, want %v capped", at.In(newYork), reason, ok, want.In(newYork))
	}
	if at, _, ok := r.coach.FirstChime(r.dose("lisinopril", 9)); ok {
		t.Errorf("FirstChime(lisinopril, not adaptive) = %v, want none", at)
	}
}

// The evening dose, always missed, gets a heads-up prompt 30 minutes
// before its chime; with a caregiver opted in, the coach asks once for a
// text when it falls due, and not again.
func TestCoachHeadsUp(t *testing.T) {
	ana := []notify.Contact{{Name: "Ana", Phone: "+15555550101", Role: notify.RoleCaregiver, HeadsUp: true}}
	r := newRig(t, Config{}, ana)
	eve := r.dose("metformin", 20)
	h, ok := r.coach.HeadsUp(eve.ID)
	if want := eve.Scheduled.Add(-30 * time.Minute); !ok || !h.At.Equal(want) || !slices.Equal(h.Lines, []string{"Pills soon", "8:00 PM"}) {
		t.Fatalf("HeadsUp(evening) = %+v %v, want at %v with Pills soon, 8:00 PM", h, ok, want.In(newYork))
	}
	if _, ok := r.coach.HeadsUp(r.dose("lisinopril", 9).ID); ok {
		t.Errorf("a heads-up was planned for a dose always taken on time")
	}
	r.clock.Advance(h.At.Sub(r.clock.Now()) - time.Minute)
	if n := len(r.kinds(t, notify.KindHeadsUp)); n != 0 {
		t.Fatalf("heads_up events before their time = %d, want 0", n)
	}
	r.clock.Advance(2 * time.Minute)
	got := r.kinds(t, notify.KindHeadsUp)
	if len(got) != 1 {
		t.Fatalf("heads_up events at their time = %d, want 1", len(got))
	}
	if dose, _, _, err := notify.ParseHeadsUpDetail(got[0].Detail); err != nil || dose != eve.ID {
		t.Errorf("heads_up detail = %q (%v), want about %s", got[0].Detail, err, eve.ID)
	}
	r.clock.Advance(8 * time.Hour)
	if n := len(r.kinds(t, notify.KindHeadsUp)); n != 1 {
		t.Errorf("heads_up events hours later = %d, want still 1", n)
	}
}

// Heads-ups off: no prompt, no text.
func TestCoachHeadsUpsOff(t *testing.T) {
	off := false
	r := newRig(t, Config{HeadsUps: &off}, nil)
	if h, ok := r.coach.HeadsUp(r.dose("metformin", 20).ID); ok {
		t.Errorf("HeadsUp with heads_ups: false = %+v, want none", h)
	}
}

// A change to the log makes the coach learn again, but at most once an
// hour, on its clock.
func TestCoachRetrainsAtMostHourly(t *testing.T) {
	r := newRig(t, Config{}, nil)
	trained := func() time.Time {
		r.coach.mu.Lock()
		defer r.coach.mu.Unlock()
		return r.coach.trained
	}
	start := trained()
	r.clock.Advance(10 * time.Minute)
	r.coach.OnCommit([]dispenser.Event{{Kind: dispenser.KindDoseDue, DoseID: "x"}})
	r.clock.Advance(40 * time.Minute)
	if got := trained(); !got.Equal(start) {
		t.Errorf("learned again %v after the last, want not before an hour", got.Sub(start))
	}
	r.clock.Advance(10 * time.Minute)
	if got := trained(); !got.Equal(start.Add(RetrainEvery)) {
		t.Errorf("learned at +%v, want +%v", got.Sub(start), RetrainEvery)
	}
	// Nothing changed since: the next learning is the periodic one.
	r.clock.Advance(2 * time.Hour)
	if got := trained(); !got.Equal(start.Add(RetrainEvery)) {
		t.Errorf("learned at +%v with no change, want still +%v", got.Sub(start), RetrainEvery)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string // paths
	}{
		{"empty", Config{}, nil},
		{"set", Config{HeadsUpRisk: 0.6, HeadsUpLead: time.Hour}, nil},
		{"risk too low", Config{HeadsUpRisk: 0.01}, []string{"heads_up_risk"}},
		{"risk over 1", Config{HeadsUpRisk: 1.5}, []string{"heads_up_risk"}},
		{"lead too short", Config{HeadsUpLead: time.Minute}, []string{"heads_up_lead"}},
		{"lead too long", Config{HeadsUpLead: 4 * time.Hour}, []string{"heads_up_lead"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, p := range tc.cfg.Validate() {
				got = append(got, p.Path)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Validate() paths = %v, want %v", got, tc.want)
			}
		})
	}
}
