package notify_test

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/notify/twilio"
	"github.com/pillbox/pillbox/notify/twiliotest"
	"github.com/pillbox/pillbox/schedule"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "f00dfeedcafebabe5ecre7a11token99"
	ourNumber  = "+15005550006"
	anaPhone   = "+15555550101" // caregiver1
	davidPhone = "+15555550102" // caregiver2
	patPhone   = "+15555550100" // the patient
)

var (
	newYork  = mustZone("America/New_York")
	contacts = []notify.Contact{
		{Name: "Ana", Phone: anaPhone, Role: notify.RoleCaregiver},
		{Name: "David", Phone: davidPhone, Role: notify.RoleCaregiver},
		{Name: "Margaret", Phone: patPhone, Role: notify.RolePatient},
	}
	meds = []dispenser.Medication{
		{ID: "metformin", Name: "Metformin", Strength: "500 mg", PillsPerDose: 1, Compartment: 1},
		{ID: "warfarin", Name: "Warfarin", Strength: "5 mg", PillsPerDose: 1, Compartment: 2, Critical: true},
	}
	regimens = []schedule.Regimen{
		{Medication: "metformin", Cron: "0 8,20 * * *"}, // window 1h either side
		{Medication: "warfarin", Cron: "0 9 * * *"},     // window 2h either side
	}
	// day is a Monday; every test starts at 07:00 New York time.
	day = time.Date(2026, 3, 2, 0, 0, 0, 0, newYork)
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at is a time on the test day, New York time: at(8, 30) is 08:30.
func at(h, m int) time.Time {
	return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// harness runs a Notifier on a real store, sending with the real twilio-go
// client to the stand-in, with the webhook on a loopback server, and a
// simulated clock that only tests move.
type harness struct {
	t      *testing.T
	clock  *schedule.SimClock
	store  *adherence.Store
	path   string
	stand  *twiliotest.Server
	hook   *httptest.Server
	n      *notify.Notifier
	faults *faults
	shown  *shown // what the notifier showed the patient (Display)
	esc    notify.Escalation
	plan   *schedule.Plan
	// wrap, when set, stands between the notifier and the Twilio sender.
	wrap func(notify.Sender) notify.Sender
	// published collects what the notifier handed to Publish.
	mu        sync.Mutex
	published []dispenser.Event
}

type option func(*harness)

func withEscalation(e notify.Escalation) option { return func(h *harness) { h.esc = e } }

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	h := &harness{t: t, clock: schedule.NewSimClock(at(7, 0)), faults: &faults{set: map[string][]string{}}, shown: &shown{}}
	for _, o := range opts {
		o(h)
	}
	var err error
	h.path = t.TempDir() + "/pillbox.db"
	if h.store, err = adherence.Open(t.Context(), h.path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.store.Close() })
	if h.plan, err = schedule.NewPlan(regimens, newYork); err != nil {
		t.Fatal(err)
	}
	h.stand = twiliotest.New(t, accountSID, authToken)
	h.stand.SetNow(h.clock.Now)
	var handler http.Handler
	var hmu sync.Mutex
	h.hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hmu.Lock()
		hd := handler
		hmu.Unlock()
		hd.ServeHTTP(w, r)
	}))
	t.Cleanup(h.hook.Close)
	h.restart()
	wh, err := twilio.NewWebhook(authToken, h.hook.URL, h.reply, h.status)
	if err != nil {
		t.Fatal(err)
	}
	wh.OnCall(twilio.CallHandlers{
		Status: func(ctx context.Context, u notify.CallUpdate) { h.current().HandleCallStatus(ctx, u) },
		Digits: func(ctx context.Context, d notify.CallDigits) string { return h.current().HandleDigits(ctx, d) },
	})
	hmu.Lock()
	handler = wh
	hmu.Unlock()
	return h
}

// reply and status reach the current notifier, across restarts.
func (h *harness) reply(ctx context.Context, in notify.InboundSMS) string {
	return h.current().HandleReply(ctx, in)
}

func (h *harness) status(ctx context.Context, u notify.StatusUpdate) {
	h.current().HandleStatus(ctx, u)
}

func (h *harness) current() *notify.Notifier {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// restart replaces the notifier with a new one on the same store, as a
// process restart does: nothing survives but the database.
func (h *harness) restart() {
	h.t.Helper()
	sender, err := twilio.New(twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: ourNumber,
		StatusCallback: h.hook.URL + "/twilio/status", CallStatusCallback: h.hook.URL + "/twilio/call/status",
		CallGather: h.hook.URL + "/twilio/call/gather", HTTPClient: h.stand.Client()})
	if err != nil {
		h.t.Fatal(err)
	}
	var snd notify.Sender = sender
	if h.wrap != nil {
		snd = h.wrap(sender)
	}
	rnd := lockedRand(rand.New(rand.NewPCG(1, 2)))
	n, err := notify.New(notify.Config{
		Clock: h.clock, Store: h.store, Sender: snd, Caller: sender, Escalation: h.esc,
		Patient:  dispenser.Patient{FirstName: "Margaret", Timezone: "America/New_York"},
		Location: newYork, Contacts: contacts, Medications: meds, Plan: h.plan,
		Counts: map[int]int{1: 56, 2: 30}, Faults: h.faults, Display: h.shown, Rand: rnd,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Publish: func(evs []dispenser.Event) {
			h.mu.Lock()
			h.published = append(h.published, evs...)
			h.mu.Unlock()
		},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	h.n = n
	h.mu.Unlock()
}

func lockedRand(r *rand.Rand) func() float64 {
	var mu sync.Mutex
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return r.Float64()
	}
}

// senderFunc is a notify.Sender made of a function.
type senderFunc func(ctx context.Context, to, body string) (notify.Sent, error)

func (f senderFunc) Send(ctx context.Context, to, body string) (notify.Sent, error) {
	return f(ctx, to, body)
}

var _ notify.Sender = senderFunc(nil)

// emit appends events as the dispenser would, at the clock's time.
func (h *harness) emit(evs ...dispenser.Event) {
	h.t.Helper()
	for i := range evs {
		if evs[i].Time.IsZero() {
			evs[i].Time = h.clock.Now()
		}
	}
	if _, err := h.store.Append(h.t.Context(), evs...); err != nil {
		h.t.Fatal(err)
	}
}

// flush lets the notifier act now and returns when it next wants to.
func (h *harness) flush() time.Time {
	h.t.Helper()
	next, err := h.current().Flush(h.t.Context())
	if err != nil {
		h.t.Fatalf("Flush at %s: %v", local(h.clock.Now()), err)
	}
	return next
}

// runUntil moves the clock to t, stopping wherever the notifier asked to
// be woken, as its timers would.
func (h *harness) runUntil(t time.Time) {
	h.t.Helper()
	for {
		next := h.flush()
		now := h.clock.Now()
		if !now.Before(t) {
			return
		}
		if next.IsZero() || next.After(t) {
			next = t
		}
		h.clock.Advance(max(next.Sub(now), time.Millisecond))
	}
}

// sent is one message the stand-in accepted.
type sent struct {
	to   string
	body string
	at   time.Time
}

func (h *harness) sent() []sent {
	var out []sent
	for _, m := range h.stand.Messages() {
		out = append(out, sent{to: m.To, body: m.Body, at: m.Received})
	}
	return out
}

func (h *harness) sentTo(phone string) []sent {
	var out []sent
	for _, s := range h.sent() {
		if s.to == phone {
			out = append(out, s)
		}
	}
	return out
}

// sendReply texts body from phone to the webhook, signed as Twilio does,
// and returns the TwiML answer.
func (h *harness) sendReply(from, body string) string {
	h.t.Helper()
	code, twiml, err := h.stand.SendInbound(h.hook.URL+"/twilio/sms", from, ourNumber, body)
	if err != nil || code != http.StatusOK {
		h.t.Fatalf("SendInbound(%q) = %d, %v; want 200", body, code, err)
	}
	return twiml
}

// events returns the logged events of kind.
func (h *harness) events(kind dispenser.Kind) []dispenser.Event {
	h.t.Helper()
	evs, err := h.store.Since(h.t.Context(), 0, 100000)
	if err != nil {
		h.t.Fatal(err)
	}
	return slices.DeleteFunc(evs, func(ev dispenser.Event) bool { return ev.Kind != kind })
}

func (h *harness) outbox() []notify.Message {
	h.t.Helper()
	ms, err := h.current().Messages(h.t.Context(), time.Time{})
	if err != nil {
		h.t.Fatal(err)
	}
	return ms
}

// codeIn returns the alert code a message asks to quote ("Reply OK K9M").
func codeIn(body string) string {
	_, after, ok := strings.Cut(body, "Reply OK ")
	if !ok {
		return ""
	}
	code, _, _ := strings.Cut(after, " ")
	return code
}

func local(t time.Time) string { return t.In(newYork).Format("15:04") }

// faults records the device faults the notifier sets.
type faults struct {
	mu  sync.Mutex
	set map[string][]string
	log []string
}

var _ notify.Faults = (*faults)(nil)

func (f *faults) SetFault(_ context.Context, key string, lines ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.set[key] = lines
	f.log = append(f.log, "set "+key)
	return nil
}

func (f *faults) ClearFault(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.set, key)
	f.log = append(f.log, "clear "+key)
	return nil
}

func (f *faults) get(key string) ([]string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.set[key]
	return l, ok
}

// shown records what the notifier asked the device to show the patient.
type shown struct {
	mu    sync.Mutex
	onIts []string // "Ana 09:05"
}

var _ notify.Display = (*shown)(nil)

func (s *shown) OnIt(_ context.Context, name string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onIts = append(s.onIts, name+" "+local(at))
	return nil
}

func (s *shown) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.onIts...)
}

// Events as the dispenser writes them.

func doseID(med string, h, m int) string {
	return med + "@" + at(h, m).Format("2006-01-02T15:04")
}

func doseEvent(kind dispenser.Kind, med string, h, m int, detail string) dispenser.Event {
	comp := 1
	if med == "warfarin" {
		comp = 2
	}
	return dispenser.Event{Kind: kind, DoseID: doseID(med, h, m), Medication: med, Compartment: comp,
		Scheduled: at(h, m), Detail: detail}
}
