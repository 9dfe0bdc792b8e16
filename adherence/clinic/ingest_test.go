package clinic

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/notify"
)

func decode(t *testing.T, s string) *uplink.Batch {
	t.Helper()
	b, err := uplink.DecodeBatch([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIngestAcksContiguous(t *testing.T) {
	e := newEnv(t)
	p, err := e.store.Authenticate(e.ctx, e.tokA)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name            string
		from, n         int
		wantAck, stored int
	}{
		{"first batch", 1, 3, 3, 3},
		{"a gap: stored, not acknowledged", 6, 2, 3, 2},
		{"the gap filled", 4, 2, 7, 2},
		{"resent", 1, 7, 7, 0},
		{"heartbeat only", 1, 0, 7, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.store.Ingest(e.ctx, p, decode(t, batchJSON(t, e.devA.ID, "log1", tc.from, tc.n)), "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			if res.Ack.AckedSeq != int64(tc.wantAck) || res.Ack.Stored != tc.stored || res.Ack.Duplicates != tc.n-tc.stored {
				t.Errorf("Ingest(seq %d..%d) = %+v, want acked %d, stored %d", tc.from, tc.from+tc.n-1, res.Ack, tc.wantAck, tc.stored)
			}
		})
	}
	// Another log of the same device (its database was recreated) starts
	// its own acknowledgement at 0.
	res, err := e.store.Ingest(e.ctx, p, decode(t, batchJSON(t, e.devA.ID, "log2", 1, 2)), "")
	if err != nil || res.Ack.AckedSeq != 2 {
		t.Errorf("Ingest(new log) = %+v, %v; want acked 2", res.Ack, err)
	}
	if n, _ := e.store.EventCount(e.ctx, e.patA.ID); n != 9 {
		t.Errorf("events of patient A = %d, want 9", n)
	}
	// Readings are stored and acknowledged the same way.
	b := decode(t, batchJSON(t, e.devA.ID, "log1", 8, 0))
	b.Readings = []uplink.Reading{{Seq: 1, ID: "r1", Quantity: "pulse", Value: 72, Unit: "/min", Time: t0, Context: map[string]string{"a": "b"}},
		{Seq: 2, ID: "r2", Quantity: "spo2", Unit: "%", Time: t0.Add(time.Minute), Absent: "measurement unsuccessful"}}
	res, err = e.store.Ingest(e.ctx, p, b, "")
	if err != nil || res.Ack.AckedReadingSeq != 2 {
		t.Fatalf("Ingest(readings) = %+v, %v; want readings acked 2", res.Ack, err)
	}
	rds, err := e.store.PatientReadings(e.ctx, e.patA.ID, t0.Add(-time.Hour), t0.Add(time.Hour), 10)
	if err != nil || len(rds) != 2 || rds[0].Value != 72 || rds[0].Context["a"] != "b" || rds[1].HasValue() {
		t.Errorf("PatientReadings = %+v, %v; want the pulse and the absent spo2", rds, err)
	}
	// The audit entries of ingest name counts, never a reading's value.
	es, _ := e.store.AuditLog(e.ctx, AuditQuery{PatientID: e.patA.ID, Limit: 1000})
	for _, en := range es {
		if strings.Contains(en.Target, "72") && en.Action == "sync.ingest" && strings.Contains(en.Target, "pulse") {
			t.Errorf("audit entry %+v holds a reading", en)
		}
	}
}

func TestIngestRefuses(t *testing.T) {
	e := newEnv(t)
	pa, _ := e.store.Authenticate(e.ctx, e.tokA)
	pb, _ := e.store.Authenticate(e.ctx, e.tokB)
	if _, err := e.store.Ingest(e.ctx, pa, decode(t, batchJSON(t, e.devA.ID, "log1", 1, 2)), ""); err != nil {
		t.Fatal(err)
	}
	forged := decode(t, batchJSON(t, e.devA.ID, "log1", 2, 2))
	forged.Events[0].ID = "another"
	tests := []struct {
		name string
		p    Principal
		b    *uplink.Batch
		want error
	}{
		{"device B writes as device A", pb, decode(t, batchJSON(t, e.devA.ID, "log1", 3, 1)), ErrForbidden},
		{"a user writes", Principal{UserID: e.alice.ID}, decode(t, batchJSON(t, e.devA.ID, "log1", 3, 1)), ErrForbidden},
		{"seq 2 again with another event", pa, forged, ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.store.Ingest(e.ctx, tc.p, tc.b, ""); !errors.Is(err, tc.want) {
				t.Errorf("Ingest = %v, want %v", err, tc.want)
			}
		})
	}
	if n, _ := e.store.EventCount(e.ctx, e.patA.ID); n != 2 {
		t.Errorf("events of patient A after refused batches = %d, want 2 (a refused batch stores nothing)", n)
	}
	if err := e.store.SetDeviceDisabled(e.ctx, CLI("test"), e.devA.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Authenticate(e.ctx, e.tokA); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("Authenticate(disabled device's token) = %v, want ErrUnauthenticated", err)
	}
}

// beat is a heartbeat from device A, inside a synctest bubble, with the
// watcher woken as the server would and settled.
func (e *env) beat(t *testing.T, w *Watcher) {
	t.Helper()
	pa, err := e.store.Authenticate(e.ctx, e.tokA)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.store.Ingest(e.ctx, pa, decode(t, batchJSON(t, e.devA.ID, "log1", 1, 0)), "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Wake {
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

// TestWatcher drives the silent watcher with the simulated clock: one
// text per caregiver when the device goes silent, retried while the
// provider fails, none again while it stays silent, one each when it is
// back; and a restarted service gives every device a full period first.
func TestWatcher(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		ctx, cancel := context.WithCancel(e.ctx)
		sender := &flakySender{fails: 2}
		w, err := NewWatcher(WatcherConfig{Store: e.store, Clock: e.clock, Texter: sender, MinRetry: time.Minute,
			MaxRetry: 4 * time.Minute, Rand: func() float64 { return 1 }})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { w.Run(ctx); close(done) }()
		beat := func() { e.beat(t, w) }
		advance := func(d time.Duration) {
			for range int(d / time.Minute) {
				e.clock.Advance(time.Minute)
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
		texts, _ := e.store.Texts(e.ctx)
		if len(texts) != 4 || texts[0].Reason != "silent" || texts[0].Attempts != 2 || texts[1].Attempts != 2 || texts[3].Reason != "back" || texts[3].Sent.IsZero() {
			t.Errorf("texts = %+v, want 2 silent (each sent on its second attempt) and 2 back, all sent", texts)
		}
		cancel()
		<-done

		// A restart 2 hours later: the device was last heard 2 hours ago,
		// but the service was down too; it gets 30 minutes from the start.
		advance(2 * time.Hour)
		ctx, cancel = context.WithCancel(e.ctx)
		defer cancel()
		w2, _ := NewWatcher(WatcherConfig{Store: e.store, Clock: e.clock, Texter: sender})
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
		e := newEnv(t)
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		sender := &flakySender{perm: true}
		w, _ := NewWatcher(WatcherConfig{Store: e.store, Clock: e.clock, Texter: sender})
		go w.Run(ctx)
		pa, _ := e.store.Authenticate(e.ctx, e.tokA)
		if _, err := e.store.Ingest(e.ctx, pa, decode(t, batchJSON(t, e.devA.ID, "l", 1, 0)), ""); err != nil {
			t.Fatal(err)
		}
		w.Kick()
		synctest.Wait()
		e.clock.Advance(31 * time.Minute)
		synctest.Wait()
		texts, _ := e.store.Texts(e.ctx)
		if len(texts) != 2 || texts[0].Failed.IsZero() || texts[0].Attempts != 1 || texts[0].LastError != "provider down" {
			j, _ := json.Marshal(texts)
			t.Errorf("texts after a permanent failure = %s, want 2 failed after one attempt", j)
		}
		cancel()
	})
}

// TestSilentTextsFirstNameOnly: the "dispenser silent" and "back" texts
// call the patient by first name only (the first word of the clinic's
// name, or the one set), never by the full name the clinic files them
// under.
func TestSilentTextsFirstNameOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		sender := &flakySender{}
		w, _ := NewWatcher(WatcherConfig{Store: e.store, Clock: e.clock, Texter: sender})
		go w.Run(ctx)
		beat := func() { e.beat(t, w) }
		beat()
		e.clock.Advance(31 * time.Minute)
		synctest.Wait()
		if err := e.store.SetFirstName(e.ctx, CLI("test"), e.patA.ID, "Annie"); err != nil {
			t.Fatal(err)
		}
		beat()
		texts, _ := e.store.Texts(e.ctx)
		if len(texts) != 4 {
			t.Fatalf("texts = %+v, want 2 silent and 2 back", texts)
		}
		for i, want := range []string{"Ann's dispenser has not checked in", "Ann's dispenser has not checked in",
			"Annie's dispenser is back online", "Annie's dispenser is back online"} {
			if body := texts[i].Body; !strings.Contains(body, want) || strings.Contains(body, e.patA.DisplayName) || strings.Contains(body, "Patient") {
				t.Errorf("text %d = %q, want %q and not the full name %q", i, body, want, e.patA.DisplayName)
			}
		}
		cancel()
	})
}
