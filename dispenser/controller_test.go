package dispenser_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/dispenser/dispensertest"
	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/hw/hwtest"
	"github.com/pillbox/pillbox/schedule"
)

var newYork = mustZone("America/New_York")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// local builds a wall time in New York.
func local(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, newYork)
}

var (
	metformin  = dispenser.Medication{ID: "metformin", Name: "Metformin", Strength: "500 mg", PillsPerDose: 1, Compartment: 1}
	lisinopril = dispenser.Medication{ID: "lisinopril", Name: "Lisinopril", Strength: "10 mg", PillsPerDose: 2, Compartment: 2}
	paracet    = dispenser.Medication{ID: "paracetamol", Name: "Paracetamol", Strength: "500 mg", PillsPerDose: 1, Compartment: 3}
)

// rig runs a controller on a fake board, an in-memory log and a simulated
// clock, inside a synctest bubble so the motor's hardware time is virtual.
type rig struct {
	t      *testing.T
	clock  *schedule.SimClock
	log    *dispensertest.MemLog
	board  *hwtest.Board
	gate   *fakeGate
	ctrl   *dispenser.Controller
	cfg    dispenser.Config
	cancel context.CancelFunc
	done   chan error
}

type fakeGate struct {
	trusted bool
}

func (g *fakeGate) Check(context.Context) (schedule.Verdict, error) {
	return schedule.Verdict{Trusted: g.trusted, Reason: schedule.TrustNTP}, nil
}
func (g *fakeGate) Remember(ctx context.Context) (schedule.Verdict, error) { return g.Check(ctx) }

var _ dispenser.ClockGate = (*fakeGate)(nil)

func newRig(t *testing.T, start time.Time, regs []schedule.Regimen, meds ...dispenser.Medication) *rig {
	t.Helper()
	return newRigWith(t, start, regs, nil, meds...)
}

// newRigWith is newRig with edit changing the rig (its config, its board)
// before the controller starts.
func newRigWith(t *testing.T, start time.Time, regs []schedule.Regimen, edit func(*rig), meds ...dispenser.Medication) *rig {
	t.Helper()
	plan, err := schedule.NewPlan(regs, newYork)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, clock: schedule.NewSimClock(start), log: &dispensertest.MemLog{}, board: hwtest.NewBoard(1, 2, 3), gate: &fakeGate{trusted: true}}
	r.cfg = dispenser.Config{
		Clock: r.clock, Log: r.log, Board: r.board.Board, Plan: plan, Location: newYork,
		Medications: meds, Counts: map[int]int{1: 30, 2: 30, 3: 30}, Capacity: map[int]int{1: 30, 2: 30, 3: 30},
		Gate: r.gate,
	}
	if edit != nil {
		edit(r)
	}
	r.start()
	return r
}

// start runs a fresh controller on the same log, clock and board, as a
// restarted daemon would.
func (r *rig) start() {
	r.t.Helper()
	ctrl, err := dispenser.New(r.cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.ctrl = ctrl
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done = make(chan error, 1)
	go func() { r.done <- ctrl.Run(ctx) }()
	synctest.Wait()
}

func (r *rig) stop() {
	r.cancel()
	if err := <-r.done; err != nil {
		r.t.Fatalf("Run() = %v", err)
	}
}

func (r *rig) advance(d time.Duration) {
	r.clock.Advance(d)
	synctest.Wait()
}

func (r *rig) advanceTo(t time.Time) { r.advance(t.Sub(r.clock.Now())) }

// press presses the button and waits for whatever it started to finish.
func (r *rig) press() {
	r.board.Press()
	synctest.Wait()
	if err := r.ctrl.WaitIdle(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	synctest.Wait()
}

func (r *rig) display() []string {
	synctest.Wait()
	return r.board.Display.Lines()
}

func (r *rig) wantKinds(doseID string, want ...dispenser.Kind) {
	r.t.Helper()
	if got := r.log.Kinds(doseID); !slices.Equal(got, want) {
		r.t.Errorf("events for %q = %v, want %v", doseID, got, want)
	}
}

func (r *rig) wantDisplay(want ...string) {
	r.t.Helper()
	if got := r.display(); !slices.Equal(got, want) {
		r.t.Errorf("display = %q, want %q", got, want)
	}
}

func daily(med, spec string) schedule.Regimen { return schedule.Regimen{Medication: med, Cron: spec} }

const (
	due        = dispenser.KindDoseDue
	reminder   = dispenser.KindReminder
	started    = dispenser.KindDispenseStarted
	dispensed  = dispenser.KindDispensed
	taken      = dispenser.KindTaken
	missed     = dispenser.KindMissed
	jam        = dispenser.KindJam
	uncertain  = dispenser.KindUncertain
	notTaken   = dispenser.KindNotTaken
	prnRefused = dispenser.KindPRNRefused
)

func TestScheduledDoseEndToEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 5, 0), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		defer r.stop()
		id := "metformin@2026-03-02T08:00"
		r.wantDisplay("Next pills", "8:00 AM")

		r.advanceTo(local(2026, 3, 2, 6, 0)) // once a day: window opens 2 h early
		r.wantKinds(id, due)

		r.advanceTo(local(2026, 3, 2, 8, 0))
		r.wantKinds(id, due, reminder)
		r.wantDisplay("Time for pills", "Press the button")
		if got := r.board.Board.Attention.Mode(); got != hw.Blink {
			t.Errorf("attention LED = %v, want %v", got, hw.Blink)
		}
		if got := r.board.Board.Buzzer.Mode(); got != hw.Blink {
			t.Errorf("buzzer = %v, want %v", got, hw.Blink)
		}

		r.press()
		r.wantKinds(id, due, reminder, started, dispensed)
		r.wantDisplay("Take your pills", "from the cup")
		if got := r.board.Motors[1].Turns(); got != 1 {
			t.Errorf("motor 1 turns = %d, want 1", got)
		}

		r.board.Cup.Set(false)
		synctest.Wait()
		r.wantKinds(id, due, reminder, started, dispensed, taken)
		r.wantDisplay("Next pills", "8:00 AM tomorrow")
		st, err := r.ctrl.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Compartments[0].Left; got != 29 {
			t.Errorf("compartment 1 left = %d, want 29", got)
		}
	})
}

// Invariant 2: nothing before the window opens or after it closes.
func TestWindowBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 5, 0), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		defer r.stop()
		id := "metformin@2026-03-02T08:00"

		r.advanceTo(local(2026, 3, 2, 5, 59))
		r.press()
		if got := r.board.Motors[1].Turns(); got != 0 {
			t.Fatalf("press before the window: motor turns = %d, want 0", got)
		}

		r.advanceTo(local(2026, 3, 2, 10, 0)) // window closes 2 h after 08:00
		r.wantKinds(id, due, reminder, reminder, missed)
		r.press()
		if got := r.board.Motors[1].Turns(); got != 0 {
			t.Errorf("press after the window: motor turns = %d, want 0", got)
		}
		if n := r.log.Count(started); n != 0 {
			t.Errorf("dispense_started events = %d, want 0", n)
		}
	})
}

// Invariant 1: at most once, even when pressed again and again.
func TestPressedTwiceDispensesOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 7, 59), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		defer r.stop()
		r.advance(time.Minute)
		r.board.Press()
		r.board.Press()
		r.press()
		r.press()
		if got := r.board.Motors[1].Turns(); got != 1 {
			t.Errorf("motor turns = %d, want 1", got)
		}
		if n := r.log.Count(dispensed); n != 1 {
			t.Errorf("dispensed events = %d, want 1", n)
		}
	})
}

// Invariant 1: a dispense interrupted by a crash is uncertain and never
// repeated automatically.
func TestCrashMidDispenseIsUncertain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 7, 59), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		r.advance(time.Minute)
		// A motor whose turn never ends: the process dies mid-turn.
		r.board.Motors[1].Err = nil
		block := make(chan struct{})
		r.board.Board.Compartments[0].Motor = blockingMotor{block}
		r.cfg.Board = r.board.Board
		r.stop()
		r.start()
		r.board.Press()
		synctest.Wait()
		r.wantKinds("metformin@2026-03-02T08:00", due, reminder, started)
		r.stop() // "kill" while the motor turns
		close(block)

		r.board.Board.Compartments[0].Motor = r.board.Motors[1]
		r.start()
		defer r.stop()
		r.wantKinds("metformin@2026-03-02T08:00", due, reminder, started, uncertain)
		r.press()
		if got := r.board.Motors[1].Turns(); got != 0 {
			t.Errorf("motor turns after restart = %d, want 0", got)
		}
		r.wantDisplay("Check the cup", "Do not take", "extra pills", "Caregiver told")
		// Restarting again reports nothing new.
		r.stop()
		r.start()
		if n := r.log.Count(uncertain); n != 1 {
			t.Errorf("uncertain events after second restart = %d, want 1", n)
		}
	})
}

type blockingMotor struct{ block chan struct{} }

func (m blockingMotor) DispenseOne(ctx context.Context) error {
	select {
	case <-m.block:
	case <-ctx.Done():
	}
	return ctx.Err()
}

// Invariant 5: a jam is retried a bounded number of times, then reported,
// and never becomes two pills.
func TestJam(t *testing.T) {
	tests := []struct {
		name      string
		med       dispenser.Medication
		script    []int
		wantTurns int
		wantKinds []dispenser.Kind
		wantLeft  int
	}{
		{"jam then clears", metformin, []int{0, 1}, 2, []dispenser.Kind{started, jam, dispensed}, 29},
		{"stuck for good", metformin, []int{0, 0, 0, 0, 0}, 3, []dispenser.Kind{started, jam, jam, jam}, 30},
		{"two fall at once for a two-pill dose", lisinopril, []int{2}, 1, []dispenser.Kind{started, dispensed}, 28},
		{"second pill stuck", lisinopril, []int{1, 0, 0, 0}, 4, []dispenser.Kind{started, jam, jam, jam}, 29},
		{"extra pill falls: no more turns", metformin, []int{2}, 1, []dispenser.Kind{started, dispensed, dispenser.KindFault}, 28},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				spec := "0 8 * * *"
				r := newRig(t, local(2026, 3, 2, 7, 0), []schedule.Regimen{daily(tt.med.ID, spec)}, tt.med)
				defer r.stop()
				m := r.board.Motors[tt.med.Compartment]
				m.Script = tt.script
				r.press()
				if got := m.Turns(); got != tt.wantTurns {
					t.Errorf("motor turns = %d, want %d", got, tt.wantTurns)
				}
				id := tt.med.ID + "@2026-03-02T08:00"
				r.wantKinds(id, append([]dispenser.Kind{due}, tt.wantKinds...)...)
				st, _ := r.ctrl.Status(context.Background())
				if got := st.Compartments[tt.med.Compartment-1].Left; got != tt.wantLeft {
					t.Errorf("left = %d, want %d", got, tt.wantLeft)
				}
			})
		})
	}
}

// Invariant 3: the motor never moves without a durable intent, and the
// patient is told plainly.
func TestNoDispenseWithoutDurableIntent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 7, 0), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		defer r.stop()
		r.log.FailKind = started
		r.press()
		if got := r.board.Motors[1].Turns(); got != 0 {
			t.Errorf("motor turns = %d, want 0", got)
		}
		r.wantDisplay("Cannot save", "Pills held back", "Call caregiver")
		r.log.FailKind = ""
		r.press()
		if got := r.board.Motors[1].Turns(); got != 1 {
			t.Errorf("motor turns after the store recovered = %d, want 1", got)
		}
	})
}

func TestSameTimeDosesGoTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 7, 59), []schedule.Regimen{daily("metformin", "0 8 * * *"), daily("lisinopril", "0 8 * * *")}, metformin, lisinopril)
		defer r.stop()
		r.advance(time.Minute)
		r.press()
		if a, b := r.board.Motors[1].Turns(), r.board.Motors[2].Turns(); a != 1 || b != 2 {
			t.Errorf("motor turns = %d, %d, want 1, 2", a, b)
		}
		if n := r.log.Count(dispensed); n != 2 {
			t.Errorf("dispensed = %d, want 2", n)
		}
	})
}

// Invariant 4 and the time rules: doses whose windows passed while the
// device was off or the clock was wrong become one missed each, marked
// reconciled; nothing is dispensed twice after the clock steps back.
func TestDowntimeAndClockJumps(t *testing.T) {
	t.Run("off over two doses", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRig(t, local(2026, 3, 2, 6, 0), []schedule.Regimen{daily("metformin", "0 8,20 * * *")}, metformin)
			r.stop()
			r.clock.Set(local(2026, 3, 3, 6, 0))
			r.start()
			defer r.stop()
			for _, id := range []string{"metformin@2026-03-02T08:00", "metformin@2026-03-02T20:00"} {
				r.wantKinds(id, missed)
			}
			for _, ev := range r.log.Events() {
				if ev.Kind == missed && ev.Detail != "reconciled" {
					t.Errorf("missed %s detail = %q, want reconciled", ev.DoseID, ev.Detail)
				}
			}
		})
	})
	t.Run("jump forward while running", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRig(t, local(2026, 3, 2, 7, 0), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
			defer r.stop()
			r.clock.Set(local(2026, 3, 2, 13, 0))
			r.ctrl.Poke(context.Background())
			synctest.Wait()
			if n := r.log.Count(dispenser.KindClockJump); n != 1 {
				t.Errorf("clock_jump events = %d, want 1", n)
			}
			r.wantKinds("metformin@2026-03-02T08:00", due, missed)
		})
	})
	t.Run("jump back after taking", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRig(t, local(2026, 3, 2, 8, 0), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
			defer r.stop()
			r.press()
			r.board.Cup.Set(false)
			r.clock.Set(local(2026, 3, 2, 7, 0))
			r.ctrl.Poke(context.Background())
			r.press()
			if got := r.board.Motors[1].Turns(); got != 1 {
				t.Errorf("motor turns = %d, want 1", got)
			}
			r.wantKinds("metformin@2026-03-02T08:00", due, reminder, started, dispensed, taken)
		})
	})
}

func TestUntrustedClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 7, 0), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		r.stop()
		r.gate.trusted = false
		r.start()
		defer r.stop()
		r.advanceTo(local(2026, 3, 2, 8, 30))
		r.press()
		if got := r.board.Motors[1].Turns(); got != 0 {
			t.Errorf("motor turns with an untrusted clock = %d, want 0", got)
		}
		r.wantDisplay("Setting clock", "Please wait")
		r.advanceTo(local(2026, 3, 2, 12, 0))
		if n := r.log.Count(missed); n != 0 {
			t.Errorf("missed while untrusted = %d, want 0", n)
		}
		r.gate.trusted = true
		r.advance(time.Minute)
		r.wantKinds("metformin@2026-03-02T08:00", due, missed)
		if n := r.log.Count(dispenser.KindClockTrusted); n != 1 {
			t.Errorf("clock_trusted = %d, want 1", n)
		}
		// What was logged from the untrusted boot until the clock was
		// trusted says so (the clinic shows those times as unreliable);
		// nothing after.
		evs := r.log.Events()
		boot := slices.IndexFunc(evs, func(ev dispenser.Event) bool { return ev.Kind == dispenser.KindBoot && ev.Seq > 1 })
		if boot < 0 {
			t.Fatal("no second boot in the log")
		}
		untrusted, trustedSeen := 0, false
		for _, ev := range evs[boot:] {
			trustedSeen = trustedSeen || ev.Kind == dispenser.KindClockTrusted
			if ev.ClockUntrusted == trustedSeen {
				t.Errorf("event %d %s: clock_untrusted = %v, want %v", ev.Seq, ev.Kind, ev.ClockUntrusted, !trustedSeen)
			}
			if ev.ClockUntrusted {
				untrusted++
			}
		}
		if untrusted < 2 {
			t.Errorf("events marked clock_untrusted = %d, want the boot and the press at least", untrusted)
		}
	})
}

func TestNotTakenThenLatePickup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 8, 0), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		defer r.stop()
		r.press()
		r.advance(30 * time.Minute)
		id := "metformin@2026-03-02T08:00"
		r.wantKinds(id, due, reminder, started, dispensed, notTaken)
		r.board.Lid.Set(true)
		synctest.Wait()
		r.wantKinds(id, due, reminder, started, dispensed, notTaken, taken)
	})
}

// Invariant 2 for as-needed doses: minimum interval and daily maximum.
func TestPRNLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		regs := []schedule.Regimen{{Medication: "paracetamol", PRN: &schedule.PRN{MinInterval: 4 * time.Hour, MaxPerDay: 2}}}
		r := newRig(t, local(2026, 3, 2, 9, 0), regs, paracet)
		defer r.stop()
		ctx := context.Background()
		want := []error{nil, dispenser.ErrTooSoon, nil, dispenser.ErrTooSoon, dispenser.ErrTooSoon}
		steps := []time.Duration{0, time.Hour, 3 * time.Hour, 4 * time.Hour, 10 * time.Hour}
		for i, step := range steps {
			r.advance(step)
			err := r.ctrl.RequestPRN(ctx, "paracetamol")
			if !errors.Is(err, want[i]) {
				t.Errorf("request %d at %s: RequestPRN() = %v, want %v", i, r.clock.Now().In(newYork).Format("15:04"), err, want[i])
			}
			r.ctrl.WaitIdle(ctx)
			synctest.Wait()
		}
		if got := r.board.Motors[3].Turns(); got != 2 {
			t.Errorf("motor turns = %d, want 2", got)
		}
		if n := r.log.Count(prnRefused); n != 3 {
			t.Errorf("prn_refused = %d, want 3", n)
		}
	})
}

func TestHoldButtonForPRN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		regs := []schedule.Regimen{{Medication: "paracetamol", PRN: &schedule.PRN{MinInterval: 4 * time.Hour, MaxPerDay: 4}}}
		r := newRig(t, local(2026, 3, 2, 9, 0), regs, paracet)
		defer r.stop()
		r.board.Button.Set(true)
		<-time.After(3 * time.Second) // held, in the bubble's virtual time
		r.board.Button.Set(false)
		r.ctrl.WaitIdle(context.Background())
		synctest.Wait()
		if got := r.board.Motors[3].Turns(); got != 1 {
			t.Errorf("motor turns after a hold = %d, want 1", got)
		}
		r.press() // a short press gives nothing
		if got := r.board.Motors[3].Turns(); got != 1 {
			t.Errorf("motor turns after a short press = %d, want 1", got)
		}
	})
}

// Invariant 6: a flapping sensor is reported once and ignored.
func TestFlappingButton(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 12, 0), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		defer r.stop()
		for range 100 {
			r.board.Button.Set(true)
			r.board.Button.Set(false)
		}
		synctest.Wait()
		if n := r.log.Count(dispenser.KindFault); n != 1 {
			t.Errorf("fault events = %d, want 1", n)
		}
		if n := r.log.Count(dispenser.KindButton); n > 11 {
			t.Errorf("button events = %d, want at most 11", n)
		}
	})
}

func TestStrayDrop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 12, 0), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		defer r.stop()
		r.board.Drop.Set(true)
		r.board.Drop.Set(false)
		synctest.Wait()
		if n := r.log.Count(dispenser.KindStrayDrop); n != 1 {
			t.Errorf("stray_drop events = %d, want 1", n)
		}
	})
}

func TestFaultShownWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, local(2026, 3, 2, 7, 0), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
		defer r.stop()
		ctx := context.Background()
		if err := r.ctrl.SetFault(ctx, "sms", "Texts not sent", "Call caregiver"); err != nil {
			t.Fatal(err)
		}
		r.wantDisplay("Texts not sent", "Call caregiver")
		if got := r.board.Board.Fault.Mode(); got != hw.On {
			t.Errorf("fault LED = %v, want %v", got, hw.On)
		}
		r.advanceTo(local(2026, 3, 2, 8, 0)) // a due dose comes first
		r.wantDisplay("Time for pills", "Press the button")
		r.ctrl.ClearFault(ctx, "sms")
		r.press()
		r.board.Cup.Set(false)
		r.wantDisplay("Next pills", "8:00 AM tomorrow")
		if got := r.board.Board.Fault.Mode(); got != hw.Off {
			t.Errorf("fault LED after clearing = %v, want %v", got, hw.Off)
		}
	})
}

// After a miss, until the next dose, the screen says what was missed and
// that a caregiver knows, with the attention light on; once a caregiver
// acknowledged it, who is coming.
func TestDisplayAfterMiss(t *testing.T) {
	t.Run("one dose", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRig(t, local(2026, 3, 2, 5, 0), []schedule.Regimen{daily("metformin", "0 8 * * *")}, metformin)
			defer r.stop()
			r.advanceTo(local(2026, 3, 2, 10, 0)) // the window closes 2 h after 08:00
			r.wantKinds("metformin@2026-03-02T08:00", due, reminder, reminder, missed)
			r.wantDisplay("Missed 8:00 AM", "Caregiver told")
			if got := r.board.Board.Attention.Mode(); got != hw.On {
				t.Errorf("attention LED after a miss = %v, want %v", got, hw.On)
			}
			if got := r.board.Board.Ready.Mode(); got != hw.Off {
				t.Errorf("ready LED after a miss = %v, want %v", got, hw.Off)
			}
			if err := r.ctrl.OnIt(context.Background(), "Ana", local(2026, 3, 2, 10, 5)); err != nil {
				t.Fatal(err)
			}
			r.wantDisplay("Missed 8:00 AM", "Ana is on it")
			// Until the next dose, which is due and then taken.
			r.advanceTo(local(2026, 3, 3, 8, 0))
			r.wantDisplay("Time for pills", "Press the button")
			r.press()
			r.board.Cup.Set(false)
			synctest.Wait()
			r.wantDisplay("Next pills", "8:00 AM tomorrow")
			if got := r.board.Board.Attention.Mode(); got != hw.Off {
				t.Errorf("attention LED after a dose taken = %v, want %v", got, hw.Off)
			}
		})
	})
	t.Run("two doses, and a miss after the acknowledgement", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRig(t, local(2026, 3, 2, 5, 0), []schedule.Regimen{daily("metformin", "0 8 * * *"), daily("lisinopril", "0 9 * * *")},
				metformin, lisinopril)
			defer r.stop()
			r.advanceTo(local(2026, 3, 2, 10, 0)) // the 08:00 window closed; the 09:00 dose is due
			r.wantDisplay("Time for pills", "Press the button")
			r.advanceTo(local(2026, 3, 2, 11, 0)) // the 09:00 window closed too
			r.wantDisplay("Missed 2 doses", "Caregiver told")
			if err := r.ctrl.OnIt(context.Background(), "Ana", local(2026, 3, 2, 11, 5)); err != nil {
				t.Fatal(err)
			}
			r.wantDisplay("Missed 2 doses", "Ana is on it")
			// The next day's doses are missed too (yesterday's are more than a
			// day old): after the acknowledgement, so a caregiver is told, and
			// nobody is on them yet.
			r.advanceTo(local(2026, 3, 3, 11, 0))
			r.wantDisplay("Missed 2 doses", "Caregiver told")
		})
	})
}
