package dispenser

import (
	"strings"
	"time"

	"github.com/pillbox/pillbox/schedule"
)

// Event kinds of what was learned of the patient (docs/insights.md). The
// strings are stored and synced; never rename one.
const (
	// KindChimeShifted: a dose's first device chime moved from its
	// scheduled time, toward when the patient habitually takes it. A dose
	// event, logged with the dose's dose_due.
	// Detail: at=RFC3339 shift=DURATION reason=ID.
	KindChimeShifted Kind = "chime_shifted"
	// KindHeadsUpPrompt: an extra device prompt before a dose the patient
	// is likely to miss. It names the dose in its detail, not in DoseID,
	// so that it never creates or moves a dose (the window opens as
	// before). Detail: dose=DOSEID.
	KindHeadsUpPrompt Kind = "heads_up_prompt"
)

// Coach is what the dispenser learns of the patient's habits (package
// adherence/insights, wired by the daemon). It may move a dose's first
// chime and ask for an extra prompt before a dose; nothing more. The
// controller holds its answers to the safety limits whatever they say: a
// first chime never before the window opens, never at or after it closes
// and never later than the next device reminder, and a prompt never
// changes a dose. The window, the as-needed limits and the escalation keep
// their times.
//
// Its methods are called on the controller's goroutine: they answer from
// memory and never block.
type Coach interface {
	// FirstChime returns when the first chime of the dose (its window
	// known) should sound, and why (a short id for the log); ok false
	// keeps Reminders[0].
	FirstChime(d Dose) (at time.Time, reason string, ok bool)
	// HeadsUp returns the extra prompt planned before the dose id; ok
	// false for none.
	HeadsUp(id string) (HeadsUp, bool)
}

// HeadsUp is an extra prompt before a dose: a short chime and lines on the
// display.
type HeadsUp struct {
	At    time.Time
	Lines []string
}

// headsUpStale is how late a prompt may still be given: after a device
// restart, one that fell due long ago would only confuse.
const headsUpStale = 15 * time.Minute

// headsUpShown is how long a heads-up's lines stay on the display.
const headsUpShown = 10 * time.Minute

// firstChime asks the coach for the dose's first chime and returns the
// event that records a move, if any, held to the limits.
func (c *Controller) firstChime(occ schedule.Occurrence, now time.Time) (Event, bool) {
	if c.cfg.Coach == nil || len(c.cfg.Reminders) == 0 {
		return Event{}, false
	}
	d := Dose{ID: occ.ID, Medication: occ.Medication, Compartment: c.meds[occ.Medication].Compartment,
		Scheduled: occ.At, Opens: occ.Opens, Closes: occ.Closes}
	at, reason, ok := c.cfg.Coach.FirstChime(d)
	if !ok || !ChimeAllowed(d, c.cfg.Reminders, at) {
		if ok {
			c.log.Warn("dispenser: a learned first chime outside the limits was ignored", "dose", d.ID)
		}
		return Event{}, false
	}
	usual := d.Scheduled.Add(c.cfg.Reminders[0])
	if at.Equal(usual) {
		return Event{}, false
	}
	if !isToken(reason) {
		reason = "learned"
	}
	return c.doseEvent(&d, KindChimeShifted, now,
		"at="+at.UTC().Format(time.RFC3339)+" shift="+at.Sub(usual).String()+" reason="+reason), true
}

// ChimeAllowed reports whether a first chime at at keeps to the limits: in
// the dose's window [Opens, Closes), and no later than its second device
// reminder (reminders are after its scheduled time; with one reminder
// only, no later than it).
func ChimeAllowed(d Dose, reminders []time.Duration, at time.Time) bool {
	if len(reminders) == 0 || at.Before(d.Opens) || !at.Before(d.Closes) {
		return false
	}
	latest := d.Scheduled.Add(reminders[0])
	if len(reminders) > 1 {
		latest = d.Scheduled.Add(reminders[1])
	}
	return !at.After(latest)
}

// reminderAt is when the dose's reminder step (0 the first) falls due.
func (c *Controller) reminderAt(d *Dose, step int) time.Time {
	if step == 0 && !d.FirstChime.IsZero() {
		return d.FirstChime
	}
	return d.Scheduled.Add(c.cfg.Reminders[step])
}

// headsUps gives the prompts that have fallen due before the coming doses.
func (c *Controller) headsUps(now time.Time) []Event {
	if c.cfg.Coach == nil {
		return nil
	}
	var evs []Event
	for _, occ := range c.cfg.Plan.Between(now, now.Add(24*time.Hour)) {
		if _, done := c.prompted[occ.ID]; done {
			continue
		}
		if d := c.doses[occ.ID]; d != nil && (!d.State.Open() || d.Reminded > 0) {
			continue // taken early, or already chiming
		}
		h, ok := c.cfg.Coach.HeadsUp(occ.ID)
		if !ok || now.Before(h.At) || now.Sub(h.At) > headsUpStale {
			continue
		}
		evs = append(evs, Event{Time: now, Kind: KindHeadsUpPrompt, Detail: "dose=" + occ.ID})
		c.chimeUntil = now.Add(c.cfg.ChimeFor)
		c.promptUntil = c.chimeUntil
		if len(h.Lines) > 0 {
			c.notice = notice{lines: h.Lines, until: now.Add(headsUpShown)}
		}
	}
	return evs
}

// nextHeadsUp is the earliest prompt planned after now, zero for none.
func (c *Controller) nextHeadsUp(now, until time.Time) time.Time {
	var next time.Time
	if c.cfg.Coach == nil {
		return next
	}
	for _, occ := range c.cfg.Plan.Between(now, until) {
		if _, done := c.prompted[occ.ID]; done {
			continue
		}
		if h, ok := c.cfg.Coach.HeadsUp(occ.ID); ok && h.At.After(now) && (next.IsZero() || h.At.Before(next)) {
			next = h.At
		}
	}
	return next
}

// replayCoach applies the coach's events to the in-memory state.
func (c *Controller) replayCoach(ev Event) {
	if ev.Kind == KindHeadsUpPrompt {
		if id, ok := detailField(ev.Detail, "dose"); ok {
			c.prompted[id] = ev.Time
		}
	}
}

// detailTime reads "key=RFC3339" from an event detail.
func detailTime(detail, key string) (time.Time, bool) {
	v, ok := detailField(detail, key)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v)
	return t, err == nil
}

// detailField reads "key=VALUE" from an event detail.
func detailField(detail, key string) (string, bool) {
	for _, f := range strings.Fields(detail) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

func isToken(s string) bool { return s != "" && !strings.ContainsAny(s, " \t\n=") }
