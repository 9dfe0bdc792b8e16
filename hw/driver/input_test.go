package driver

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/hw"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// push is one edge a test feeds to a gpiotest pin, after a pause.
type push struct {
	after time.Duration
	l     gpio.Level
}

// watch runs s.Watch in the bubble and returns the channel it sends on and
// a stop function that cancels it and returns what it returned.
func watch(t *testing.T, s hw.Sensor) (chan hw.Edge, func() error) {
	t.Helper()
	ch := make(chan hw.Edge, 100)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, ch) }()
	return ch, func() error {
		cancel()
		return <-done
	}
}

func drain(ch chan hw.Edge) []hw.Edge {
	var got []hw.Edge
	for {
		select {
		case e := <-ch:
			got = append(got, e)
		default:
			return got
		}
	}
}

func TestInputDebounce(t *testing.T) {
	const db = 20 * time.Millisecond
	ms := time.Millisecond
	tests := []struct {
		name      string
		in        hw.Input
		activeLow bool
		pull      gpio.Pull
		queued    bool // edges buffered, as the kernel queues them
		pushes    []push
		want      []bool
	}{
		{"clean press", hw.Button, true, gpio.PullUp, false,
			[]push{{0, gpio.Low}}, []bool{true}},
		{"bouncing press", hw.Button, true, gpio.PullUp, false,
			[]push{{0, gpio.Low}, {ms, gpio.High}, {ms, gpio.Low}, {ms, gpio.High}, {ms, gpio.Low}}, []bool{true}},
		{"glitch shorter than debounce", hw.Button, true, gpio.PullUp, false,
			[]push{{0, gpio.Low}, {db - ms, gpio.High}}, nil},
		{"press and release, both bouncing", hw.Button, true, gpio.PullUp, false,
			[]push{{0, gpio.Low}, {ms, gpio.High}, {ms, gpio.Low}, {100 * ms, gpio.High}, {ms, gpio.Low}, {ms, gpio.High}}, []bool{true, false}},
		{"burst read late from the queue", hw.Button, true, gpio.PullUp, true,
			[]push{{0, gpio.Low}, {0, gpio.High}, {0, gpio.Low}, {0, gpio.High}, {0, gpio.Low}}, []bool{true}},
		{"lid active high", hw.Lid, false, gpio.PullDown, false,
			[]push{{0, gpio.High}, {2 * ms, gpio.Low}, {ms, gpio.High}, {time.Second, gpio.Low}}, []bool{true, false}},
		{"held across many polls", hw.Cup, false, gpio.PullDown, false,
			[]push{{0, gpio.High}, {5 * LevelPoll, gpio.Low}}, []bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pin := &gpiotest.Pin{N: "GPIO17", EdgesChan: make(chan gpio.Level)}
				if tt.queued {
					pin.EdgesChan = make(chan gpio.Level, 16)
				}
				s, err := NewInput(pin, tt.in, tt.activeLow, tt.pull, db)
				if err != nil {
					t.Fatal(err)
				}
				if s.Active() {
					t.Fatalf("Active() = true at rest, want false")
				}
				ch, stop := watch(t, s)
				for _, p := range tt.pushes {
					time.Sleep(p.after)
					pin.EdgesChan <- p.l
				}
				time.Sleep(time.Second)
				if err := stop(); err != nil {
					t.Errorf("Watch() = %v, want nil after cancel", err)
				}
				var got []bool
				for _, e := range drain(ch) {
					if e.Input != tt.in {
						t.Errorf("edge from %v, want %v", e.Input, tt.in)
					}
					got = append(got, e.Active)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("edges = %v, want %v", got, tt.want)
				}
				if wantActive := len(tt.want) > 0 && tt.want[len(tt.want)-1]; s.Active() != wantActive {
					t.Errorf("Active() = %v at the end, want %v", s.Active(), wantActive)
				}
			})
		})
	}
}

func TestInputDebounceTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin := &gpiotest.Pin{N: "GPIO17", EdgesChan: make(chan gpio.Level)}
		s, err := NewInput(pin, hw.Button, true, gpio.PullUp, 20*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		ch, stop := watch(t, s)
		defer stop()
		for _, l := range []gpio.Level{gpio.Low, gpio.High, gpio.Low} {
			pin.EdgesChan <- l
			time.Sleep(time.Millisecond)
		}
		// The last bounce was 1ms ago: the level counts 20ms after it.
		time.Sleep(18 * time.Millisecond)
		synctest.Wait()
		if got := drain(ch); len(got) != 0 || s.Active() {
			t.Fatalf("19ms after the last bounce: edges %v, Active %v; want none, false", got, s.Active())
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if got := drain(ch); !slices.Equal(got, []hw.Edge{{Input: hw.Button, Active: true}}) || !s.Active() {
			t.Errorf("21ms after the last bounce: edges %v, Active %v; want one press, true", got, s.Active())
		}
	})
}

func TestInputDropGPIOTest(t *testing.T) {
	tests := []struct {
		name      string
		activeLow bool
		pull      gpio.Pull
		pushes    []push
		pills     int
	}{
		{"three pills", false, gpio.PullDown, []push{
			{0, gpio.High}, {2 * time.Millisecond, gpio.Low},
			{0, gpio.High}, {0, gpio.Low}, // a pill faster than any debounce
			{time.Second, gpio.High}, {time.Millisecond, gpio.Low}}, 3},
		{"active low beam", true, gpio.PullUp, []push{
			{0, gpio.Low}, {3 * time.Millisecond, gpio.High}}, 1},
		{"pill stuck in the beam", false, gpio.PullDown, []push{
			{0, gpio.High}, {2 * time.Second, gpio.Low}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pin := &gpiotest.Pin{N: "GPIO27", EdgesChan: make(chan gpio.Level)}
				s, err := NewInput(pin, hw.Drop, tt.activeLow, tt.pull, 20*time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				ch, stop := watch(t, s)
				for _, p := range tt.pushes {
					time.Sleep(p.after)
					pin.EdgesChan <- p.l
				}
				time.Sleep(time.Second)
				stop()
				checkPills(t, drain(ch), tt.pills)
				if s.Active() {
					t.Errorf("Active() = true with the beam clear")
				}
			})
		})
	}
}

func checkPills(t *testing.T, got []hw.Edge, pills int) {
	t.Helper()
	want := slices.Repeat([]hw.Edge{{Input: hw.Drop, Active: true}, {Input: hw.Drop, Active: false}}, pills)
	if !slices.Equal(got, want) {
		t.Errorf("edges = %v, want %d pills %v", got, pills, want)
	}
}

// kernelPin models a gpioioctl line: edge events queue in the kernel, and
// WaitForEdge pops one without saying which way the line went, while Read
// returns the line's level now, which may already be back.
type kernelPin struct {
	*gpiotest.Pin
	events chan struct{}
}

func newKernelPin(l gpio.Level) *kernelPin {
	return &kernelPin{Pin: &gpiotest.Pin{N: "GPIO27", L: l}, events: make(chan struct{}, 64)}
}

func (p *kernelPin) In(pull gpio.Pull, _ gpio.Edge) error {
	p.Lock()
	defer p.Unlock()
	p.P = pull
	return nil
}

func (p *kernelPin) WaitForEdge(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.events:
		return true
	case <-t.C:
		return false
	}
}

func (p *kernelPin) edges(n int) {
	for range n {
		p.events <- struct{}{}
	}
}

func TestInputDropQueuedEdges(t *testing.T) {
	tests := []struct {
		name   string
		events int        // queued before Watch reads them
		level  gpio.Level // the line when they are read
		pills  int
		active bool
	}{
		{"pill gone before the edge is read", 2, gpio.Low, 1, false},
		{"two pills gone", 4, gpio.Low, 2, false},
		{"second pill still in the beam", 3, gpio.High, 2, true},
		{"rising edge read while in the beam", 1, gpio.High, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pin := newKernelPin(gpio.Low)
				s, err := NewInput(pin, hw.Drop, false, gpio.PullDown, 0)
				if err != nil {
					t.Fatal(err)
				}
				pin.Out(tt.level)
				pin.edges(tt.events)
				ch, stop := watch(t, s)
				time.Sleep(time.Millisecond)
				synctest.Wait()
				checkPills(t, drain(ch), tt.pills)
				if s.Active() != tt.active {
					t.Errorf("Active() = %v, want %v", s.Active(), tt.active)
				}
				stop()
			})
		})
	}
}

func TestInputDropLateAndLostEdges(t *testing.T) {
	t.Run("edge event late after a timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			pin := newKernelPin(gpio.Low)
			s, err := NewInput(pin, hw.Drop, false, gpio.PullDown, 0)
			if err != nil {
				t.Fatal(err)
			}
			ch, stop := watch(t, s)
			defer stop()
			// The beam breaks just before the poll times out, and the
			// kernel's event arrives just after.
			time.Sleep(EdgePoll - time.Millisecond)
			pin.Out(gpio.High)
			time.Sleep(time.Millisecond + edgeSettle/2)
			pin.edges(1)
			synctest.Wait()
			checkPills(t, drain(ch), 1)
		})
	})
	t.Run("lost edge resynchronised without a pill", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			pin := newKernelPin(gpio.Low)
			s, err := NewInput(pin, hw.Drop, false, gpio.PullDown, 0)
			if err != nil {
				t.Fatal(err)
			}
			ch, stop := watch(t, s)
			defer stop()
			pin.Out(gpio.High) // no event
			time.Sleep(EdgePoll + edgeSettle + time.Millisecond)
			if !s.Active() {
				t.Errorf("Active() = false after the line stayed high a whole poll, want true")
			}
			pin.Out(gpio.Low)
			pin.edges(1) // the falling edge
			pin.Out(gpio.High)
			pin.edges(1) // a real pill
			synctest.Wait()
			checkPills(t, drain(ch), 1)
		})
	})
}

func TestInputWatchRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin := &gpiotest.Pin{N: "GPIO27", EdgesChan: make(chan gpio.Level)}
		s, err := NewInput(pin, hw.Drop, false, gpio.PullDown, 0)
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan hw.Edge) // nobody reads: Watch blocks sending
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.Watch(ctx, ch) }()
		synctest.Wait()
		if err := s.Watch(ctx, ch); err == nil || !strings.Contains(err.Error(), "already watched") {
			t.Errorf("second Watch() = %v, want an already-watched error", err)
		}
		pin.EdgesChan <- gpio.High
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch() = %v after cancel, want nil", err)
		}
		select {
		case e := <-ch:
			t.Errorf("received %v after Watch returned", e)
		default:
		}
		// Watch may run again once the first has returned.
		ctx2, cancel2 := context.WithCancel(t.Context())
		cancel2()
		if err := s.Watch(ctx2, ch); err != nil {
			t.Errorf("Watch() again = %v, want nil", err)
		}
	})
}

func TestInputReturnsWithinPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin := &gpiotest.Pin{N: "GPIO17", EdgesChan: make(chan gpio.Level)}
		s, err := NewInput(pin, hw.Button, true, gpio.PullUp, 20*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		_, stop := watch(t, s)
		time.Sleep(time.Second + LevelPoll/3)
		start := time.Now()
		stop()
		if took := time.Since(start); took > LevelPoll {
			t.Errorf("Watch took %v to return after cancel, want <= %v", took, LevelPoll)
		}
	})
}

func TestNewInputErrors(t *testing.T) {
	tests := []struct {
		name     string
		pin      gpio.PinIn
		debounce time.Duration
		want     string
	}{
		{"no pin", nil, 0, "button sensor: no pin"},
		{"negative debounce", &gpiotest.Pin{N: "GPIO17", EdgesChan: make(chan gpio.Level)}, -1, "debounce"},
		{"pin refuses edges", &gpiotest.Pin{N: "GPIO17"}, 0, "button sensor on GPIO17: configure input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewInput(tt.pin, hw.Button, true, gpio.PullUp, tt.debounce)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewInput() = %v, want error containing %q", err, tt.want)
			}
		})
	}
}
