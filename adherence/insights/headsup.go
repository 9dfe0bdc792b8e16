package insights

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Heads-ups: when a dose's risk reaches the threshold, an extra device
// prompt before its first chime and, if a caregiver opted in, one text a
// day about the day's riskiest dose; never in quiet hours. Heads-ups are
// counted apart from alerts: they add a prompt and a text, and change no
// chime, window or escalation.

// QuietHours are a daily span [From, To) of local minutes after midnight,
// which may wrap midnight (22:00-07:00 is {1320, 420}). From == To is none.
type QuietHours struct{ From, To int }

// In reports whether local wall time t (in its own location) is quiet.
func (q QuietHours) In(t time.Time) bool {
	if q.From == q.To {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	if q.From < q.To {
		return m >= q.From && m < q.To
	}
	return m >= q.From || m < q.To
}

// end is the first instant at or after t (quiet) when the quiet hours end.
func (q QuietHours) end(t time.Time) time.Time {
	y, mo, d := t.Date()
	for i := 0; i < 3; i++ {
		e := time.Date(y, mo, d+i, q.To/60, q.To%60, 0, 0, t.Location())
		if !e.Before(t) && !q.In(e) {
			return e
		}
	}
	return t // unreachable for valid hours
}

// HeadsUpPolicy is the heads-up configuration.
type HeadsUpPolicy struct {
	// Threshold is the risk from which a dose gets a heads-up.
	Threshold float64
	// Lead is how long before the first chime the heads-up comes.
	Lead time.Duration
	// Quiet are the quiet hours; Location the patient's zone.
	Quiet    QuietHours
	Location *time.Location
	// Text says a caregiver opted in to heads-up texts.
	Text bool
}

// DefaultHeadsUp are the defaults: a risk of one half, 30 minutes ahead.
var DefaultHeadsUp = HeadsUpPolicy{Threshold: 0.5, Lead: 30 * time.Minute}

// HeadsUpInput is a coming dose's risk and first chime.
type HeadsUpInput struct {
	Risk       Risk
	FirstChime time.Time
}

// HeadsUp is the plan for one risky dose.
type HeadsUp struct {
	DoseID      string    `json:"dose_id"`
	Scheduled   time.Time `json:"scheduled"`
	Probability float64   `json:"probability"`
	// PromptAt is the extra device prompt, before the first chime; zero
	// when the only time for it would be in quiet hours.
	PromptAt time.Time `json:"prompt_at,omitzero"`
	// TextAt is the caregiver's heads-up text; zero for none (not opted
	// in, another dose of the day was riskier, already texted that day, or
	// no time outside quiet hours before the dose).
	TextAt  time.Time `json:"text_at,omitzero"`
	Reasons []Reason  `json:"reasons"`

	firstChime time.Time
}

// PlanHeadsUps plans the heads-ups of coming doses. texted holds the local
// days ("2006-01-02") a heads-up text already went out on.
func PlanHeadsUps(in []HeadsUpInput, p HeadsUpPolicy, texted map[string]bool) []HeadsUp {
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	var out []HeadsUp
	for _, d := range in {
		if d.Risk.Probability < p.Threshold {
			continue
		}
		h := HeadsUp{DoseID: d.Risk.DoseID, Scheduled: d.Risk.Scheduled, Probability: d.Risk.Probability, Reasons: d.Risk.Reasons,
			firstChime: d.FirstChime}
		h.PromptAt = p.outOfQuiet(d.FirstChime.Add(-p.Lead).In(loc), d.FirstChime)
		out = append(out, h)
	}
	if !p.Text {
		return out
	}
	// The day's riskiest dose that can have one (the earliest of equals)
	// gets the text.
	when := make([]time.Time, len(out))
	best := map[string]int{}
	for i, h := range out {
		day := h.Scheduled.In(loc).Format(time.DateOnly)
		if when[i] = p.outOfQuiet(h.firstChime.Add(-p.Lead).In(loc), h.Scheduled); texted[day] || when[i].IsZero() {
			continue
		}
		if j, ok := best[day]; !ok || h.Probability > out[j].Probability ||
			(h.Probability == out[j].Probability && h.Scheduled.Before(out[j].Scheduled)) {
			best[day] = i
		}
	}
	for _, i := range best {
		out[i].TextAt = when[i]
	}
	slices.SortStableFunc(out, func(a, b HeadsUp) int { return cmp.Compare(a.Scheduled.UnixNano(), b.Scheduled.UnixNano()) })
	return out
}

// outOfQuiet returns t, or the end of the quiet hours it falls in; zero
// when that is not before deadline.
func (p HeadsUpPolicy) outOfQuiet(t, deadline time.Time) time.Time {
	if p.Quiet.In(t) {
		t = p.Quiet.end(t)
	}
	if !t.Before(deadline) {
		return time.Time{}
	}
	return t.UTC()
}

// HeadsUpText is the heads-up text for caregivers: the patient's first
// name, when the dose is due (local, 24-hour or not), and the strongest
// reason.
func HeadsUpText(firstName string, h HeadsUp, loc *time.Location, clock24h bool) string {
	if loc == nil {
		loc = time.UTC
	}
	at := h.Scheduled.In(loc)
	hour := at.Format("3:04 PM")
	if clock24h {
		hour = at.Format("15:04")
	}
	why := ""
	if len(h.Reasons) > 0 {
		why = " (" + h.Reasons[0].Text + ")"
	}
	return fmt.Sprintf("Heads-up: %s often misses the %s %s dose%s.", firstName, at.Weekday(), hour, why)
}
