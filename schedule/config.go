// Package schedule turns regimens into dose occurrences: cron expressions
// read in the patient's time zone (with robfig/cron's parser but not its
// runner), dose windows, PRN limits, and the clock-trust gate that keeps an
// untrusted wall clock from declaring doses missed. It also owns Clock, the
// only source of time for scheduling code.
package schedule

import "time"

// Regimen is one entry of the `regimens:` list.
type Regimen struct {
	Medication string `yaml:"medication"` // medication id
	// Cron is a standard 5-field cron expression ("0 8,20 * * *") or a
	// descriptor ("@daily"), read in the patient's time zone. Empty for a
	// PRN-only regimen.
	Cron string `yaml:"cron"`
	// Window is how long before and after the scheduled time the dose may be
	// dispensed. Default: 1h when the medication is due more than once a
	// day, 2h when once a day.
	Window time.Duration `yaml:"window"`
	// Early, if set, replaces Window before the scheduled time (the early
	// lockout); Late replaces it after.
	Early time.Duration `yaml:"early"`
	Late  time.Duration `yaml:"late"`
	// PRN makes the medication available on demand, within limits.
	PRN *PRN `yaml:"prn"`
	// AdaptiveReminders lets the dispenser move the first chime of these
	// doses toward when the patient habitually takes them, inside the
	// window and no later than the escalation's first step
	// (docs/insights.md). Off by default; the window, the later chimes
	// and the texts keep their times.
	AdaptiveReminders bool `yaml:"adaptive_reminders"`
}

// PRN are the limits of an as-needed medication.
type PRN struct {
	MinInterval time.Duration `yaml:"min_interval"` // e.g. 4h
	MaxPerDay   int           `yaml:"max_per_day"`  // doses per rolling 24 h
}
