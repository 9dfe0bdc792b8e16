package driver

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func newULNPins() (*pinLog, [4]gpio.PinOut, [4]*recPin) {
	log := &pinLog{}
	var out [4]gpio.PinOut
	var rec [4]*recPin
	for i := range out {
		rec[i] = newRecPin(log, "IN"+string(rune('1'+i)))
		out[i] = rec[i]
	}
	return log, out, rec
}

// coilStates replays the logged writes on IN1..IN4 and returns the coil
// pattern ("1100") after each write, starting from the levels in start.
func coilStates(start string, ops []pinOp) []string {
	cur := []byte(start)
	var states []string
	for _, op := range ops {
		i := int(op.pin[2] - '1')
		cur[i] = '0'
		if op.l {
			cur[i] = '1'
		}
		states = append(states, string(cur))
	}
	return states
}

func TestULN2003Sequence(t *testing.T) {
	tests := []struct {
		name    string
		steps   int
		reverse bool
		calls   int
		want    []string // coil pattern after every pin write, all calls
	}{
		{"forward full cycle", 8, false, 1, []string{
			"1000", "1100", "0100", "0110", "0010", "0011", "0001", "1001", "1000",
			"0000", "0000", "0000", "0000"}},
		{"reverse full cycle", 8, true, 1, []string{
			"1000", "1001", "0001", "0011", "0010", "0110", "0100", "1100", "1000",
			"0000", "0000", "0000", "0000"}},
		// The second call starts by energising 0110 (phase 3), where the
		// first one stopped, one coil at a time.
		{"phase kept across calls", 3, false, 2, []string{
			"1000", "1100", "0100", "0110", "0110", "0010", "0000", "0000",
			"0100", "0110", "0010", "0011", "0001", "0001", "0001", "0001", "0000"}},
		{"reverse kept across calls", 3, true, 2, []string{
			"1000", "1001", "0001", "0011", "0011", "0011", "0001", "0000",
			"0010", "0011", "0010", "0110", "0100", "0100", "0000", "0000", "0000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log, pins, _ := newULNPins()
				m, err := NewULN2003(pins, tt.steps, 2*time.Millisecond, tt.reverse)
				if err != nil {
					t.Fatal(err)
				}
				if got := coilStates("1111", log.take()); !slices.Equal(got, []string{"0111", "0011", "0001", "0000"}) {
					t.Fatalf("construction writes = %v, want every coil driven low", got)
				}
				start := time.Now()
				for range tt.calls {
					if err := m.DispenseOne(t.Context()); err != nil {
						t.Fatalf("DispenseOne() = %v, want nil", err)
					}
				}
				if got := coilStates("0000", log.take()); !slices.Equal(got, tt.want) {
					t.Errorf("coil states =\n %v\nwant\n %v", got, tt.want)
				}
				if got, want := time.Since(start), time.Duration(tt.calls*tt.steps)*2*time.Millisecond; got != want {
					t.Errorf("DispenseOne took %v, want %v (one step delay per step)", got, want)
				}
			})
		})
	}
}

func TestULN2003Cancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log, pins, rec := newULNPins()
		m, err := NewULN2003(pins, 8, 2*time.Millisecond, false)
		if err != nil {
			t.Fatal(err)
		}
		log.take()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- m.DispenseOne(ctx) }()
		time.Sleep(5 * time.Millisecond) // steps at 0, 2 and 4 ms
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("DispenseOne() after cancel = %v, want context.Canceled", err)
		}
		want := []string{"1000", "1100", "0100", "0110", "0110", "0010", "0000", "0000"}
		if got := coilStates("0000", log.take()); !slices.Equal(got, want) {
			t.Errorf("coil states = %v, want %v (3 steps, then coils off)", got, want)
		}
		for _, p := range rec {
			if p.Read() != gpio.Low {
				t.Errorf("%s = %v after cancel, want Low", p.N, p.Read())
			}
		}
		if err := m.DispenseOne(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("DispenseOne(done ctx) = %v, want context.Canceled", err)
		}
		if ops := log.take(); len(ops) != 0 {
			t.Errorf("DispenseOne(done ctx) wrote %v, want nothing", ops)
		}
	})
}

func TestULN2003PinFailure(t *testing.T) {
	_, pins, rec := newULNPins()
	m, err := NewULN2003(pins, 8, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	rec[2].failAfter = 1 // IN3's next write fails: step 3 (0110)
	err = m.DispenseOne(t.Context())
	if !errors.Is(err, errPin) || !strings.Contains(err.Error(), "IN3") {
		t.Errorf("DispenseOne() = %v, want an error naming IN3", err)
	}
	for _, p := range rec {
		if p.Read() != gpio.Low {
			t.Errorf("%s = %v after failure, want Low", p.N, p.Read())
		}
	}
}

func TestNewULN2003Errors(t *testing.T) {
	_, pins, _ := newULNPins()
	missing := pins
	missing[1] = nil
	tests := []struct {
		name  string
		pins  [4]gpio.PinOut
		steps int
		delay time.Duration
		want  string
	}{
		{"missing pin", missing, 8, 0, "IN2"},
		{"zero steps", pins, 0, 0, "steps per unit 0"},
		{"negative delay", pins, 8, -time.Millisecond, "step delay -1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewULN2003(tt.pins, tt.steps, tt.delay, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewULN2003() = %v, %v, want error containing %q", m, err, tt.want)
			}
		})
	}
}

// BenchmarkULN2003DispenseOne measures the driver's own cost per move on
// gpiotest pins (no step delay); BenchmarkGPIOTestOut is the floor, the
// same 517 pin writes (rest phase, 512 steps, 4 coils off) made directly.
func BenchmarkULN2003DispenseOne(b *testing.B) {
	var pins [4]gpio.PinOut
	for i := range pins {
		pins[i] = &gpiotest.Pin{N: "IN" + string(rune('1'+i))}
	}
	m, err := NewULN2003(pins, 512, 0, false) // 512 half steps: 1/8 turn of a 28BYJ-48
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if err := m.DispenseOne(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGPIOTestOut(b *testing.B) {
	var pins [4]*gpiotest.Pin
	for i := range pins {
		pins[i] = &gpiotest.Pin{N: "IN" + string(rune('1'+i))}
	}
	for b.Loop() {
		for i := range 517 {
			_ = pins[i%4].Out(gpio.Level(i%2 == 0))
		}
	}
}

func newStepDirPins(withEnable bool) (*pinLog, *recPin, *recPin, *recPin) {
	log := &pinLog{}
	step, dir := newRecPin(log, "STEP"), newRecPin(log, "DIR")
	var en *recPin
	if withEnable {
		en = newRecPin(log, "EN")
	}
	return log, step, dir, en
}

func opNames(ops []pinOp) []string {
	s := make([]string, len(ops))
	for i, o := range ops {
		s[i] = o.String()
	}
	return s
}

func TestStepDir(t *testing.T) {
	tests := []struct {
		name    string
		enable  bool
		reverse bool
		delay   time.Duration
		wantDir string
		half    time.Duration // STEP high time and low time
	}{
		{"forward with enable", true, false, time.Millisecond, "DIR=High", 500 * time.Microsecond},
		{"reverse with enable", true, true, time.Millisecond, "DIR=Low", 500 * time.Microsecond},
		{"no enable pin", false, false, 4 * time.Millisecond, "DIR=High", 2 * time.Millisecond},
		{"zero delay keeps datasheet minimum", true, false, 0, "DIR=High", minStepPulse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log, step, dir, en := newStepDirPins(tt.enable)
				var enPin gpio.PinOut
				if en != nil {
					enPin = en
				}
				m, err := NewStepDir(step, dir, enPin, 3, tt.delay, tt.reverse)
				if err != nil {
					t.Fatal(err)
				}
				wantInit := []string{"STEP=Low"}
				if tt.enable {
					wantInit = append(wantInit, "EN=High")
				}
				if got := opNames(log.take()); !slices.Equal(got, wantInit) {
					t.Errorf("construction writes = %v, want %v", got, wantInit)
				}
				if err := m.DispenseOne(t.Context()); err != nil {
					t.Fatal(err)
				}
				ops := log.take()
				want := []string{tt.wantDir}
				if tt.enable {
					want = append(want, "EN=Low")
				}
				for range 3 {
					want = append(want, "STEP=High", "STEP=Low")
				}
				if tt.enable {
					want = append(want, "EN=High")
				}
				if got := opNames(ops); !slices.Equal(got, want) {
					t.Fatalf("writes = %v, want %v", got, want)
				}
				first := slices.IndexFunc(ops, func(o pinOp) bool { return o.pin == "STEP" })
				if setup := ops[first].at.Sub(ops[0].at); setup < 200*time.Nanosecond {
					t.Errorf("DIR set up %v before STEP rises, want >= 200ns", setup)
				}
				for i := first; i+1 < len(ops) && ops[i+1].pin == "STEP"; i++ {
					if got := ops[i+1].at.Sub(ops[i].at); got != tt.half {
						t.Errorf("%v lasted %v, want %v", ops[i], got, tt.half)
					}
				}
			})
		})
	}
}

func TestStepDirCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log, step, dir, en := newStepDirPins(true)
		m, err := NewStepDir(step, dir, en, 100, 2*time.Millisecond, false)
		if err != nil {
			t.Fatal(err)
		}
		log.take()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- m.DispenseOne(ctx) }()
		time.Sleep(5 * time.Millisecond)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("DispenseOne() after cancel = %v, want context.Canceled", err)
		}
		ops := log.take()
		pulses := 0
		for _, o := range ops {
			if o.String() == "STEP=High" {
				pulses++
			}
		}
		if pulses != 3 { // rising edges at 1us, 2.001ms, 4.001ms
			t.Errorf("%d STEP pulses before cancel, want 3", pulses)
		}
		if last := ops[len(ops)-1].String(); last != "EN=High" || step.Read() != gpio.Low {
			t.Errorf("after cancel: last write %s, STEP %v; want EN=High and STEP Low", last, step.Read())
		}
	})
}

func TestNewStepDirErrors(t *testing.T) {
	_, step, dir, _ := newStepDirPins(false)
	tests := []struct {
		name      string
		step, dir gpio.PinOut
		steps     int
		delay     time.Duration
		want      string
	}{
		{"no step", nil, dir, 10, 0, "step and dir"},
		{"no dir", step, nil, 10, 0, "step and dir"},
		{"zero steps", step, dir, 0, 0, "steps per unit 0"},
		{"negative delay", step, dir, 10, -1, "step delay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewStepDir(tt.step, tt.dir, nil, tt.steps, tt.delay, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewStepDir() = %v, %v, want error containing %q", m, err, tt.want)
			}
		})
	}
}
