package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pillbox/pillbox/cmd/internal/secret"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/dispenser/httpapi"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/notify/twilio"
	"github.com/pillbox/pillbox/notify/twilio/twilioconf"
)

// The notifier: alerts from the event log, their escalation ladders, the
// SMS outbox and its sender, and the inbound side (Twilio's webhook, or in
// sim mode the outbox viewer and a reply box).
func init() { register(component{name: "notify", wire: wireNotify}) }

// twilioHTTP, when set, carries the Twilio client's requests: tests point
// it at the stand-in (twilio-go's base URL cannot be changed).
var twilioHTTP *http.Client

func wireNotify(ctx context.Context, r *running) error {
	esc := r.file.Escalation
	sender, hook, err := newSender(r)
	if err != nil {
		return err
	}
	r.sender = sender
	counts := map[int]int{}
	for _, c := range r.file.Compartments {
		counts[c.ID] = c.Count
	}
	n, err := notify.New(notify.Config{
		Clock: r.clock, Store: r.store, Sender: sender, Escalation: esc.Escalation,
		Patient: r.file.Patient, Location: r.loc, Contacts: r.file.Contacts, Medications: r.file.Medications,
		Plan: r.plan, Counts: counts, Logger: r.log,
		// The notifier's own events reach every subscriber, as if they had
		// gone through r.events: it commits them with its outbox rows.
		Publish: func(evs []dispenser.Event) {
			for _, f := range r.onCommit {
				f(evs)
			}
		},
		Faults:  controllerFaults{r},
		Display: controllerFaults{r},
		Trusted: func(ctx context.Context) bool {
			st, err := r.ctrl.Status(ctx)
			return err == nil && st.ClockTrusted
		},
	})
	if err != nil {
		return err
	}
	r.onCommit = append(r.onCommit, n.Observe)
	r.settlers = append(r.settlers, n.Settle)
	r.services = append(r.services, func(ctx context.Context) error {
		// Start once the dose loop has reconciled the time the device was
		// off, so the first pass sees those missed doses together and sends
		// one summary instead of the ladders they interrupted.
		if _, err := r.ctrl.Status(ctx); err != nil {
			<-ctx.Done()
			return nil
		}
		return n.Run(ctx)
	})
	if hook != nil {
		wh, err := twilio.NewWebhook(hook.token, hook.publicURL, n.HandleReply, n.HandleStatus)
		if err != nil {
			return err
		}
		wh.OnCall(twilio.CallHandlers{Status: n.HandleCallStatus, Digits: n.HandleDigits})
		if err := serveWebhooks(r, hook.listen, wh); err != nil {
			return err
		}
	}
	if r.opts.sim {
		v := &smsViewer{n: n, clock: r.clock, to: ourNumber(esc.Twilio), names: map[string]string{}}
		for _, c := range r.file.Contacts {
			v.names[c.Phone] = c.Name
		}
		r.noteText = v.note
		r.routes["GET /api/sim/sms"] = http.HandlerFunc(v.list)
		r.routes["POST /api/sim/sms/reply"] = http.HandlerFunc(v.reply)
		r.routes["POST /api/sim/call/answer"] = http.HandlerFunc(v.answer)
	}
	return nil
}

// noToken is the sender while the Twilio auth token is missing: every
// send fails as retryable, so texts wait in the outbox.
type noToken struct{ err error }

var (
	_ notify.Sender = noToken{}
	_ notify.Caller = noToken{}
)

func (s noToken) Send(context.Context, string, string) (notify.Sent, error) {
	return notify.Sent{}, s.err
}

func (s noToken) Call(context.Context, string, notify.Call) (notify.Sent, error) {
	return notify.Sent{}, s.err
}

// webhookConfig is what the inbound webhook needs.
type webhookConfig struct{ token, publicURL, listen string }

// serveWebhooks gives Twilio's webhooks their own listener, which serves
// them and nothing else: whoever opens public_url to the Internet opens
// only these signed routes (texts and calls), never the local API.
func serveWebhooks(r *running, addr string, wh http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("twilio webhooks: listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+twilioconf.SMSPath, wh)
	mux.Handle("POST "+twilioconf.StatusPath, wh)
	mux.Handle("POST "+twilioconf.CallStatusPath, wh)
	mux.Handle("POST "+twilioconf.GatherPath, wh)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(r.log.Handler(), slog.LevelWarn)}
	r.closers = append(r.closers, func() error {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	r.services = append(r.services, func(ctx context.Context) error {
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ln) }()
		r.log.Info("notify: Twilio webhooks listen here; forward /twilio/ of public_url to it", "listen", "http://"+ln.Addr().String())
		select {
		case err := <-done:
			return fmt.Errorf("twilio webhooks: %w", err)
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
			<-done
			return nil
		}
	})
	return nil
}

// newSender returns Twilio's sender when escalation.twilio is configured
// (and, with --sim, in_sim is set), else the local sink; and the webhook's
// settings when Twilio can reach us.
func newSender(r *running) (notify.Sender, *webhookConfig, error) {
	tw := r.file.Escalation.Twilio
	switch {
	case tw == nil && !r.opts.sim:
		r.log.Warn("notify: no escalation.twilio section: texts stay in the local outbox and reach nobody")
		return notify.Sink{}, nil, nil
	case tw == nil || r.opts.sim && !tw.InSim:
		return notify.Sink{}, nil, nil
	}
	token, err := authToken(tw, r)
	if err != nil {
		// Texts cannot go out, but pills must: the daemon starts, keeps
		// every text queued in the outbox (sent once a token is installed
		// and the daemon restarted) and says so on the display and in the
		// log, instead of refusing to run.
		r.log.Error("notify: texts are held in the outbox until the Twilio auth token is installed", "err", err)
		r.services = append(r.services, func(ctx context.Context) error {
			if _, err := r.ctrl.Status(ctx); err == nil {
				if err := r.ctrl.SetFault(ctx, "sms-token", strings.Split(r.file.Patient.Locale().Text("screen.texts_not_set_up", nil), "\n")...); err != nil {
					r.log.Error("notify: cannot show a fault on the device", "err", err)
				}
			}
			<-ctx.Done()
			return nil
		})
		return noToken{err}, nil, nil
	}
	cfg := twilio.Config{AccountSID: tw.AccountSID, AuthToken: token, From: tw.From,
		MessagingServiceSID: tw.MessagingServiceSID, HTTPClient: twilioHTTP}
	var hook *webhookConfig
	if tw.PublicURL != "" {
		base := strings.TrimSuffix(tw.PublicURL, "/")
		cfg.StatusCallback = base + twilioconf.StatusPath
		cfg.CallStatusCallback, cfg.CallGather = base+twilioconf.CallStatusPath, base+twilioconf.GatherPath
		hook = &webhookConfig{token: token, publicURL: base, listen: tw.WebhookListen()}
	} else {
		r.log.Warn("notify: no escalation.twilio.public_url: replies (OK, STOP) and delivery statuses will not be received")
	}
	s, err := twilio.New(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("notify: %w", err)
	}
	return s, hook, nil
}

// authToken reads the Twilio auth token from auth_token_file, or else from
// TWILIO_AUTH_TOKEN. It is never in the config file, never logged.
func authToken(tw *twilioconf.Section, r *running) (string, error) {
	if tw.AuthTokenFile == "" {
		if t := strings.TrimSpace(os.Getenv("TWILIO_AUTH_TOKEN")); t != "" {
			return t, nil
		}
		return "", errors.New("no Twilio auth token: set escalation.twilio.auth_token_file or the TWILIO_AUTH_TOKEN environment variable")
	}
	t, perm, err := secret.Read(tw.AuthTokenFile, 1024)
	if err != nil {
		return "", fmt.Errorf("Twilio auth token: %w", err)
	}
	if perm&0o077 != 0 {
		r.log.Warn("notify: the Twilio auth token file is readable by others; chmod 600 it", "file", tw.AuthTokenFile)
	}
	if t == "" {
		return "", fmt.Errorf("Twilio auth token file %s is empty", tw.AuthTokenFile)
	}
	return t, nil
}

func ourNumber(tw *twilioconf.Section) string {
	if tw != nil && tw.From != "" {
		return tw.From
	}
	return "+15005550006" // Twilio's magic test number: a plausible "to" for the simulator
}

// controllerFaults shows the notifier's faults, and who is on the
// patient's missed doses, on the device. The controller is built after the
// components, so it is looked up when used.
type controllerFaults struct{ r *running }

var _ notify.Faults = controllerFaults{}

func (f controllerFaults) SetFault(ctx context.Context, key string, lines ...string) error {
	if f.r.ctrl == nil {
		return errors.New("dispenserd: no controller yet")
	}
	return f.r.ctrl.SetFault(ctx, key, lines...)
}

func (f controllerFaults) ClearFault(ctx context.Context, key string) error {
	if f.r.ctrl == nil {
		return errors.New("dispenserd: no controller yet")
	}
	return f.r.ctrl.ClearFault(ctx, key)
}

var _ notify.Display = controllerFaults{}

// OnIt shows the patient who acknowledged their missed doses.
func (f controllerFaults) OnIt(ctx context.Context, name string, at time.Time) error {
	if f.r.ctrl == nil {
		return errors.New("dispenserd: no controller yet")
	}
	return f.r.ctrl.OnIt(ctx, name, at)
}

// smsViewer is the simulator's view of texting: the outbox, and a reply box
// that goes through the same HandleReply as Twilio's webhook.
type smsViewer struct {
	n     *notify.Notifier
	clock interface{ Now() time.Time }
	to    string            // our number, the "To" of a reply
	names map[string]string // contacts' names by phone

	mu      sync.Mutex
	inbound []smsView // replies and their answers, newest last
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

func (v *smsViewer) list(w http.ResponseWriter, r *http.Request) {
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

// note shows a text sent outside the outbox (the storage alarm's).
func (v *smsViewer) note(to, body string, at time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.inbound = append(v.inbound, smsView{Direction: "out", To: to, Body: body, Status: "sent", Time: at, Priority: "high", Why: "storage"})
	if len(v.inbound) > maxInbound {
		v.inbound = slices.Delete(v.inbound, 0, len(v.inbound)-maxInbound)
	}
}

// simReply is the body of POST /api/sim/sms/reply.
type simReply struct {
	From string `json:"from"`
	Body string `json:"body"`
}

// maxSMS is Twilio's limit on one message's length.
const maxSMS = 1600

// decodeOne decodes data, which must be one JSON object with no field v
// lacks; shape, in the error, shows what it should look like.
func decodeOne(data []byte, v any, shape string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body must be %s: %w", shape, err)
	}
	if dec.More() {
		return errors.New("body must be one JSON object")
	}
	return nil
}

// parseSimReply reads and checks a reply box submission.
func parseSimReply(data []byte) (simReply, error) {
	var req simReply
	if err := decodeOne(data, &req, `{"from": "+1...", "body": "OK"}`); err != nil {
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

func (v *smsViewer) reply(w http.ResponseWriter, r *http.Request) {
	if !httpapi.JSONBody(r.Header.Get("Content-Type")) {
		httpapi.WriteError(w, http.StatusUnsupportedMediaType, "body must be application/json")
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<10))
	if err != nil {
		httpapi.WriteError(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	req, err := parseSimReply(data)
	if err != nil {
		httpapi.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	var sid [16]byte
	rand.Read(sid[:])
	in := notify.InboundSMS{MessageSID: "SM" + hex.EncodeToString(sid[:]), From: req.From, To: v.to, Body: req.Body,
		Reply: notify.ParseReply(req.Body)}
	answer := v.n.HandleReply(r.Context(), in)

	now := v.clock.Now()
	v.mu.Lock()
	v.inbound = append(v.inbound, smsView{Direction: "in", From: req.From, To: v.to, Body: req.Body, Status: "received", Time: now,
		Name: v.names[req.From]})
	if answer != "" {
		v.inbound = append(v.inbound, smsView{Direction: "out", To: req.From, Body: answer, Status: "delivered", Time: now, Why: "answer"})
	}
	if len(v.inbound) > maxInbound {
		v.inbound = slices.Delete(v.inbound, 0, len(v.inbound)-maxInbound)
	}
	v.mu.Unlock()
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"reply": answer, "understood": in.Reply.Kind.String()})
}

// simAnswer is the body of POST /api/sim/call/answer.
type simAnswer struct {
	SID    string           `json:"sid"`
	Answer notify.SimAnswer `json:"answer"`
}

// parseSimAnswer reads and checks a call answer from the panel.
func parseSimAnswer(data []byte) (simAnswer, error) {
	var req simAnswer
	if err := decodeOne(data, &req, `{"sid": "CA...", "answer": "pressed1"}`); err != nil {
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
// the same handlers as Twilio's call webhooks.
func (v *smsViewer) answer(w http.ResponseWriter, r *http.Request) {
	if !httpapi.JSONBody(r.Header.Get("Content-Type")) {
		httpapi.WriteError(w, http.StatusUnsupportedMediaType, "body must be application/json")
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
	if err != nil {
		httpapi.WriteError(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	req, err := parseSimAnswer(data)
	if err != nil {
		httpapi.WriteError(w, http.StatusBadRequest, err.Error())
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
