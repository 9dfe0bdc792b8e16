package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/silent"
	"github.com/pillbox/pillbox/adherence/clinic/sqlite"
	"github.com/pillbox/pillbox/adherence/clinic/web"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

// switchedClinic is the clinic service's handler behind a switch. The
// first request after it goes down is stored but its answer lost (the
// connection closes, as when the service dies after its commit; a
// heartbeat that stores nothing does not count); every
// later one is answered 503, as by a proxy in front of a stopped service.
// It remembers the highest acknowledgement it sent and signals every
// answer, so the test waits on the traffic instead of on time.
type switchedClinic struct {
	h       http.Handler
	down    atomic.Bool
	crashed atomic.Bool  // the request that found it down was served
	refused atomic.Int64 // requests that got no acknowledgement while down
	acked   atomic.Int64 // highest AckedSeq sent to the device
	dups    atomic.Int64 // events and readings the device resent
	answer  chan struct{}
}

var _ http.Handler = (*switchedClinic)(nil)

func (c *switchedClinic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer c.signal()
	rec := httptest.NewRecorder()
	if c.down.Load() {
		c.refused.Add(1)
		if !c.crashed.Load() {
			c.h.ServeHTTP(rec, r)
			if a, ok := ackOf(rec); ok && a.Stored > 0 {
				c.crashed.Store(true)
				panic(http.ErrAbortHandler) // closes the connection unanswered
			}
		}
		http.Error(w, `{"error": "the clinic service is down"}`, http.StatusServiceUnavailable)
		return
	}
	c.h.ServeHTTP(rec, r)
	if a, ok := ackOf(rec); ok {
		c.dups.Add(int64(a.Duplicates))
		for old := c.acked.Load(); a.AckedSeq > old && !c.acked.CompareAndSwap(old, a.AckedSeq); old = c.acked.Load() {
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

func ackOf(rec *httptest.ResponseRecorder) (uplink.Ack, bool) {
	var a uplink.Ack
	return a, rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &a) == nil
}

func (c *switchedClinic) signal() {
	select {
	case c.answer <- struct{}{}:
	default:
	}
}

// until waits for the clinic's traffic to make ok true. The pusher acts on
// an answer after the clinic sent it and nothing signals that, so between
// answers it looks again every 20 ms. The deadline is long because the
// pusher retries on real time even in sim mode: after an outage its
// backoff may hold it for up to twice its last wait.
func (c *switchedClinic) until(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.After(90 * time.Second)
	for !ok() {
		select {
		case <-c.answer:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s: not within 90 s", what)
		}
	}
}

// clinicTexts is the clinic's SMS provider: it records each text and
// signals it.
type clinicTexts struct {
	mu   sync.Mutex
	sent []string // "to: body"
	more chan struct{}
}

var _ notify.Sender = (*clinicTexts)(nil)

func (x *clinicTexts) Send(_ context.Context, to, body string) (notify.Sent, error) {
	x.mu.Lock()
	x.sent = append(x.sent, to+": "+body)
	n := len(x.sent)
	x.mu.Unlock()
	select {
	case x.more <- struct{}{}:
	default:
	}
	return notify.Sent{SID: fmt.Sprintf("SM%d", n), Status: "queued"}, nil
}

func (x *clinicTexts) list() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.sent...)
}

// waitFor waits until n texts were sent.
func (x *clinicTexts) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if got := x.list(); len(got) >= n {
			return got
		}
		select {
		case <-x.more:
		case <-deadline:
			t.Fatalf("clinic texts = %q, want %d within 30 s", x.list(), n)
		}
	}
}

// TestSyncThroughClinicOutage runs the real dispenserd in sim mode against
// a clinic service on a real socket. Doses reach the clinic; the clinic
// goes down; meanwhile the patient takes a dose, misses another, and the
// dispenser texts caregiver 1 through its own outbox; the clinic, on a
// fake clock moved with the dispenser's, texts each caregiver once that
// the dispenser is silent. When the clinic is back, the dispenser catches
// up on its own and the clinic holds every event of its log exactly once,
// in order, and texts each caregiver once that it is back.
func TestSyncThroughClinicOutage(t *testing.T) {
	// Cleanups run last first: the daemon stops (runDaemon's cleanup)
	// before the clinic's server, watcher and store.
	ctx := t.Context()
	simStart := time.Date(2026, 3, 10, 7, 50, 0, 0, time.FixedZone("EDT", -4*3600))

	// The clinic: a patient with the example's two caregivers, her device,
	// and the silent watcher.
	st, err := sqlite.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clinicClock := schedule.NewSimClock(simStart)
	cs := clinic.New(st, clinicClock)
	cli := clinic.CLI("test")
	p, err := cs.CreatePatient(ctx, cli, "Margaret")
	if err != nil {
		t.Fatal(err)
	}
	for _, cg := range []clinic.Caregiver{{Name: "Ana", Phone: anaPhone}, {Name: "David", Phone: davidPhone}} {
		if err := cs.AddCaregiver(ctx, cli, p.ID, cg); err != nil {
			t.Fatal(err)
		}
	}
	dev, tok, err := cs.RegisterDevice(ctx, cli, p.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	texts := &clinicTexts{more: make(chan struct{}, 1)}
	watcher, err := silent.New(silent.Config{Clinic: cs, Clock: clinicClock, Texter: texts,
		After: 30 * time.Minute, Rand: func() float64 { return 0.5 }})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{Clinic: cs, Clock: clinicClock, Watcher: watcher})
	if err != nil {
		t.Fatal(err)
	}
	line := &switchedClinic{h: srv.Handler(), answer: make(chan struct{}, 1)}
	ts := httptest.NewServer(line)
	t.Cleanup(ts.Close)
	watched := make(chan error, 1)
	go func() { watched <- watcher.Run(ctx) }()
	t.Cleanup(func() { <-watched })

	// The dispenser, syncing to it.
	dir := t.TempDir()
	cfg := syncConfig(t, dir, ts.URL, dev.ID, tok)
	d := runDaemon(t, cfg, filepath.Join(dir, "data"), "127.0.0.1:0", simStart.Format(time.RFC3339))
	t.Cleanup(func() {
		if t.Failed() {
			var evs []dispenser.Event
			json.Unmarshal(d.do("GET", "/api/events?since=0&limit=10000", nil, http.StatusOK), &evs)
			t.Logf("GET /api/sync = %s\nthe dispenser's log:\n%s", d.do("GET", "/api/sync", nil, http.StatusOK), describe(evs))
		}
	})
	// Both clocks move together, the dispenser's first.
	advance := func(dur time.Duration) {
		t.Helper()
		d.advance(dur.String())
		clinicClock.Advance(dur)
	}
	syncStatus := func() uplink.Status {
		t.Helper()
		var s uplink.Status
		if err := json.Unmarshal(d.do("GET", "/api/sync", nil, http.StatusOK), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	caughtUp := func(what string) int64 {
		t.Helper()
		last := d.lastSeq()
		line.until(t, what+": the clinic acknowledges seq "+fmt.Sprint(last), func() bool { return line.acked.Load() >= last })
		line.until(t, what+": GET /api/sync shows the acknowledgement", func() bool { return syncStatus().AckedSeq >= last })
		return last
	}

	// Online: the 08:00 metformin dose is taken from the cup.
	since := d.lastSeq()
	advance(10 * time.Minute)
	d.do("POST", "/api/sim/button?wait=1", nil, http.StatusOK)
	d.do("POST", "/api/sim/cup?wait=1", map[string]bool{"present": false}, http.StatusOK)
	d.do("POST", "/api/sim/cup?wait=1", map[string]bool{"present": true}, http.StatusOK)
	d.waitFor(dispenser.KindTaken, since, nil)
	before := caughtUp("online")

	// Down. The 09:00 lisinopril dose is taken; nobody presses for the
	// 20:00 metformin, so caregiver 1 is texted at 20:30 and it is missed
	// at 21:00.
	line.down.Store(true)
	since = d.lastSeq()
	// The clinic's clock moves once the request that reaches it as it goes
	// down is in: that request is the device's last check-in.
	d.advance(time.Hour.String())
	line.until(t, "down: the 09:00 dose's window opening (08:30) is stored, its answer lost", line.crashed.Load)
	clinicClock.Advance(time.Hour)
	d.do("POST", "/api/sim/button?wait=1", nil, http.StatusOK)
	d.do("POST", "/api/sim/cup?wait=1", map[string]bool{"present": false}, http.StatusOK)
	d.do("POST", "/api/sim/cup?wait=1", map[string]bool{"present": true}, http.StatusOK)
	d.waitFor(dispenser.KindTaken, since, func(ev dispenser.Event) bool { return strings.HasPrefix(ev.DoseID, "lisinopril@") })
	advance(11 * time.Hour)
	advance(35 * time.Minute)
	d.waitFor(notify.KindSMSSent, since, to("caregiver1"))
	var views []smsView
	if err := json.Unmarshal(d.do("GET", "/api/sim/sms", nil, http.StatusOK), &views); err != nil {
		t.Fatal(err)
	}
	var toAna []string
	for _, v := range views {
		if v.Direction == "out" && v.To == anaPhone {
			toAna = append(toAna, v.Status+": "+v.Body)
		}
	}
	if len(toAna) != 1 || !strings.Contains(toAna[0], "8:00 PM") {
		t.Errorf("dispenser's texts to caregiver 1 during the outage = %q, want one about the 8:00 PM dose", toAna)
	}
	advance(30 * time.Minute)
	d.waitFor(dispenser.KindMissed, since, func(ev dispenser.Event) bool { return strings.HasPrefix(ev.DoseID, "metformin@") })
	if s := syncStatus(); s.AckedSeq != before || s.Failures == 0 {
		t.Errorf("GET /api/sync during the outage = %+v, want acked_seq %d and failures", s, before)
	}
	silent := texts.waitFor(t, 2)
	for i, phone := range []string{anaPhone, davidPhone} {
		if !strings.HasPrefix(silent[i], phone+": ") || !strings.Contains(silent[i], "Margaret's dispenser has not checked in") {
			t.Errorf("clinic text %d during the outage = %q, want a 'not checked in' text to %s", i, silent[i], phone)
		}
	}

	// Back: no clock moves; the dispenser's own retry catches up.
	line.down.Store(false)
	last := caughtUp("back")
	if got := line.dups.Load(); got == 0 {
		t.Errorf("events the clinic was sent twice = %d, want some: the batch stored as it went down comes again", got)
	}
	if s := syncStatus(); s.Failures != 0 || s.LastError != "" {
		t.Errorf("GET /api/sync after catching up = %+v, want no failures and no error", s)
	}
	all := texts.waitFor(t, 4)
	for i, phone := range []string{anaPhone, davidPhone} {
		if got := all[2+i]; !strings.HasPrefix(got, phone+": ") || !strings.Contains(got, "Margaret's dispenser is back online") {
			t.Errorf("clinic text %d after the outage = %q, want a 'back online' text to %s", 2+i, got, phone)
		}
	}
	queued, err := cs.Texts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string][]string{}
	for _, q := range queued {
		reasons[q.To] = append(reasons[q.To], q.Reason)
	}
	for _, phone := range []string{anaPhone, davidPhone} {
		if got := strings.Join(reasons[phone], ","); got != "silent,back" {
			t.Errorf("clinic texts to %s = %s, want silent,back", phone, got)
		}
	}

	// Every event of the dispenser's log, once each, in log order. The
	// dispenser may still log (a text's delivery, the next escalation step)
	// and push while this runs, so the clinic's events, read first, must be
	// the start of the log read after them, up to at least where the log
	// stood when the clinic came back. All that the clinic holds, that is:
	// the batch that reached it as it went down came before its clock was
	// moved on, so its event is dated ahead of the clinic's clock (kept,
	// flagged "ahead", and left out of the reports).
	synced, err := cs.PatientSyncedEvents(ctx, p.ID, time.Time{}, simStart.Add(48*time.Hour), 100000)
	if err != nil {
		t.Fatal(err)
	}
	stored := make([]dispenser.Event, len(synced))
	for i, ev := range synced {
		stored[i] = ev.Event
	}
	var mine []dispenser.Event
	if err := json.Unmarshal(d.do("GET", "/api/events?since=0&limit=10000", nil, http.StatusOK), &mine); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, ev := range stored {
		seen[ev.ID]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("clinic holds event %s %d times, want once", id, n)
		}
	}
	if int64(len(stored)) < last || len(stored) > len(mine) {
		t.Fatalf("clinic holds %d events:\n%s\nwant the first %d or more of the dispenser's %d:\n%s",
			len(stored), describe(stored), last, len(mine), describe(mine))
	}
	for i, ev := range stored {
		if want := mine[i]; ev.ID != want.ID || ev.Seq != want.Seq || ev.Kind != want.Kind || !ev.Time.Equal(want.Time) {
			t.Errorf("clinic event %d = %d %s %s %v, want %d %s %s %v", i, ev.Seq, ev.ID, ev.Kind, ev.Time, want.Seq, want.ID, want.Kind, want.Time)
		}
	}
}

// describe lists events one a line for a failure message.
func describe(evs []dispenser.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "  %d %s %s %s %s %s\n", ev.Seq, ev.ID, ev.Time.Format(time.RFC3339), ev.Kind, ev.DoseID, ev.Detail)
	}
	return b.String()
}
