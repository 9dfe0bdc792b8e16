package simapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pillbox/pillbox/dispenser/httpapi"
	"github.com/pillbox/pillbox/notify"
)

// Notifier is what the SMS viewer needs of the notifier.
type Notifier interface {
	// Started is closed once the notifier runs.
	Started() <-chan struct{}
	Messages(ctx context.Context, since time.Time) ([]notify.Message, error)
	// Acks names, by message, who acknowledged what it was about.
	Acks(ctx context.Context, msgs []notify.Message) (map[int64]string, error)
	HandleReply(ctx context.Context, in notify.InboundSMS) string
	// AnswerSimCall answers a call in the outbox as its callee would, and
	// returns what the call said back; notify.ErrNoCall when there is none.
	AnswerSimCall(ctx context.Context, sid string, answer notify.SimAnswer) (string, error)
}

// SMS is the simulator's view of texting and calls: the outbox, a reply
// box that goes through the same HandleReply as a provider's webhook, and
// call answers that go through the same handlers as its call webhooks.
type SMS struct {
	n     Notifier
	clock interface{ Now() time.Time }
	to    string            // our number, the "To" of a reply
	names map[string]string // contacts' names by phone

	mu      sync.Mutex
	inbound []smsView // replies and their answers, and texts noted, newest last
}

// NewSMS returns the viewer of n's outbox; to is our number, names the
// contacts' names by phone.
func NewSMS(n Notifier, clock interface{ Now() time.Time }, to string, names map[string]string) *SMS {
	return &SMS{n: n, clock: clock, to: to, names: names}
}

// Routes are the viewer's routes.
func (v *SMS) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /api/sim/sms":          http.HandlerFunc(v.list),
		"POST /api/sim/sms/reply":   http.HandlerFunc(v.reply),
		"POST /api/sim/call/answer": http.HandlerFunc(v.answer),
	}
}

// maxInbound bounds the replies the viewer remembers (memory only).
const maxInbound = 200

// smsView is one text in GET /api/sim/sms.
type smsView struct {
	ID        int64     `json:"id,omitempty"`
	Direction string    `json:"direction"` // "out" or "in"
	To        string    `json:"to,omitempty"`
	From      string    `json:"from,omitempty"`
	Body      string    `json:"body"`
	Status    string    `json:"status"`
	Time      time.Time `json:"time"`
	Code      string    `json:"code,omitempty"`
	Priority  string    `json:"priority,omitempty"`
	Why       string    `json:"why,omitempty"`
	// Name is the contact's name of To (From for a reply).
	Name string `json:"name,omitempty"`
	// Via is "call" for a voice call; SID is then the call's, for
	// POST /api/sim/call/answer.
	Via string `json:"via,omitempty"`
	SID string `json:"sid,omitempty"`
	// AckedBy names who acknowledged what the message was about.
	AckedBy string `json:"acked_by,omitempty"`
}

// viewWindow is how far back the viewer lists the outbox.
const viewWindow = 7 * 24 * time.Hour

func (v *SMS) list(w http.ResponseWriter, r *http.Request) {
	// Answer once the notifier runs, so that a script that reads the
	// viewer before moving the clock knows every due text will be seen.
	select {
	case <-v.n.Started():
	case <-r.Context().Done():
		return
	}
	msgs, err := v.n.Messages(r.Context(), v.clock.Now().Add(-viewWindow))
	if err != nil {
		httpapi.WriteError(w, http.StatusInternalServerError, "cannot read the outbox")
		return
	}
	acks, err := v.n.Acks(r.Context(), msgs)
	if err != nil {
		httpapi.WriteError(w, http.StatusInternalServerError, "cannot read the acknowledgements")
		return
	}
	out := make([]smsView, 0, len(msgs))
	for _, m := range msgs {
		status := m.Status
		if status == "" || m.State == notify.MsgFailed || m.State == notify.MsgCanceled {
			status = string(m.State)
		}
		view := smsView{ID: m.ID, Direction: "out", To: m.Phone, Body: m.Body, Status: status, Time: m.Created,
			Code: strings.Join(m.Codes, ","), Priority: m.Priority.String(), Why: m.Why, Name: v.names[m.Phone], AckedBy: acks[m.ID]}
		if m.Channel == notify.ChannelCall {
			view.Via, view.SID = string(m.Channel), m.SID
		}
		out = append(out, view)
	}
	v.mu.Lock()
	out = append(out, v.inbound...)
	v.mu.Unlock()
	slices.SortStableFunc(out, func(a, b smsView) int { return a.Time.Compare(b.Time) })
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// Note shows a text sent outside the outbox (the storage alarm's).
func (v *SMS) Note(to, body string, at time.Time) {
	v.keep(smsView{Direction: "out", To: to, Body: body, Status: "sent", Time: at, Priority: "high", Why: "storage"})
}

// keep remembers texts, the oldest forgotten beyond maxInbound.
func (v *SMS) keep(views ...smsView) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.inbound = append(v.inbound, views...)
	if len(v.inbound) > maxInbound {
		v.inbound = slices.Delete(v.inbound, 0, len(v.inbound)-maxInbound)
	}
}

// simReply is the body of POST /api/sim/sms/reply.
type simReply struct {
	From string `json:"from"`
	Body string `json:"body"`
}

// maxSMS is the longest message a provider takes (Twilio's 1600).
const maxSMS = 1600

// decodeShaped decodes data as decodeStrict does; shape, in the error,
// shows what the body should look like.
func decodeShaped(data []byte, v any, shape string) error {
	if err := decodeStrict(data, v); err != nil {
		if errors.Is(err, errMore) {
			return errors.New("body must be one JSON object")
		}
		return fmt.Errorf("body must be %s: %w", shape, err)
	}
	return nil
}

// parseReply reads and checks a reply box submission.
func parseReply(data []byte) (simReply, error) {
	var req simReply
	if err := decodeShaped(data, &req, `{"from": "+1...", "body": "OK"}`); err != nil {
		return req, err
	}
	switch {
	case !notify.IsE164(req.From):
		return req, errors.New(`from must be an E.164 number such as "+15555550101"`)
	case req.Body == "" || utf8.RuneCountInString(req.Body) > maxSMS || !utf8.ValidString(req.Body):
		return req, errors.New("body must be 1 to 1600 characters of UTF-8 text")
	}
	return req, nil
}

func (v *SMS) reply(w http.ResponseWriter, r *http.Request) {
	req, ok := readParsed(w, r, 16<<10, parseReply)
	if !ok {
		return
	}
	var sid [16]byte
	rand.Read(sid[:])
	in := notify.InboundSMS{MessageSID: "SM" + hex.EncodeToString(sid[:]), From: req.From, To: v.to, Body: req.Body,
		Reply: notify.ParseReply(req.Body)}
	answer := v.n.HandleReply(r.Context(), in)

	now := v.clock.Now()
	views := []smsView{{Direction: "in", From: req.From, To: v.to, Body: req.Body, Status: "received", Time: now,
		Name: v.names[req.From]}}
	if answer != "" {
		views = append(views, smsView{Direction: "out", To: req.From, Body: answer, Status: "delivered", Time: now, Why: "answer"})
	}
	v.keep(views...)
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"reply": answer, "understood": in.Reply.Kind.String()})
}

// simAnswer is the body of POST /api/sim/call/answer.
type simAnswer struct {
	SID    string           `json:"sid"`
	Answer notify.SimAnswer `json:"answer"`
}

// parseAnswer reads and checks a call answer from the panel.
func parseAnswer(data []byte) (simAnswer, error) {
	var req simAnswer
	if err := decodeShaped(data, &req, `{"sid": "CA...", "answer": "pressed1"}`); err != nil {
		return req, err
	}
	switch req.Answer {
	case notify.SimPressed1, notify.SimNoKey, notify.SimNoAnswer, notify.SimBusy, notify.SimMachine:
	default:
		return req, errors.New("answer must be pressed1, no-key, no-answer, busy or machine")
	}
	if len(req.SID) != 34 || !strings.HasPrefix(req.SID, "CA") {
		return req, errors.New("sid must be a call's SID (CA and 32 hex digits), as GET /api/sim/sms lists it")
	}
	return req, nil
}

// answer answers a call as its callee would (the panel's buttons), through
// the same handlers as the provider's call webhooks.
func (v *SMS) answer(w http.ResponseWriter, r *http.Request) {
	req, ok := readParsed(w, r, maxBody, parseAnswer)
	if !ok {
		return
	}
	said, err := v.n.AnswerSimCall(r.Context(), req.SID, req.Answer)
	switch {
	case errors.Is(err, notify.ErrNoCall):
		httpapi.WriteError(w, http.StatusNotFound, "no such call in the outbox")
		return
	case err != nil:
		httpapi.WriteError(w, http.StatusInternalServerError, "cannot answer the call")
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"said": said})
}
