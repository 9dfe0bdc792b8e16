package notify

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/internal/i18n"
)

// HandleReply acts on a text someone sent us (Webhook's onReply; the
// simulator's reply endpoint calls it too) and returns the answer to text
// back, "" for none:
//   - OK acknowledges every open alert the sender was texted about in the
//     last day, OK <code> the alert with that code; a caregiver's ack stops
//     the alert's ladder for everyone;
//   - TAKEN from a caregiver marks a missed dose as taken after all (see
//     dispute); from anyone else it is a reply like any other;
//   - STOP records the opt-out (the provider itself confirms it and blocks
//     further texts) and takes the number off every ladder; START undoes it;
//   - HELP from a contact gets the help text; anything else gets it too,
//     at most once in 24 hours per number, and then silence. A number not
//     in contacts gets the short help text at most once in 24 hours, and
//     only while the help caps and the rate limits allow (help).
//
// A message whose MessageSid was acted on in the last ReplayWindow is a
// replay (Twilio's retry, or someone resending a captured request, whose
// signature is still good) and is ignored: a replayed STOP must not opt a
// caregiver out again after they texted START. Every decision is recorded
// as an event; the body itself never is.
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
	var b Batch
	if replay, err := n.replayed(ctx, in.MessageSID, now, &b); err != nil || replay {
		if err != nil {
			n.log.Error("notify: reply not handled", "err", err)
		} else {
			n.log.Warn("notify: a reply already acted on came again (a replay): ignored", "kind", in.Reply.Kind)
		}
		return ""
	}
	role, contact := n.roleOf(in.From)
	lang := n.text.lang(role)
	label := role
	if label == "" {
		label = "unknown"
	}
	var answer string
	var err error
	switch kind := in.Reply.Kind; {
	case kind == ReplyOptOut:
		num := n.numbers[in.From]
		num.Phone, num.OptedOut = in.From, now
		n.numbers[in.From] = num
		b.Numbers = append(b.Numbers, num)
		b.Events = append(b.Events, dispenser.Event{Time: now, Kind: KindSMSOptOut, Detail: "to=" + label + " source=reply"})
	case kind == ReplyOptIn:
		if num, ok := n.numbers[in.From]; ok && !num.OptedOut.IsZero() {
			num.OptedOut = time.Time{}
			n.numbers[in.From] = num
			b.Numbers = append(b.Numbers, num)
			b.Events = append(b.Events, dispenser.Event{Time: now, Kind: KindSMSOptIn, Detail: "to=" + label})
		}
	case role == "":
		// A stranger gets at most the short help text, whatever they sent.
		answer, err = n.help(ctx, in.From, now, kind == ReplyHelp, &b)
	case kind == ReplyHelp:
		answer = n.text.helpText(lang, true)
	case kind == ReplyAck && role != RolePatient:
		answer, err = n.ack(ctx, lang, role, contact, in.Reply.Code, now, &b)
	case kind == ReplyTaken && role != RolePatient:
		answer, err = n.dispute(ctx, lang, role, contact, in.Reply.Code, now, &b)
	default:
		// Nothing unasked for goes to a number that opted out.
		num := n.numbers[in.From]
		if num.OptedOut.IsZero() && helpDue(num, now) {
			num.Phone, num.Helped = in.From, now
			n.numbers[in.From] = num
			b.Numbers = append(b.Numbers, num)
			answer = n.text.helpText(lang, true)
		}
	}
	if err != nil {
		n.log.Error("notify: reply not handled", "err", err)
		return ""
	}
	if err = n.commit(ctx, b); err != nil {
		n.log.Error("notify: reply not recorded", "err", err)
		return ""
	}
	n.log.Info("notify: reply", "from", label, "kind", in.Reply.Kind)
	n.announce(ctx, b, contact.Name)
	return answer
}

// ack acknowledges the alerts a caregiver's OK names. The caller holds mu.
func (n *Notifier) ack(ctx context.Context, l *i18n.Locale, role string, c Contact, code string, now time.Time, b *Batch) (string, error) {
	var targets []*Alert
	if code != "" {
		for _, a := range n.open {
			if a.Code == code {
				targets = append(targets, a)
			}
		}
		if len(targets) == 0 {
			return l.Text("sms.ack_no_open", i18n.Args{"code": code}), nil
		}
		if targets[0].acked() {
			return l.Text("sms.ack_already", i18n.Args{"code": code}), nil
		}
	} else {
		texted, err := n.textedTo(ctx, c.Phone, now)
		if err != nil {
			return "", fmt.Errorf("notify: ack: %w", err)
		}
		ids := map[int64]bool{}
		for _, m := range texted {
			for _, id := range m.Alerts {
				ids[id] = true
			}
		}
		for _, a := range n.sortedAlerts() {
			if ids[a.ID] && !a.acked() {
				targets = append(targets, a)
			}
		}
		if len(targets) == 0 {
			return l.Text("sms.ack_nothing", nil), nil
		}
	}
	// The doses of an episode are acknowledged with it, and not counted
	// apart.
	targets = slices.DeleteFunc(targets, func(a *Alert) bool {
		return a.Facts.Episode != 0 && slices.Contains(targets, n.episodeOf(a))
	})
	for _, a := range targets {
		n.ackAlert(a, role, now, b)
	}
	if len(targets) == 1 {
		return l.Text("sms.ack_one", i18n.Args{"name": c.Name, "code": targets[0].Code}), nil
	}
	return l.Text("sms.ack_many", i18n.Args{"name": c.Name, "count": len(targets)}), nil
}

// ackAlert records role's acknowledgement of a in b: of an episode, of
// every dose in it, each logged as acknowledged with the episode's code
// (the log names an episode by its doses); of the last dose of an episode
// not acknowledged yet, of the episode too. The caller holds mu.
func (n *Notifier) ackAlert(a *Alert, role string, now time.Time, b *Batch) {
	a.AckedBy, a.AckedAt = role, now
	b.Alerts = append(b.Alerts, *a)
	logAck := func(x *Alert, code string) {
		b.Events = append(b.Events, dispenser.Event{Time: now, Kind: KindAlertAck,
			Detail: fmt.Sprintf("alert=%s code=%s by=%s", x.Key, code, role)})
	}
	if a.What != CondEpisode {
		logAck(a, a.Code)
		if ep := n.episodeOf(a); ep != nil && !ep.acked() &&
			!slices.ContainsFunc(n.members(ep), func(m *Alert) bool { return !m.acked() }) {
			ep.AckedBy, ep.AckedAt = role, now
			b.Alerts = append(b.Alerts, *ep)
		}
		return
	}
	for _, m := range n.members(a) {
		if !m.acked() {
			m.AckedBy, m.AckedAt = role, now
			b.Alerts = append(b.Alerts, *m)
			logAck(m, a.Code)
		}
	}
}

// textedTo returns the messages of the last recentWindow that went, or are
// going, to phone, oldest first: what a reply without a code is about.
func (n *Notifier) textedTo(ctx context.Context, phone string, now time.Time) ([]Message, error) {
	recent, err := n.cfg.Store.MessagesSince(ctx, now.Add(-recentWindow))
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(recent, func(m Message) bool { return m.Phone != phone || m.State == MsgCanceled }), nil
}

// DisputeReason is the reason a miss_disputed event gives: the reports show
// it next to the mark.
const DisputeReason = "caregiver reply"

// dispute marks the missed dose a caregiver's TAKEN names as taken: the
// single missed-dose alert with the code, or without one the missed-dose
// alert in the latest text to them of the last day that named one. It
// acknowledges the alert as OK would and records a miss_disputed event in
// the same batch. A summary alert (several doses missed at once) names no
// dose ids, so it cannot be marked by text: the clinician can, on the
// patient's page. The caller holds mu.
func (n *Notifier) dispute(ctx context.Context, l *i18n.Locale, role string, c Contact, code string, now time.Time, b *Batch) (string, error) {
	var a *Alert
	if code != "" {
		for _, x := range n.open {
			if x.Code == code {
				a = x
				break
			}
		}
		if a != nil && a.What == CondEpisode {
			// An episode of one dose is that dose; of several, the text
			// named no dose to mark.
			if ms := n.members(a); len(ms) == 1 {
				a = ms[0]
			}
		}
		switch {
		case a == nil:
			return l.Text("sms.taken_no_open", i18n.Args{"code": code}), nil
		case a.What != CondMissed || a.Facts.DoseID == "":
			return l.Text("sms.taken_not_dose", i18n.Args{"code": code}), nil
		}
	} else {
		texted, err := n.textedTo(ctx, c.Phone, now)
		if err != nil {
			return "", fmt.Errorf("notify: taken: %w", err)
		}
		byID := make(map[int64]*Alert, len(n.open))
		for _, x := range n.open {
			byID[x.ID] = x
		}
		var found []*Alert
		for i := len(texted) - 1; i >= 0 && len(found) == 0; i-- {
			for _, id := range texted[i].Alerts {
				if x := byID[id]; x != nil && x.What == CondMissed && x.Facts.DoseID != "" && !slices.Contains(found, x) {
					found = append(found, x)
				}
			}
		}
		switch len(found) {
		case 0:
			return l.Text("sms.taken_nothing", nil), nil
		case 1:
			a = found[0]
		default:
			// One word must not mark the wrong dose in a clinical record.
			return l.Text("sms.taken_several", nil), nil
		}
	}
	// A repeated TAKEN adds nothing; the reports count a dose once anyway,
	// so this check only needs to catch the common case.
	last, ok, err := n.cfg.Store.LastOfKinds(ctx, a.Facts.Compartment, KindMissDisputed)
	if err != nil {
		return "", fmt.Errorf("notify: taken: %w", err)
	}
	dose := n.text.dose(l, a.Facts, now, n.text.medNames)
	if prev, _, _, err := ParseDisputeDetail(last.Detail); ok && err == nil && prev == a.Facts.DoseID {
		return l.Text("sms.taken_already", i18n.Args{"dose": dose}), nil
	}
	detail, err := DisputeDetail(a.Facts.DoseID, role, DisputeReason)
	if err != nil {
		return "", err
	}
	if !a.acked() {
		n.ackAlert(a, role, now, b)
	}
	b.Events = append(b.Events, dispenser.Event{Time: now, Kind: KindMissDisputed, Compartment: a.Facts.Compartment, Detail: detail})
	return l.Text("sms.taken_done", i18n.Args{"dose": dose}), nil
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

// ReplayWindow is how long a webhook's id is remembered. Twilio retries
// within minutes; a captured request replayed later than this is acted
// on again.
const ReplayWindow = 48 * time.Hour

// replayed reports whether the webhook id was acted on within
// ReplayWindow; if not, it adds the id to b, to be remembered with the
// decision it causes. An empty id (the simulator's reply box gives one
// of its own) is never a replay.
func (n *Notifier) replayed(ctx context.Context, id string, now time.Time, b *Batch) (bool, error) {
	if id == "" {
		return false, nil
	}
	seen, err := n.cfg.Store.WebhookSeen(ctx, id, now.Add(-ReplayWindow))
	if err != nil {
		return false, fmt.Errorf("notify: replay check: %w", err)
	}
	if !seen {
		b.Webhooks = append(b.Webhooks, WebhookID{ID: id, At: now})
		b.ForgetWebhooks = now.Add(-ReplayWindow)
	}
	return seen, nil
}

// helpEvery is how often one number is sent the help text unasked.
const helpEvery = 24 * time.Hour

func helpDue(num Number, now time.Time) bool {
	return num.Helped.IsZero() || now.Sub(num.Helped) >= helpEvery
}

// help answers a number not in contacts with the short help text (which
// names nobody), recording it in b; or returns "" when that number had one
// within helpEvery, when it opted out and did not ask, or when the help
// caps (per hour, per day) or the rate limits are reached. Anyone can text
// the number and every answer is paid for, so a stranger gets at most one
// a day, and all strangers together at most the caps, whatever they send.
// The caller holds mu.
func (n *Notifier) help(ctx context.Context, phone string, now time.Time, asked bool, b *Batch) (string, error) {
	num := n.numbers[phone]
	if !asked && !num.OptedOut.IsZero() || !helpDue(num, now) {
		return "", nil
	}
	hour, day := 0, 0
	for p, x := range n.numbers {
		if role, _ := n.roleOf(p); role != "" || x.Helped.IsZero() {
			continue
		}
		if now.Sub(x.Helped) < time.Hour {
			hour++
		}
		if now.Sub(x.Helped) < 24*time.Hour {
			day++
		}
	}
	if hour >= n.pol.limits.HelpPerHour || day >= n.pol.limits.HelpPerDay {
		n.log.Warn("notify: no help text to an unknown number: the help cap is reached", "last_hour", hour, "last_day", day)
		return "", nil
	}
	recent, err := n.cfg.Store.MessagesSince(ctx, now.Add(-recentWindow))
	if err != nil {
		return "", fmt.Errorf("notify: help: %w", err)
	}
	if _, held := n.limiter(recent, now).hold(phone, now); held {
		n.log.Warn("notify: no help text to an unknown number: the rate limits are reached")
		return "", nil
	}
	num.Phone, num.Helped = phone, now
	n.numbers[phone] = num
	b.Numbers = append(b.Numbers, num)
	return n.text.helpText(n.text.lang(""), false), nil
}

// statusMessage finds the outbox row a status callback (a text's or a
// call's) is about, unless the callback was acted on within ReplayWindow
// (then it is remembered in b); false when there is nothing to record,
// which it logs. The caller holds hookMu.
func (n *Notifier) statusMessage(ctx context.Context, what, sid, status string, now time.Time, b *Batch) (Message, bool) {
	if replay, err := n.replayed(ctx, sid+"/"+status, now, b); err != nil || replay {
		if err != nil {
			n.log.Error("notify: "+what+" not recorded", "err", err)
		} else {
			n.log.Info("notify: a "+what+" callback already acted on came again: ignored", "status", status)
		}
		return Message{}, false
	}
	m, ok, err := n.cfg.Store.MessageBySID(ctx, sid)
	switch {
	case err != nil:
		n.log.Error("notify: "+what+" not recorded", "err", err)
	case !ok:
		// Twilio may call before the sender committed the SID; a later,
		// final status will find it.
		n.log.Info("notify: "+what+" for a message not in the outbox", "status", status)
	}
	return m, err == nil && ok
}

// HandleStatus records a delivery status callback (Webhook's onStatus) as
// an event: what reached whom.
//
// A callback already acted on (same message, same status) within
// ReplayWindow is ignored.
func (n *Notifier) HandleStatus(ctx context.Context, u StatusUpdate) {
	n.hookMu.Lock()
	defer n.hookMu.Unlock()
	now := n.cfg.Clock.Now()
	var b Batch
	m, ok := n.statusMessage(ctx, "status", u.MessageSID, string(u.Status), now, &b)
	if !ok {
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
	b.Outcomes = []Outcome{{ID: m.ID, Status: string(u.Status), Updated: now}}
	b.Events = []dispenser.Event{n.msgEvent(now, kind, m, detail)}
	if err := n.record(ctx, b); err != nil {
		n.log.Error("notify: status not recorded", "err", err)
	}
}
