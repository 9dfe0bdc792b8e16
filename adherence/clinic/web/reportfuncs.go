package web

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/hw/vital"
)

// pageFuncs are the functions the page templates may call.
func pageFuncs() template.FuncMap {
	return template.FuncMap{
		"since": since,
		// pct writes a fraction as a whole percentage.
		"pct": func(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) },
		// mins writes a duration in minutes, or hours past two.
		"mins": mins,
		// local writes an instant in the patient's zone.
		"local": func(t time.Time, loc *time.Location) string {
			if t.IsZero() {
				return ""
			}
			return t.In(loc).Format("2006-01-02 15:04")
		},
		"num": num,
		"opt": func(p *float64) string {
			if p == nil {
				return "-"
			}
			return fmt.Sprintf("%+.1f", *p)
		},
		"join": strings.Join,
		// clock writes an instant's day and time in the report's zone.
		"clock":     func(t time.Time, loc *time.Location) string { return t.In(loc).Format("Jan 2 15:04") },
		"list":      func(s ...string) []string { return s },
		"deref":     func(p *float64) float64 { return *p },
		"last":      func(d report.Day) report.Day { return d - 1 },
		"unit":      vital.UnitLabel,
		"words":     func(s string) string { return strings.ReplaceAll(s, "_", " ") },
		"clockText": clockText,
		"offset":    offsetText,
	}
}

// since says how long before now t was, in words that need no time
// zone: the panel lists patients in several.
func since(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "never"
	case d < time.Minute:
		return "just now"
	case d < 2*time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}

// clockText says why an event's time is unreliable (clinic.SyncedEvent.Clock).
func clockText(clock string) string {
	switch clock {
	case clinic.ClockUntrusted:
		return "logged before the dispenser's clock was set"
	case clinic.ClockAhead:
		return "dated ahead of the clinic's clock: suspect"
	case clinic.ClockBefore2000:
		return "dated before 2000: the clock was never set"
	}
	return clock
}

// offsetText writes a device clock's offset from the clinic's.
func offsetText(seconds int64) string {
	d := time.Duration(seconds) * time.Second
	way := "ahead"
	if d < 0 {
		d, way = -d, "behind"
	}
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days %s", int64(d/(24*time.Hour)), way)
	}
	return d.String() + " " + way
}

// Names say what a page's ids and roles stand for: medications by their
// name and strength (the dispenser's profile), caregivers by name.
type Names struct {
	meds map[string]string
	// caregivers are the clinic's caregivers of the patient, in the order
	// they were added: docs/clinic.md asks that it be the order of the
	// dispenser's contacts, which its roles count ("caregiver2" is the
	// second).
	caregivers []clinic.Caregiver
}

func namesOf(r *report.Report, caregivers []clinic.Caregiver) Names {
	n := Names{meds: map[string]string{}, caregivers: caregivers}
	for _, m := range r.Medications {
		if m.Name != "" {
			n.meds[m.ID] = strings.TrimSpace(m.Name + " " + m.Strength)
		}
	}
	return n
}

// Med names a medication; an id the profile does not name (a medication
// since removed) stays as it is.
func (n Names) Med(id string) string {
	if name, ok := n.meds[id]; ok {
		return name
	}
	return id
}

// Meds names each medication of a list.
func (n Names) Meds(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = n.Med(id)
	}
	return strings.Join(out, ", ")
}

// Role names the person a notifier role stands for: "caregiver1" ->
// "Carol (caregiver 1)", or "caregiver 1" when the clinic has no
// caregiver of that rank.
func (n Names) Role(r string) string {
	num, ok := strings.CutPrefix(r, "caregiver")
	if !ok || num == "" {
		return r
	}
	role := "caregiver " + num
	if i, err := strconv.Atoi(num); err == nil && i >= 1 && i <= len(n.caregivers) {
		return n.caregivers[i-1].Name + " (" + role + ")"
	}
	return role
}

// mins writes a duration in minutes, or in hours from two hours on.
func mins(d time.Duration) string {
	if d >= 2*time.Hour || d <= -2*time.Hour {
		return num(d.Hours()) + " h"
	}
	return num(d.Minutes()) + " min"
}

// Alert says what an alert was about, from its condition key.
func (n Names) Alert(a report.AlertRecord) string {
	_, rest, _ := strings.Cut(a.Key, ":")
	switch a.Kind {
	case "dose":
		med, at, _ := strings.Cut(rest, "@")
		return "Dose not taken: " + n.Med(med) + " " + strings.Replace(at, "T", " ", 1)
	case "jam":
		return "Jam in compartment " + rest
	case "supply":
		return "Pills running out in compartment " + rest
	case "uncertain":
		return "Interrupted dispense in compartment " + rest
	case "summary":
		return "Doses missed while the dispenser was off or its clock wrong"
	case "fault":
		return "Dispenser fault (" + strings.ReplaceAll(rest, ":", " ") + ")"
	case "vital_alert":
		return "Vital sign: " + strings.TrimSuffix(a.Text, ".")
	}
	return a.Key
}
