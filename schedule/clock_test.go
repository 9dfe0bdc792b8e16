package schedule

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

var start = utc("2026-03-01T08:00:00Z")

func TestSimClockTimersFireInOrder(t *testing.T) {
	c := NewSimClock(start)
	type fired struct {
		name string
		now  time.Time
		mono time.Duration
	}
	var got []fired
	add := func(name string, d time.Duration) Timer {
		return c.AfterFunc(d, func() { got = append(got, fired{name, c.Now(), c.Monotonic()}) })
	}
	add("c", 30*time.Minute)
	add("a", 10*time.Minute)
	add("b1", 20*time.Minute)
	add("b2", 20*time.Minute) // same deadline: in order of creation
	add("late", 2*time.Hour)
	add("now", 0)
	add("past", -time.Minute) // a negative delay is due now
	c.AfterFunc(15*time.Minute, func() {
		// A timer set by a timer counts from the callback's own time.
		add("chained", 10*time.Minute)
	})

	c.Advance(time.Hour)
	want := []fired{
		{"now", start, 0},
		{"past", start, 0},
		{"a", start.Add(10 * time.Minute), 10 * time.Minute},
		{"b1", start.Add(20 * time.Minute), 20 * time.Minute},
		{"b2", start.Add(20 * time.Minute), 20 * time.Minute},
		{"chained", start.Add(25 * time.Minute), 25 * time.Minute},
		{"c", start.Add(30 * time.Minute), 30 * time.Minute},
	}
	if !slices.Equal(got, want) {
		t.Errorf("fired %v\nwant %v", got, want)
	}
	if now, mono := c.Now(), c.Monotonic(); !now.Equal(start.Add(time.Hour)) || mono != time.Hour {
		t.Errorf("after Advance(1h): Now = %s, Monotonic = %s, want %s, 1h", now, mono, start.Add(time.Hour))
	}
	c.Advance(time.Hour)
	if n := len(got); n != len(want)+1 || got[n-1].name != "late" || !got[n-1].now.Equal(start.Add(2*time.Hour)) {
		t.Errorf("second Advance fired %v, want late at %s", got[len(want):], start.Add(2*time.Hour))
	}
}

func TestSimClockStop(t *testing.T) {
	c := NewSimClock(start)
	var fired []string
	a := c.AfterFunc(time.Minute, func() { fired = append(fired, "a") })
	b := c.AfterFunc(2*time.Minute, func() { fired = append(fired, "b") })
	var d Timer
	c.AfterFunc(30*time.Second, func() {
		// Stopping a later timer from a callback prevents it.
		if !d.Stop() {
			t.Error("Stop from a callback = false, want true")
		}
	})
	d = c.AfterFunc(90*time.Second, func() { fired = append(fired, "d") })

	if !a.Stop() {
		t.Error("Stop of a pending timer = false, want true")
	}
	if a.Stop() {
		t.Error("second Stop = true, want false")
	}
	c.Advance(5 * time.Minute)
	if !slices.Equal(fired, []string{"b"}) {
		t.Errorf("fired %v, want [b]", fired)
	}
	if b.Stop() {
		t.Error("Stop of a fired timer = true, want false")
	}
}

func TestSimClockSetDoesNotFireTimers(t *testing.T) {
	c := NewSimClock(start)
	fired := 0
	c.AfterFunc(time.Hour, func() { fired++ })
	c.Set(start.Add(48 * time.Hour))
	if fired != 0 {
		t.Errorf("Set fired %d timers, want 0", fired)
	}
	if got := c.Now(); !got.Equal(start.Add(48 * time.Hour)) {
		t.Errorf("Now after Set = %s, want %s", got, start.Add(48*time.Hour))
	}
	if got := c.Monotonic(); got != 0 {
		t.Errorf("Monotonic after Set = %s, want 0", got)
	}
	c.Set(start.Add(-48 * time.Hour)) // back in time: still nothing fires
	c.Advance(59 * time.Minute)
	if fired != 0 {
		t.Errorf("fired %d timers before their monotonic deadline, want 0", fired)
	}
	c.Advance(time.Minute)
	if fired != 1 {
		t.Errorf("fired %d timers at their monotonic deadline, want 1", fired)
	}
	if got := c.Now(); !got.Equal(start.Add(-47 * time.Hour)) {
		t.Errorf("Now = %s, want %s (the set time plus the hour advanced)", got, start.Add(-47*time.Hour))
	}
}

// TestSimClockConcurrentAdvance: two callers advancing an hour each move
// the clock two hours, even when one advances while the other's timer runs.
func TestSimClockConcurrentAdvance(t *testing.T) {
	c := NewSimClock(start)
	inside := make(chan struct{})
	release := make(chan struct{})
	c.AfterFunc(10*time.Minute, func() {
		close(inside)
		<-release
	})
	var wg sync.WaitGroup
	wg.Go(func() { c.Advance(time.Hour) })
	<-inside
	second := make(chan struct{})
	wg.Go(func() {
		close(second)
		c.Advance(time.Hour)
	})
	<-second
	close(release)
	wg.Wait()
	if got := c.Monotonic(); got != 2*time.Hour {
		t.Errorf("Monotonic after two concurrent Advance(1h) = %s, want 2h", got)
	}
}

func TestSimClockSpeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewSimClock(start)
		c.SetSpeed(60) // a simulated hour per real minute
		fired := make(chan time.Time, 1)
		c.AfterFunc(time.Hour, func() { fired <- c.Now() })
		realStart := time.Now()
		got := <-fired
		if real := time.Since(realStart); real != time.Minute {
			t.Errorf("timer fired after %s of real time, want 1m", real)
		}
		if !got.Equal(start.Add(time.Hour)) {
			t.Errorf("Now in the callback = %s, want %s", got, start.Add(time.Hour))
		}

		// Stopping the clock freezes it; the pending timer waits.
		c.SetSpeed(0)
		c.AfterFunc(time.Minute, func() { fired <- c.Now() })
		<-time.After(time.Hour) // fake time inside the bubble
		synctest.Wait()
		select {
		case <-fired:
			t.Error("timer fired while the clock was stopped")
		default:
		}
		if got := c.Now(); !got.Equal(start.Add(time.Hour)) {
			t.Errorf("stopped clock reads %s, want %s", got, start.Add(time.Hour))
		}
		c.Advance(time.Minute) // manual advance still works
		if got := <-fired; !got.Equal(start.Add(time.Hour + time.Minute)) {
			t.Errorf("Now in the callback = %s, want %s", got, start.Add(time.Hour+time.Minute))
		}
	})
}

func TestSimClockBadSpeed(t *testing.T) {
	for _, speed := range []float64{-1, math.NaN(), math.Inf(1), math.Inf(-1)} {
		t.Run(fmt.Sprint(speed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := NewSimClock(start)
				c.SetSpeed(speed)
				<-time.After(time.Minute)
				if got := c.Speed(); got != 0 {
					t.Errorf("SetSpeed(%v): Speed = %v, want 0", speed, got)
				}
				if got := c.Monotonic(); got != 0 {
					t.Errorf("SetSpeed(%v): Monotonic after a real minute = %s, want 0", speed, got)
				}
			})
		})
	}
}
