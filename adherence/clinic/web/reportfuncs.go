package web

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/report"
)

// pageFuncs are the functions the page templates may call.
func pageFuncs() template.FuncMap {
	return template.FuncMap{
		"ago": ago,
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
		"join":  strings.Join,
		"alert": alertText,
		// clock writes an instant's day and time in the report's zone.
		"clock":     func(t time.Time, loc *time.Location) string { return t.In(loc).Format("Jan 2 15:04") },
		"list":      func(s ...string) []string { return s },
		"deref":     func(p *float64) float64 { return *p },
		"last":      func(d report.Day) report.Day { return d - 1 },
		"role":      roleText,
		"words":     func(s string) string { return strings.ReplaceAll(s, "_", " ") },
		"utc":       func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"clockText": clockText,
		"offset":    offsetText,
	}
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

// roleText writes a notifier role for people: "caregiver1" -> "caregiver 1".
func roleText(r string) string {
	if n, ok := strings.CutPrefix(r, "caregiver"); ok && n != "" {
		return "caregiver " + n
	}
	return r
}

// mins writes a duration in minutes, or in hours from two hours on.
func mins(d time.Duration) string {
	if d >= 2*time.Hour || d <= -2*time.Hour {
		return num(d.Hours()) + " h"
	}
	return num(d.Minutes()) + " min"
}

// alertText says what an alert was about, from its condition key.
func alertText(a report.AlertRecord) string {
	_, rest, _ := strings.Cut(a.Key, ":")
	switch a.Kind {
	case "dose":
		med, at, _ := strings.Cut(rest, "@")
		return "Dose not taken: " + med + " " + strings.Replace(at, "T", " ", 1)
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
