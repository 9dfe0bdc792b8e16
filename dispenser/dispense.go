package dispenser

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/internal/i18n"
)

// dispenseJob is the one dose whose motor may be moving. Drop edges go to it
// while it exists; at any other time a drop is a stray.
type dispenseJob struct {
	dose  *Dose
	drops chan struct{}
}

// round is the outcome of one press of the button, for what to say after.
type round struct{ given, stuck bool }

type dispenseResult struct {
	dose     *Dose
	dropped  int   // pills the beam saw
	failed   int   // motor turns after which no pill fell
	jammed   bool  // retries spent with pills still missing
	blocked  bool  // the beam read blocked before a turn: no more turns
	err      error // the motor itself failed
	canceled bool  // shutting down mid-dose
}

// dispense starts giving doses, one compartment at a time. The caller has
// checked that each is open (or an allowed PRN dose) and the clock trusted.
func (c *Controller) dispense(ctx context.Context, doses []*Dose) {
	sort.Slice(doses, func(i, j int) bool { return doses[i].Compartment < doses[j].Compartment })
	if c.active == nil && len(c.queue) == 0 {
		c.round = round{}
	}
	c.queue = append(c.queue, doses...)
	c.next(ctx)
}

// takeCarry returns the events waiting to share the next commit (the button
// press that started a dispense), followed by evs.
func (c *Controller) takeCarry(evs ...Event) []Event {
	out := append(c.carry, evs...)
	c.carry = nil
	return out
}

// next commits the intent for the next queued dose and starts its motor.
// Invariant 1 and 3: the motor never moves for a dose whose
// dispense_started is not durably in the log.
func (c *Controller) next(ctx context.Context) {
	defer func() {
		if len(c.carry) > 0 { // nothing was committed to carry them
			c.commit(ctx, c.takeCarry()...)
		}
	}()
	for c.active == nil && len(c.queue) > 0 {
		d := c.queue[0]
		c.queue = c.queue[1:]
		now := c.cfg.Clock.Now()
		if !d.PRN && !d.State.Open() {
			continue // skipped or missed while queued
		}
		if c.counts[d.Compartment] < d.Pills {
			c.commit(ctx, c.takeCarry(c.doseEvent(d, KindEmpty, now, fmt.Sprintf("left=%d", c.counts[d.Compartment])))...)
			box := i18n.Args{"box": d.Compartment}
			c.show(now, time.Minute, c.lines("box_empty", box)...)
			c.say("box_empty", box)
			continue
		}
		if c.cfg.Board.Drop.Active() {
			// The beam reads blocked: it could not count the pills, and
			// the jam retries would add pills nobody saw fall.
			var evs []Event
			if !c.beamReported {
				evs = append(evs, Event{Time: now, Kind: KindFault, Detail: "drop sensor blocked; pills held back"})
			}
			if _, err := c.commit(ctx, c.takeCarry(evs...)...); err == nil {
				c.beamReported = true
			}
			c.queue = nil
			c.show(now, 10*time.Minute, c.lines("held_back", nil)...)
			c.say("held_back", nil)
			return
		}
		c.beamReported = false
		motor := c.motor(d.Compartment)
		if motor == nil {
			c.commit(ctx, c.takeCarry(c.doseEvent(d, KindFault, now, "no motor for compartment"))...)
			continue
		}
		if _, err := c.commit(ctx, c.takeCarry(c.doseEvent(d, KindDispenseStarted, now, fmt.Sprintf("pills=%d", d.Pills)))...); err != nil {
			if d.PRN && d.State == "" {
				delete(c.doses, d.ID) // never started: the patient may ask again
			}
			c.queue = nil
			c.cannotSave(now, "cannot_save_held_back")
			return
		}
		job := &dispenseJob{dose: d, drops: make(chan struct{}, 64)}
		c.active = job
		go c.run(ctx, job, motor)
	}
}

func (c *Controller) motor(id int) hw.Motor {
	for _, comp := range c.cfg.Board.Compartments {
		if comp.ID == id {
			return comp.Motor
		}
	}
	return nil
}

// run turns the motor until the beam has seen the dose's pills, retrying a
// pill that did not fall at most JamRetries times. It runs in its own
// goroutine, on hardware time, and never touches controller state.
//
// Invariant 5: the motor only turns while the beam has counted fewer pills
// than the dose needs, so a pill that falls late, or two that fall at once,
// are never followed by another turn.
func (c *Controller) run(ctx context.Context, job *dispenseJob, motor hw.Motor) {
	r := dispenseResult{dose: job.dose}
	defer func() { c.done <- r }()
	drain := func() {
		for {
			select {
			case <-job.drops:
				r.dropped++
			default:
				return
			}
		}
	}
	tries := 0
	for {
		drain()
		if r.dropped >= job.dose.Pills {
			break
		}
		if tries > c.cfg.JamRetries {
			r.jammed = true
			break
		}
		if c.cfg.Board.Drop.Active() {
			// A pill stuck in the beam, or a failing sensor: another
			// turn would put a pill in the cup that nobody counted.
			r.jammed, r.blocked = true, true
			break
		}
		tries++
		if err := motor.DispenseOne(ctx); err != nil {
			if ctx.Err() != nil {
				r.canceled = true
			} else {
				r.err = err
			}
			drain()
			return
		}
		if waitDrop(ctx, job.drops, c.cfg.DropTimeout) {
			r.dropped++
			tries = 0
			// Pills that fall together cross the beam within moments of
			// each other: count them all before deciding to turn again.
			r.dropped += collect(ctx, job.drops, c.cfg.Settle)
			continue
		}
		if ctx.Err() != nil {
			r.canceled = true
			return
		}
		r.failed++
	}
}

// collect counts drops for d of hardware time.
func collect(ctx context.Context, drops <-chan struct{}, d time.Duration) int {
	n := 0
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-drops:
			n++
		case <-t.C:
			return n
		case <-ctx.Done():
			return n
		}
	}
}

// waitDrop waits, in hardware time, for the beam to see a pill.
func waitDrop(ctx context.Context, drops <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-drops:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// onDispensed records what the beam saw and moves on to the next dose.
func (c *Controller) onDispensed(ctx context.Context, r dispenseResult) {
	c.active = nil
	d := r.dose
	now := c.cfg.Clock.Now()
	left := max(c.counts[d.Compartment]-r.dropped, 0)
	var evs []Event
	for i := 1; i <= r.failed && (i < r.failed || !r.jammed); i++ {
		evs = append(evs, c.doseEvent(d, KindJam, now, fmt.Sprintf("%sattempt=%d", jamRetryPrefix, i)))
	}
	counts := fmt.Sprintf("pills=%d expected=%d left=%d", r.dropped, d.Pills, left)
	switch {
	case r.canceled:
		// Shutting down mid-dose: leave dispense_started as the last word
		// so the next boot reports it uncertain.
		return
	case r.dropped >= d.Pills:
		c.round.given = true
		evs = append(evs, c.doseEvent(d, KindDispensed, now, counts))
		if r.dropped > d.Pills {
			evs = append(evs, c.doseEvent(d, KindFault, now, fmt.Sprintf("extra pills=%d", r.dropped-d.Pills)))
		}
		if c.noPickupSensor() {
			evs = append(evs, c.doseEvent(d, KindTaken, now, "assumed: no cup or lid sensor"))
		}
	case r.err != nil:
		c.round.stuck = true
		c.log.Error("dispenser: motor failed", "compartment", d.Compartment, "err", r.err)
		evs = append(evs, c.doseEvent(d, KindJam, now, "motor error "+counts))
	case r.blocked:
		c.round.stuck = true
		evs = append(evs, c.doseEvent(d, KindJam, now, "drop sensor blocked "+counts))
	default:
		c.round.stuck = true
		evs = append(evs, c.doseEvent(d, KindJam, now, counts))
	}
	if r.dropped > 0 {
		c.round.given = true
	}
	if err := c.commitOrKeep(ctx, evs...); err != nil {
		// The pills fell whatever the disk says: the outcome is written,
		// and the count replayed from it, once the log takes it.
		c.queue = nil
		c.cannotSave(now, "cannot_save")
		return
	}
	c.counts[d.Compartment] = left
	c.next(ctx)
	if c.active == nil {
		c.afterDispensing(now)
	}
}

// afterDispensing tells the patient what to do once the last motor stopped.
func (c *Controller) afterDispensing(now time.Time) {
	switch jammed, inCup := c.round.stuck, c.round.given; {
	case jammed && inCup:
		c.show(now, 10*time.Minute, c.lines("some_stuck", nil)...)
		c.say("pills_stuck", nil)
	case jammed:
		c.show(now, 10*time.Minute, c.lines("pills_stuck", nil)...)
		c.say("pills_stuck", nil)
	case inCup:
		c.say("take_from_cup", nil)
	}
}

// cannotSave tells the patient the log cannot be written (screen id) and
// to call the caregiver.
func (c *Controller) cannotSave(now time.Time, id string) {
	c.show(now, 10*time.Minute, c.lines(id, nil)...)
	c.say("call_caregiver", nil)
}

func (c *Controller) noPickupSensor() bool {
	var lid, cup bool
	for _, m := range c.cfg.Board.Missing {
		lid = lid || m == "lid"
		cup = cup || m == "cup"
	}
	return lid && cup
}
