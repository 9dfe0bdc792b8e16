package schedule

import "time"

// Wall times ("08:00 on 9 March") are carried as naive times: their fields
// read in UTC, which has no DST, so cron arithmetic on them never skips or
// repeats an hour. Only resolve turns one into an instant in a real zone.

// wallFormat is the minute-resolution form used in occurrence ids; cron has
// no seconds field, so it names a scheduled time uniquely.
const wallFormat = "2006-01-02T15:04"

// naive returns the wall-clock reading of t in its own location, as a naive time.
func naive(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// maxZoneShift bounds both how far a zone is from UTC and how far one zone
// transition moves the clocks: no zone has been a whole day from UTC, and
// the largest change on record is Samoa skipping 30 December 2011 (24h).
const maxZoneShift = 25 * time.Hour

// resolve returns the instant at which the naive wall time w happens in loc.
// A wall time that happens twice (clocks going back) resolves to its first,
// earlier occurrence; one that never happens (clocks going forward) resolves
// to the end of the gap, the instant of the transition. time.Date leaves both
// cases unspecified, and in practice picks differently per zone (it puts a
// New York gap time an hour early and a London one an hour late), so the
// zone's periods are examined directly.
func resolve(w time.Time, loc *time.Location) time.Time {
	// Examine, in order, each zone period that could contain an instant
	// reading w; the first period that does holds the earliest such instant.
	t := w.Add(-maxZoneShift)
	for {
		local := t.In(loc)
		_, off := local.Zone()
		start, end := local.ZoneBounds()
		cand := w.Add(-time.Duration(off) * time.Second)
		if !start.IsZero() && cand.Before(start) {
			// w lies after everything the previous period reads and before
			// everything this one reads: it is in the gap that ends at start.
			return start
		}
		if end.IsZero() || cand.Before(end) {
			return cand
		}
		t = end
	}
}
