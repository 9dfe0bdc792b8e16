package sim

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/hw"
)

func edges(in hw.Input, active ...bool) []hw.Edge {
	es := []hw.Edge{}
	for _, a := range active {
		es = append(es, hw.Edge{Input: in, Active: a})
	}
	return es
}

func only(es []hw.Edge, in hw.Input) []hw.Edge {
	out := []hw.Edge{}
	for _, e := range es {
		if e.Input == in {
			out = append(out, e)
		}
	}
	return out
}

func TestButton(t *testing.T) {
	tests := []struct {
		name   string
		opts   []Option
		act    func(w *World) error
		want   []hw.Edge
		during bool // button_pressed while act runs
	}{
		{"press", nil, func(w *World) error { w.PressButton(); return nil }, edges(hw.Button, true, false), true},
		{"press with bouncing contacts", []Option{WithButtonBounce(4)},
			func(w *World) error { w.PressButton(); return nil }, edges(hw.Button, true, false), true},
		{"long hold", nil, func(w *World) error { w.HoldButton(3 * time.Second); return nil }, edges(hw.Button, true, false), true},
		{"flapping for 3 ms", nil, func(w *World) error { return w.Chatter(hw.Button, 10) }, edges(hw.Button), false},
		// 100 Hz: a change every 5 ms, faster than the 20 ms debounce.
		{"bouncing at 100 Hz", nil, func(w *World) error { return w.ChatterEvery(hw.Button, 40, 5*time.Millisecond) }, edges(hw.Button), false},
		// Slower than the debounce, every change gets through.
		{"flapping at 10 Hz", nil, func(w *World) error { return w.ChatterEvery(hw.Button, 4, 50*time.Millisecond) },
			edges(hw.Button, true, false, true, false), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, "", tt.opts...)
				pressed := make(chan bool, 1)
				go func() {
					time.Sleep(100 * time.Millisecond) // virtual: in the middle of the action
					pressed <- r.w.Snapshot().ButtonPressed
				}()
				if err := tt.act(r.w); err != nil {
					t.Fatal(err)
				}
				settle(time.Second)
				if got := only(r.received(), hw.Button); !slices.Equal(got, tt.want) {
					t.Errorf("button edges = %v, want %v", got, tt.want)
				}
				if got := <-pressed; got != tt.during {
					t.Errorf("button_pressed during the action = %t, want %t", got, tt.during)
				}
				if r.w.Snapshot().ButtonPressed {
					t.Errorf("button_pressed after the action = true, want false")
				}
			})
		})
	}
}

func TestLidAndCup(t *testing.T) {
	tests := []struct {
		name    string
		act     func(w *World) error
		want    []hw.Edge
		lidOpen bool
		sensors map[string]SensorState
	}{
		{"open the lid", func(w *World) error { w.SetLid(true); return nil },
			edges(hw.Lid, true), true, map[string]SensorState{"lid": {Pin: "GPIO22", Active: true}}},
		{"open and close", func(w *World) error { w.SetLid(true); time.Sleep(time.Second); w.SetLid(false); return nil },
			edges(hw.Lid, true, false), false, map[string]SensorState{"lid": {Pin: "GPIO22"}}},
		{"lid switch stuck closed", func(w *World) error {
			if err := w.StickSensor(hw.Lid, false); err != nil {
				return err
			}
			w.SetLid(true)
			return nil
		}, edges(hw.Lid), true, map[string]SensorState{"lid": {Pin: "GPIO22", Stuck: "inactive"}}},
		{"lid switch stuck open", func(w *World) error { return w.StickSensor(hw.Lid, true) },
			edges(hw.Lid, true), false, map[string]SensorState{"lid": {Pin: "GPIO22", Active: true, Stuck: "active"}}},
		{"unstuck follows the lid again", func(w *World) error {
			if err := w.StickSensor(hw.Lid, true); err != nil {
				return err
			}
			time.Sleep(time.Second)
			return w.UnstickSensor(hw.Lid)
		}, edges(hw.Lid, true, false), false, map[string]SensorState{"lid": {Pin: "GPIO22"}}},
		{"lift the cup", func(w *World) error { w.SetCup(false); return nil },
			edges(hw.Cup, false), false, map[string]SensorState{"cup": {Pin: "GPIO4"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, "")
				if err := tt.act(r.w); err != nil {
					t.Fatal(err)
				}
				settle(time.Second)
				got := r.received()
				got = append(only(got, hw.Lid), only(got, hw.Cup)...)
				if !slices.Equal(got, tt.want) {
					t.Errorf("edges = %v, want %v", got, tt.want)
				}
				st := r.w.Snapshot()
				if st.LidOpen != tt.lidOpen {
					t.Errorf("lid_open = %t, want %t", st.LidOpen, tt.lidOpen)
				}
				for name, want := range tt.sensors {
					if got := st.Sensors[name]; got != want {
						t.Errorf("sensors[%s] = %+v, want %+v", name, got, want)
					}
				}
			})
		})
	}
}

func TestCupTakesPills(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "")
		for range 2 {
			if err := r.b.Compartments[0].Motor.DispenseOne(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		settle(time.Second)
		if got := r.w.Snapshot().PillsInCup; got != 2 {
			t.Fatalf("pills_in_cup = %d, want 2", got)
		}
		r.w.SetCup(false)
		if err := r.b.Compartments[1].Motor.DispenseOne(context.Background()); err != nil {
			t.Fatal(err)
		}
		settle(time.Second)
		st := r.w.Snapshot()
		c1, c2 := st.Compartments[0], st.Compartments[1]
		if st.PillsInCup != 0 || c1.Taken != 2 || c2.Spilled != 1 || c2.InCup != 0 {
			t.Errorf("after lifting the cup: in cup %d, taken %d, spilled %d; want 0, 2, 1", st.PillsInCup, c1.Taken, c2.Spilled)
		}
	})
}

func TestDropSensorFaults(t *testing.T) {
	tests := []struct {
		name     string
		fault    func(w *World) error
		dispense bool
		pills    int // reported by the drop sensor
		count    int // left in compartment 1
	}{
		{"stray pulses with the motor idle", func(w *World) error { return w.Chatter(hw.Drop, 4) }, false, 2, 10},
		// Blocking the beam looks like one pill arriving; after that the
		// sensor is blind.
		{"beam always blocked", func(w *World) error { return w.StickSensor(hw.Drop, true) }, true, 1, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, "")
				if err := tt.fault(r.w); err != nil {
					t.Fatal(err)
				}
				if tt.dispense {
					if err := r.b.Compartments[0].Motor.DispenseOne(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				settle(time.Second)
				if got := r.pills(); got != tt.pills {
					t.Errorf("drop sensor reported %d pills, want %d", got, tt.pills)
				}
				if got := r.compartment(1).Count; got != tt.count {
					t.Errorf("compartment 1 count = %d, want %d", got, tt.count)
				}
			})
		})
	}
}

func TestIndicators(t *testing.T) {
	tests := []struct {
		mode hw.Mode
		on   bool // at the snapshot, 2s after Set
	}{
		{hw.Off, false},
		{hw.On, true},
		{hw.Blink, true},     // toggled 4 times in 2s
		{hw.FastBlink, true}, // 16 times
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, "")
				// led_attention is active low: the pin level is inverted.
				for _, ind := range []hw.Indicator{r.b.Attention, r.b.Buzzer} {
					if err := ind.Set(tt.mode); err != nil {
						t.Fatal(err)
					}
				}
				settle(2*time.Second + time.Millisecond)
				st := r.w.Snapshot()
				for _, name := range []string{"led_attention", "buzzer"} {
					got := st.Indicators[name]
					if got.Mode != tt.mode.String() || got.On != tt.on {
						t.Errorf("indicators[%s] = %+v, want mode %s, on %t", name, got, tt.mode, tt.on)
					}
				}
				if got := st.Indicators["led_ready"].Mode; got != "off" {
					t.Errorf("indicators[led_ready].mode = %s, want off", got)
				}
			})
		})
	}
}

func TestActionErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "")
		noLid := testBoard("")
		noLid.Lid = nil
		w2, err := New(noLid, testCompartments())
		if err != nil {
			t.Fatal(err)
		}
		defer w2.Board().Close()
		tests := []struct {
			name string
			err  error
		}{
			{"refill unknown compartment", r.w.Refill(9, 1)},
			{"refill over capacity", r.w.Refill(1, 31)},
			{"refill negative", r.w.Refill(1, -1)},
			{"jam unknown compartment", r.w.InjectJam(9, 1)},
			{"negative jam", r.w.InjectJam(1, -1)},
			{"stick a sensor not fitted", w2.StickSensor(hw.Lid, true)},
			{"chatter a sensor not fitted", w2.Chatter(hw.Lid, 2)},
		}
		for _, tt := range tests {
			if tt.err == nil {
				t.Errorf("%s: err = nil, want an error", tt.name)
			}
		}
		if !slices.Contains(w2.Board().Missing, "lid") {
			t.Errorf("Missing = %q, want it to list lid", w2.Board().Missing)
		}
	})
}
