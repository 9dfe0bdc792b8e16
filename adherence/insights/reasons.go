package insights

import (
	"fmt"
	"time"
)

// The words of the reasons. Each reason id has one function that writes
// it from the evidence, so that the language work can move each into a
// message catalogue (with its plural forms) without touching the model.

// ReasonID names why a dose's risk is what it is. The strings are part of
// the JSON output; never rename one.
type ReasonID string

const (
	ReasonRecent    ReasonID = "recent_misses"  // the last 28 days' misses
	ReasonSlotWeek  ReasonID = "slot_week"      // the last 4 of this weekday and time
	ReasonSlotDay   ReasonID = "slot_day"       // the last 7 days at this time
	ReasonLastDays  ReasonID = "last_days"      // the last 3 days
	ReasonNoTaking  ReasonID = "no_taking"      // days without any dose taken
	ReasonWeekend   ReasonID = "weekend"        // a weekend dose
	ReasonEvening   ReasonID = "evening"        // an evening dose
	ReasonLater     ReasonID = "later_lately"   // taken later than usual this week
	ReasonRefill    ReasonID = "refill_overdue" // past the usual refill interval
	ReasonClockJump ReasonID = "clock_jump"     // the clock jumped lately
	ReasonNew       ReasonID = "new_on_device"  // first weeks on the dispenser
	ReasonLast      ReasonID = "last_missed"    // the latest dose was missed
)

// Reason is one reason for a risk.
type Reason struct {
	ID ReasonID `json:"id"`
	// LogOdds is how much it moved the dose's log-odds of a miss from a
	// typical dose's (positive: more likely missed).
	LogOdds float64 `json:"log_odds"`
	Text    string  `json:"text"`
}

var featureReasons = [numFeatures]ReasonID{
	fRecent: ReasonRecent, fSlotWeek: ReasonSlotWeek, fSlotDay: ReasonSlotDay, fLast3: ReasonLastDays,
	fGap: ReasonNoTaking, fWeekend: ReasonWeekend, fEvening: ReasonEvening, fDelay: ReasonLater,
	fRefill: ReasonRefill, fJump: ReasonClockJump, fNew: ReasonNew, fLastMissed: ReasonLast,
}

var reasonTexts = map[ReasonID]func(Evidence) string{
	ReasonRecent:    textRecent,
	ReasonSlotWeek:  textSlotWeek,
	ReasonSlotDay:   textSlotDay,
	ReasonLastDays:  textLastDays,
	ReasonNoTaking:  textNoTaking,
	ReasonWeekend:   textWeekend,
	ReasonEvening:   textEvening,
	ReasonLater:     textLater,
	ReasonRefill:    textRefill,
	ReasonClockJump: textClockJump,
	ReasonNew:       textNew,
	ReasonLast:      textLast,
}

// ReasonText writes reason id from the evidence, in English.
func ReasonText(id ReasonID, ev Evidence) string {
	if f, ok := reasonTexts[id]; ok {
		return f(ev)
	}
	return string(id)
}

func textRecent(ev Evidence) string {
	return fmt.Sprintf("missed %s of the last %s in 4 weeks", count(ev.Recent.Missed, "", ""), count(ev.Recent.Of, "dose", "doses"))
}

func textSlotWeek(ev Evidence) string {
	return fmt.Sprintf("missed %d of the last %s", ev.SlotWeek.Missed,
		count(ev.SlotWeek.Of, ev.Weekday.String()+" "+PartOfDay(ev.Clock)+" dose", ev.Weekday.String()+" "+PartOfDay(ev.Clock)+" doses"))
}

func textSlotDay(ev Evidence) string {
	return fmt.Sprintf("missed %d of the last %s", ev.SlotDay.Missed,
		count(ev.SlotDay.Of, PartOfDay(ev.Clock)+" dose", PartOfDay(ev.Clock)+" doses"))
}

func textLastDays(ev Evidence) string {
	return fmt.Sprintf("missed %d of the %s of the last 3 days", ev.Last3.Missed, count(ev.Last3.Of, "dose", "doses"))
}

func textNoTaking(ev Evidence) string {
	days := int(ev.SinceTaken.Hours() / 24)
	if ev.NeverTaken {
		return fmt.Sprintf("no dose taken in %s (away from home?)", count(days, "day", "days"))
	}
	return fmt.Sprintf("no dose taken for %s (away from home?)", count(days, "day", "days"))
}

func textWeekend(Evidence) string { return "weekend doses are missed more often" }

func textEvening(Evidence) string { return "evening doses are missed more often" }

func textLater(ev Evidence) string {
	return fmt.Sprintf("taken later this week: %s, against %s usually", delayWords(ev.DelayWeek), delayWords(ev.DelayUsual))
}

func textRefill(ev Evidence) string {
	return fmt.Sprintf("no refill for %s (usually every %s)", count(int(ev.SinceRefill.Hours()/24), "day", "days"),
		count(int(ev.RefillEvery.Hours()/24+0.5), "day", "days"))
}

func textClockJump(Evidence) string {
	return "the dispenser's clock jumped in the last two days (a power cut?)"
}

func textNew(Evidence) string { return "in the first weeks on the dispenser" }

func textLast(Evidence) string { return "the last dose was missed" }

// count writes n with the singular or plural noun ("1 dose", "3 doses");
// with no nouns, just the number.
func count(n int, one, many string) string {
	switch {
	case one == "":
		return fmt.Sprint(n)
	case n == 1:
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// delayWords says a delay after the scheduled time ("20 min after the
// time", "15 min before", "on time").
func delayWords(d time.Duration) string {
	m := int(d.Round(time.Minute).Minutes())
	switch {
	case m > 0:
		return fmt.Sprintf("%d min after the time", m)
	case m < 0:
		return fmt.Sprintf("%d min before", -m)
	}
	return "on time"
}

// PartOfDay names the part of the day of a local clock time (minutes
// after midnight): morning from 04:00, midday from 12:00, evening from
// 17:00, night from 22:00.
func PartOfDay(clock int) string {
	switch {
	case clock < 4*60 || clock >= 22*60:
		return "night"
	case clock < 12*60:
		return "morning"
	case clock < 17*60:
		return "midday"
	}
	return "evening"
}
