package clinic

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence"
)

// pageFuncs are the functions the page templates may call.
func pageFuncs() template.FuncMap {
	return template.FuncMap{
		"ago": ago,
		// pct writes a fraction as a whole percentage.
		"pct": func(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) },
		// mins writes a duration in minutes, or hours past two.
		"mins": mins,
		// local writes an instant in the report's zone.
		"local": func(t time.Time, tz string) string {
			if t.IsZero() {
				return ""
			}
			loc, err := time.LoadLocation(tz)
			if err != nil {
				loc = time.UTC
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
		"list":  func(s ...string) []string { return s },
		"deref": func(p *float64) float64 { return *p },
		"last":  func(d adherence.Day) adherence.Day { return d - 1 },
		"role":  roleText,
		"words": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	}
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
