package notify_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

// sinkNotifier is a notifier on an in-memory store, sending to the sink,
// on a simulated clock at 07:00; Run is the caller's to start.
func sinkNotifier(t *testing.T) (*notify.Notifier, *adherence.Store, *schedule.SimClock) {
	t.Helper()
	store, err := adherence.OpenMemory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := schedule.NewSimClock(at(7, 0))
	n, err := notify.New(notify.Config{
		Clock: clock, Store: store, Sender: notify.Sink{},
		Patient:  dispenser.Patient{FirstName: "Margaret", Timezone: "America/New_York"},
		Location: newYork, Contacts: contacts, Medications: meds, Counts: map[int]int{1: 56, 2: 30},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, store, clock
}

// Run's loops wake on Observe and on their own timers, with nothing
// polling: once every goroutine is blocked, the work is done.
func TestRunWakesOnCommitAndTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		n, store, clock := sinkNotifier(t)
		done := make(chan error, 1)
		go func() { done <- n.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v, want nil after cancel", err)
			}
		}()
		synctest.Wait()

		messages := func() []notify.Message {
			ms, err := n.Messages(ctx, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			return ms
		}
		if ms := messages(); len(ms) != 0 {
			t.Fatalf("before any event: %d messages", len(ms))
		}
		stored, err := store.Append(ctx, dispenser.Event{Time: clock.Now(), Kind: dispenser.KindJam, Compartment: 1,
			DoseID: doseID("metformin", 8, 0), Scheduled: at(8, 0), Medication: "metformin", Detail: "pills=0 expected=1 left=56"})
		if err != nil {
			t.Fatal(err)
		}
		n.Observe(stored)
		synctest.Wait()
		ms := messages()
		if len(ms) != 1 || ms[0].To != "caregiver1" || ms[0].State != notify.MsgSent || ms[0].Status != "delivered" {
			t.Fatalf("after a jam: %+v, want one message to caregiver1, sent to the sink", ms)
		}

		clock.Advance(29 * time.Minute)
		synctest.Wait()
		if ms := messages(); len(ms) != 1 {
			t.Fatalf("29 minutes later: %d messages, want still 1", len(ms))
		}
		clock.Advance(time.Minute)
		synctest.Wait()
		if ms := messages(); len(ms) != 2 || ms[1].To != "caregiver2" || ms[1].State != notify.MsgSent {
			t.Fatalf("30 minutes later: %+v, want the second to caregiver2, sent", ms)
		}
	})
}

// Settle returns once what was committed before it is acted on and every
// text due is sent, without waiting for the goroutines to get round to it;
// once Run has stopped it returns at once.
func TestSettle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		n, store, clock := sinkNotifier(t)
		early, cancelEarly := context.WithCancel(ctx)
		cancelEarly()
		if err := n.Settle(early); err == nil {
			t.Errorf("Settle before Run with its context canceled = nil, want an error")
		}
		done := make(chan error, 1)
		go func() { done <- n.Run(ctx) }()

		sent := func() []string {
			t.Helper()
			ms, err := n.Messages(ctx, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			var to []string
			for _, m := range ms {
				if m.State == notify.MsgSent {
					to = append(to, m.To)
				}
			}
			return to
		}
		// Neither Observe nor a wait: Settle alone sees the commit.
		if _, err := store.Append(ctx, dispenser.Event{Time: clock.Now(), Kind: dispenser.KindJam, Compartment: 1,
			DoseID: doseID("metformin", 8, 0), Scheduled: at(8, 0), Medication: "metformin", Detail: "pills=0 expected=1 left=56"}); err != nil {
			t.Fatal(err)
		}
		if err := n.Settle(ctx); err != nil {
			t.Fatalf("Settle = %v", err)
		}
		if got, want := sent(), []string{"caregiver1"}; !slices.Equal(got, want) {
			t.Fatalf("after a jam and Settle: sent to %q, want %q", got, want)
		}
		// The next step falls due inside Advance; the sender's pass is
		// Settle's to wait for.
		clock.Advance(30 * time.Minute)
		if err := n.Settle(ctx); err != nil {
			t.Fatalf("Settle = %v", err)
		}
		if got, want := sent(), []string{"caregiver1", "caregiver2"}; !slices.Equal(got, want) {
			t.Fatalf("30 minutes later and Settle: sent to %q, want %q", got, want)
		}

		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
		if err := n.Settle(context.Background()); err != nil {
			t.Errorf("Settle after Run stopped = %v, want nil at once", err)
		}
	})
}
