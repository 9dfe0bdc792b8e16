package silent

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/internal/clinictest"
	"github.com/pillbox/pillbox/notify"
)

// heartbeat is one from device A, inside a synctest bubble, with the
// watcher woken as the server would and settled.
func heartbeat(t *testing.T, e *clinictest.Fixture, w *Watcher) {
	t.Helper()
	if e.Beat(t) {
		w.Kick()
	}
	synctest.Wait()
}

// flakySender fails its first sends, then records.
type flakySender struct {
	mu    sync.Mutex
	fails int
	perm  bool
	sent  []string
}

var _ notify.Sender = (*flakySender)(nil)

type sendFailure struct{ c notify.Class }

func (f sendFailure) Error() string           { return "provider down" }
func (f sendFailure) Failure() notify.Failure { return notify.Failure{Class: f.c} }
func (s *flakySender) count() int             { s.mu.Lock(); defer s.mu.Unlock(); return len(s.sent) }
func (s *flakySender) Send(_ context.Context, to, body string) (notify.Sent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perm {
		return notify.Sent{}, sendFailure{notify.Permanent}
	}
	if s.fails > 0 {
		s.fails--
		return notify.Sent{}, sendFailure{notify.Retryable}
	}
	s.sent = append(s.sent, to)
	return notify.Sent{SID: "SM1"}, nil
}

// meter counts what the watcher reports, as the metrics would.
type meter struct {
	mu                    sync.Mutex
	Sent, Retries, Failed int
}

var _ Meter = (*meter)(nil)

func (m *meter) TextSent() { m.mu.Lock(); defer m.mu.Unlock(); m.Sent++ }
func (m *meter) TextFailed(final bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if final {
		m.Failed++
	} else {
		m.Retries++
	}
}

func (m *meter) check(t *testing.T, when string, sent, retries, failed int) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Sent != sent || m.Retries != retries || m.Failed != failed {
		t.Errorf("meter %s = sent %d, retries %d, failed %d; want %d, %d, %d", when, m.Sent, m.Retries, m.Failed, sent, retries, failed)
	}
}

// TestWatcher drives the silent watcher with the simulated clock: one
// text per caregiver when the device goes silent, retried while the
// provider fails, none again while it stays silent, one each when it is
// back; and a restarted service gives every device a full period first.
func TestWatcher(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := clinictest.New(t)
		ctx, cancel := context.WithCancel(e.Ctx)
		sender, m := &flakySender{fails: 2}, &meter{}
		w, err := New(Config{Clinic: e.Clinic, Clock: e.Clock, Texter: sender, Meter: m, MinRetry: time.Minute,
			MaxRetry: 4 * time.Minute, Rand: func() float64 { return 1 }})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { w.Run(ctx); close(done) }()
		beat := func() { heartbeat(t, e, w) }
		advance := func(d time.Duration) {
			for range int(d / time.Minute) {
				e.Clock.Advance(time.Minute)
				synctest.Wait()
			}
		}
		beat()
		advance(29 * time.Minute)
		if n := sender.count(); n != 0 {
			t.Fatalf("texts 29 minutes after the last heartbeat = %d, want 0", n)
		}
		advance(10 * time.Minute) // silent at 30; two failed sends, retried
		if n := sender.count(); n != 2 {
			t.Fatalf("texts 39 minutes after the last heartbeat = %d, want 2 (one per caregiver)", n)
		}
		advance(3 * time.Hour)
		if n := sender.count(); n != 2 {
			t.Fatalf("texts 3 hours later = %d, want still 2", n)
		}
		beat()
		if n := sender.count(); n != 4 {
			t.Fatalf("texts after the device is back = %d, want 4", n)
		}
		texts, _ := e.Clinic.Texts(e.Ctx)
		if len(texts) != 4 || texts[0].Reason != "silent" || texts[0].Attempts != 2 || texts[1].Attempts != 2 || texts[3].Reason != "back" || texts[3].Sent.IsZero() {
			t.Errorf("texts = %+v, want 2 silent (each sent on its second attempt) and 2 back, all sent", texts)
		}
		m.check(t, "after the device is back", 4, 2, 0)
		cancel()
		<-done

		// A restart 2 hours later: the device was last heard 2 hours ago,
		// but the service was down too; it gets 30 minutes from the start.
		advance(2 * time.Hour)
		ctx, cancel = context.WithCancel(e.Ctx)
		defer cancel()
		w2, _ := New(Config{Clinic: e.Clinic, Clock: e.Clock, Texter: sender})
		go w2.Run(ctx)
		synctest.Wait()
		if n := sender.count(); n != 4 {
			t.Errorf("texts right after a restart = %d, want still 4", n)
		}
		advance(31 * time.Minute)
		if n := sender.count(); n != 6 {
			t.Errorf("texts 31 minutes after a restart without heartbeat = %d, want 6", n)
		}
		cancel()
	})
}

func TestWatcherGivesUpOnPermanent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := clinictest.New(t)
		ctx, cancel := context.WithCancel(e.Ctx)
		defer cancel()
		sender, m := &flakySender{perm: true}, &meter{}
		w, _ := New(Config{Clinic: e.Clinic, Clock: e.Clock, Texter: sender, Meter: m})
		go w.Run(ctx)
		pa, _ := e.Clinic.Authenticate(e.Ctx, e.TokA)
		if _, err := e.Clinic.Ingest(e.Ctx, pa, clinictest.Batch(t, e.DevA.ID, "l", 1, 0), ""); err != nil {
			t.Fatal(err)
		}
		w.Kick()
		synctest.Wait()
		e.Clock.Advance(31 * time.Minute)
		synctest.Wait()
		texts, _ := e.Clinic.Texts(e.Ctx)
		if len(texts) != 2 || texts[0].Failed.IsZero() || texts[0].Attempts != 1 || texts[0].LastError != "provider down" {
			j, _ := json.Marshal(texts)
			t.Errorf("texts after a permanent failure = %s, want 2 failed after one attempt", j)
		}
		m.check(t, "after a permanent failure", 0, 0, 2)
		cancel()
	})
}

// TestSilentTextsFirstNameOnly: the "dispenser silent" and "back" texts
// call the patient by first name only (the first word of the clinic's
// name, or the one set), never by the full name the clinic files them
// under.
func TestSilentTextsFirstNameOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := clinictest.New(t)
		ctx, cancel := context.WithCancel(e.Ctx)
		defer cancel()
		sender := &flakySender{}
		w, _ := New(Config{Clinic: e.Clinic, Clock: e.Clock, Texter: sender})
		go w.Run(ctx)
		beat := func() { heartbeat(t, e, w) }
		beat()
		e.Clock.Advance(31 * time.Minute)
		synctest.Wait()
		if err := e.Clinic.SetFirstName(e.Ctx, clinic.CLI("test"), e.PatA.ID, "Annie"); err != nil {
			t.Fatal(err)
		}
		beat()
		texts, _ := e.Clinic.Texts(e.Ctx)
		if len(texts) != 4 {
			t.Fatalf("texts = %+v, want 2 silent and 2 back", texts)
		}
		for i, want := range []string{"Ann's dispenser has not checked in", "Ann's dispenser has not checked in",
			"Annie's dispenser is back online", "Annie's dispenser is back online"} {
			if body := texts[i].Body; !strings.Contains(body, want) || strings.Contains(body, e.PatA.DisplayName) || strings.Contains(body, "Patient") {
				t.Errorf("text %d = %q, want %q and not the full name %q", i, body, want, e.PatA.DisplayName)
			}
		}
		cancel()
	})
}
