package adherence

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
)

func testAlert(id int64, key, code string) notify.Alert {
	return notify.Alert{ID: id, Key: key, Code: code, What: notify.CondMissed, Priority: notify.Medium,
		Opened: t0, Base: t0.Add(-time.Hour), SentStep: -1,
		Facts: notify.Facts{DoseID: "med-a@2026-03-01T08:00", Scheduled: t0, Compartment: 1}}
}

func testMessage(id int64, alert int64) notify.Message {
	return notify.Message{ID: id, Created: t0, To: "caregiver1", Phone: "+15555550101", Body: "Dose missed. Reply OK 4F7",
		Priority: notify.Medium, Alerts: []int64{alert}, Codes: []string{"4F7"}, Why: "step",
		State: notify.MsgQueued, NextTry: t0, Updated: t0}
}

func TestApplyNotifierRoundTrip(t *testing.T) {
	bothStores(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		snap, err := s.LoadNotifier(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Cursor != 0 || len(snap.Alerts) != 0 || snap.MaxAlertID != 0 || snap.MaxMessageID != 0 {
			t.Fatalf("LoadNotifier on a new store = %+v, want all zero", snap)
		}
		base := mustAppend(t, s, doseEv(dispenser.KindMissed, "d1", t0))

		a := testAlert(1, "dose:d1", "4F7")
		a.Step, a.SentStep, a.StepAt, a.Notified = 2, 1, t0.Add(time.Minute), t0.Add(time.Minute)
		closed := testAlert(2, "jam:1", "K9M")
		closed.Closed, closed.Reason, closed.AckedBy, closed.AckedAt = t0, "resolved", "caregiver2", t0
		m := testMessage(7, 1)
		num := notify.Number{Phone: "+15555550102", OptedOut: t0}
		queued := dispenser.Event{Time: t0, Kind: notify.KindSMSQueued, Detail: "msg=7 to=caregiver1"}
		stored, err := s.ApplyNotifier(ctx, notify.Batch{Cursor: base[0].Seq, Alerts: []notify.Alert{a, closed},
			Messages: []notify.Message{m}, Numbers: []notify.Number{num}, Events: []dispenser.Event{queued}})
		if err != nil {
			t.Fatalf("ApplyNotifier: %v", err)
		}
		if len(stored) != 1 || stored[0].Seq != base[0].Seq+1 || !hexID.MatchString(stored[0].ID) {
			t.Fatalf("ApplyNotifier events = %+v, want one with seq %d and an id", stored, base[0].Seq+1)
		}
		logged, err := s.Since(ctx, base[0].Seq, 10)
		if err != nil || len(logged) != 1 || logged[0] != stored[0] {
			t.Errorf("Since after ApplyNotifier = %+v, %v; want %+v", logged, err, stored)
		}

		snap, err = s.LoadNotifier(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Cursor != base[0].Seq || snap.MaxAlertID != 2 || snap.MaxMessageID != 7 {
			t.Errorf("LoadNotifier cursor, max ids = %d, %d, %d; want %d, 2, 7", snap.Cursor, snap.MaxAlertID, snap.MaxMessageID, base[0].Seq)
		}
		if len(snap.Alerts) != 1 || !reflect.DeepEqual(snap.Alerts[0], a) {
			t.Errorf("LoadNotifier alerts = %+v, want only the open one %+v", snap.Alerts, a)
		}
		if len(snap.Numbers) != 1 || snap.Numbers[0] != num {
			t.Errorf("LoadNotifier numbers = %+v, want %+v", snap.Numbers, num)
		}
		msgs, err := s.MessagesSince(ctx, t0)
		if err != nil || len(msgs) != 1 || !reflect.DeepEqual(msgs[0], m) {
			t.Errorf("MessagesSince = %+v, %v; want %+v", msgs, err, m)
		}
	})
}

func TestOutcomesKeepEachOthersColumns(t *testing.T) {
	bothStores(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		apply := func(b notify.Batch) {
			t.Helper()
			if _, err := s.ApplyNotifier(ctx, b); err != nil {
				t.Fatalf("ApplyNotifier: %v", err)
			}
		}
		apply(notify.Batch{Alerts: []notify.Alert{testAlert(1, "dose:d1", "4F7")}, Messages: []notify.Message{testMessage(1, 1), testMessage(2, 1)}})
		pending, err := s.PendingMessages(ctx)
		if err != nil || len(pending) != 2 {
			t.Fatalf("PendingMessages = %d, %v; want 2", len(pending), err)
		}
		t1 := t0.Add(time.Minute)
		apply(notify.Batch{Outcomes: []notify.Outcome{{ID: 1, State: notify.MsgSending, Attempts: 1, NextTry: t0, Updated: t1}}})
		// A status callback, then the sender's commit of the same message:
		// neither undoes the other.
		apply(notify.Batch{Outcomes: []notify.Outcome{{ID: 1, State: notify.MsgSent, Attempts: 1, NextTry: t0, SID: "SMabc", Updated: t1}}})
		apply(notify.Batch{Outcomes: []notify.Outcome{{ID: 1, Status: "delivered", Updated: t1.Add(time.Second)}}})
		apply(notify.Batch{Outcomes: []notify.Outcome{{ID: 1, State: notify.MsgSent, Attempts: 1, NextTry: t0, Updated: t1}}})

		m, ok, err := s.MessageBySID(ctx, "SMabc")
		if err != nil || !ok {
			t.Fatalf("MessageBySID = %v, %v; want found", ok, err)
		}
		if m.ID != 1 || m.State != notify.MsgSent || m.Status != "delivered" || m.SID != "SMabc" || m.Attempts != 1 {
			t.Errorf("message after outcomes = %+v, want sent, delivered, SMabc, 1 attempt", m)
		}
		if _, ok, _ := s.MessageBySID(ctx, "SMnone"); ok {
			t.Error("MessageBySID(unknown) found a message")
		}
		pending, err = s.PendingMessages(ctx)
		if err != nil || len(pending) != 1 || pending[0].ID != 2 {
			t.Errorf("PendingMessages after sending 1 = %+v, %v; want message 2 only", pending, err)
		}
	})
}

func TestPendingMessagesOrder(t *testing.T) {
	s := newMemStore(t)
	var msgs []notify.Message
	for i, p := range []notify.Priority{notify.Low, notify.High, notify.Medium, notify.High} {
		m := testMessage(int64(i+1), 1)
		m.Priority = p
		msgs = append(msgs, m)
	}
	msgs[3].State = notify.MsgSending
	if _, err := s.ApplyNotifier(t.Context(), notify.Batch{Alerts: []notify.Alert{testAlert(1, "k", "ABC")}, Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	got, err := s.PendingMessages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, m := range got {
		ids = append(ids, m.ID)
	}
	if want := []int64{2, 4, 3, 1}; !reflect.DeepEqual(ids, want) {
		t.Errorf("PendingMessages ids = %v, want %v (high first, then oldest)", ids, want)
	}
}

func TestApplyNotifierIsAtomic(t *testing.T) {
	tests := []struct {
		name  string
		batch notify.Batch
		want  string
	}{
		{"second open alert with the same key", notify.Batch{Cursor: 5, Alerts: []notify.Alert{testAlert(1, "dose:d1", "AAA"), testAlert(2, "dose:d1", "BBB")}},
			"UNIQUE"},
		{"second open alert with the same code", notify.Batch{Cursor: 5, Alerts: []notify.Alert{testAlert(1, "dose:d1", "AAA"), testAlert(2, "dose:d2", "AAA")}},
			"UNIQUE"},
		{"event that moves a dose", notify.Batch{Cursor: 5, Events: []dispenser.Event{doseEv(dispenser.KindMissed, "d1", t0)}},
			"use Append"},
		{"event without time", notify.Batch{Cursor: 5, Events: []dispenser.Event{{Kind: notify.KindSMSSent}}},
			"no kind or no time"},
		{"unknown message state", notify.Batch{Cursor: 5, Messages: []notify.Message{func() notify.Message {
			m := testMessage(1, 1)
			m.State = "lost"
			return m
		}()}}, "CHECK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newMemStore(t)
			_, err := s.ApplyNotifier(t.Context(), tt.batch)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "adherence: apply notifier: ") {
				t.Fatalf("ApplyNotifier = %v, want an adherence error containing %q", err, tt.want)
			}
			snap, err := s.LoadNotifier(t.Context())
			if err != nil || snap.Cursor != 0 || len(snap.Alerts) != 0 || snap.MaxMessageID != 0 {
				t.Errorf("after the failed batch: %+v, %v; want nothing stored", snap, err)
			}
			if evs, _ := s.Since(t.Context(), 0, 10); len(evs) != 0 {
				t.Errorf("after the failed batch the log has %d events, want 0", len(evs))
			}
		})
	}
}

// A closed alert frees its key and code for a new alert.
func TestClosedAlertFreesKeyAndCode(t *testing.T) {
	s := newMemStore(t)
	old := testAlert(1, "jam:1", "K9M")
	old.Closed = t0
	if _, err := s.ApplyNotifier(t.Context(), notify.Batch{Alerts: []notify.Alert{old, testAlert(2, "jam:1", "K9M")}}); err != nil {
		t.Fatalf("ApplyNotifier(closed and new with the same key and code) = %v, want nil", err)
	}
}

// A device that ran before the notifier existed starts it at the end of
// its log, not at the first event it ever logged.
func TestMigrationStartsCursorAtLogEnd(t *testing.T) {
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.db")
	oldSchema(t, path, ms[:1], `INSERT INTO events(id, time, kind, dose_id) VALUES ('e1', 0, 'dose_due', 'd1'), ('e2', 1, 'missed', 'd1')`)

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snap, err := s.LoadNotifier(t.Context())
	if err != nil || snap.Cursor != 2 {
		t.Errorf("cursor after upgrading a database with 2 events = %d, %v; want 2", snap.Cursor, err)
	}
}

// The webhooks acted on are remembered with the decision, found from a
// given time on, and forgotten once older than what a batch says.
func TestWebhookSeen(t *testing.T) {
	bothStores(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		seen := func(id string, since time.Time) bool {
			t.Helper()
			ok, err := s.WebhookSeen(ctx, id, since)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		const a, b = "SM0123456789abcdef0123456789abcdef", "SMfedcba9876543210fedcba9876543210"
		if seen(a, time.Time{}) {
			t.Fatal("an id never stored is seen")
		}
		if _, err := s.ApplyNotifier(ctx, notify.Batch{Webhooks: []notify.WebhookID{{ID: a, At: t0}}}); err != nil {
			t.Fatal(err)
		}
		if !seen(a, t0.Add(-time.Hour)) || !seen(a, t0) || seen(a, t0.Add(time.Millisecond)) {
			t.Errorf("an id stored at t0: seen since t0-1h, t0, t0+1ms = %t %t %t, want true true false",
				seen(a, t0.Add(-time.Hour)), seen(a, t0), seen(a, t0.Add(time.Millisecond)))
		}
		later := t0.Add(49 * time.Hour)
		if _, err := s.ApplyNotifier(ctx, notify.Batch{Webhooks: []notify.WebhookID{{ID: b, At: later}},
			ForgetWebhooks: later.Add(-48 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if seen(a, time.Time{}) || !seen(b, time.Time{}) {
			t.Errorf("after forgetting ids older than 48 h: old seen %t, new seen %t; want false, true", seen(a, time.Time{}), seen(b, time.Time{}))
		}
	})
}
