package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/internal/i18n"
)

// Fault keys the sender shows on the device.
const (
	faultOutage = "sms"        // sends keep failing: texts are late
	faultConfig = "sms:config" // the provider refuses every message: credentials or sender
)

func faultRecipient(role string) string { return "sms:" + role }

// sendDue sends every queued message whose time has come, one at a time,
// highest priority first. The delivery guarantee is at least once: a
// message is committed as "sending" before the provider is called and as
// "sent" after it answers, so a crash between the two sends it again on
// restart, and only then. It returns when a retry is next due.
func (n *Notifier) sendDue(ctx context.Context) (time.Time, error) {
	n.sendMu.Lock()
	defer n.sendMu.Unlock()
	pending, err := n.cfg.Store.PendingMessages(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("notify: outbox: %w", err)
	}
	var next time.Time
	for _, m := range pending {
		if ctx.Err() != nil {
			return time.Time{}, nil
		}
		now := n.cfg.Clock.Now()
		// A retry time further ahead than any backoff was set before the
		// wall clock stepped back: do not let it stall the message. A
		// message never tried may wait longer: a resolved text queued in
		// quiet hours waits for their end.
		ahead := retryMax
		if m.Attempts == 0 {
			ahead = 24 * time.Hour
		}
		if m.State == MsgQueued && m.NextTry.After(now) && !m.NextTry.After(now.Add(ahead)) {
			if next.IsZero() || m.NextTry.Before(next) {
				next = m.NextTry
			}
			continue
		}
		retry, err := n.send(ctx, m)
		if err != nil {
			return time.Time{}, err
		}
		if !retry.IsZero() && (next.IsZero() || retry.Before(next)) {
			next = retry
		}
	}
	return next, nil
}

// send hands one message to the provider and records the outcome. It
// returns the retry time when the message stays queued.
func (n *Notifier) send(ctx context.Context, m Message) (time.Time, error) {
	now := n.cfg.Clock.Now()
	if why := n.unwanted(m); why != "" {
		return time.Time{}, n.record(ctx, Batch{Outcomes: []Outcome{{ID: m.ID, State: MsgCanceled, Attempts: m.Attempts,
			NextTry: m.NextTry, Error: why, Updated: now}},
			Events: []dispenser.Event{n.msgEvent(now, KindSMSCanceled, m, "reason="+why)}})
	}
	attempt := m.Attempts + 1
	if err := n.record(ctx, Batch{Outcomes: []Outcome{{ID: m.ID, State: MsgSending, Attempts: attempt,
		NextTry: m.NextTry, Updated: now}}}); err != nil {
		return time.Time{}, err
	}
	var res Sent
	var sendErr error
	if m.Channel == ChannelCall {
		res, sendErr = n.caller.Call(ctx, m.Phone, n.text.call(m))
	} else {
		res, sendErr = n.cfg.Sender.Send(ctx, m.Phone, m.Body)
	}
	now = n.cfg.Clock.Now()
	if sendErr == nil {
		n.setRefused(m.To, false)
		n.failingFrom = time.Time{}
		n.clearFaults(ctx, faultOutage, faultConfig, faultRecipient(m.To))
		return time.Time{}, n.record(ctx, Batch{
			Outcomes: []Outcome{{ID: m.ID, State: MsgSent, Attempts: attempt, NextTry: m.NextTry, SID: res.SID,
				Status: res.Status, Updated: now}},
			Events: []dispenser.Event{n.msgEvent(now, KindSMSSent, m, fmt.Sprintf("sid=%s attempt=%d", res.SID, attempt))}})
	}

	f := Failure{Class: Retryable}
	var failed Failed
	if errors.As(sendErr, &failed) {
		f = failed.Failure()
	}
	if f.Class != Permanent || ctx.Err() != nil {
		wait := max(f.RetryAfter, Backoff(attempt-1, retryBase, retryMax, n.rnd))
		retry := now.Add(wait)
		if ctx.Err() == nil {
			n.log.Warn("notify: send failed, will retry", "msg", m.ID, "to", m.To, "attempt", attempt, "in", wait.Round(time.Second), "err", sendErr)
			if n.failingFrom.IsZero() {
				n.failingFrom = now
			} else if now.Sub(n.failingFrom) >= outageAfter {
				n.setFault(ctx, faultOutage, n.text.screen("texts_delayed", nil)...)
			}
		}
		// Recorded with a fresh context: a shutdown must not leave the
		// message in "sending", which would count as a possible send.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return retry, n.record(rctx, Batch{Outcomes: []Outcome{{ID: m.ID, State: MsgQueued, Attempts: attempt,
			NextTry: retry, Error: sendErr.Error(), Updated: now}}})
	}

	n.log.Error("notify: the provider refused a message; not retrying", "msg", m.ID, "to", m.To, "code", f.Code, "err", sendErr)
	if !f.Config {
		n.setRefused(m.To, true)
	}
	b := Batch{
		Outcomes: []Outcome{{ID: m.ID, State: MsgFailed, Attempts: attempt, NextTry: m.NextTry, Error: sendErr.Error(), Updated: now}},
		Events:   []dispenser.Event{n.msgEvent(now, KindSMSFailed, m, fmt.Sprintf("code=%d attempt=%d", f.Code, attempt))},
	}
	switch {
	case f.Config:
		n.setFault(ctx, faultConfig, n.text.screen("texts_not_sent", nil)...)
	case f.Code == codeUnsubscribed:
		b.Events = append(b.Events, dispenser.Event{Time: now, Kind: KindSMSOptOut, Detail: "to=" + m.To + " source=provider"})
		n.optOut(m.Phone, now, &b)
	case m.Channel == ChannelCall:
		n.setFault(ctx, faultRecipient(m.To), n.text.screen("call_failed_caregiver",
			i18n.Args{"n": strings.TrimPrefix(m.To, RoleCaregiver)})...)
	default:
		n.setFault(ctx, faultRecipient(m.To), n.text.failedScreen(m.To)...)
	}
	if err := n.record(ctx, b); err != nil {
		return time.Time{}, err
	}
	if m.Channel == ChannelCall {
		n.moveOn(ctx, m, now) // nobody was called: the next step need not wait
	}
	return time.Time{}, nil
}

// codeUnsubscribed is the provider's "recipient replied STOP" (Twilio 21610).
const codeUnsubscribed = 21610

// unwanted says why a queued message should not go out any more: every
// alert it is about was acknowledged or resolved meanwhile (during an
// outage, say), or its recipient opted out.
func (n *Notifier) unwanted(m Message) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.numbers[m.Phone].OptedOut.IsZero() {
		return "opted_out"
	}
	if len(m.Alerts) == 0 || !n.loaded || m.Why == whyResolved {
		return "" // a resolved text is about alerts that are over
	}
	for _, a := range n.open {
		for _, id := range m.Alerts {
			if a.ID == id && !a.acked() {
				return ""
			}
		}
	}
	return "handled"
}

// optOut records that phone wants no more texts, in b. It takes mu.
func (n *Notifier) optOut(phone string, at time.Time, b *Batch) {
	n.mu.Lock()
	defer n.mu.Unlock()
	num := n.numbers[phone]
	num.Phone, num.OptedOut = phone, at
	if n.numbers != nil {
		n.numbers[phone] = num
	}
	b.Numbers = append(b.Numbers, num)
}

// record commits a sender decision. The sender's batches touch only
// messages, numbers and events, never alerts, so they need not hold mu.
func (n *Notifier) record(ctx context.Context, b Batch) error {
	stored, err := n.cfg.Store.ApplyNotifier(ctx, b)
	if err != nil {
		return fmt.Errorf("notify: outbox: %w", err)
	}
	n.publish(stored)
	return nil
}

func (n *Notifier) msgEvent(at time.Time, k dispenser.Kind, m Message, detail string) dispenser.Event {
	if m.Channel == ChannelCall {
		detail = "via=call " + detail
	}
	return dispenser.Event{Time: at, Kind: k, Detail: fmt.Sprintf("msg=%d to=%s %s", m.ID, m.To, detail)}
}

// setRefused records whether the provider refused role's last text for
// good.
func (n *Notifier) setRefused(role string, refused bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if refused {
		n.refused[role] = true
	} else {
		delete(n.refused, role)
	}
}

func (n *Notifier) setFault(ctx context.Context, key string, lines ...string) {
	if n.cfg.Faults == nil {
		return
	}
	if _, set := n.faultsSet[key]; set {
		return
	}
	if err := n.cfg.Faults.SetFault(ctx, key, lines...); err != nil {
		n.log.Error("notify: cannot show a fault on the device", "fault", key, "err", err)
		return
	}
	n.faultsSet[key] = struct{}{}
}

func (n *Notifier) clearFaults(ctx context.Context, keys ...string) {
	for _, key := range keys {
		if _, set := n.faultsSet[key]; !set || n.cfg.Faults == nil {
			continue
		}
		if err := n.cfg.Faults.ClearFault(ctx, key); err != nil {
			n.log.Error("notify: cannot clear a fault on the device", "fault", key, "err", err)
			continue
		}
		delete(n.faultsSet, key)
	}
}
