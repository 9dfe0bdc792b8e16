package sim

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/hw"
)

const (
	ulnSteps     = 64
	stepDirSteps = 200
)

func testBoard(display string) hw.BoardConfig {
	b := hw.BoardConfig{
		I2CBus:       "1",
		ServoDriver:  &hw.ServoDriverConfig{Address: 0x40},
		Button:       hw.InputConfig{Pin: "GPIO17", ActiveLow: true},
		Drop:         hw.InputConfig{Pin: "GPIO27"},
		Lid:          &hw.InputConfig{Pin: "GPIO22", ActiveLow: true},
		Cup:          &hw.InputConfig{Pin: "GPIO4"},
		Buzzer:       &hw.OutputConfig{Pin: "GPIO18"},
		LEDReady:     &hw.OutputConfig{Pin: "GPIO23"},
		LEDAttention: &hw.OutputConfig{Pin: "GPIO24", ActiveLow: true},
		LEDFault:     &hw.OutputConfig{Pin: "GPIO25"},
	}
	switch display {
	case "ssd1306":
		b.Display = &hw.DisplayConfig{Kind: "ssd1306", Address: 0x3C}
	case "hd44780":
		b.Display = &hw.DisplayConfig{Kind: "hd44780", Address: 0x27}
	}
	return b
}

func testCompartments() []hw.CompartmentConfig {
	return []hw.CompartmentConfig{
		{ID: 1, Capacity: 30, Count: 10, Motor: hw.MotorConfig{
			Kind: "uln2003", Pins: []string{"GPIO5", "GPIO6", "GPIO13", "GPIO19"}, StepsPerUnit: ulnSteps}},
		{ID: 2, Capacity: 30, Count: 10, Motor: hw.MotorConfig{
			Kind: "stepdir", Step: "GPIO12", Dir: "GPIO16", Enable: "GPIO20", StepsPerUnit: stepDirSteps, Reverse: true}},
		{ID: 3, Capacity: 30, Count: 10, Motor: hw.MotorConfig{
			Kind: "servo", Channel: 3, RestAngle: 10, DispenseAngle: 100}},
	}
}

// rig is a world with its board and a watcher on every sensor. It must be
// built inside a synctest bubble.
type rig struct {
	t      *testing.T
	w      *World
	b      *hw.Board
	edges  chan hw.Edge
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newRig(t *testing.T, display string, opts ...Option) *rig {
	t.Helper()
	w, err := New(testBoard(display), testCompartments(), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{t: t, w: w, b: w.Board(), edges: make(chan hw.Edge, 256), cancel: cancel}
	for _, s := range []hw.Sensor{r.b.Button, r.b.Drop, r.b.Lid, r.b.Cup} {
		r.wg.Go(func() {
			if err := s.Watch(ctx, r.edges); err != nil {
				t.Errorf("Watch: %v", err)
			}
		})
	}
	t.Cleanup(r.close)
	return r
}

func (r *rig) close() {
	r.cancel()
	r.wg.Wait()
	if err := r.b.Close(); err != nil {
		r.t.Errorf("board Close: %v", err)
	}
}

// received drains the watchers: the edges they reported, in order.
func (r *rig) received() []hw.Edge {
	var es []hw.Edge
	for {
		select {
		case e := <-r.edges:
			es = append(es, e)
		default:
			return es
		}
	}
}

// settle lets the bubble's virtual clock run for d and waits until every
// goroutine in it is blocked again.
func settle(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// pills drains the watchers: the pills the drop sensor reported.
func (r *rig) pills() int {
	n := 0
	for _, e := range r.received() {
		if e.Input == hw.Drop && e.Active {
			n++
		}
	}
	return n
}

func (r *rig) compartment(id int) CompartmentState {
	for _, c := range r.w.Snapshot().Compartments {
		if c.ID == id {
			return c
		}
	}
	r.t.Fatalf("no compartment %d in the snapshot", id)
	return CompartmentState{}
}

func TestDispenseOneDropsOnePill(t *testing.T) {
	for _, id := range []int{1, 2, 3} {
		t.Run(testCompartments()[id-1].Motor.Kind, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, "")
				if err := r.b.Compartments[id-1].Motor.DispenseOne(context.Background()); err != nil {
					t.Fatalf("DispenseOne: %v", err)
				}
				settle(time.Second)
				if got := r.pills(); got != 1 {
					t.Errorf("drop sensor reported %d pills, want 1", got)
				}
				c := r.compartment(id)
				if c.Count != 9 || c.Dispensed != 1 || c.InCup != 1 || c.MotorFaults != 0 {
					t.Errorf("compartment %d = %+v, want count 9, dispensed 1, in cup 1, no motor faults", id, c)
				}
				for _, o := range r.w.Snapshot().Compartments {
					if o.ID != id && o.Count != 10 {
						t.Errorf("compartment %d count = %d, want 10 (untouched)", o.ID, o.Count)
					}
				}
			})
		})
	}
}

// TestEveryMotorKind: the simulator models every declared motor kind's
// drive, so the example of each, driven by its real driver, drops a pill.
func TestEveryMotorKind(t *testing.T) {
	for _, k := range hw.MotorKinds() {
		t.Run(k.Name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w, err := New(testBoard(""), []hw.CompartmentConfig{{ID: 1, Capacity: 10, Count: 5, Motor: k.Example}})
				if err != nil {
					t.Fatalf("New(example %s): %v", k.Name, err)
				}
				defer w.Board().Close()
				if err := w.Board().Compartments[0].Motor.DispenseOne(context.Background()); err != nil {
					t.Fatalf("DispenseOne: %v", err)
				}
				settle(time.Second)
				if c := w.Snapshot().Compartments[0]; c.Count != 4 || c.Dispensed != 1 || c.MotorFaults != 0 {
					t.Errorf("%s: compartment = %+v, want count 4, dispensed 1, no motor faults", k.Name, c)
				}
			})
		})
	}
}

func TestNothingDrops(t *testing.T) {
	tests := []struct {
		name   string
		fault  func(w *World) error
		jammed int
		empty  int
		count  int
	}{
		{"jam", func(w *World) error { return w.InjectJam(1, 1) }, 1, 0, 10},
		{"empty", func(w *World) error { return w.Refill(1, 0) }, 0, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, "")
				if err := tt.fault(r.w); err != nil {
					t.Fatal(err)
				}
				if err := r.b.Compartments[0].Motor.DispenseOne(context.Background()); err != nil {
					t.Fatalf("DispenseOne: %v", err)
				}
				settle(time.Second)
				if got := r.pills(); got != 0 {
					t.Errorf("drop sensor reported %d pills, want 0", got)
				}
				c := r.compartment(1)
				if c.Count != tt.count || c.Dispensed != 0 || c.Jammed != tt.jammed || c.EmptyTurns != tt.empty {
					t.Errorf("compartment 1 = %+v, want count %d, dispensed 0, jammed %d, empty turns %d",
						c, tt.count, tt.jammed, tt.empty)
				}
				// The jam was for one unit only: the next one drops.
				if tt.name == "jam" {
					if err := r.b.Compartments[0].Motor.DispenseOne(context.Background()); err != nil {
						t.Fatalf("DispenseOne: %v", err)
					}
					settle(time.Second)
					if got := r.pills(); got != 1 {
						t.Errorf("after the jam, drop sensor reported %d pills, want 1", got)
					}
				}
			})
		})
	}
}

func TestDisplayShowsText(t *testing.T) {
	for _, kind := range []string{"ssd1306", "hd44780"} {
		t.Run(kind, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, kind)
				want := []string{"Take your", "8:00 pills"}
				if err := r.b.Display.Show(want...); err != nil {
					t.Fatalf("Show: %v", err)
				}
				st := r.w.Snapshot().Display
				if st.Kind != kind || !st.On || !slices.Equal(st.Lines, want) {
					t.Errorf("display = %+v, want kind %s, on, lines %q", st, kind, want)
				}
			})
		})
	}
}
