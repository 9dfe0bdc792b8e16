package coach

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/adherence/insights"
	"github.com/pillbox/pillbox/adherence/insights/fromlog"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

// MaxDays bounds how many coming days a report covers.
const MaxDays = 28

// Input is a patient's record and setup, as a report and the coach read
// them.
type Input struct {
	// Events are the whole log and Readings every reading, in time order
	// (ReadLog).
	Events   []dispenser.Event
	Readings []vital.Reading
	// Setup gives the zone, medications and regimens; Plan the doses.
	Setup      report.Setup
	Plan       *schedule.Plan
	Escalation notify.Escalation
}

// Report is what `pillctl risk` prints and `GET /api/insights` answers
// (docs/insights.md): the coming days' scheduled doses with their risk,
// its reasons and the first chime, the vital-sign baselines and the open
// early warnings.
type Report struct {
	AsOf     time.Time `json:"as_of"`
	Timezone string    `json:"timezone"`
	Days     int       `json:"days"`
	// Learned is how many past doses the model learned from; 0 means the
	// risks are the population's.
	Learned  int                 `json:"learned_from_doses"`
	Doses    []Dose              `json:"doses"`
	Vitals   []insights.Baseline `json:"baselines"`
	Warnings []Warning           `json:"warnings"`
}

// Dose is one coming dose of a report.
type Dose struct {
	DoseID     string            `json:"dose_id"`
	Medication string            `json:"medication"`
	Scheduled  time.Time         `json:"scheduled"`
	Local      string            `json:"local"`
	Risk       float64           `json:"risk"`
	Reasons    []insights.Reason `json:"reasons"`
	FirstChime Chime             `json:"first_chime"`
}

// Chime is a dose's first chime in a report.
type Chime struct {
	At           time.Time               `json:"at"`
	ShiftMinutes int                     `json:"shift_minutes"`
	Reason       insights.ReminderReason `json:"reason"`
	Text         string                  `json:"text"`
}

// Warning is an open early warning with its words.
type Warning struct {
	insights.Warning
	Text string `json:"text"`
}

// analysis is what is learned as of an instant.
type analysis struct {
	learned  int
	doses    []insights.Dose
	risks    []insights.Risk
	chimes   []insights.Reminder
	monitor  *insights.Monitor
	location *time.Location
}

// analyse trains the model on everything settled by at and judges the
// doses due in [at, until).
func analyse(in Input, at, until time.Time) analysis {
	loc := in.Setup.Location
	if loc == nil {
		loc = time.UTC
	}
	l := insights.NewLearner(fromlog.History(in.Events, in.Setup), insights.DefaultPrior)
	m := l.Train(at)
	a := analysis{learned: m.Examples, doses: fromlog.Upcoming(in.Plan, at, until), location: loc}
	for _, d := range a.doses {
		a.risks = append(a.risks, l.Risk(m, at, d))
		a.chimes = append(a.chimes, l.Reminder(at, d, fromlog.FirstStep(in.Escalation, d.Medication)))
	}
	return a
}

// BuildReport is the report as of at for the coming days (1 to MaxDays).
func BuildReport(in Input, at time.Time, days int) *Report {
	days = min(max(days, 1), MaxDays)
	a := analyse(in, at, at.AddDate(0, 0, days))
	out := &Report{AsOf: at.UTC(), Timezone: a.location.String(), Days: days, Learned: a.learned, Doses: []Dose{},
		Warnings: []Warning{}}
	for i, d := range a.doses {
		r, c := a.risks[i], a.chimes[i]
		out.Doses = append(out.Doses, Dose{DoseID: d.ID, Medication: d.Medication, Scheduled: d.Scheduled.UTC(),
			Local: d.Scheduled.In(a.location).Format("Mon 2006-01-02 15:04"), Risk: math.Round(r.Probability*1000) / 1000,
			Reasons: r.Reasons, FirstChime: Chime{At: c.At.UTC(), ShiftMinutes: int(c.Shift.Minutes()), Reason: c.Reason, Text: c.Text}})
	}
	mon := insights.Watch(a.location, fromlog.Readings(in.Readings))
	out.Vitals = mon.Baselines()
	for _, w := range mon.Warnings() {
		if w.Open() {
			out.Warnings = append(out.Warnings, Warning{w, w.Text()})
		}
	}
	return out
}

// Source is the device store as a report reads it (adherence.Store).
type Source interface {
	Since(ctx context.Context, seq int64, limit int) ([]dispenser.Event, error)
	ReadingsSince(ctx context.Context, seq int64, limit int) ([]vital.Reading, error)
}

var _ Source = (*adherence.Store)(nil)

// readPage is how many rows one read of the store takes.
const readPage = 5000

// ReadLog reads a dispenser database's whole log and readings, in time
// order (the device's log is in seq order, which a clock jump makes
// differ).
func ReadLog(ctx context.Context, st Source) ([]dispenser.Event, []vital.Reading, error) {
	evs, err := pageAll(func(seq int64) ([]dispenser.Event, error) { return st.Since(ctx, seq, readPage) },
		func(e dispenser.Event) int64 { return e.Seq })
	if err != nil {
		return nil, nil, err
	}
	rs, err := pageAll(func(seq int64) ([]vital.Reading, error) { return st.ReadingsSince(ctx, seq, readPage) },
		func(r vital.Reading) int64 { return r.Seq })
	if err != nil {
		return nil, nil, err
	}
	slices.SortStableFunc(evs, func(a, b dispenser.Event) int { return a.Time.Compare(b.Time) })
	slices.SortStableFunc(rs, func(a, b vital.Reading) int { return a.Time.Compare(b.Time) })
	return evs, rs, nil
}

func pageAll[T any](next func(seq int64) ([]T, error), seqOf func(T) int64) ([]T, error) {
	var all []T
	var seq int64
	for {
		page, err := next(seq)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < readPage {
			return all, nil
		}
		seq = seqOf(page[len(page)-1])
	}
}
