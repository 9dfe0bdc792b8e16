package i18n_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/internal/i18n"
	"github.com/pillbox/pillbox/notify/segment"
)

// caregiverTexts builds each one-alert caregiver text the way notify does
// (header, the alert's line, the reply instruction), with sample facts.
func caregiverTexts(l *i18n.Locale) map[string]string {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	at := func(h, m int) string {
		return l.DayTime(time.Date(2026, 3, 2, h, m, 0, 0, time.UTC), now, i18n.LocaleClock)
	}
	dose := l.Text("sms.dose", i18n.Args{"time": at(8, 0)})
	comp := l.Text("sms.compartment", i18n.Args{"n": 2})
	lines := map[string]string{
		"due":        l.Text("sms.due", i18n.Args{"name": "Margaret", "dose": dose}),
		"missed":     l.Text("sms.missed", i18n.Args{"name": "Margaret", "dose": dose}),
		"not_taken":  l.Text("sms.not_taken", i18n.Args{"dose": dose, "time": at(8, 5)}),
		"uncertain":  l.Text("sms.uncertain", i18n.Args{"dose": dose}),
		"jam_dose":   l.Text("sms.jam_dose", i18n.Args{"compartment": comp, "dose": dose}),
		"empty":      l.Text("sms.empty", i18n.Args{"compartment": comp}),
		"low_supply": l.Text("sms.low_supply", i18n.Args{"compartment": comp, "days": l.Text("duration.days", i18n.Args{"count": 2}), "date": l.DayTime(now.Add(47*time.Hour), now, i18n.LocaleClock), "count": 4}),
		"fault":      l.Text("sms.fault", i18n.Args{"detail": "button sensor flapping"}),
		"summary":    l.Text("sms.summary_offline_range", i18n.Args{"name": "Margaret", "count": 3, "from": at(8, 0), "to": at(20, 0)}),
		"vital":      l.Text("sms.reading_at", i18n.Args{"name": "Margaret", "time": at(8, 40), "text": i18n.Capitalise(l.Text("vital.glucose_very_low", nil)) + "."}),
	}
	out := map[string]string{}
	for k, line := range lines {
		out[k] = l.Text("sms.header_urgent", nil) + " " + i18n.Capitalise(line) + " " + l.Text("sms.reply_one", i18n.Args{"code": "4F7"})
	}
	out["patient_ready"] = l.Text("sms.patient_ready", i18n.Args{"name": "Margaret", "time": at(8, 0)})
	out["help"] = l.Text("sms.help", i18n.Args{"name": "Margaret"})
	out["help_unknown"] = l.Text("sms.help_unknown", nil)
	return out
}

// TestCaregiverTextsFitTwoSegments: with the default limit of 2 segments
// a text, no one-alert text in any language may need more. It logs the
// counts per language.
func TestCaregiverTextsFitTwoSegments(t *testing.T) {
	keys := slices.Sorted(maps.Keys(caregiverTexts(i18n.Lookup("en"))))
	table := map[string][]string{}
	for _, lang := range i18n.Supported() {
		for k, text := range caregiverTexts(i18n.Lookup(lang.Tag)) {
			c := segment.Count(text)
			table[k] = append(table[k], fmt.Sprintf("%s %d(%s)", lang.Tag, c.Segments, strings.TrimSuffix(c.Encoding.String(), "-2")))
			if c.Segments > 2 {
				t.Errorf("%s %s takes %d %v segments (%d units; %q not GSM-7): %q", lang.Tag, k, c.Segments, c.Encoding, c.Units, string(segment.NonGSM(text)), text)
			}
		}
	}
	for _, k := range keys {
		t.Logf("%-14s %s", k, strings.Join(table[k], "  "))
	}
}

// TestEnglishTextsUnchanged composes texts from the catalogue as notify
// does, and compares them with the texts notify's own tests expect
// (notify/text_test.go): the English of the catalogue is the English the
// dispenser has always sent.
func TestEnglishTextsUnchanged(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	en := i18n.Lookup("en")
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, ny)
	eight := time.Date(2026, 3, 2, 8, 0, 0, 0, ny)
	when := func(at time.Time) string { return en.DayTime(at, now, i18n.LocaleClock) }
	dose := en.Text("sms.dose", i18n.Args{"time": when(eight)})
	comp := func(n int) string { return en.Text("sms.compartment", i18n.Args{"n": n}) }
	one := func(header, line string) string {
		return en.Text(header, nil) + " " + i18n.Capitalise(line) + " " + en.Text("sms.reply_one", i18n.Args{"code": "4F7"})
	}
	item := func(n int, line, code string) string {
		return en.Text("sms.item", i18n.Args{"n": n, "line": strings.TrimSuffix(i18n.Capitalise(line), "."), "code": code})
	}
	tests := []struct{ got, want string }{
		{one("sms.header", en.Text("sms.due", i18n.Args{"name": "Margaret", "dose": dose})),
			"Pillbox: Margaret has not taken the 8:00 AM dose yet. Reply OK 4F7 when handled."},
		{one("sms.header", en.Text("sms.missed", i18n.Args{"name": "Margaret", "dose": en.Text("sms.dose_med", i18n.Args{"time": when(eight), "medication": "Metformin 500 mg"})})),
			"Pillbox: Margaret missed the 8:00 AM dose of Metformin 500 mg. Reply OK 4F7 when handled."},
		{one("sms.header", en.Text("sms.missed", i18n.Args{"name": "Margaret", "dose": en.Text("sms.dose", i18n.Args{"time": en.DayTime(eight.Add(12*time.Hour).AddDate(0, 0, -1), now, i18n.Clock24)})})),
			"Pillbox: Margaret missed the Sun 20:00 dose. Reply OK 4F7 when handled."},
		{one("sms.header", en.Text("sms.not_taken", i18n.Args{"dose": dose, "time": when(eight.Add(5 * time.Minute))})),
			"Pillbox: The 8:00 AM dose was dispensed at 8:05 AM but not taken from the cup. Reply OK 4F7 when handled."},
		{one("sms.header_urgent", en.Text("sms.uncertain", i18n.Args{"dose": dose})),
			"Pillbox URGENT: A dispense was interrupted (the 8:00 AM dose). Pills may or may not be in the cup: check before giving more. Reply OK 4F7 when handled."},
		{one("sms.header", en.Text("sms.jam", i18n.Args{"compartment": en.Text("sms.compartment_med", i18n.Args{"n": 2, "medication": "Metformin"})})),
			"Pillbox: Compartment 2 (Metformin) jammed. Please check the dispenser. Reply OK 4F7 when handled."},
		{one("sms.header_digest", en.Text("sms.low_supply", i18n.Args{"compartment": comp(2), "days": en.Text("duration.days", i18n.Args{"count": 2}), "date": when(now.Add(47 * time.Hour)), "count": 4})),
			"Pillbox daily note: Compartment 2 runs out in about 2 days (Wed 8:00 AM; 4 left). Please refill. Reply OK 4F7 when handled."},
		{one("sms.header", en.Text("sms.fault", i18n.Args{"detail": "button sensor flapping"})),
			"Pillbox: The dispenser reports a problem (button sensor flapping). Please check it. Reply OK 4F7 when handled."},
		{one("sms.header", en.Text("sms.summary_offline_range", i18n.Args{"name": "Margaret", "count": 3, "from": when(eight.AddDate(0, 0, -1)), "to": when(eight)})),
			"Pillbox: While the dispenser was off or its clock was wrong, Margaret missed 3 doses (Sun 8:00 AM to 8:00 AM). Reply OK 4F7 when handled."},
		{one("sms.header", en.Text("sms.summary_offline", i18n.Args{"name": "Margaret", "count": 1, "when": when(eight)})),
			"Pillbox: While the dispenser was off or its clock was wrong, Margaret missed 1 dose (8:00 AM). Reply OK 4F7 when handled."},
		{one("sms.header_urgent", en.Text("sms.reading_at", i18n.Args{"name": "Margaret", "time": when(eight.Add(40 * time.Minute)), "text": "SpO2 88%."})),
			"Pillbox URGENT: Margaret at 8:40 AM: SpO2 88%. Reply OK 4F7 when handled."},
		{en.Text("sms.header", nil) + " " + en.Text("sms.reminder", i18n.Args{"line": en.Text("sms.missed", i18n.Args{"name": "Margaret", "dose": dose})}) + " " + en.Text("sms.reply_one", i18n.Args{"code": "4F7"}),
			"Pillbox: Reminder, Margaret missed the 8:00 AM dose. Reply OK 4F7 when handled."},
		{strings.Join([]string{en.Text("sms.header_urgent", nil), en.Text("sms.alerts", i18n.Args{"count": 4}),
			item(1, en.Text("sms.missed", i18n.Args{"name": "Margaret", "dose": dose}), "AAA"),
			item(2, en.Text("sms.jam", i18n.Args{"compartment": comp(2)}), "BBB"),
			item(3, en.Text("sms.empty", i18n.Args{"compartment": comp(3)}), "CCC"),
			en.Text("sms.and_more", i18n.Args{"count": 1}), en.Text("sms.reply_all", nil)}, " "),
			"Pillbox URGENT: 4 alerts. 1) Margaret missed the 8:00 AM dose (AAA) 2) Compartment 2 jammed. Please check the dispenser (BBB) " +
				"3) Compartment 3 is empty; the next dose cannot be given. Please refill (CCC) And 1 more. Reply OK for all, or OK and a code."},
		{en.Text("sms.patient_ready", i18n.Args{"name": "Margaret", "time": when(eight)}),
			"Margaret, your 8:00 AM pills are ready. Please press the button on your pill dispenser."},
		{en.Text("sms.patient_in_cup", i18n.Args{"name": "Margaret", "time": when(eight)}),
			"Margaret, your 8:00 AM pills are waiting in the cup of your pill dispenser."},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("composed\n%q\nwant (notify/text_test.go)\n%q", tt.got, tt.want)
		}
	}
}
