package dispenser

import (
	"context"
	"fmt"
	"time"

	"github.com/pillbox/pillbox/schedule"
)

// step brings the dose states up to the current time: it notices clock
// jumps, opens windows, reminds, closes windows as missed, times out
// pickups, then redraws the patient's display and arms the next wake-up.
// It is idempotent: calling it twice at the same time does nothing new.
func (c *Controller) step(ctx context.Context) {
	c.flush(ctx)
	now := c.cfg.Clock.Now()
	mono := c.cfg.Clock.Monotonic()
	var evs []Event

	jump, jumped := c.jumps.Observe(now, mono)
	if jumped {
		evs = append(evs, Event{Time: now, Kind: KindClockJump, Detail: "by=" + jump.Round(time.Second).String()})
	}
	wasTrusted := c.trusted
	c.checkTrust(ctx, jumped)
	trusted := c.trusted
	if trusted && !wasTrusted {
		evs = append(evs, Event{Time: now, Kind: KindClockTrusted, Detail: "reason=" + string(c.trustReason)})
	}

	if trusted {
		evs = append(evs, c.scheduled(now)...)
		evs = append(evs, c.timeouts(now)...)
	}
	_, err := c.commit(ctx, evs...)
	if err == nil && trusted {
		// Doses opened just now may already be past their scheduled time
		// (at boot, after a jump): remind in the same step, not a tick later.
		if evs := c.scheduled(now); len(evs) > 0 {
			_, err = c.commit(ctx, evs...)
		}
	}
	if err == nil && trusted && now.After(c.lastSeen) {
		c.lastSeen = now
	}
	if c.lidOpenTooLong(now) {
		ev := Event{Time: now, Kind: KindFault, Detail: "lid open for " + c.cfg.LidAlarm.String() + "; check the lid and its sensor"}
		if _, err := c.commit(ctx, ev); err == nil {
			c.lidReported = true
		}
	}
	c.prune(now)
	c.render(now)
	c.arm(now)
	if c.active == nil && len(c.queue) == 0 {
		for _, w := range c.idleWaiters {
			close(w)
		}
		c.idleWaiters = nil
	}
}

// lidOpenTooLong reports a lid open for LidAlarm and not reported yet: left
// open, or its switch stuck, it no longer shows when pills are taken.
func (c *Controller) lidOpenTooLong(now time.Time) bool {
	return !c.lidOpenSince.IsZero() && !c.lidReported && now.Sub(c.lidOpenSince) >= c.cfg.LidAlarm
}

// flush commits what is owed from earlier failures, so that what follows
// is decided on the state those events make.
func (c *Controller) flush(ctx context.Context) {
	if len(c.unsaved) > 0 {
		c.commit(ctx)
	}
}

// checkTrust asks the gate about the wall clock while it is not trusted,
// after a jump, and once per tick; and persists a vouched-for time now and
// then so the next boot without network has a floor.
func (c *Controller) checkTrust(ctx context.Context, force bool) {
	if c.cfg.Gate == nil {
		c.trusted = true
		return
	}
	mono := c.cfg.Clock.Monotonic()
	if c.trusted && !force && mono-c.checked < c.cfg.Tick {
		return
	}
	c.checked = mono
	var v schedule.Verdict
	var err error
	if c.remembered == 0 || mono-c.remembered >= c.cfg.RememberEvery {
		v, err = c.cfg.Gate.Remember(ctx)
		if v.Trusted {
			c.remembered = mono
		}
	} else {
		v, err = c.cfg.Gate.Check(ctx)
	}
	if err != nil {
		c.log.Warn("dispenser: clock trust check", "err", err)
	}
	if c.trusted != v.Trusted {
		c.log.Info("dispenser: clock trust changed", "trusted", v.Trusted, "reason", v.Reason)
	}
	c.trusted, c.trustReason = v.Trusted, v.Reason
}

// scheduled opens, reminds and closes the doses of the plan.
func (c *Controller) scheduled(now time.Time) []Event {
	var evs []Event
	from := c.lastSeen
	if from.After(now) {
		from = now // the clock stepped back: nothing new closed
	}
	if min := now.Add(-c.cfg.Lookback); from.Before(min) {
		from = min
	}
	// Windows are at most a day wide each side, so scanning a day beyond
	// both ends finds every window that opened or closed in (from, now].
	for _, occ := range c.cfg.Plan.Between(from.Add(-24*time.Hour), now.Add(24*time.Hour)) {
		d := c.doses[occ.ID]
		if d != nil || occ.Opens.After(now) {
			continue
		}
		if !occ.Closes.After(now) {
			// Closed without us seeing it open: the device was off or the
			// clock jumped. One missed each; the notifier summarises.
			if occ.Closes.After(from) {
				evs = append(evs, Event{Time: now, Kind: KindMissed, DoseID: occ.ID, Medication: occ.Medication,
					Compartment: c.meds[occ.Medication].Compartment, Scheduled: occ.At, Detail: "reconciled"})
			}
			continue
		}
		// The dose is created by the replay of this event once it is
		// committed, so a failed commit leaves no half-made dose behind.
		evs = append(evs, Event{Time: now, Kind: KindDoseDue, DoseID: occ.ID, Medication: occ.Medication,
			Compartment: c.meds[occ.Medication].Compartment, Scheduled: occ.At})
	}
	for _, d := range c.sortedDoses() {
		if !d.State.Open() || d.PRN {
			continue
		}
		if !d.Closes.IsZero() && !now.Before(d.Closes) {
			detail := ""
			if now.Sub(d.Closes) > c.cfg.JumpThreshold {
				detail = "reconciled"
			}
			evs = append(evs, c.doseEvent(d, KindMissed, now, detail))
			continue
		}
		// Only the latest reminder step that has come due is given: after
		// a restart the patient hears one chime, not a backlog.
		step := d.Reminded
		for step < len(c.cfg.Reminders) && !now.Before(d.Scheduled.Add(c.cfg.Reminders[step])) {
			step++
		}
		if step > d.Reminded {
			evs = append(evs, c.doseEvent(d, KindReminder, now, fmt.Sprintf("step=%d", step)))
			c.chimeUntil = now.Add(c.cfg.ChimeFor)
			c.sayDue = true
		}
	}
	return evs
}

// timeouts records pills left too long in the cup.
func (c *Controller) timeouts(now time.Time) []Event {
	var evs []Event
	for _, d := range c.sortedDoses() {
		if d.State == StateDispensed && !now.Before(d.DispensedAt.Add(c.cfg.PickupTimeout)) {
			evs = append(evs, c.doseEvent(d, KindNotTaken, now, ""))
		}
	}
	return evs
}

// prune forgets final doses well outside any window that a clock jump
// could bring back into view.
func (c *Controller) prune(now time.Time) {
	horizon := now.Add(-c.cfg.Lookback - 48*time.Hour)
	for id, d := range c.doses {
		if d.State.Final() && d.Scheduled.Before(horizon) && c.active == nil {
			delete(c.doses, id)
		}
	}
	for med, ts := range c.prnTaken {
		keep := ts[:0]
		for _, t := range ts {
			if t.After(now.Add(-48 * time.Hour)) {
				keep = append(keep, t)
			}
		}
		c.prnTaken[med] = keep
	}
}

// arm sets the single wake-up timer for the next thing that will happen.
func (c *Controller) arm(now time.Time) {
	next := now.Add(c.cfg.Tick)
	consider := func(t time.Time) {
		if t.After(now) && t.Before(next) {
			next = t
		}
	}
	if c.trusted {
		for _, occ := range c.cfg.Plan.Between(now, now.Add(c.cfg.Tick+48*time.Hour)) {
			consider(occ.Opens)
		}
		for _, d := range c.doses {
			switch {
			case d.State.Open():
				consider(d.Closes)
				if d.Reminded < len(c.cfg.Reminders) {
					consider(d.Scheduled.Add(c.cfg.Reminders[d.Reminded]))
				}
			case d.State == StateDispensed:
				consider(d.DispensedAt.Add(c.cfg.PickupTimeout))
			}
		}
	}
	consider(c.chimeUntil)
	consider(c.notice.until)
	if !c.lidOpenSince.IsZero() && !c.lidReported {
		consider(c.lidOpenSince.Add(c.cfg.LidAlarm))
	}
	c.stopTimer()
	c.timer = c.cfg.Clock.AfterFunc(next.Sub(now), func() {
		ack := make(chan struct{})
		select {
		case c.wake <- ack:
			<-ack
		case <-c.quit:
		}
	})
}

func (c *Controller) stopTimer() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}
