package dispenser_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/dispenser/dispensertest"
	"github.com/pillbox/pillbox/schedule"
)

// Requests from outside (the HTTP API) carry their caller's context, which
// ends when the caller stops waiting: an HTTP handler returns, a client
// hangs up. What the controller starts for a request must not end with it.

// An as-needed dose asked for through the API without waiting (POST
// /api/prn answers 202 and its request context ends) is given in full, not
// left "dispensing" with the motor stopped mid-turn.
func TestRequestPRNOutlivesItsCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		regs := []schedule.Regimen{{Medication: "paracetamol", PRN: &schedule.PRN{MinInterval: 4 * time.Hour, MaxPerDay: 4}}}
		r := newRig(t, local(2026, 3, 2, 9, 0), regs, paracet)
		defer r.stop()
		ctx, cancel := context.WithCancel(context.Background())
		if err := r.ctrl.RequestPRN(ctx, "paracetamol"); err != nil {
			t.Fatal(err)
		}
		cancel() // the handler has answered
		if err := r.ctrl.WaitIdle(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got, want := r.log.Kinds(""), []dispenser.Kind{dispenser.KindBoot, started, dispensed}; !slices.Equal(got[:min(3, len(got))], want) {
			t.Errorf("events after an as-needed request whose caller left = %v, want %v", got, want)
		}
	})
}

// blockingLog holds the next Append until released, so a test can end the
// caller's context while the controller is committing its request.
type blockingLog struct {
	*dispensertest.MemLog
	armed   bool
	entered chan struct{}
	release chan struct{}
}

func (l *blockingLog) Append(ctx context.Context, evs ...dispenser.Event) ([]dispenser.Event, error) {
	if l.armed {
		l.armed = false
		close(l.entered)
		<-l.release
	}
	return l.MemLog.Append(ctx, evs...)
}

var _ dispenser.Log = (*blockingLog)(nil)

// A caregiver's skip whose caller gives up while it is being committed is
// still committed, reported as done, and does not look like a storage
// failure to the patient.
func TestSkipWhileCallerGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 7, 0), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		r.advanceTo(local(2026, 3, 2, 8, 0))
		r.stop()
		bl := &blockingLog{MemLog: r.log, entered: make(chan struct{}), release: make(chan struct{})}
		r.cfg.Log = bl
		r.start()
		defer r.stop()
		id := "metformin@2026-03-02T08:00"

		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		bl.armed = true
		go func() { errc <- r.ctrl.Skip(ctx, id, "caregiver") }()
		<-bl.entered
		cancel()
		close(bl.release)
		if err := <-errc; err != nil {
			t.Errorf("Skip() = %v, want nil: the skip was committed", err)
		}
		if got := r.log.Kinds(id); len(got) == 0 || got[len(got)-1] != dispenser.KindSkipped {
			t.Errorf("events of %s = %v, want it to end in skipped", id, got)
		}
		st, err := r.ctrl.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.StoreError || slices.Contains(st.Display, "Cannot save") {
			t.Errorf("after a skip whose caller gave up: store_error %t, display %q; want no storage failure", st.StoreError, st.Display)
		}
	})
}

// Status with a context that ends while the controller builds the snapshot
// returns either the whole snapshot or an error, never half of one.
func TestStatusCallerGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 7, 0), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		defer r.stop()
		for range 50 {
			ctx, cancel := context.WithCancel(context.Background())
			go cancel()
			st, err := r.ctrl.Status(ctx)
			if err == nil && (st.Timezone == "" || !strings.Contains(st.Local, "2026-03-02")) {
				t.Fatalf("Status() = %+v, nil; want a whole snapshot", st)
			}
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("Status() error = %v, want nil or context.Canceled", err)
			}
		}
	})
}
