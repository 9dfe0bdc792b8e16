package fromlog

import (
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
	"github.com/pillbox/pillbox/adherence/insights/cohort"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

var ny, _ = time.LoadLocation("America/New_York")

// TestHistoryFromTheLog writes generated patients as a dispenser logs
// them and reads the log back: every dose, outcome, taking and settling
// time, refill and clock jump comes back as the generator made it.
func TestHistoryFromTheLog(t *testing.T) {
	regs := []schedule.Regimen{{Medication: "metformin", Cron: "0 8,20 * * *"}, {Medication: "lisinopril", Cron: "0 9 * * *"}}
	plan, err := schedule.NewPlan(regs, ny)
	if err != nil {
		t.Fatal(err)
	}
	setup := report.Setup{Location: ny, Regimens: regs}
	for i := range 5 {
		p := cohort.GenerateFor(cohort.DefaultParams, 9, i, cohort.Schedule{Location: ny, Start: time.Date(2025, 1, 1, 0, 0, 0, 0, ny), Days: 120,
			Doses: func(from, to time.Time) []insights.Dose { return Upcoming(plan, from, to) }})
		evs, _ := p.DeviceLog(map[string]int{"metformin": 1, "lisinopril": 2})
		got, want := History(evs, setup), p.History()
		if len(got.Doses) != len(want.Doses) {
			t.Fatalf("patient %d: %d doses read back, %d generated", i, len(got.Doses), len(want.Doses))
		}
		for j, g := range got.Doses {
			w := want.Doses[j]
			ok := g.ID == w.ID && g.Outcome == w.Outcome && g.Scheduled.Equal(w.Scheduled) && g.Opens.Equal(w.Opens) && g.Closes.Equal(w.Closes)
			if w.Outcome == insights.Taken {
				ok = ok && g.TakenAt.Sub(w.TakenAt).Abs() <= 4*time.Second && g.Settled.Equal(g.TakenAt)
			} else if w.Outcome == insights.Missed {
				ok = ok && g.Settled.Equal(w.Settled)
			}
			if !ok {
				t.Fatalf("patient %d dose %d read back as %+v, generated %+v", i, j, g, w)
			}
		}
		if len(got.Refills) != 2*len(want.Refills) || len(got.ClockJumps) != len(want.ClockJumps) {
			t.Errorf("patient %d: %d refills (2 compartments each), %d jumps; want %d, %d", i, len(got.Refills), len(got.ClockJumps),
				2*len(want.Refills), len(want.ClockJumps))
		}
	}
}

func TestHistoryOutcomes(t *testing.T) {
	at := time.Date(2025, 3, 3, 8, 0, 0, 0, ny).UTC()
	ev := func(dose string, min int, k dispenser.Kind, detail string) dispenser.Event {
		return dispenser.Event{Time: at.Add(time.Duration(min) * time.Minute), Kind: k, DoseID: dose, Medication: "m", Scheduled: at, Detail: detail}
	}
	evs := []dispenser.Event{
		ev("taken", -60, dispenser.KindDoseDue, ""), ev("taken", 5, dispenser.KindDispenseStarted, "pills=1"),
		ev("taken", 6, dispenser.KindDispensed, ""), ev("taken", 7, dispenser.KindTaken, "via cup_lifted"),
		ev("cup", 1, dispenser.KindDispensed, ""), ev("cup", 31, dispenser.KindNotTaken, ""),
		ev("jam", 2, dispenser.KindJam, "retry attempt=1"), ev("jam", 3, dispenser.KindJam, "pills=0"),
		ev("skip", 4, dispenser.KindSkipped, "by=caregiver"),
		ev("open", -60, dispenser.KindDoseDue, ""),
		{Time: at.Add(time.Hour), Kind: dispenser.KindMissed, DoseID: "late", Medication: "m", Scheduled: at.Add(-24 * time.Hour), Detail: "reconciled"},
		{Time: at.Add(10 * time.Minute), Kind: dispenser.KindDispenseStarted, DoseID: "prn:m@x", Medication: "m"},
	}
	h := History(evs, report.Setup{Location: ny})
	want := map[string]struct {
		o       insights.Outcome
		settled time.Duration // after at; -1 for none
	}{
		"taken": {insights.Taken, 7 * time.Minute}, "cup": {insights.Missed, 31 * time.Minute}, "jam": {insights.Unknown, 3 * time.Minute},
		"skip": {insights.Skipped, 4 * time.Minute}, "open": {insights.Pending, -1}, "late": {insights.Missed, time.Hour},
	}
	if len(h.Doses) != len(want) {
		t.Fatalf("%d doses, want %d (no PRN): %+v", len(h.Doses), len(want), h.Doses)
	}
	for _, d := range h.Doses {
		w := want[d.ID]
		settled := time.Duration(-1)
		if !d.Settled.IsZero() {
			settled = d.Settled.Sub(at)
		}
		if d.Outcome != w.o || settled != w.settled {
			t.Errorf("%s: %s settled %v after, want %s settled %v", d.ID, d.Outcome, settled, w.o, w.settled)
		}
	}
}

func TestReadings(t *testing.T) {
	at := time.Date(2025, 3, 3, 7, 0, 0, 0, time.UTC)
	rs := Readings([]vital.Reading{
		{Quantity: vital.Weight, Value: 80.2, Unit: "kg", Time: at},
		{Quantity: vital.Weight, Unit: "kg", Time: at, Absent: "measurement unsuccessful"},
		{Quantity: vital.Systolic, Value: 190, Unit: "mm[Hg]", Time: at, Unreliable: []string{"body movement"}},
	})
	if len(rs) != 1 || rs[0] != (insights.Reading{Quantity: insights.Weight, Value: 80.2, Unit: "kg", Time: at}) {
		t.Errorf("Readings = %+v, want the one sound weight", rs)
	}
}

func TestFirstStep(t *testing.T) {
	for _, c := range []struct {
		name string
		esc  notify.Escalation
		want time.Duration
	}{
		{"defaults: the second chime at 15m", notify.Escalation{}, 15 * time.Minute},
		{"one chime: the default ladder's first text", notify.Escalation{DeviceReminders: []time.Duration{0}}, 20 * time.Minute},
		{"an earlier text", notify.Escalation{Ladder: []notify.Step{{To: "caregiver1", After: 10 * time.Minute}}}, 10 * time.Minute},
		{"the medication's own ladder", notify.Escalation{DeviceReminders: []time.Duration{0},
			PerMedication: []notify.MedicationLadder{{Medication: "m", Ladder: []notify.Step{{To: "patient", After: 5 * time.Minute}}}}}, 5 * time.Minute},
	} {
		if got := FirstStep(c.esc, "m"); got != c.want {
			t.Errorf("%s: FirstStep = %v, want %v", c.name, got, c.want)
		}
	}
}
