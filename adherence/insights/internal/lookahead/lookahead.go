// Package lookahead helps the tests that prove nothing is read from after
// an instant: it rewrites what happened after it.
package lookahead

import (
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
)

// Flip rewrites a dose that settled after cut: a taken one becomes missed,
// any other taken a minute after it was due, and it still settles after
// cut. Doses settled by cut are left alone.
func Flip(d *insights.Dose, cut time.Time) {
	if !d.Settled.After(cut) {
		return
	}
	if d.Outcome == insights.Taken {
		d.Outcome, d.TakenAt, d.Settled = insights.Missed, time.Time{}, d.Closes
	} else {
		d.Outcome, d.TakenAt = insights.Taken, d.Scheduled.Add(time.Minute)
		d.Settled = d.TakenAt
	}
	if !d.Settled.After(cut) {
		d.Settled = cut.Add(time.Second)
	}
}
