package dispenser_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/schedule"
)

// When the log cannot be written (a full or read-only disk), the dispenser
// holds pills back and says so, keeps running, and writes what happened
// once it can: the doses a boot found interrupted, the outcome of a turn
// that finished while the disk was full, the cup lifted meanwhile.

// A controller started on a log it cannot write runs, holds back, and logs
// its boot, with the doses that were interrupted, when the log recovers.
func TestStartsOnUnwritableLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 7, 59), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		id := "metformin@2026-03-02T08:00"
		r.advance(time.Minute)
		block := make(chan struct{})
		r.board.Board.Compartments[0].Motor = blockingMotor{block}
		r.stop()
		r.start()
		r.board.Press()
		synctest.Wait()
		r.stop() // killed mid-turn
		close(block)
		r.board.Board.Compartments[0].Motor = r.board.Motors[1]

		r.log.Fail = true
		ctrl, err := dispenser.New(r.cfg)
		if err != nil {
			t.Fatal(err)
		}
		r.ctrl = ctrl
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel = cancel
		r.done = make(chan error, 1)
		go func() { r.done <- ctrl.Run(ctx) }()
		synctest.Wait()
		select {
		case err := <-r.done:
			t.Fatalf("Run on a log it cannot write = %v; want it to keep running", err)
		default:
		}
		defer r.stop()
		r.wantDisplay("Cannot save", "Pills held back", "Call caregiver")
		r.press()
		if got := r.board.Motors[1].Turns(); got != 0 {
			t.Errorf("motor turns with the log unwritable = %d, want 0", got)
		}

		r.log.Fail = false
		r.advance(time.Minute) // the next tick writes what is owed
		kinds := r.log.Kinds("")
		if i := slices.Index(kinds, dispenser.KindBoot); i < 0 || slices.Index(kinds[i:], dispenser.KindBoot) < 0 {
			t.Fatalf("events after the log recovered = %v, want the second boot", kinds)
		}
		r.wantKinds(id, due, reminder, started, uncertain)
		st, _ := r.ctrl.Status(context.Background())
		if st.StoreError {
			t.Errorf("store_error after the log recovered = true, want false")
		}
	})
}

// The disk fills while the motor turns: the pills are in the cup, the
// outcome cannot be written. When it can, it is, and lifting the cup
// meanwhile counts as taking them.
func TestOutcomeWrittenWhenLogRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 7, 59), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		defer r.stop()
		id := "metformin@2026-03-02T08:00"
		r.advance(time.Minute)
		r.log.FailKind = dispensed
		r.press()
		r.wantKinds(id, due, reminder, started)
		r.log.Fail, r.log.FailKind = true, ""
		r.board.Cup.Set(false) // the patient takes the pills
		synctest.Wait()
		r.board.Cup.Set(true)
		synctest.Wait()
		r.log.Fail = false
		r.advance(time.Minute)
		r.wantKinds(id, due, reminder, started, dispensed, taken)
		if got := r.board.Motors[1].Turns(); got != 1 {
			t.Errorf("motor turns = %d, want 1", got)
		}
		st, _ := r.ctrl.Status(context.Background())
		if got := st.Compartments[0].Left; got != 29 {
			t.Errorf("compartment 1 left = %d, want 29", got)
		}
	})
}
