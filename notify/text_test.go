package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/internal/i18n"
	"github.com/pillbox/pillbox/notify/segment"
)

var en = i18n.Lookup(i18n.Base)

func TestMessages(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, ny)
	eight := time.Date(2026, 3, 2, 8, 0, 0, 0, ny)
	meds := map[string]dispenser.Medication{"metformin": {ID: "metformin", Name: "Metformin", Strength: "500 mg"}}
	dose := Facts{DoseID: "metformin@x", Medication: "metformin", Scheduled: eight, Compartment: 1}
	alert := func(w Condition, p Priority, f Facts) *Alert {
		return &Alert{Code: "4F7", What: w, Priority: p, Facts: f}
	}
	with := func(f Facts, edit func(*Facts)) Facts { edit(&f); return f }
	one := func(a *Alert) []item { return []item{{a: a, step: 1, why: whyStep}} }
	plain := texter{first: "Margaret", loc: ny, meds: meds}
	named := texter{first: "Margaret", loc: ny, meds: meds, medNames: true}
	h24 := texter{first: "Margaret", loc: ny, meds: meds, clock: i18n.Clock24}
	tests := []struct {
		name  string
		t     texter
		role  string
		items []item
		want  string
	}{
		{"due", plain, "caregiver1", one(alert(CondDue, Medium, dose)),
			"Pillbox: Margaret has not taken the 8:00 AM dose yet. Reply OK 4F7 when handled."},
		{"missed, named", named, "caregiver1", one(alert(CondMissed, Medium, dose)),
			"Pillbox: Margaret missed the 8:00 AM dose of Metformin 500 mg. Reply OK 4F7 when handled."},
		{"missed, 24h", h24, "caregiver1", one(alert(CondMissed, Medium, with(dose, func(f *Facts) { f.Scheduled = eight.Add(12*time.Hour).AddDate(0, 0, -1) }))),
			"Pillbox: Margaret missed the Sun 20:00 dose. Reply OK 4F7 when handled."},
		{"critical missed", plain, "caregiver2", one(alert(CondMissed, High, dose)),
			"Pillbox URGENT: Margaret missed the 8:00 AM dose. Reply OK 4F7 when handled."},
		{"not taken", plain, "caregiver1", one(alert(CondNotTaken, Medium, with(dose, func(f *Facts) { f.At = eight.Add(5 * time.Minute) }))),
			"Pillbox: The 8:00 AM dose was dispensed at 8:05 AM but not taken from the cup. Reply OK 4F7 when handled."},
		{"uncertain", plain, "caregiver1", one(alert(CondUncertain, High, dose)),
			"Pillbox URGENT: A dispense was interrupted (the 8:00 AM dose). Pills may or may not be in the cup: check before giving more. Reply OK 4F7 when handled."},
		{"jam without a dose", named, "caregiver1", one(alert(CondJam, Medium, Facts{Compartment: 2, Medication: "metformin"})),
			"Pillbox: Compartment 2 (Metformin) jammed. Please check the dispenser. Reply OK 4F7 when handled."},
		{"empty", plain, "caregiver1", one(alert(CondEmpty, Medium, Facts{Compartment: 2})),
			"Pillbox: Compartment 2 is empty; the next dose cannot be given. Please refill. Reply OK 4F7 when handled."},
		{"low supply", plain, "caregiver1", []item{{a: alert(CondLowSupply, Low, Facts{Compartment: 2, Left: 4, RunOut: now.Add(47 * time.Hour)}), step: -1, why: whyDigest}},
			"Pillbox daily note: Compartment 2 runs out in about 2 days (Wed 8:00 AM; 4 left). Please refill. Reply OK 4F7 when handled."},
		{"fault", plain, "caregiver1", one(alert(CondFault, Medium, Facts{Text: "button sensor flapping"})),
			"Pillbox: The dispenser reports a problem (button sensor flapping). Please check it. Reply OK 4F7 when handled."},
		{"summary", plain, "caregiver1", one(alert(CondSummary, Medium, Facts{Count: 3, Scheduled: eight.AddDate(0, 0, -1), Until: eight, Offline: true})),
			"Pillbox: While the dispenser was off or its clock was wrong, Margaret missed 3 doses (Sun 8:00 AM to 8:00 AM). Reply OK 4F7 when handled."},
		{"summary of one", plain, "caregiver1", one(alert(CondSummary, Medium, Facts{Count: 1, Scheduled: eight, Until: eight, Offline: true})),
			"Pillbox: While the dispenser was off or its clock was wrong, Margaret missed 1 dose (8:00 AM). Reply OK 4F7 when handled."},
		{"windows closing together", plain, "caregiver1", one(alert(CondSummary, Medium, Facts{Count: 2, Scheduled: eight, Until: eight})),
			"Pillbox: Margaret missed 2 doses (8:00 AM). Reply OK 4F7 when handled."},
		{"vital", plain, "caregiver1", one(alert(CondGeneric, High, Facts{Text: "SpO2 88%.", At: eight.Add(40 * time.Minute)})),
			"Pillbox URGENT: Margaret at 8:40 AM: SpO2 88%. Reply OK 4F7 when handled."},
		{"vital without a time", plain, "caregiver1", one(alert(CondGeneric, High, Facts{Text: "SpO2 88%."})),
			"Pillbox URGENT: Margaret: SpO2 88%. Reply OK 4F7 when handled."},
		{"reminder", plain, "caregiver2", []item{{a: alert(CondMissed, Medium, dose), step: -1, why: whyRenotify, repeat: true}},
			"Pillbox: Reminder, Margaret missed the 8:00 AM dose. Reply OK 4F7 when handled."},
		{"patient", named, RolePatient, one(alert(CondDue, Medium, dose)),
			"Margaret, your 8:00 AM pills are ready. Please press the button on your pill dispenser."},
		{"patient, not taken", plain, RolePatient, one(alert(CondNotTaken, Medium, dose)),
			"Margaret, your 8:00 AM pills are waiting in the cup of your pill dispenser."},
		{"merged", plain, "caregiver1", []item{
			{a: &Alert{Code: "AAA", What: CondMissed, Priority: Medium, Facts: dose}, step: 1},
			{a: &Alert{Code: "BBB", What: CondJam, Priority: High, Facts: Facts{Compartment: 2}}, step: 1},
			{a: &Alert{Code: "CCC", What: CondEmpty, Priority: Medium, Facts: Facts{Compartment: 3}}, step: 1},
			{a: &Alert{Code: "DDD", What: CondGeneric, Priority: Medium, Facts: Facts{Text: "x"}}, step: 1},
		}, "Pillbox URGENT: 4 alerts. 1) Margaret missed the 8:00 AM dose (AAA) 2) Compartment 2 jammed. Please check the dispenser (BBB) " +
			"3) Compartment 3 is empty; the next dose cannot be given. Please refill (CCC) And 1 more. Reply OK for all, or OK and a code."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.t.message(tt.role, tt.items, now)
			if got != tt.want {
				t.Errorf("message =\n%q\nwant\n%q", got, tt.want)
			}
			if n := segment.Count(got).Segments; len(tt.items) == 1 && n > 1 {
				t.Errorf("a one-alert message takes %d SMS segments (%d characters), want 1", n, len(got))
			}
			if !tt.t.medNames && strings.Contains(got, "Metformin") {
				t.Errorf("message names the medication without include_medication_names")
			}
		})
	}
	for _, known := range []bool{true, false} {
		if help := plain.helpText(en, known); segment.Count(help).Segments != 1 || !strings.Contains(help, "STOP") {
			t.Errorf("helpText(%v) = %q, want one segment mentioning STOP", known, help)
		}
	}
	if help := plain.helpText(en, true); !strings.Contains(help, "TAKEN") || !strings.Contains(help, "OK") {
		t.Errorf("helpText(true) = %q, want OK and TAKEN explained", help)
	}
}

func TestWhen(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, ny)
	tx := texter{loc: ny}
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 3, 2, 23, 59, 0, 0, ny), "11:59 PM"},
		{time.Date(2026, 3, 2, 13, 59, 0, 0, time.UTC), "8:59 AM"}, // shown in the patient's zone
		{time.Date(2026, 3, 3, 0, 0, 0, 0, ny), "Tue 12:00 AM"},
		{time.Date(2026, 2, 25, 8, 0, 0, 0, ny), "Wed 8:00 AM"},
		{time.Date(2026, 2, 20, 8, 0, 0, 0, ny), "Feb 20 8:00 AM"},
	}
	for _, tt := range tests {
		if got := tx.when(en, tt.at, now); got != tt.want {
			t.Errorf("when(%v) = %q, want %q", tt.at, got, tt.want)
		}
	}
}
