package notify

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/internal/i18n"
)

// en is the catalogue the texts added since the catalogues exist are built
// from; the older ones move to it when languages are wired in (issue 19,
// docs/languages.md).
var en = i18n.Lookup(i18n.Base)

// texter writes the messages: short, plain, GSM-7 friendly, times in the
// patient's zone, the patient's first name and no other personal detail,
// and no medication name unless the config allows it.
type texter struct {
	first    string
	loc      *time.Location
	h24      bool
	medNames bool
	meds     map[string]dispenser.Medication
	// members returns an episode's open dose alerts, by scheduled time.
	members func(ep *Alert) []*Alert
}

// item is one alert's part of a message.
type item struct {
	a      *Alert
	step   int       // ladder index, or -1 for a repeat or a digest
	due    time.Time // when it was due
	why    string
	repeat bool
}

// Why a message was queued (Message.Why and the sms_queued detail).
const (
	whyStep     = "step"
	whyRenotify = "renotify"
	whyDigest   = "digest"
	whyRise     = "rise" // the alert's priority rose: news for whoever heard of it
	whyJoin     = "join" // a missed dose joined an episode: news for whoever heard of it
	whyResolved = "resolved"
)

// maxItems is how many alerts one message lists before "and N more".
const maxItems = 3

// message writes the text for one recipient.
func (t *texter) message(role string, items []item, now time.Time) string {
	if role == RolePatient {
		lines := make([]string, len(items))
		for i, it := range items {
			lines[i] = t.patientLine(it.a, now)
		}
		return strings.Join(lines, " ")
	}
	high, repeat, digest := false, true, true
	for _, it := range items {
		high = high || it.a.Priority == High
		repeat = repeat && it.repeat
		digest = digest && it.why == whyDigest
	}
	var b strings.Builder
	switch {
	case high:
		b.WriteString("Pillbox URGENT: ")
	case digest:
		b.WriteString("Pillbox daily note: ")
	default:
		b.WriteString("Pillbox: ")
	}
	if repeat {
		b.WriteString("Reminder, ")
	}
	if len(items) == 1 {
		line := t.line(items[0].a, now)
		if !repeat {
			line = capitalise(line)
		}
		fmt.Fprintf(&b, "%s Reply OK %s when handled.", line, items[0].a.Code)
		return b.String()
	}
	fmt.Fprintf(&b, "%d alerts.", len(items))
	for i, it := range items {
		if i == maxItems {
			fmt.Fprintf(&b, " And %d more.", len(items)-maxItems)
			break
		}
		fmt.Fprintf(&b, " %d) %s (%s)", i+1, strings.TrimSuffix(capitalise(t.line(it.a, now)), "."), it.a.Code)
	}
	b.WriteString(" Reply OK for all, or OK and a code.")
	return b.String()
}

// line is one alert, for a caregiver.
func (t *texter) line(a *Alert, now time.Time) string {
	f := a.Facts
	switch a.What {
	case CondEpisode:
		return t.episodeLine(t.members(a), now)
	case CondDue:
		return fmt.Sprintf("%s has not taken %s yet.", t.first, t.dose(f, now))
	case CondMissed:
		return fmt.Sprintf("%s missed %s.", t.first, t.dose(f, now))
	case CondNotTaken:
		return fmt.Sprintf("%s was dispensed at %s but not taken from the cup.", capitalise(t.dose(f, now)), t.when(f.At, now))
	case CondUncertain:
		return fmt.Sprintf("a dispense was interrupted (%s). Pills may or may not be in the cup: check before giving more.", t.dose(f, now))
	case CondJam:
		s := fmt.Sprintf("%s jammed", t.compartment(f))
		if !f.Scheduled.IsZero() {
			s += fmt.Sprintf(" and %s was not given", t.dose(f, now))
		}
		return s + ". Please check the dispenser."
	case CondEmpty:
		return fmt.Sprintf("%s is empty; the next dose cannot be given. Please refill.", t.compartment(f))
	case CondLowSupply:
		return fmt.Sprintf("%s runs out in about %s (%s; %d left). Please refill.", t.compartment(f), days(f.RunOut.Sub(now)),
			t.when(f.RunOut, now), f.Left)
	case CondFault:
		return fmt.Sprintf("the dispenser reports a problem (%s). Please check it.", f.Text)
	case CondSummary:
		s := fmt.Sprintf("%s missed %d dose", t.first, f.Count)
		if f.Offline {
			s = "while the dispenser was off or its clock was wrong, " + s
		}
		if f.Count != 1 {
			s += "s"
		}
		if f.Until.After(f.Scheduled) {
			return s + fmt.Sprintf(" (%s to %s).", t.when(f.Scheduled, now), t.when(f.Until, now))
		}
		return s + fmt.Sprintf(" (%s).", t.when(f.Scheduled, now))
	case CondGeneric:
		// A vital-sign alert's text says what was read; the caregiver also
		// needs whose reading it was and when.
		text := strings.TrimSpace(f.Text)
		if text == "" {
			text = "A health reading needs attention."
		}
		if f.At.IsZero() {
			return fmt.Sprintf("%s: %s", t.first, text)
		}
		return fmt.Sprintf("%s at %s: %s", t.first, t.when(f.At, now), text)
	}
	return strings.TrimSpace(f.Text)
}

// episodeLine is the line of an episode: one dose's own line, or all of
// them in one ("Margaret has not taken the 8:00 AM and 9:00 AM doses.").
func (t *texter) episodeLine(ms []*Alert, now time.Time) string {
	switch len(ms) {
	case 0:
		return ""
	case 1:
		return t.line(ms[0], now)
	}
	var doses string
	if t.medNames {
		var each []string
		for _, m := range ms {
			each = append(each, t.dose(m.Facts, now))
		}
		doses = list(each)
	} else {
		var times []string
		for _, m := range ms {
			if w := t.when(m.Facts.Scheduled, now); !slices.Contains(times, w) {
				times = append(times, w)
			}
		}
		doses = en.Text("sms.episode_times", i18n.Args{"times": list(times)})
	}
	return en.Text("sms.episode", i18n.Args{"name": t.first, "doses": doses})
}

// list writes items as a list: "a", "a and b", "a, b and c".
func list(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	case 2:
		return en.Text("sms.list_two", i18n.Args{"first": items[0], "second": items[1]})
	}
	return en.Text("sms.list_more", i18n.Args{"first": items[0], "rest": list(items[1:])})
}

// How a condition ended (effect.Ended), when that is news for the people
// told of it; a vitals clear detail's reason (normal, resumed, dose_taken)
// is one too.
const (
	endTaken     = "taken"
	endSkipped   = "skipped"
	endDispensed = "dispensed"
	endWorking   = "working"  // a jammed compartment dispensed again
	endRefilled  = "refilled" // a compartment's supply lasts again
)

// resolvedLine says that what a alert was about is over, as ended says;
// "" when that is no news worth a text (a vital alert that expired).
func (t *texter) resolvedLine(a *Alert, ended string, at, now time.Time) string {
	f := a.Facts
	text := strings.TrimSuffix(strings.TrimSpace(f.Text), ".")
	var id string
	args := i18n.Args{"name": t.first, "dose": t.dose(f, now), "compartment": t.compartment(f), "time": t.when(at, now), "text": text}
	switch ended {
	case endTaken:
		id = "sms.resolved_taken"
	case endDispensed:
		id = "sms.resolved_dispensed"
	case endSkipped:
		id = "sms.resolved_skipped"
	case endWorking:
		id = "sms.resolved_working"
	case endRefilled:
		id = "sms.resolved_refilled"
	case "normal":
		id = "sms.resolved_normal"
	case "resumed":
		id = "sms.resolved_resumed"
	case "dose_taken":
		id = "sms.resolved_other"
	default:
		return ""
	}
	return capitalise(en.Text(id, args))
}

// resolved is the one text that tells a person what ended.
func (t *texter) resolved(lines []string) string {
	return en.Text("sms.header_resolved", nil) + " " + strings.Join(lines, " ")
}

// callSay is what a call says before it asks for a key: who calls, then
// each alert's line.
func (t *texter) callSay(items []item, now time.Time) string {
	parts := []string{en.Text("call.intro", i18n.Args{"name": t.first})}
	for _, it := range items {
		parts = append(parts, capitalise(t.line(it.a, now)))
	}
	return strings.Join(parts, " ")
}

// patientLine is one alert for the patient, who needs to know what to do
// rather than what went wrong.
func (t *texter) patientLine(a *Alert, now time.Time) string {
	f := a.Facts
	if a.What == CondNotTaken {
		return fmt.Sprintf("%s, your %s pills are waiting in the cup of your pill dispenser.", t.first, t.when(f.Scheduled, now))
	}
	return fmt.Sprintf("%s, your %s pills are ready. Please press the button on your pill dispenser.", t.first, t.when(f.Scheduled, now))
}

// dose names a dose: "the 8:00 AM dose", with the medication when allowed.
func (t *texter) dose(f Facts, now time.Time) string {
	s := "the " + t.when(f.Scheduled, now) + " dose"
	if m, ok := t.meds[f.Medication]; ok && t.medNames && m.Name != "" {
		s += " of " + strings.TrimSpace(m.Name+" "+m.Strength)
	}
	return s
}

func (t *texter) compartment(f Facts) string {
	s := "compartment " + strconv.Itoa(f.Compartment)
	if m, ok := t.meds[f.Medication]; ok && t.medNames && m.Name != "" {
		s += " (" + m.Name + ")"
	}
	return s
}

// when writes a time in the patient's zone: "8:00 AM" on the same day as
// now, "Tue 8:00 PM" within a week, "Mar 3 8:00 PM" otherwise.
func (t *texter) when(at, now time.Time) string {
	at, now = at.In(t.loc), now.In(t.loc)
	layout := "3:04 PM"
	if t.h24 {
		layout = "15:04"
	}
	y1, m1, d1 := at.Date()
	y2, m2, d2 := now.Date()
	switch diff := at.Sub(now); {
	case y1 == y2 && m1 == m2 && d1 == d2:
	case diff > -6*24*time.Hour && diff < 6*24*time.Hour:
		layout = "Mon " + layout
	default:
		layout = "Jan 2 " + layout
	}
	return at.Format(layout)
}

// days writes a duration as whole days, at least "1 day".
func days(d time.Duration) string {
	n := int(d.Round(24*time.Hour) / (24 * time.Hour))
	if n <= 1 {
		return "1 day"
	}
	return strconv.Itoa(n) + " days"
}

func capitalise(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// helpText answers HELP and, once a day, a reply the notifier cannot read.
// A number that is not one of the contacts is not told whose dispenser
// this is: anyone can text the number.
func (t *texter) helpText(known bool) string {
	if !known {
		return "Pillbox pill dispenser alerts. This number is not on its contact list. Reply STOP to stop texts."
	}
	return fmt.Sprintf("Pillbox alerts for %s. Reply OK (+ code) to acknowledge, TAKEN + code if a missed dose was taken, STOP to stop texts, START to resume.", t.first)
}
