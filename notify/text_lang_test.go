package notify

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/internal/i18n"
	"github.com/pillbox/pillbox/notify/segment"
)

// sampleAlerts are one alert of each kind a caregiver is texted about,
// with the facts of a usual day.
func sampleAlerts(now time.Time) []struct {
	name string
	a    *Alert
} {
	eight := now.Add(-time.Hour)
	dose := Facts{DoseID: "metformin@x", Medication: "metformin", Scheduled: eight, Compartment: 1}
	a := func(w Condition, p Priority, f Facts) *Alert {
		return &Alert{Code: "4F7", What: w, Priority: p, Facts: f}
	}
	return []struct {
		name string
		a    *Alert
	}{
		{"dose due", a(CondDue, Medium, dose)},
		{"missed", a(CondMissed, High, dose)},
		{"not taken from the cup", a(CondNotTaken, Medium, Facts{Medication: "metformin", Scheduled: eight, At: eight.Add(5 * time.Minute), Compartment: 1})},
		{"interrupted dispense", a(CondUncertain, High, dose)},
		{"jam", a(CondJam, High, dose)},
		{"empty", a(CondEmpty, Medium, Facts{Compartment: 2})},
		{"low supply", a(CondLowSupply, Low, Facts{Compartment: 2, Left: 4, RunOut: now.Add(47 * time.Hour)})},
		{"fault", a(CondFault, Medium, Facts{Text: "button sensor flapping"})},
		{"missed while off", a(CondSummary, Medium, Facts{Count: 3, Scheduled: eight.AddDate(0, 0, -1), Until: eight, Offline: true})},
		{"health reading", a(CondGeneric, High, Facts{Text: "Very low blood sugar.", At: eight.Add(40 * time.Minute)})},
	}
}

// TestCaregiverTextSegments writes every caregiver text in every
// language through the notifier's texter and checks each fits the
// default 2 segments, and that it is written in that language. Its log
// is the table of segment counts (go test -v -run
// TestCaregiverTextSegments ./notify).
func TestCaregiverTextSegments(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, ny)
	meds := map[string]dispenser.Medication{"metformin": {ID: "metformin", Name: "Metformin", Strength: "500 mg"}}
	langs := i18n.Supported()
	var table strings.Builder
	table.WriteString("| text |")
	for _, l := range langs {
		fmt.Fprintf(&table, " %s |", l.Tag)
	}
	fmt.Fprintf(&table, "\n| --- |%s\n", strings.Repeat(" --- |", len(langs)))
	row := func(name string, items []item, medNames bool) {
		fmt.Fprintf(&table, "| %s |", name)
		english := ""
		for _, lang := range langs {
			tx := texter{first: "Margaret", loc: ny, meds: meds, medNames: medNames, patient: i18n.Lookup(lang.Tag)}
			body := tx.message("caregiver1", items, now)
			c := segment.Count(body)
			if c.Segments > DefaultMaxSegments {
				t.Errorf("%s, %s: %d segments, want at most %d: %q", name, lang.Tag, c.Segments, DefaultMaxSegments, body)
			}
			if lang.Tag == i18n.Base {
				english = body
			} else if body == english {
				t.Errorf("%s, %s: the English text %q", name, lang.Tag, body)
			}
			cell := fmt.Sprint(c.Segments)
			if c.Encoding == segment.UCS2 {
				cell += " (UCS-2)"
			}
			fmt.Fprintf(&table, " %s |", cell)
		}
		table.WriteString("\n")
	}
	var all []item
	for _, s := range sampleAlerts(now) {
		row(s.name, []item{{a: s.a, step: 1, why: whyStep}}, false)
		all = append(all, item{a: s.a, step: 1, why: whyStep})
	}
	row("missed, with medication names", []item{{a: sampleAlerts(now)[1].a, step: 1, why: whyStep}}, true)
	row("10 alerts in one text", all, true)
	t.Logf("segments of each caregiver text (name Margaret, code 4F7):\n%s", table.String())
}

// TestTextFallback: a caregiver text over max_segments goes in a shorter
// form, never cut: without medication names, then with fewer alerts
// listed, then with one line asking to check on the patient.
func TestTextFallback(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, ny)
	es := i18n.Lookup("es")
	long := dispenser.Medication{ID: "combo", Name: "Hidroclorotiazida con amlodipino y valsartán", Strength: "12,5 mg/5 mg/160 mg"}
	dose := Facts{Medication: "combo", Scheduled: now.Add(-time.Hour), Compartment: 1}
	missed := &Alert{Code: "4F7", What: CondMissed, Priority: Medium, Facts: dose}
	var many []item
	for i, code := range []string{"AAA", "BBB", "CCC", "DDD"} {
		many = append(many, item{a: &Alert{Code: code, What: CondJam, Priority: Medium, Facts: Facts{Compartment: i + 1}}, step: 1})
	}
	var faults []item
	for _, code := range []string{"AAA", "BBB"} {
		faults = append(faults, item{a: &Alert{Code: code, What: CondFault, Priority: Medium, Facts: Facts{Text: "sensor del botón con rebotes continuos"}}, step: 1})
	}
	tests := []struct {
		name     string
		first    string
		segments int
		items    []item
		want     []string // what the text keeps
		wantNot  []string // what it drops
		warned   bool
	}{
		{"fits as it is", "Margarita", 2, []item{{a: &Alert{Code: "4F7", What: CondMissed, Priority: Medium,
			Facts: Facts{Medication: "short", Scheduled: dose.Scheduled}}, step: 1}}, []string{"Metformina 850 mg", "4F7"}, nil, false},
		{"medication names go first", "Margarita", 2, []item{{a: missed, step: 1}}, []string{"Margarita", "4F7"}, []string{"Hidroclorotiazida"}, false},
		{"then alerts from the list", "Margarita", 2, many, []string{"4 alertas", "1) ", "más"}, []string{"DDD"}, false},
		{"and none listed at last", "Margarita", 2, faults, []string{"2 alertas", "Revise cómo está Margarita"}, []string{"AAA"}, false},
		{"then the short form", "Margarita", 2, []item{{a: &Alert{Code: "4F7", What: CondFault, Priority: Medium,
			Facts: Facts{Text: strings.Repeat("sensor error ", 10)}}, step: 1}}, []string{"Revise cómo está Margarita", "4F7"}, []string{"sensor error"}, false},
		{"too long even so: sent whole, logged", strings.Repeat("Margarita ", 12), 1, []item{{a: missed, step: 1}},
			[]string{"Revise cómo está Margarita", "4F7"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			tx := texter{first: tt.first, loc: ny, meds: map[string]dispenser.Medication{"combo": long, "short": {ID: "short", Name: "Metformina", Strength: "850 mg"}}, medNames: true,
				patient: es, segments: tt.segments, log: slog.New(slog.NewTextHandler(&logs, nil))}
			got := tx.message("caregiver1", tt.items, now)
			t.Logf("%d segments: %s", segment.Count(got).Segments, got)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("text %q lacks %q", got, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("text %q still has %q", got, w)
				}
			}
			if n := segment.Count(got).Segments; n > tt.segments && !tt.warned {
				t.Errorf("text takes %d segments, want at most %d: %q", n, tt.segments, got)
			}
			if warned := strings.Contains(logs.String(), "longer than max_segments"); warned != tt.warned {
				t.Errorf("warning logged %v, want %v: %s", warned, tt.warned, logs.String())
			}
		})
	}
}

// TestContactLanguages: each caregiver gets texts in their own language,
// the patient in the patient's, a number not in contacts in the
// patient's.
func TestContactLanguages(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, ny)
	es, en := i18n.Lookup("es"), i18n.Lookup("en")
	tx := texter{first: "Rosa", loc: ny, patient: es, langs: map[string]*i18n.Locale{"caregiver2": en}}
	missed := []item{{a: &Alert{Code: "4F7", What: CondMissed, Priority: Medium, Facts: Facts{Scheduled: now.Add(-time.Hour)}}, step: 1}}
	tests := []struct{ role, want string }{
		{"caregiver1", "Pillbox: Rosa no tomó la dosis de 8:00. Responda OK 4F7 al resolver."},
		{"caregiver2", "Pillbox: Rosa missed the 8:00 AM dose. Reply OK 4F7 when handled."},
		{RolePatient, "Rosa, sus pastillas de las 8:00 están listas. Pulse el botón de su dispensador."},
	}
	for _, tt := range tests {
		if got := tx.message(tt.role, missed, now); got != tt.want {
			t.Errorf("message(%s) =\n%q\nwant\n%q", tt.role, got, tt.want)
		}
	}
	if got, want := tx.helpText(tx.lang(""), false), es.Text("sms.help_unknown", nil); got != want {
		t.Errorf("help to an unknown number = %q, want the patient's language: %q", got, want)
	}
	if got := tx.screen("texts_delayed", nil); got[0] != "SMS retrasados" {
		t.Errorf("screen(texts_delayed) = %q, want the patient's language", got)
	}
	if got := tx.failedScreen("caregiver2"); got[0] != "SMS a cuidador 2" {
		t.Errorf("failedScreen(caregiver2) = %q, want SMS a cuidador 2", got)
	}
}
