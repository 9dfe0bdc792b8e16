package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// HandleReply acts on a text someone sent us (Webhook's onReply; the
// simulator's reply endpoint calls it too) and returns the answer to text
// back, "" for none:
//   - OK acknowledges every open alert the sender was texted about in the
//     last day, OK <code> the alert with that code; a caregiver's ack stops
//     the alert's ladder for everyone;
//   - STOP records the opt-out (the provider itself confirms it and blocks
//     further texts) and takes the number off every ladder; START undoes it;
//   - HELP gets the help text; anything else gets it too, once a day per
//     number, and then silence.
//
// Every decision is recorded as an event; the body itself never is.
func (n *Notifier) HandleReply(ctx context.Context, in InboundSMS) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.loaded {
		if err := n.load(ctx); err != nil {
			n.log.Error("notify: reply not handled", "err", err)
			return ""
		}
	}
	now := n.cfg.Clock.Now()
	role, contact := n.roleOf(in.From)
	label := role
	if label == "" {
		label = "unknown"
	}
	var b Batch
	var answer string
	switch in.Reply.Kind {
	case ReplyOptOut:
		num := n.numbers[in.From]
		num.Phone, num.OptedOut = in.From, now
		n.numbers[in.From] = num
		b.Numbers = append(b.Numbers, num)
		b.Events = append(b.Events, dispenser.Event{Time: now, Kind: KindSMSOptOut, Detail: "to=" + label + " source=reply"})
	case ReplyOptIn:
		if num, ok := n.numbers[in.From]; ok && !num.OptedOut.IsZero() {
			num.OptedOut = time.Time{}
			n.numbers[in.From] = num
			b.Numbers = append(b.Numbers, num)
			b.Events = append(b.Events, dispenser.Event{Time: now, Kind: KindSMSOptIn, Detail: "to=" + label})
		}
	case ReplyHelp:
		answer = n.text.helpText(role != "")
	case ReplyAck:
		if role != "" && role != RolePatient {
			var err error
			if answer, err = n.ack(ctx, role, contact, in.Reply.Code, now, &b); err != nil {
				n.log.Error("notify: reply not handled", "err", err)
				return ""
			}
			break
		}
		fallthrough
	default:
		// Nothing unasked for goes to a number that opted out.
		num := n.numbers[in.From]
		if num.OptedOut.IsZero() && !sameDay(num.Helped.In(n.loc), now.In(n.loc)) {
			num.Phone, num.Helped = in.From, now
			n.numbers[in.From] = num
			b.Numbers = append(b.Numbers, num)
			answer = n.text.helpText(role != "")
		}
	}
	if err := n.commit(ctx, b); err != nil {
		n.log.Error("notify: reply not recorded", "err", err)
		return ""
	}
	n.log.Info("notify: reply", "from", label, "kind", in.Reply.Kind)
	return answer
}

// ack acknowledges the alerts a caregiver's OK names. The caller holds mu.
func (n *Notifier) ack(ctx context.Context, role string, c Contact, code string, now time.Time, b *Batch) (string, error) {
	var targets []*Alert
	if code != "" {
		for _, a := range n.open {
			if a.Code == code {
				targets = append(targets, a)
			}
		}
		if len(targets) == 0 {
			return fmt.Sprintf("No open alert %s. Reply OK to acknowledge every alert sent to you.", code), nil
		}
		if targets[0].acked() {
			return fmt.Sprintf("Alert %s was already acknowledged.", code), nil
		}
	} else {
		recent, err := n.cfg.Store.MessagesSince(ctx, now.Add(-recentWindow))
		if err != nil {
			return "", fmt.Errorf("notify: ack: %w", err)
		}
		ids := map[int64]bool{}
		for _, m := range recent {
			if m.Phone == c.Phone && m.State != MsgCanceled {
				for _, id := range m.Alerts {
					ids[id] = true
				}
			}
		}
		for _, a := range n.sortedAlerts() {
			if ids[a.ID] && !a.acked() {
				targets = append(targets, a)
			}
		}
		if len(targets) == 0 {
			return "Nothing to acknowledge right now. Thank you.", nil
		}
	}
	for _, a := range targets {
		a.AckedBy, a.AckedAt = role, now
		b.Alerts = append(b.Alerts, *a)
		b.Events = append(b.Events, dispenser.Event{Time: now, Kind: KindAlertAck,
			Detail: fmt.Sprintf("alert=%s code=%s by=%s", a.Key, a.Code, role)})
	}
	if len(targets) == 1 {
		return fmt.Sprintf("Thanks, %s. Alert %s acknowledged.", c.Name, targets[0].Code), nil
	}
	return fmt.Sprintf("Thanks, %s. %d alerts acknowledged.", c.Name, len(targets)), nil
}

// roleOf finds the contact a number belongs to.
func (n *Notifier) roleOf(phone string) (string, Contact) {
	for role, c := range n.pol.roles {
		if c.Phone == phone {
			return role, c
		}
	}
	return "", Contact{}
}

func sameDay(a, b time.Time) bool {
	y1, m1, d1 := a.Date()
	y2, m2, d2 := b.Date()
	return y1 == y2 && m1 == m2 && d1 == d2
}

// HandleStatus records a delivery status callback (Webhook's onStatus) as
// an event: what reached whom.
func (n *Notifier) HandleStatus(ctx context.Context, u StatusUpdate) {
	m, ok, err := n.cfg.Store.MessageBySID(ctx, u.MessageSID)
	if err != nil {
		n.log.Error("notify: status not recorded", "err", err)
		return
	}
	if !ok {
		// Twilio may call before the sender committed the SID; a later,
		// final status will find it.
		n.log.Info("notify: status for a message not in the outbox", "status", u.Status)
		return
	}
	kind, detail := KindSMSStatus, "status="+string(u.Status)
	switch u.Status {
	case StatusDelivered, StatusRead:
		kind = KindSMSDelivered
	case StatusUndelivered, StatusFailed:
		kind = KindSMSFailed
		detail += fmt.Sprintf(" code=%d", u.ErrorCode)
		n.log.Warn("notify: message not delivered", "msg", m.ID, "to", m.To, "status", u.Status, "code", u.ErrorCode)
	}
	now := n.cfg.Clock.Now()
	if err := n.record(ctx, Batch{Outcomes: []Outcome{{ID: m.ID, Status: string(u.Status), Updated: now}},
		Events: []dispenser.Event{n.msgEvent(now, kind, m, detail)}}); err != nil {
		n.log.Error("notify: status not recorded", "err", err)
	}
}
