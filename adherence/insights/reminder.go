package insights

import (
	"fmt"
	"math"
	"time"
)

// The adaptive first reminder: the device's first chime moves toward the
// time the patient habitually takes this dose (the median of the last 4
// weeks' takings, when there are enough and they agree), but never
// outside the dose's window and never later than the escalation's first
// step. Only the first chime moves: the window, the later chimes and the
// texts keep their times, so nothing is dispensed earlier or later than
// before and no escalation comes later.

// Tunables of the adaptive reminder.
const (
	// MinTakings is how many takings of the same dose in the last 4 weeks
	// a habit needs.
	MinTakings = 5
	// MaxHabitSpread is the most the takings may scatter (a robust SD)
	// for their median to be called a habit.
	MaxHabitSpread = 45 * time.Minute
	// MinShift is the smallest move worth making.
	MinShift = 5 * time.Minute
)

// ReminderInput is what the first chime of a dose is decided from.
type ReminderInput struct {
	// Scheduled is when the dose is due; [Opens, Closes) its window.
	Scheduled, Opens, Closes time.Time
	// FirstStep is how long after Scheduled the escalation's first step
	// comes: the earlier of the device's next reminder and the first text.
	FirstStep time.Duration
	// Delays are the dose's recent takings, each as taking time minus
	// scheduled time.
	Delays []time.Duration
}

// ReminderReason says why the first chime is where it is. The strings are
// part of the JSON output and of the log; never rename one.
type ReminderReason string

const (
	ReminderNoHabit ReminderReason = "no_habit" // too few takings, or too scattered: at the scheduled time
	ReminderOnTime  ReminderReason = "on_time"  // the habit is within MinShift of the scheduled time
	ReminderEarlier ReminderReason = "earlier"  // moved earlier, to the habit
	ReminderLater   ReminderReason = "later"    // moved later, to the habit
	ReminderAtOpen  ReminderReason = "at_open"  // the habit is before the window: at its opening
	ReminderCapped  ReminderReason = "capped"   // the habit is after the first step: at the step
	ReminderNoRoom  ReminderReason = "no_room"  // the window or the first step leaves no room to move
	ReminderInvalid ReminderReason = "invalid"  // the window does not hold the scheduled time: unchanged
)

// Reminder is a dose's first chime.
type Reminder struct {
	At     time.Time      `json:"at"`
	Reason ReminderReason `json:"reason"`
	// Habit is the median delay of the takings, Spread how much they
	// scatter (a robust SD), Takings how many there were.
	Habit   time.Duration `json:"-"`
	Spread  time.Duration `json:"-"`
	Takings int           `json:"takings"`
	// Shift is At - Scheduled.
	Shift time.Duration `json:"-"`
	Text  string        `json:"text"`
}

// PlanReminder decides a dose's first chime.
func PlanReminder(in ReminderInput) Reminder {
	r := Reminder{At: in.Scheduled, Takings: len(in.Delays)}
	if in.Opens.After(in.Scheduled) || !in.Closes.After(in.Scheduled) {
		r.Reason = ReminderInvalid
		r.Text = reminderTexts[r.Reason](r)
		return r
	}
	if len(in.Delays) > 0 {
		ds := make([]float64, len(in.Delays))
		for i, d := range in.Delays {
			ds[i] = d.Minutes()
		}
		m := median(ds)
		for i := range ds {
			ds[i] = math.Abs(ds[i] - m)
		}
		r.Habit, r.Spread = minutes(m).Round(time.Minute), minutes(median(ds)*madToSD).Round(time.Minute)
	}
	switch {
	case len(in.Delays) < MinTakings || r.Spread > MaxHabitSpread:
		r.Reason = ReminderNoHabit
	case r.Habit.Abs() < MinShift:
		r.Reason = ReminderOnTime
	default:
		// The latest allowed: the first step, inside the window; never
		// before the scheduled time.
		latest := in.Scheduled.Add(max(in.FirstStep, 0))
		if last := in.Closes.Add(-time.Minute); last.Before(latest) {
			latest = last
		}
		if latest.Before(in.Scheduled) {
			latest = in.Scheduled
		}
		want := in.Scheduled.Add(r.Habit)
		switch {
		case want.Before(in.Opens):
			r.At, r.Reason = in.Opens, ReminderAtOpen
		case want.After(latest):
			r.At, r.Reason = latest, ReminderCapped
		case r.Habit < 0:
			r.At, r.Reason = want, ReminderEarlier
		default:
			r.At, r.Reason = want, ReminderLater
		}
		if r.At.Sub(in.Scheduled).Abs() < MinShift {
			r.At, r.Reason = in.Scheduled, ReminderNoRoom
		}
	}
	r.Shift = r.At.Sub(in.Scheduled)
	r.Text = reminderTexts[r.Reason](r)
	return r
}

// Reminder decides the first chime of dose d as of asOf, from the same
// dose's takings (same time of day) in the 4 weeks before asOf.
func (l *Learner) Reminder(asOf time.Time, d Dose, firstStep time.Duration) Reminder {
	local := d.Scheduled.In(l.ix.loc)
	clock := local.Hour()*60 + local.Minute()
	var delays []time.Duration
	from := asOf.Add(-lookback)
	for i := range l.ix.occ {
		o := &l.ix.occ[i]
		if o.at.Before(from) || o.clock != clock || o.outcome != Taken || o.settled.After(asOf) {
			continue
		}
		delays = append(delays, o.delay)
	}
	return PlanReminder(ReminderInput{Scheduled: d.Scheduled, Opens: d.Opens, Closes: d.Closes, FirstStep: firstStep, Delays: delays})
}

var reminderTexts = map[ReminderReason]func(Reminder) string{
	ReminderNoHabit: textNoHabit,
	ReminderOnTime:  textOnTime,
	ReminderEarlier: textMoved,
	ReminderLater:   textMoved,
	ReminderAtOpen:  textAtOpen,
	ReminderCapped:  textCapped,
	ReminderNoRoom:  textNoRoom,
	ReminderInvalid: textInvalid,
}

func textNoHabit(r Reminder) string {
	if r.Takings < MinTakings {
		return fmt.Sprintf("at the scheduled time: %s taken in 4 weeks, %d needed to learn a habit", count(r.Takings, "dose", "doses"), MinTakings)
	}
	return fmt.Sprintf("at the scheduled time: takings too scattered (±%d min) to call a habit", int(r.Spread.Minutes()))
}

func textOnTime(r Reminder) string {
	return fmt.Sprintf("at the scheduled time: usually taken %s", delayWords(r.Habit))
}

func textMoved(r Reminder) string {
	return fmt.Sprintf("moved %s: usually taken %s (median of %d takings)", shiftWords(r.Shift), delayWords(r.Habit), r.Takings)
}

func textAtOpen(r Reminder) string {
	return fmt.Sprintf("moved %s, to when the window opens: usually taken %s", shiftWords(r.Shift), delayWords(r.Habit))
}

func textCapped(r Reminder) string {
	return fmt.Sprintf("moved %s, the latest before the escalation's first step: usually taken %s", shiftWords(r.Shift), delayWords(r.Habit))
}

func textNoRoom(r Reminder) string {
	return fmt.Sprintf("at the scheduled time: usually taken %s, but the window and the escalation leave no room to move", delayWords(r.Habit))
}

func textInvalid(Reminder) string {
	return "at the scheduled time: the dose's window does not hold it"
}

func shiftWords(d time.Duration) string {
	m := int(d.Round(time.Minute).Minutes())
	switch {
	case m > 0:
		return fmt.Sprintf("%d min later", m)
	case m < 0:
		return fmt.Sprintf("%d min earlier", -m)
	}
	return "nowhere"
}
