package dispenser

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/internal/i18n"
	"github.com/pillbox/pillbox/schedule"
)

// refusalScreens are the screen messages of an as-needed dose refused.
var refusalScreens = map[schedule.Refusal]string{
	schedule.TooSoon:   "prn_too_soon",
	schedule.DailyMax:  "prn_daily_max",
	schedule.BadLimits: "prn_not_set_up",
}

// Flapping: more than flapEdges changes of one input within flapWindow (in
// hardware time) means a failing sensor or a bouncing contact; the input is
// ignored until it has been quiet for flapQuiet, and the fault is logged once.
const (
	flapEdges  = 20
	flapWindow = 10 * time.Second
	flapQuiet  = time.Minute
)

type flapState struct {
	times    []time.Time
	muted    bool
	lastEdge time.Time
}

// flapping records an edge and reports whether the input should be ignored.
func (c *Controller) flapping(ctx context.Context, in hw.Input) bool {
	now := time.Now() // hardware time: how fast a contact bounces is physics, not schedule
	f := c.flap[in]
	if f == nil {
		f = &flapState{}
		c.flap[in] = f
	}
	if f.muted && now.Sub(f.lastEdge) >= flapQuiet {
		f.muted = false
		f.times = f.times[:0]
	}
	f.lastEdge = now
	if f.muted {
		return true
	}
	f.times = append(f.times, now)
	for len(f.times) > 0 && now.Sub(f.times[0]) > flapWindow {
		f.times = f.times[1:]
	}
	if len(f.times) > flapEdges {
		f.muted = true
		c.commit(ctx, Event{Time: c.cfg.Clock.Now(), Kind: KindFault, Detail: in.String() + " sensor flapping; ignored until quiet"})
		return true
	}
	return false
}

// onEdge handles one debounced sensor change.
func (c *Controller) onEdge(ctx context.Context, e hw.Edge) {
	c.flush(ctx)
	if e.Input == hw.Drop {
		if !e.Active {
			return
		}
		if c.active != nil {
			select {
			case c.active.drops <- struct{}{}:
			default:
			}
			return
		}
		if !c.flapping(ctx, e.Input) {
			c.commit(ctx, Event{Time: c.cfg.Clock.Now(), Kind: KindStrayDrop, Detail: "beam broken with no motor running"})
		}
		return
	}
	if c.flapping(ctx, e.Input) {
		return
	}
	now := c.cfg.Clock.Now()
	switch e.Input {
	case hw.Button:
		c.onButton(ctx, now, e.Active)
	case hw.Lid:
		k := KindLidClosed
		if e.Active {
			k = KindLidOpened
			if c.lidOpenSince.IsZero() {
				c.lidOpenSince = now
			}
		} else {
			c.lidOpenSince, c.lidReported = time.Time{}, false
		}
		c.pickup(ctx, now, Event{Time: now, Kind: k}, e.Active)
	case hw.Cup:
		k := KindCupReturned
		if !e.Active {
			k = KindCupLifted
		}
		c.pickup(ctx, now, Event{Time: now, Kind: k}, !e.Active)
	}
}

// pickup logs a lid or cup change; opening the lid or lifting the cup after
// pills were dispensed counts as taking them, in the same transaction.
func (c *Controller) pickup(ctx context.Context, now time.Time, ev Event, took bool) {
	evs := []Event{ev}
	if took {
		for _, d := range c.sortedDoses() {
			if d.State == StateDispensed || d.State == StateNotTaken || c.owedDispensed(d.ID) {
				detail := "via " + string(ev.Kind)
				if d.State == StateNotTaken {
					detail += " late"
				}
				evs = append(evs, c.doseEvent(d, KindTaken, now, detail))
			}
		}
	}
	c.commitOrKeep(ctx, evs...)
}

// owedDispensed reports whether the dose's pills fell but its outcome is
// still waiting for the log (unsaved): they are in the cup all the same.
func (c *Controller) owedDispensed(id string) bool {
	owed := false
	for _, ev := range c.unsaved {
		if ev.DoseID == id {
			owed = ev.Kind == KindDispensed || owed && ev.Kind == KindFault
		}
	}
	return owed
}

// onButton: a press gives every dose whose window is open; a press with
// nothing due says when the next dose is; holding it asks for an as-needed
// medication.
func (c *Controller) onButton(ctx context.Context, now time.Time, pressed bool) {
	if !pressed {
		if c.holdTimer != nil {
			c.holdTimer.Stop()
			c.holdTimer = nil
		}
		return
	}
	c.hush() // whatever it was saying, the patient heard enough to press
	var open []*Dose
	if c.trusted && c.active == nil {
		for _, d := range c.sortedDoses() {
			// Invariant 2: only inside the window, re-checked at the press.
			if d.State.Open() && !now.Before(d.Opens) && now.Before(d.Closes) {
				open = append(open, d)
			}
		}
	}
	press := Event{Time: now, Kind: KindButton}
	if len(open) > 0 && len(c.queue) == 0 {
		// The press and the first intent to dispense go in one commit:
		// one fsync between the press and the motor, and the press is
		// still durable before anything moves.
		c.carry = append(c.carry, press)
		c.dispense(ctx, open)
		return
	}
	if _, err := c.commit(ctx, press); err != nil {
		c.cannotSave(now, "cannot_save_held_back")
		return
	}
	switch {
	case c.active != nil || len(c.queue) > 0:
		c.show(now, 30*time.Second, c.lines("wait_giving_pills", nil)...)
	case !c.trusted:
		c.show(now, time.Minute, c.lines("setting_clock", nil)...)
	case c.inCup():
		c.show(now, time.Minute, c.lines("pills_in_cup", nil)...)
		c.say("take_from_cup", nil)
	case !c.problem(now):
		c.show(now, 30*time.Second, c.nextLines(now)...)
	}
	if len(c.prnMedications()) > 0 {
		c.holdTimer = time.AfterFunc(c.cfg.HoldFor, func() {
			select {
			case c.reqs <- func() { c.onHold(ctx) }:
			case <-c.quit:
			}
		})
	}
}

func (c *Controller) inCup() bool {
	for _, d := range c.doses {
		if d.State == StateDispensed {
			return true
		}
	}
	return false
}

// prnMedications lists the as-needed medications in config order.
func (c *Controller) prnMedications() []string {
	var ids []string
	for _, m := range c.cfg.Medications {
		if _, ok := c.cfg.Plan.PRN(m.ID); ok {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// onHold runs when the button has been held: the first as-needed
// medication, if its limits allow.
func (c *Controller) onHold(ctx context.Context) {
	c.holdTimer = nil
	if !c.cfg.Board.Button.Active() {
		return
	}
	meds := c.prnMedications()
	if len(meds) == 0 {
		return
	}
	c.requestPRN(ctx, meds[0])
}

// requestPRN gives one as-needed dose if the clock is trusted and the
// medication's minimum interval and daily maximum allow it (invariant 2).
func (c *Controller) requestPRN(ctx context.Context, med string) error {
	now := c.cfg.Clock.Now()
	rule, ok := c.cfg.Plan.PRN(med)
	if !ok {
		return fmt.Errorf("%w: %q is not an as-needed medication", ErrInvalid, med)
	}
	if !c.trusted {
		c.show(now, time.Minute, c.lines("setting_clock", nil)...)
		return ErrClockUntrusted
	}
	if c.active != nil || len(c.queue) > 0 {
		return ErrBusy
	}
	taken := slices.Clone(c.prnTaken[med])
	for _, d := range c.doses {
		// A dose in flight or uncertain counts against the limits too.
		if d.PRN && d.Medication == med && (d.State == StateDispensing || d.State == StateUncertain || d.State == StateJammed) {
			taken = append(taken, d.Scheduled)
		}
	}
	sort.Slice(taken, func(i, j int) bool { return taken[i].Before(taken[j]) })
	if allowed, next, reason := rule.Allowed(taken, now); !allowed {
		c.commit(ctx, Event{Time: now, Kind: KindPRNRefused, Medication: med,
			Compartment: c.meds[med].Compartment, Detail: fmt.Sprintf("reason=%s next=%s", reason, next.UTC().Format(time.RFC3339))})
		lines := c.lines(refusalScreens[reason], nil)
		if !next.IsZero() {
			lines = append(lines, c.lines("next_at", i18n.Args{"time": c.clockText(next)})...)
		}
		c.show(now, time.Minute, lines...)
		return fmt.Errorf("%w: next at %s", ErrTooSoon, next.UTC().Format(time.RFC3339))
	}
	d := c.newDose(prnDoseID(med, now.In(c.cfg.Location)), med, now)
	if existing := c.doses[d.ID]; existing != nil {
		return ErrTooSoon
	}
	c.doses[d.ID] = d
	c.dispense(ctx, []*Dose{d})
	return nil
}
