package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/internal/i18n"
)

// Voice calls. A ladder step with call: phones the caregiver instead of
// texting them: the call says the alert and asks them to press 1 if they
// will handle it. Pressing 1 acknowledges the alerts of the call as OK
// does; a call that ends otherwise (no answer, busy, voicemail, failed, or
// answered with no key or another) moves the ladder on: its next step is
// due at once instead of at its time. Calls go through the outbox like
// texts, with the same retries, quiet hours and rate limits.

// Caller places voice calls (package twilio's Sender; in the simulator,
// Sink). The outbox calls it from one goroutine at a time.
type Caller interface {
	// Call returns once the provider accepted the call (it then rings) or
	// refused it. Errors are classified as Sender's are.
	Call(ctx context.Context, to string, c Call) (Sent, error)
}

// Call is what a call says. The provider speaks Say, then asks Ask and
// waits for a key, asks once more if none came, then says NoKey and hangs
// up. The key pressed reaches HandleDigits, the call's end HandleCallStatus.
type Call struct {
	Say   string
	Ask   string
	NoKey string
}

// CallStatus is a call's state, as Twilio names them.
type CallStatus string

const (
	CallQueued     CallStatus = "queued"
	CallInitiated  CallStatus = "initiated"
	CallRinging    CallStatus = "ringing"
	CallInProgress CallStatus = "in-progress"
	CallCompleted  CallStatus = "completed"
	CallBusy       CallStatus = "busy"
	CallNoAnswer   CallStatus = "no-answer"
	CallFailed     CallStatus = "failed"
	CallCanceled   CallStatus = "canceled"
)

// Known reports whether s is one of the states above; a webhook refuses
// any other.
func (s CallStatus) Known() bool {
	switch s {
	case CallQueued, CallInitiated, CallRinging, CallInProgress, CallCompleted, CallBusy, CallNoAnswer, CallFailed, CallCanceled:
		return true
	}
	return false
}

// Final reports whether the call is over.
func (s CallStatus) Final() bool {
	switch s {
	case CallCompleted, CallBusy, CallNoAnswer, CallFailed, CallCanceled:
		return true
	}
	return false
}

// CallUpdate is a status report for a call we placed. AnsweredBy is the
// answering machine detection's verdict ("human", "machine_start",
// "machine_end_beep", "fax", "unknown", ...), "" when there was none.
type CallUpdate struct {
	CallSID    string
	Status     CallStatus
	AnsweredBy string
}

// Machine reports whether answering machine detection heard a machine (or
// a fax) rather than a person.
func (u CallUpdate) Machine() bool {
	return strings.HasPrefix(u.AnsweredBy, "machine") || u.AnsweredBy == "fax"
}

// CallDigits is the key pressed during a call we placed.
type CallDigits struct {
	CallSID string
	Digits  string
}

// KindCallStatus: a call's status callback: the call ended, or moved on
// (ringing, answered). Detail: msg=ID to=ROLE status=S [answered_by=A].
const KindCallStatus dispenser.Kind = "call_status"

// callStatusMachine is the outbox status of a call a machine answered: for
// the record it is not "completed" by a person.
const callStatusMachine = "machine"

// call is what the outbox hands the Caller for message m.
func (t *texter) call(m Message) Call {
	l := t.lang(m.To)
	return Call{Say: m.Body, Ask: l.Text("call.ask", nil), NoKey: l.Text("call.no_key", nil)}
}

// HandleCallStatus acts on a call's status callback: it records the
// status, and when the call ended without acknowledging its alerts (no
// answer, busy, voicemail, no key), makes their next step due at once. A
// callback acted on within ReplayWindow is ignored, as for texts.
func (n *Notifier) HandleCallStatus(ctx context.Context, u CallUpdate) {
	n.hookMu.Lock()
	defer n.hookMu.Unlock()
	now := n.cfg.Clock.Now()
	var b Batch
	m, ok := n.statusMessage(ctx, "call status", u.CallSID, string(u.Status), now, &b)
	if !ok {
		return
	}
	status, detail := string(u.Status), "status="+string(u.Status)
	if u.AnsweredBy != "" {
		detail += " answered_by=" + u.AnsweredBy
	}
	if u.Status == CallCompleted && u.Machine() {
		status = callStatusMachine
	}
	b.Outcomes = []Outcome{{ID: m.ID, Status: status, Updated: now}}
	b.Events = []dispenser.Event{n.msgEvent(now, KindCallStatus, m, detail)}
	if err := n.record(ctx, b); err != nil {
		n.log.Error("notify: call status not recorded", "err", err)
		return
	}
	if u.Status.Final() {
		n.moveOn(ctx, m, now)
	}
}

// moveOn makes the next step of m's alerts that nobody acknowledged due at
// now: the call reached nobody who will handle them.
func (n *Notifier) moveOn(ctx context.Context, m Message, now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.loaded {
		return // the next pass loads the store, and the ladder goes on at its times
	}
	var b Batch
	for _, a := range n.byID() {
		if slices.Contains(m.Alerts, a.ID) && !a.acked() && a.Facts.Episode == 0 {
			a.Facts.MoveOn = now
			b.Alerts = append(b.Alerts, *a)
		}
	}
	if len(b.Alerts) == 0 {
		return
	}
	if err := n.commit(ctx, b); err != nil {
		n.log.Error("notify: the ladder does not move on after the call", "err", err)
		return
	}
	kick(n.wake)
}

// HandleDigits acts on the key a caregiver pressed during a call and
// returns what the call says before it hangs up: 1 acknowledges the call's
// alerts as OK does; anything else acknowledges nothing, and the call's
// end moves the ladder on. A key already acted on (a replay) is ignored.
func (n *Notifier) HandleDigits(ctx context.Context, d CallDigits) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	// Until the call is found, the patient's language; then the callee's.
	l := n.text.lang("")
	if !n.loaded {
		if err := n.load(ctx); err != nil {
			n.log.Error("notify: key press not handled", "err", err)
			return l.Text("call.other_key", nil)
		}
	}
	now := n.cfg.Clock.Now()
	var b Batch
	if replay, err := n.replayed(ctx, d.CallSID+"/gather", now, &b); err != nil || replay {
		if err != nil {
			n.log.Error("notify: key press not handled", "err", err)
		} else {
			n.log.Warn("notify: a key press already acted on came again (a replay): ignored")
		}
		return l.Text("call.other_key", nil)
	}
	m, ok, err := n.cfg.Store.MessageBySID(ctx, d.CallSID)
	if err != nil || !ok || m.Channel != ChannelCall {
		if err != nil {
			n.log.Error("notify: key press not handled", "err", err)
		}
		return l.Text("call.closed", nil)
	}
	c := n.pol.roles[m.To]
	l = n.text.lang(m.To)
	answer := l.Text("call.other_key", nil)
	if d.Digits == "1" {
		var targets []*Alert
		for _, a := range n.sortedAlerts() {
			if slices.Contains(m.Alerts, a.ID) && !a.acked() && a.Facts.Episode == 0 {
				targets = append(targets, a)
			}
		}
		if len(targets) == 0 {
			answer = l.Text("call.closed", nil)
		} else {
			for _, a := range targets {
				n.ackAlert(a, m.To, now, &b)
			}
			answer = l.Text("call.thanks", i18n.Args{"name": c.Name})
		}
	}
	if err := n.commit(ctx, b); err != nil {
		n.log.Error("notify: key press not recorded", "err", err)
		return l.Text("call.other_key", nil)
	}
	n.log.Info("notify: key pressed in a call", "to", m.To, "acknowledged", d.Digits == "1")
	n.announce(ctx, b, c.Name)
	return answer
}

// newCallSID is a made-up call SID, Twilio's form, for the simulator's
// calls.
func newCallSID() string {
	var b [16]byte
	rand.Read(b[:])
	return "CA" + hex.EncodeToString(b[:])
}

// Call rings nobody: the simulator's panel answers the call through
// HandleDigits and HandleCallStatus, as Twilio's webhooks would.
func (Sink) Call(ctx context.Context, to string, c Call) (Sent, error) {
	if err := ctx.Err(); err != nil {
		return Sent{}, err
	}
	return Sent{SID: newCallSID(), Status: string(CallRinging)}, nil
}

var _ Caller = Sink{}

// ErrNoCall is AnswerSimCall's error for a SID that is no call in the
// outbox.
var ErrNoCall = errors.New("notify: answer call: no such call")

// SimAnswer is how the simulator's panel answers a call.
type SimAnswer string

const (
	SimPressed1 SimAnswer = "pressed1" // answered, pressed 1
	SimNoKey    SimAnswer = "no-key"   // answered, hung up without a key
	SimNoAnswer SimAnswer = "no-answer"
	SimBusy     SimAnswer = "busy"
	SimMachine  SimAnswer = "machine" // voicemail
)

// AnswerSimCall answers the call sid as a person (or a machine) would, by
// way of the same handlers as Twilio's webhooks: the simulator's panel.
// It returns what the call said last.
func (n *Notifier) AnswerSimCall(ctx context.Context, sid string, a SimAnswer) (string, error) {
	m, ok, err := n.cfg.Store.MessageBySID(ctx, sid)
	switch {
	case err != nil:
		return "", fmt.Errorf("notify: answer call: %w", err)
	case !ok || m.Channel != ChannelCall:
		return "", ErrNoCall
	}
	l := n.text.lang(m.To)
	u := CallUpdate{CallSID: sid, Status: CallCompleted, AnsweredBy: "human"}
	said := ""
	switch a {
	case SimPressed1:
		said = n.HandleDigits(ctx, CallDigits{CallSID: sid, Digits: "1"})
	case SimNoKey:
		said = l.Text("call.no_key", nil)
	case SimNoAnswer:
		u = CallUpdate{CallSID: sid, Status: CallNoAnswer}
	case SimBusy:
		u = CallUpdate{CallSID: sid, Status: CallBusy}
	case SimMachine:
		u.AnsweredBy = "machine_end_beep"
		said = l.Text("call.no_key", nil)
	default:
		return "", fmt.Errorf("notify: answer call: %q is not pressed1, no-key, no-answer, busy or machine", a)
	}
	n.HandleCallStatus(ctx, u)
	return said, nil
}
