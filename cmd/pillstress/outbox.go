package main

import (
	"context"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
)

// outboxMsg is one text as the log tells its story.
type outboxMsg struct {
	id, to, priority string
	queued           time.Time
	final            dispenser.Kind // sms_sent, sms_failed or sms_canceled; "" while pending
	sids             []string
}

// checkOutbox checks the texts of a device against what the provider got:
//
//   - no alert lost: every queued text ended sent, failed (a permanent
//     error) or canceled (its alerts were handled meanwhile);
//   - none sent twice beyond the README's guarantee: a text the provider
//     accepted whose acceptance never reached the log is a duplicate, and
//     each must be explained (explained: a kill just after it, an answer
//     the daemon could not read);
//   - rate limits hold: when a medium or low priority text was queued, fewer
//     than the limits' counts had been queued in the window before it.
func checkOutbox(ctx context.Context, r *result, d *daemon, p *provider, explained func(accepted time.Time) bool) []*outboxMsg {
	evs, err := d.api.events(ctx, 0)
	if err != nil {
		r.fail("outbox: read the log: %v", err)
		return nil
	}
	msgs := map[string]*outboxMsg{}
	var order []*outboxMsg
	logged := map[string]bool{} // SIDs in sms_sent events
	for _, ev := range evs {
		id := field(ev.Detail, "msg")
		if id == "" {
			continue
		}
		switch ev.Kind {
		case notify.KindSMSQueued:
			m := &outboxMsg{id: id, to: field(ev.Detail, "to"), priority: field(ev.Detail, "priority"), queued: ev.Time}
			msgs[id] = m
			order = append(order, m)
		case notify.KindSMSSent, notify.KindSMSFailed, notify.KindSMSCanceled:
			if m := msgs[id]; m != nil {
				m.final = ev.Kind
			}
			if sid := field(ev.Detail, "sid"); sid != "" {
				logged[sid] = true
				if m := msgs[id]; m != nil {
					m.sids = append(m.sids, sid)
				}
			}
		}
	}
	for _, m := range order {
		if m.final == "" {
			r.fail("text msg=%s to %s (queued %s) was neither sent, given up nor canceled: lost", m.id, m.to, m.queued.Format(time.RFC3339))
		}
		r.add("texts_"+string(m.final), 1)
	}
	dups := 0
	for _, m := range p.Messages() {
		if logged[m.SID] {
			continue
		}
		dups++
		if !explained(m.Received) {
			r.fail("Twilio accepted a text (to %s at %s) the log never recorded as sent, and no kill or lost answer explains it",
				m.To, m.Received.Format("15:04:05.000"))
		}
	}
	r.add("texts_accepted", len(p.Messages()))
	r.add("duplicates_explained", dups)
	checkRateLimits(r, order)
	return order
}

// checkRateLimits replays the default limits over the queued texts.
func checkRateLimits(r *result, msgs []*outboxMsg) {
	lim := notify.RateLimits{PerRecipientPerHour: notify.DefaultPerRecipient, PerHour: notify.DefaultPerHour, PerDay: notify.DefaultPerDay}
	var kept []*outboxMsg
	for _, m := range msgs {
		if m.final != notify.KindSMSCanceled {
			kept = append(kept, m)
		}
	}
	for i, m := range kept {
		if m.priority == "high" {
			continue
		}
		var to, hour, day int
		for _, o := range kept[:i] {
			age := m.queued.Sub(o.queued)
			if age < 0 || age >= 24*time.Hour {
				continue
			}
			day++
			if age < time.Hour {
				hour++
				if o.to == m.to {
					to++
				}
			}
		}
		if to >= lim.PerRecipientPerHour || hour >= lim.PerHour || day >= lim.PerDay {
			r.fail("rate limit broken: a %s text to %s queued at %s after %d to them in the hour, %d in all in the hour, %d in the day",
				m.priority, m.to, m.queued.Format(time.RFC3339), to, hour, day)
		}
	}
}
