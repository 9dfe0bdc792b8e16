package notify

import (
	"cmp"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/internal/i18n"
	"github.com/pillbox/pillbox/notify/segment"
)

// texter writes the messages: short, plain, times in the patient's zone,
// the patient's first name and no other personal detail, and no
// medication name unless the config allows it; each in its reader's
// language, from the catalogues (internal/i18n), and a caregiver's within
// the configured number of SMS segments.
type texter struct {
	first    string
	loc      *time.Location
	clock    i18n.ClockStyle
	medNames bool
	meds     map[string]dispenser.Medication
	// members returns an episode's open dose alerts, by scheduled time.
	members func(ep *Alert) []*Alert
	// patient is the patient's language (nil: i18n.Base); langs, by
	// role, the contacts' where it differs.
	patient *i18n.Locale
	langs   map[string]*i18n.Locale
	// segments bounds a caregiver's text (0: DefaultMaxSegments).
	segments int
	log      *slog.Logger // nil: slog.Default()
}

// lang is the language of role's texts; the patient's for a number not
// in contacts.
func (t *texter) lang(role string) *i18n.Locale {
	if l := t.langs[role]; l != nil {
		return l
	}
	if t.patient != nil {
		return t.patient
	}
	return i18n.Lookup(i18n.Base)
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
	l := t.lang(role)
	if role == RolePatient {
		lines := make([]string, len(items))
		for i, it := range items {
			lines[i] = t.patientLine(l, it.a, now)
		}
		return strings.Join(lines, " ")
	}
	return t.fit(l, items, now)
}

// fit writes a caregiver's text within the segment limit: in full if it
// fits, else without medication names, else listing fewer alerts, else
// with one line asking them to check on the patient instead of the
// alerts' (the codes to reply with stay). A text that does not fit even
// then goes as it is, longer, and the log says so: a text cut short could
// lose what the caregiver must do.
func (t *texter) fit(l *i18n.Locale, items []item, now time.Time) string {
	limit := cmp.Or(t.segments, DefaultMaxSegments)
	listed := min(len(items), maxItems)
	var body string
	for _, names := range slices.Compact([]bool{t.medNames, false}) {
		for n := listed; n > 0; n-- {
			body = t.caregiverText(l, items, now, names, n)
			if segment.Count(body).Segments <= limit {
				return body
			}
		}
	}
	body = t.caregiverText(l, items, now, false, 0)
	if c := segment.Count(body); c.Segments > limit {
		log := cmp.Or(t.log, slog.Default())
		log.Warn("notify: a caregiver's text is longer than max_segments even in its short form; sent whole",
			"lang", l.Tag(), "segments", c.Segments, "max_segments", limit)
	}
	return body
}

// caregiverText writes a caregiver's text: a header, then one alert's
// line and the reply instruction, or a count and the first listed alerts
// numbered. listed 0 is the short form: the alerts' lines replaced by
// sms.check_on.
func (t *texter) caregiverText(l *i18n.Locale, items []item, now time.Time, names bool, listed int) string {
	high, repeat, digest := false, true, true
	for _, it := range items {
		high = high || it.a.Priority == High
		repeat = repeat && it.repeat
		digest = digest && it.why == whyDigest
	}
	header := "sms.header"
	switch {
	case high:
		header = "sms.header_urgent"
	case digest:
		header = "sms.header_digest"
	}
	parts := []string{l.Text(header, nil)}
	opening := func(line string) string { // the first words after the header
		if repeat {
			return l.Text("sms.reminder", i18n.Args{"line": line})
		}
		return i18n.Capitalise(line)
	}
	short := l.Text("sms.check_on", i18n.Args{"name": t.first})
	if len(items) == 1 {
		line := short
		if listed > 0 {
			line = t.line(l, items[0].a, now, names)
		}
		return strings.Join(append(parts, opening(line), l.Text("sms.reply_one", i18n.Args{"code": items[0].a.Code})), " ")
	}
	parts = append(parts, opening(l.Text("sms.alerts", i18n.Args{"count": len(items)})))
	if listed == 0 {
		parts = append(parts, i18n.Capitalise(short))
	}
	for i, it := range items[:listed] {
		parts = append(parts, l.Text("sms.item", i18n.Args{"n": i + 1, "code": it.a.Code,
			"line": strings.TrimSuffix(i18n.Capitalise(t.line(l, it.a, now, names)), ".")}))
	}
	if listed > 0 && len(items) > listed {
		parts = append(parts, l.Text("sms.and_more", i18n.Args{"count": len(items) - listed}))
	}
	return strings.Join(append(parts, l.Text("sms.reply_all", nil)), " ")
}

// line is one alert, for a caregiver; names allows medication names.
func (t *texter) line(l *i18n.Locale, a *Alert, now time.Time, names bool) string {
	f := a.Facts
	dose := func() string { return t.dose(l, f, now, names) }
	comp := func() string { return t.compartment(l, f, names) }
	switch a.What {
	case CondEpisode:
		return t.episodeLine(l, t.members(a), now, names)
	case CondDue:
		return l.Text("sms.due", i18n.Args{"name": t.first, "dose": dose()})
	case CondMissed:
		return l.Text("sms.missed", i18n.Args{"name": t.first, "dose": dose()})
	case CondNotTaken:
		return l.Text("sms.not_taken", i18n.Args{"dose": dose(), "time": t.when(l, f.At, now)})
	case CondUncertain:
		return l.Text("sms.uncertain", i18n.Args{"dose": dose()})
	case CondJam:
		if f.Scheduled.IsZero() {
			return l.Text("sms.jam", i18n.Args{"compartment": comp()})
		}
		return l.Text("sms.jam_dose", i18n.Args{"compartment": comp(), "dose": dose()})
	case CondEmpty:
		return l.Text("sms.empty", i18n.Args{"compartment": comp()})
	case CondLowSupply:
		return l.Text("sms.low_supply", i18n.Args{"compartment": comp(), "days": days(l, f.RunOut.Sub(now)),
			"date": t.when(l, f.RunOut, now), "count": f.Left})
	case CondFault:
		return l.Text("sms.fault", i18n.Args{"detail": f.Text})
	case CondSummary:
		id := "sms.summary"
		if f.Offline {
			id = "sms.summary_offline"
		}
		args := i18n.Args{"name": t.first, "count": f.Count, "when": t.when(l, f.Scheduled, now)}
		if f.Until.After(f.Scheduled) {
			id += "_range"
			args["from"], args["to"] = args["when"], t.when(l, f.Until, now)
		}
		return l.Text(id, args)
	case CondGeneric:
		// A vital-sign alert's text says what was read; the caregiver also
		// needs whose reading it was and when.
		text := strings.TrimSpace(f.Text)
		if text == "" {
			text = l.Text("sms.reading_default", nil)
		}
		if f.At.IsZero() {
			return l.Text("sms.reading", i18n.Args{"name": t.first, "text": text})
		}
		return l.Text("sms.reading_at", i18n.Args{"name": t.first, "time": t.when(l, f.At, now), "text": text})
	}
	return strings.TrimSpace(f.Text)
}

// episodeLine is the line of an episode: one dose's own line, or all of
// them in one ("Margaret has not taken the 8:00 AM and 9:00 AM doses.").
func (t *texter) episodeLine(l *i18n.Locale, ms []*Alert, now time.Time, names bool) string {
	switch len(ms) {
	case 0:
		return ""
	case 1:
		return t.line(l, ms[0], now, names)
	}
	var doses string
	if names {
		var each []string
		for _, m := range ms {
			each = append(each, t.dose(l, m.Facts, now, names))
		}
		doses = list(l, each)
	} else {
		var times []string
		for _, m := range ms {
			if w := t.when(l, m.Facts.Scheduled, now); !slices.Contains(times, w) {
				times = append(times, w)
			}
		}
		doses = l.Text("sms.episode_times", i18n.Args{"times": list(l, times)})
	}
	return l.Text("sms.episode", i18n.Args{"name": t.first, "doses": doses})
}

// list writes items as a list: "a", "a and b", "a, b and c".
func list(l *i18n.Locale, items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	case 2:
		return l.Text("sms.list_two", i18n.Args{"first": items[0], "second": items[1]})
	}
	return l.Text("sms.list_more", i18n.Args{"first": items[0], "rest": list(l, items[1:])})
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
func (t *texter) resolvedLine(l *i18n.Locale, a *Alert, ended string, at, now time.Time) string {
	f := a.Facts
	text := strings.TrimSuffix(strings.TrimSpace(f.Text), ".")
	var id string
	args := i18n.Args{"name": t.first, "dose": t.dose(l, f, now, t.medNames), "compartment": t.compartment(l, f, t.medNames), "time": t.when(l, at, now), "text": text}
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
	return i18n.Capitalise(l.Text(id, args))
}

// resolved is the one text that tells a person what ended.
func (t *texter) resolved(l *i18n.Locale, lines []string) string {
	return l.Text("sms.header_resolved", nil) + " " + strings.Join(lines, " ")
}

// callSay is what a call says before it asks for a key: who calls, then
// each alert's line.
func (t *texter) callSay(l *i18n.Locale, items []item, now time.Time) string {
	parts := []string{l.Text("call.intro", i18n.Args{"name": t.first})}
	for _, it := range items {
		parts = append(parts, i18n.Capitalise(t.line(l, it.a, now, t.medNames)))
	}
	return strings.Join(parts, " ")
}

// patientLine is one alert for the patient, who needs to know what to do
// rather than what went wrong.
func (t *texter) patientLine(l *i18n.Locale, a *Alert, now time.Time) string {
	args := i18n.Args{"name": t.first, "time": t.when(l, a.Facts.Scheduled, now)}
	if a.What == CondNotTaken {
		return l.Text("sms.patient_in_cup", args)
	}
	return l.Text("sms.patient_ready", args)
}

// dose names a dose: "the 8:00 AM dose", with the medication when allowed.
func (t *texter) dose(l *i18n.Locale, f Facts, now time.Time, names bool) string {
	at := t.when(l, f.Scheduled, now)
	if m, ok := t.meds[f.Medication]; ok && names && m.Name != "" {
		return l.Text("sms.dose_med", i18n.Args{"time": at, "medication": strings.TrimSpace(m.Name + " " + m.Strength)})
	}
	return l.Text("sms.dose", i18n.Args{"time": at})
}

func (t *texter) compartment(l *i18n.Locale, f Facts, names bool) string {
	if m, ok := t.meds[f.Medication]; ok && names && m.Name != "" {
		return l.Text("sms.compartment_med", i18n.Args{"n": f.Compartment, "medication": m.Name})
	}
	return l.Text("sms.compartment", i18n.Args{"n": f.Compartment})
}

// when writes a time in the patient's zone: "8:00 AM" on the same day as
// now, "Tue 8:00 PM" within a week, "Mar 3 8:00 PM" otherwise, in l's
// words and the patient's clock.
func (t *texter) when(l *i18n.Locale, at, now time.Time) string {
	return l.DayTime(at.In(t.loc), now, t.clock)
}

// days writes a duration as whole days, at least "1 day".
func days(l *i18n.Locale, d time.Duration) string {
	n := max(int(d.Round(24*time.Hour)/(24*time.Hour)), 1)
	return l.Text("duration.days", i18n.Args{"count": n})
}

// screen is a message for the dispenser's display, in the patient's
// language, one string a line.
func (t *texter) screen(id string, args i18n.Args) []string {
	l := cmp.Or(t.patient, i18n.Lookup(i18n.Base))
	return strings.Split(l.Text("screen."+id, args), "\n")
}

// failedScreen says on the display that texts to role fail.
func (t *texter) failedScreen(role string) []string {
	if n, ok := strings.CutPrefix(role, RoleCaregiver); ok {
		return t.screen("text_failed_caregiver", i18n.Args{"n": n})
	}
	return t.screen("text_failed_patient", nil)
}

// helpText answers HELP and, once a day, a reply the notifier cannot read.
// A number that is not one of the contacts is not told whose dispenser
// this is: anyone can text the number.
func (t *texter) helpText(l *i18n.Locale, known bool) string {
	if !known {
		return l.Text("sms.help_unknown", nil)
	}
	return l.Text("sms.help", i18n.Args{"name": t.first})
}
