package dispenser_test

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/dispenser/dispensertest"
	"github.com/pillbox/pillbox/schedule"
)

// Faulty sensors: each is detected and logged once, and none turns into a
// double dose.

func faults(l *dispensertest.MemLog, prefix string) int {
	n := 0
	for _, ev := range l.Events() {
		if ev.Kind == dispenser.KindFault && strings.HasPrefix(ev.Detail, prefix) {
			n++
		}
	}
	return n
}

// A beam that reads blocked cannot count pills: every turn would put a
// pill in the cup unseen, and the jam retries would add more. The motor
// does not turn; the dose stays open for when the beam is clear.
func TestBlockedBeamHoldsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 7, 59), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		defer r.stop()
		id := "metformin@2026-03-02T08:00"
		r.advance(time.Minute)
		r.board.Drop.Hold(true) // a stuck pill: blocked, no edge after its one pulse
		r.press()
		r.press()
		if got := r.board.Motors[1].Turns(); got != 0 {
			t.Errorf("motor turns with the beam blocked = %d, want 0", got)
		}
		if n := faults(r.log, "drop sensor blocked"); n != 1 {
			t.Errorf("drop sensor faults after two presses = %d, want 1", n)
		}
		r.wantKinds(id, due, reminder)
		r.board.Drop.Hold(false)
		r.press()
		r.wantKinds(id, due, reminder, started, dispensed)
		if got := r.board.Motors[1].Turns(); got != 1 {
			t.Errorf("motor turns once the beam is clear = %d, want 1", got)
		}
	})
}

// A beam that becomes blocked during a dose stops the jam retries: each
// retry would be a pill in the cup that nobody counted.
func TestBeamBlockedMidDose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 7, 59), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		defer r.stop()
		r.advance(time.Minute)
		m := r.board.Motors[1]
		m.Script = []int{0, 0, 0}
		r.board.Drop.Hold(false)
		go func() {
			// The first turn's pill sticks in the beam.
			for m.Turns() == 0 {
				<-time.After(10 * time.Millisecond)
			}
			r.board.Drop.Hold(true) // a stuck pill: blocked, no edge after its one pulse
		}()
		r.press()
		if got := m.Turns(); got != 1 {
			t.Errorf("motor turns after the beam blocked = %d, want 1", got)
		}
		if got := r.log.Kinds("metformin@2026-03-02T08:00"); got[len(got)-1] != jam {
			t.Errorf("events of the dose = %v, want it to end in a jam", got)
		}
	})
}

// A lid that reads open for hours is reported once, as a lid (or its
// sensor) to check; a new stretch after it closed is reported again.
func TestLidOpenTooLong(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 10, 0), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		defer r.stop()
		r.board.Lid.Set(true)
		synctest.Wait()
		r.advance(dispenser.DefaultLidAlarm - time.Minute)
		if n := faults(r.log, "lid"); n != 0 {
			t.Fatalf("lid faults before the limit = %d, want 0", n)
		}
		r.advance(5 * time.Hour)
		if n := faults(r.log, "lid"); n != 1 {
			t.Errorf("lid faults after hours open = %d, want 1", n)
		}
		r.board.Lid.Set(false)
		synctest.Wait()
		r.board.Lid.Set(true)
		synctest.Wait()
		r.advance(dispenser.DefaultLidAlarm)
		if n := faults(r.log, "lid"); n != 2 {
			t.Errorf("lid faults after a second long stretch = %d, want 2", n)
		}
	})
}
