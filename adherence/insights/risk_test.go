package insights_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
	"github.com/pillbox/pillbox/adherence/insights/internal/lookahead"
)

var ny = mustZone("America/New_York")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// record builds a history of daily doses at the given local times over
// days from start, with outcome(day, time index) deciding each one;
// takings are `late` after the scheduled time.
type record struct {
	start   time.Time // local midnight
	days    int
	times   []int // minutes after midnight
	late    time.Duration
	outcome func(day time.Time, slot int) insights.Outcome
}

func (r record) history() *insights.History {
	h := &insights.History{Location: r.start.Location()}
	for d := range r.days {
		day := r.start.AddDate(0, 0, d)
		for i, m := range r.times {
			at := time.Date(day.Year(), day.Month(), day.Day(), m/60, m%60, 0, 0, day.Location())
			dose := insights.Dose{ID: fmt.Sprintf("m@%s", at.Format("2006-01-02T15:04")), Medication: "m",
				Scheduled: at.UTC(), Opens: at.Add(-time.Hour).UTC(), Closes: at.Add(time.Hour).UTC()}
			switch dose.Outcome = r.outcome(day, i); dose.Outcome {
			case insights.Taken:
				dose.TakenAt = at.Add(r.late).UTC()
				dose.Settled = dose.TakenAt
			default:
				dose.Settled = dose.Closes
			}
			h.Doses = append(h.Doses, dose)
		}
	}
	h.Sort()
	return h
}

func allTaken(time.Time, int) insights.Outcome { return insights.Taken }

// saturdayEvenings: a patient who takes every dose but three of the last
// four Saturday evening ones.
func saturdayEvenings() (*insights.History, time.Time) {
	start := time.Date(2025, 5, 5, 0, 0, 0, 0, ny) // a Monday
	r := record{start: start, days: 56, times: []int{8 * 60, 20 * 60}, late: 10 * time.Minute,
		outcome: func(day time.Time, slot int) insights.Outcome {
			if slot == 1 && day.Weekday() == time.Saturday && day.After(start.AddDate(0, 0, 28)) && day.Day() != 14 {
				return insights.Missed
			}
			return insights.Taken
		}}
	return r.history(), start.AddDate(0, 0, 56) // the Monday after
}

func TestRiskSaysWhy(t *testing.T) {
	h, now := saturdayEvenings()
	l := insights.NewLearner(h, insights.DefaultPrior)
	m := l.Train(now)
	if m.Examples != 112 {
		t.Fatalf("Train(%v).Examples = %d, want 112", now, m.Examples)
	}
	sat := insights.Dose{ID: "m@sat", Scheduled: time.Date(2025, 7, 5, 20, 0, 0, 0, ny).UTC()}
	tue := insights.Dose{ID: "m@tue", Scheduled: time.Date(2025, 7, 1, 8, 0, 0, 0, ny).UTC()}
	rs, rt := l.Risk(m, now, sat), l.Risk(m, now, tue)
	if rs.Probability <= 2*rt.Probability {
		t.Errorf("risk of the Saturday evening dose %.3f, of a Tuesday morning one %.3f: want the first over twice the second",
			rs.Probability, rt.Probability)
	}
	if len(rs.Reasons) == 0 || rs.Reasons[0].ID != insights.ReasonSlotWeek {
		t.Fatalf("Saturday evening reasons = %+v, want slot_week first", rs.Reasons)
	}
	if got, want := rs.Reasons[0].Text, "missed 3 of the last 4 Saturday evening doses"; got != want {
		t.Errorf("reason text = %q, want %q", got, want)
	}
	if len(rs.Reasons) > insights.MaxReasons {
		t.Errorf("%d reasons, want at most %d", len(rs.Reasons), insights.MaxReasons)
	}
	for _, r := range rt.Reasons {
		if r.ID == insights.ReasonSlotWeek && r.LogOdds > 0 {
			t.Errorf("the Tuesday morning dose is raised by its slot: %+v", r)
		}
	}
}

func TestNewPatientGetsThePrior(t *testing.T) {
	h := &insights.History{Location: ny}
	l := insights.NewLearner(h, insights.DefaultPrior)
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, ny)
	m := l.Train(now)
	if m.Examples != 0 || m.W != insights.DefaultPrior.Mean {
		t.Fatalf("an empty record trained on %d examples to %v, want 0 and the prior's weights", m.Examples, m.W)
	}
	r := l.Risk(m, now, insights.Dose{Scheduled: now.Add(8 * time.Hour)})
	if r.Probability < 0.05 || r.Probability > 0.5 {
		t.Errorf("a new patient's morning risk = %.3f, want near the population's %.2f", r.Probability, insights.DefaultPrior.Rate)
	}
	if len(r.Reasons) == 0 {
		t.Error("a new patient's risk has no reason")
	}
}

// TestNothingAfterAsOfIsRead changes everything that settled after an
// instant and checks that training and risks as of it do not move.
func TestNothingAfterAsOfIsRead(t *testing.T) {
	h, _ := saturdayEvenings()
	asOf := time.Date(2025, 6, 14, 12, 0, 0, 0, ny)
	l := insights.NewLearner(h, insights.DefaultPrior)
	m := l.Train(asOf)
	dose := insights.Dose{ID: "m@next", Scheduled: time.Date(2025, 6, 14, 20, 0, 0, 0, ny).UTC(),
		Opens: time.Date(2025, 6, 14, 19, 0, 0, 0, ny).UTC(), Closes: time.Date(2025, 6, 14, 21, 0, 0, 0, ny).UTC()}
	risk := l.Risk(m, asOf, dose)
	rem := l.Reminder(asOf, dose, 20*time.Minute)

	changed := *h
	changed.Doses = slices.Clone(h.Doses)
	for i := range changed.Doses {
		lookahead.Flip(&changed.Doses[i], asOf)
	}
	changed.Refills = append(slices.Clone(h.Refills), asOf.Add(time.Hour))
	changed.ClockJumps = append(slices.Clone(h.ClockJumps), asOf.Add(time.Hour))
	l2 := insights.NewLearner(&changed, insights.DefaultPrior)
	m2 := l2.Train(asOf)
	if m2.W != m.W || m2.Examples != m.Examples {
		t.Errorf("training as of %v read what came after: weights %v (%d examples), want %v (%d)", asOf, m2.W, m2.Examples, m.W, m.Examples)
	}
	if r2 := l2.Risk(m2, asOf, dose); !reflect.DeepEqual(r2, risk) {
		t.Errorf("risk as of %v read what came after: %+v, want %+v", asOf, r2, risk)
	}
	if rem2 := l2.Reminder(asOf, dose, 20*time.Minute); !reflect.DeepEqual(rem2, rem) {
		t.Errorf("reminder as of %v read what came after: %+v, want %+v", asOf, rem2, rem)
	}
}

func TestDeterministic(t *testing.T) {
	h, now := saturdayEvenings()
	run := func() []insights.Risk {
		l := insights.NewLearner(h, insights.DefaultPrior)
		m := l.Train(now)
		return l.Risks(m, now, []insights.Dose{{ID: "a", Scheduled: now.Add(8 * time.Hour)}, {ID: "b", Scheduled: now.Add(140 * time.Hour)}})
	}
	if a, b := run(), run(); !reflect.DeepEqual(a, b) {
		t.Errorf("two runs on the same input differ:\n%+v\n%+v", a, b)
	}
}

// TestLearnsTheSlot: the same record, with and without a weekly missed
// slot, gives that slot a higher weight once trained; the model moves away
// from the prior on the patient's own evidence.
func TestTrainingMovesFromThePrior(t *testing.T) {
	h, now := saturdayEvenings()
	l := insights.NewLearner(h, insights.DefaultPrior)
	m := l.Train(now)
	if m.W == insights.DefaultPrior.Mean {
		t.Fatal("trained weights equal the prior's: nothing was learned")
	}
	steady := record{start: time.Date(2025, 5, 5, 0, 0, 0, 0, ny), days: 56, times: []int{8 * 60, 20 * 60}, outcome: allTaken}.history()
	ls := insights.NewLearner(steady, insights.DefaultPrior)
	ms := ls.Train(now)
	d := insights.Dose{Scheduled: time.Date(2025, 7, 5, 20, 0, 0, 0, ny).UTC()}
	if a, b := l.Risk(m, now, d).Probability, ls.Risk(ms, now, d).Probability; a <= b {
		t.Errorf("Saturday evening risk %.3f for the skipper, %.3f for a patient who never misses: want the first higher", a, b)
	}
}

func TestOccasionsFoldDosesTakenTogether(t *testing.T) {
	at := time.Date(2025, 3, 3, 8, 0, 0, 0, ny).UTC()
	mk := func(med string, o insights.Outcome, settled time.Duration) insights.Dose {
		d := insights.Dose{ID: med, Medication: med, Scheduled: at, Opens: at.Add(-time.Hour), Closes: at.Add(time.Hour), Outcome: o,
			Settled: at.Add(settled)}
		if o == insights.Taken {
			d.TakenAt = d.Settled
		}
		return d
	}
	for _, c := range []struct {
		name    string
		doses   []insights.Dose
		want    insights.Outcome
		settled time.Duration
	}{
		{"taken with a missed one", []insights.Dose{mk("a", insights.Taken, 10*time.Minute), mk("b", insights.Missed, time.Hour)}, insights.Taken, 10 * time.Minute},
		{"both missed", []insights.Dose{mk("a", insights.Missed, time.Hour), mk("b", insights.Missed, 2*time.Hour)}, insights.Missed, 2 * time.Hour},
		{"skipped", []insights.Dose{mk("a", insights.Skipped, 0)}, insights.Skipped, 0},
		{"a jam and a pending", []insights.Dose{mk("a", insights.Unknown, 0), mk("b", insights.Pending, 0)}, insights.Unknown, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := &insights.History{Location: ny, Doses: c.doses}
			h.Sort()
			occ := insights.Occasions(h)
			if len(occ) != 1 {
				t.Fatalf("%d occasions, want 1", len(occ))
			}
			if occ[0].Outcome != c.want || !occ[0].Settled.Equal(at.Add(c.settled)) {
				t.Errorf("occasion = %s settled %v, want %s settled %v", occ[0].Outcome, occ[0].Settled, c.want, at.Add(c.settled))
			}
		})
	}
}

func TestReasonTexts(t *testing.T) {
	ev := insights.Evidence{
		Recent: tally(9, 56), SlotWeek: tally(3, 4), SlotDay: tally(1, 7), Last3: tally(4, 6),
		SinceTaken: 74 * time.Hour, DelayWeek: 45 * time.Minute, DelayUsual: -10 * time.Minute, DelayKnown: true,
		SinceRefill: 33 * 24 * time.Hour, RefillEvery: 28 * 24 * time.Hour, Refilled: true,
		Weekday: time.Saturday, Clock: 20 * 60,
	}
	for id, want := range map[insights.ReasonID]string{
		insights.ReasonRecent:    "missed 9 of the last 56 doses in 4 weeks",
		insights.ReasonSlotWeek:  "missed 3 of the last 4 Saturday evening doses",
		insights.ReasonSlotDay:   "missed 1 of the last 7 evening doses",
		insights.ReasonLastDays:  "missed 4 of the 6 doses of the last 3 days",
		insights.ReasonNoTaking:  "no dose taken for 3 days (away from home?)",
		insights.ReasonWeekend:   "weekend doses are missed more often",
		insights.ReasonEvening:   "evening doses are missed more often",
		insights.ReasonLater:     "taken later this week: 45 min after the time, against 10 min before usually",
		insights.ReasonRefill:    "no refill for 33 days (usually every 28 days)",
		insights.ReasonClockJump: "the dispenser's clock jumped in the last two days (a power cut?)",
		insights.ReasonNew:       "in the first weeks on the dispenser",
		insights.ReasonLast:      "the last dose was missed",
	} {
		if got := insights.ReasonText(id, ev); got != want {
			t.Errorf("ReasonText(%s) = %q, want %q", id, got, want)
		}
	}
	one := insights.Evidence{SlotWeek: tally(1, 1), Weekday: time.Monday, Clock: 7 * 60}
	if got, want := insights.ReasonText(insights.ReasonSlotWeek, one), "missed 1 of the last 1 Monday morning dose"; got != want {
		t.Errorf("singular: %q, want %q", got, want)
	}
}

func tally(missed, of int) insights.Tally { return insights.Tally{Missed: missed, Of: of} }

func TestPartOfDay(t *testing.T) {
	for _, c := range []struct {
		clock int
		want  string
	}{{0, "night"}, {3*60 + 59, "night"}, {4 * 60, "morning"}, {11*60 + 59, "morning"}, {12 * 60, "midday"},
		{17 * 60, "evening"}, {21*60 + 59, "evening"}, {22 * 60, "night"}} {
		if got := insights.PartOfDay(c.clock); got != c.want {
			t.Errorf("PartOfDay(%02d:%02d) = %q, want %q", c.clock/60, c.clock%60, got, c.want)
		}
	}
}

func TestOutcomeNames(t *testing.T) {
	for _, o := range []insights.Outcome{insights.Pending, insights.Taken, insights.Missed, insights.Skipped, insights.Unknown} {
		back, err := insights.ParseOutcome(o.String())
		if err != nil || back != o {
			t.Errorf("ParseOutcome(%q) = %v, %v; want %v", o.String(), back, err, o)
		}
	}
	if _, err := insights.ParseOutcome("eaten"); err == nil || !strings.Contains(err.Error(), "eaten") {
		t.Errorf("ParseOutcome(eaten) error = %v, want one naming it", err)
	}
}
