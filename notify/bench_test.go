package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/notify/twilio"
	"github.com/pillbox/pillbox/notify/twiliotest"
	"github.com/pillbox/pillbox/schedule"
)

// BenchmarkAlertsThroughOutbox measures alerts per second from an event in
// the log to Twilio's answer, through the durable outbox (an alert pass
// and a send, each with its commits) and the real twilio-go client to the
// stand-in; raw-send is twilio.Sender.Send alone to the same stand-in, the
// baseline, and commit one durable SQLite commit (an Append), the floor:
// an alert costs four commits (the event, the alert pass with its queued
// message, "sending", "sent") and a send. Each alert is its own pass:
// alerts due together to one person would be merged into one text.
func BenchmarkAlertsThroughOutbox(b *testing.B) {
	b.Run("raw-send", func(b *testing.B) {
		stand := twiliotest.New(b, accountSID, authToken)
		s, err := twilio.New(twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: ourNumber, HTTPClient: stand.Client()})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := s.Send(context.Background(), anaPhone, "Pillbox: Reading. Reply OK ABC when handled."); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
	})
	b.Run("commit", func(b *testing.B) {
		store, err := adherence.Open(context.Background(), b.TempDir()+"/pillbox.db")
		if err != nil {
			b.Fatal(err)
		}
		defer store.Close()
		for b.Loop() {
			if _, err := store.Append(context.Background(), dispenser.Event{Time: at(7, 0), Kind: dispenser.KindButton}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
	})
	b.Run("outbox", func(b *testing.B) {
		ctx := context.Background()
		store, err := adherence.Open(ctx, b.TempDir()+"/pillbox.db")
		if err != nil {
			b.Fatal(err)
		}
		defer store.Close()
		stand := twiliotest.New(b, accountSID, authToken)
		s, err := twilio.New(twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: ourNumber, HTTPClient: stand.Client()})
		if err != nil {
			b.Fatal(err)
		}
		clock := schedule.NewSimClock(at(7, 0))
		n := benchNotifier(b, clock, store, s, notify.Step{To: "caregiver1"})
		i := 0
		for b.Loop() {
			i++
			ev := dispenser.Event{Time: clock.Now(), Kind: notify.KindVitalAlert,
				Detail: fmt.Sprintf("priority=medium key=k%d text=Reading %d.", i, i)}
			if _, err := store.Append(ctx, ev); err != nil {
				b.Fatal(err)
			}
			if _, err := n.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			// An hour a pass keeps the rate-limit window and the open
			// alerts (closed after a week) at their steady size.
			clock.Advance(time.Hour)
		}
		b.StopTimer()
		if got := len(stand.Messages()); got != b.N {
			b.Fatalf("the stand-in got %d texts for %d passes", got, b.N)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
	})
}

// BenchmarkCallStepToStandIn measures, for a ladder whose step is a call,
// the real time from the pass that finds the step due (an alert event just
// logged, Flush) to the stand-in receiving the call through twilio-go:
// p50 and p99 over the run. raw-call is twilio.Sender.Call alone to the
// same stand-in, the baseline measured in the same run.
func BenchmarkCallStepToStandIn(b *testing.B) {
	const dummy = "https://pillbox.example.org/twilio/call/"
	newSender := func(b *testing.B, stand *twiliotest.Server) *twilio.Sender {
		s, err := twilio.New(twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: ourNumber,
			CallStatusCallback: dummy + "status", CallGather: dummy + "gather", HTTPClient: stand.Client()})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	report := func(b *testing.B, lat []time.Duration) {
		slices.Sort(lat)
		q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
		b.ReportMetric(q(0.5), "p50-ms")
		b.ReportMetric(q(0.99), "p99-ms")
	}
	call := notify.Call{Say: "Margaret has not taken the 8:00 AM dose yet.", Ask: "Press 1 if you will handle this.", NoKey: "Goodbye."}
	b.Run("raw-call", func(b *testing.B) {
		stand := twiliotest.New(b, accountSID, authToken)
		s := newSender(b, stand)
		var lat []time.Duration
		for b.Loop() {
			t0 := time.Now()
			if _, err := s.Call(context.Background(), anaPhone, call); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		report(b, lat)
	})
	b.Run("step", func(b *testing.B) {
		ctx := context.Background()
		store, err := adherence.Open(ctx, b.TempDir()+"/pillbox.db")
		if err != nil {
			b.Fatal(err)
		}
		defer store.Close()
		stand := twiliotest.New(b, accountSID, authToken)
		clock := schedule.NewSimClock(at(7, 0))
		n := benchNotifier(b, clock, store, newSender(b, stand), notify.Step{Call: "caregiver1"})
		var lat []time.Duration
		i := 0
		for b.Loop() {
			i++
			ev := dispenser.Event{Time: clock.Now(), Kind: notify.KindVitalAlert,
				Detail: fmt.Sprintf("priority=high key=k%d text=Reading %d.", i, i)}
			if _, err := store.Append(ctx, ev); err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			if _, err := n.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			calls := stand.Calls()
			if len(calls) != i {
				b.Fatalf("pass %d: the stand-in holds %d calls", i, len(calls))
			}
			lat = append(lat, calls[i-1].Received.Sub(t0))
			clock.Advance(time.Hour)
		}
		report(b, lat)
	})
}

// benchNotifier is a notifier whose ladder is the one step, with no quiet
// hours, no repeats and rate limits out of the way: every alert is exactly
// one text or call.
func benchNotifier(b *testing.B, clock *schedule.SimClock, store *adherence.Store, s *twilio.Sender, step notify.Step) *notify.Notifier {
	many := 1 << 30
	n, err := notify.New(notify.Config{Clock: clock, Store: store, Sender: s,
		Escalation: notify.Escalation{Ladder: []notify.Step{step}, RenotifyEvery: new(time.Duration), QuietHours: "off",
			RateLimits: notify.RateLimits{PerRecipientPerHour: many, PerHour: many, PerDay: many}},
		Patient: dispenser.Patient{FirstName: "Margaret"}, Location: newYork, Contacts: contacts, Medications: meds,
		Counts: map[int]int{1: 56, 2: 30}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
