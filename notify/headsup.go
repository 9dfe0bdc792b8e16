package notify

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/internal/i18n"
)

// Heads-up texts (docs/insights.md): before a dose the patient is likely
// to miss, a caregiver who opted in (Contact.HeadsUp) gets one text. They
// are apart from alerts: no alert, no code, nothing to acknowledge, and
// they do not count toward the alerts' rate limits (though a heads-up is
// not sent while those are reached). At most one a local day per
// caregiver, never in quiet hours (a late heads-up is no heads-up: it is
// dropped, not held), never once the dose is due.

// whyHeadsUp marks a heads-up text (Message.Why).
const whyHeadsUp = "heads_up"

// headsUpStale is how old a heads_up event may be and still be acted on:
// after a restart, an old one is about a dose that has come.
const headsUpStale = time.Hour

// HeadsUpDetail is the detail of a heads_up event.
func HeadsUpDetail(dose string, scheduled time.Time, risk float64) (string, error) {
	if !isToken(dose) {
		return "", fmt.Errorf("notify: heads-up detail: dose id %q must be non-empty, without white space", dose)
	}
	return "dose=" + dose + " scheduled=" + scheduled.UTC().Format(time.RFC3339) +
		" risk=" + strconv.FormatFloat(risk, 'f', 3, 64), nil
}

// ParseHeadsUpDetail reads a heads_up event's detail.
func ParseHeadsUpDetail(detail string) (dose string, scheduled time.Time, risk float64, err error) {
	f := map[string]string{}
	for _, kv := range strings.Fields(detail) {
		k, v, _ := strings.Cut(kv, "=")
		f[k] = v
	}
	dose = f["dose"]
	scheduled, err1 := time.Parse(time.RFC3339, f["scheduled"])
	risk, err2 := strconv.ParseFloat(f["risk"], 64)
	if !isToken(dose) || err1 != nil || err2 != nil || !(risk >= 0 && risk <= 1) {
		return "", time.Time{}, 0, fmt.Errorf("notify: heads-up detail: want dose=ID scheduled=RFC3339 risk=P, got %q", detail)
	}
	return dose, scheduled, risk, nil
}

// headsUps queues the heads-up texts the heads_up events of one pass ask
// for. The caller holds mu.
func (n *Notifier) headsUps(ctx context.Context, evs []dispenser.Event, now time.Time) ([]Message, error) {
	var phones []Contact
	for _, role := range slices.Sorted(maps.Keys(n.pol.roles)) {
		if c := n.pol.roles[role]; c.Role == RoleCaregiver && c.HeadsUp && n.numbers[c.Phone].OptedOut.IsZero() {
			phones = append(phones, c)
		}
	}
	if len(evs) == 0 || len(phones) == 0 {
		return nil, nil
	}
	local := now.In(n.loc)
	if n.pol.quiet.in(local) {
		n.log.Info("notify: heads-up dropped: quiet hours")
		return nil, nil
	}
	recent, err := n.cfg.Store.MessagesSince(ctx, now.Add(-26*time.Hour))
	if err != nil {
		return nil, fmt.Errorf("notify: heads-up: %w", err)
	}
	lim := n.limiter(recent, now)
	today := local.Format(time.DateOnly)
	texted := map[string]bool{}
	for _, m := range recent {
		if m.Why == whyHeadsUp && m.State != MsgCanceled && m.Created.In(n.loc).Format(time.DateOnly) == today {
			texted[m.Phone] = true
		}
	}
	var msgs []Message
	for _, ev := range evs {
		_, scheduled, _, err := ParseHeadsUpDetail(ev.Detail)
		if err != nil {
			n.log.Warn("notify: a heads_up event does not read", "seq", ev.Seq, "err", err)
			continue
		}
		if !scheduled.After(now) || now.Sub(ev.Time) > headsUpStale {
			continue // the dose has come: nothing to head off
		}
		for _, c := range phones {
			if texted[c.Phone] {
				continue
			}
			if _, held := lim.hold(c.Phone, now); held {
				n.log.Warn("notify: heads-up not sent: the rate limits are reached")
				continue
			}
			texted[c.Phone] = true
			n.lastMsg++
			msgs = append(msgs, Message{ID: n.lastMsg, Created: now, To: n.roleOfContact(c), Phone: c.Phone, Priority: Low,
				State: MsgQueued, NextTry: now, Updated: now, Why: whyHeadsUp, Body: n.text.headsUp(n.roleOfContact(c), scheduled)})
		}
	}
	return msgs, nil
}

// roleOfContact is the ladder role ("caregiver2") of a contact.
func (n *Notifier) roleOfContact(c Contact) string {
	for role, x := range n.pol.roles {
		if x.Phone == c.Phone {
			return role
		}
	}
	return c.Role
}

// headsUp writes a heads-up text: the patient's first name and when the
// dose is due, nothing else (no medication, no reason: the text may be
// read by anyone near the phone).
func (t *texter) headsUp(role string, scheduled time.Time) string {
	l := t.lang(role)
	at := scheduled.In(t.loc)
	return l.Text("sms.header", nil) + " " + l.Text("sms.heads_up",
		i18n.Args{"name": t.first, "day": l.Weekday(at.Weekday()), "time": l.Clock(at, t.clock)})
}
