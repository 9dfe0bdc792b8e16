package schedule

import (
	"slices"
	"time"
)

// Refusal says why an as-needed dose is not allowed yet. The strings are
// stored in the log (prn_refused detail); never rename one.
type Refusal string

const (
	// TooSoon: less than MinInterval since the last dose.
	TooSoon Refusal = "too_soon"
	// DailyMax: MaxPerDay doses already taken in the last 24 hours.
	DailyMax Refusal = "daily_max"
	// BadLimits: the limits themselves are unusable (zero or negative), so
	// nothing is allowed; ValidateRegimens rejects such a config.
	BadLimits Refusal = "bad_limits"
)

// Text is the refusal in plain words for the patient's display; the caller
// adds the time ("Too soon: next at 14:30").
func (r Refusal) Text() string {
	switch r {
	case TooSoon:
		return "Too soon"
	case DailyMax:
		return "Daily limit reached"
	case BadLimits:
		return "Not set up: ask your caregiver"
	}
	return ""
}

// Allowed reports whether a dose may be taken at now, given the times of the
// doses already taken, and the earliest time one is allowed (now when ok).
//
// The daily maximum is over a rolling 24 hours, not a calendar day, which
// would let doses at 23:59 and 00:01 both count as "today's first": a dose
// at now is allowed when fewer than MaxPerDay doses were taken in
// (now-24h, now]. A dose logged after now (the wall clock was set back)
// still counts, and counts as the last dose: the safe reading.
func (r PRN) Allowed(taken []time.Time, now time.Time) (ok bool, next time.Time, reason Refusal) {
	if r.MinInterval <= 0 || r.MaxPerDay <= 0 {
		return false, time.Time{}, BadLimits
	}
	var recent []time.Time // doses inside the rolling day
	var last time.Time
	for _, t := range taken {
		if t.After(now.Add(-24 * time.Hour)) {
			recent = append(recent, t)
		}
		if t.After(last) {
			last = t
		}
	}
	next = now
	if !last.IsZero() {
		if t := last.Add(r.MinInterval); t.After(next) {
			next, reason = t, TooSoon
		}
	}
	if n := len(recent); n >= r.MaxPerDay {
		// Allowed once all but MaxPerDay-1 of them have left the rolling day.
		slices.SortFunc(recent, time.Time.Compare)
		if t := recent[n-r.MaxPerDay].Add(24 * time.Hour); !t.Before(next) {
			next, reason = t, DailyMax
		}
	}
	return reason == "", next, reason
}
