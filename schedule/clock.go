package schedule

import (
	"container/heap"
	"math"
	"sync"
	"time"
)

// Clock is the only source of time for scheduling code. Wall time (Now) may
// jump when NTP syncs or an installer sets the date; Monotonic never does, and
// timers run on it, as Go's own timers do. Keeping both lets the controller
// notice a wall-clock step instead of firing every overdue deadline at once.
type Clock interface {
	// Now returns the wall-clock time.
	Now() time.Time
	// Monotonic returns the time elapsed since the clock started, unaffected
	// by steps of the wall clock.
	Monotonic() time.Duration
	// AfterFunc calls f in its own goroutine (real clock) or in the caller of
	// Advance (simulated clock) once d has elapsed on the monotonic clock.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not happened yet and reports whether
	// it did so.
	Stop() bool
}

// RealClock is the system clock.
type RealClock struct{ start time.Time }

// NewRealClock returns the system clock; Monotonic counts from this call.
func NewRealClock() *RealClock { return &RealClock{start: time.Now()} }

func (c *RealClock) Now() time.Time           { return time.Now() }
func (c *RealClock) Monotonic() time.Duration { return time.Since(c.start) }
func (c *RealClock) AfterFunc(d time.Duration, f func()) Timer {
	return time.AfterFunc(d, f)
}

var (
	_ Clock = (*RealClock)(nil)
	_ Clock = (*SimClock)(nil)
	_ Timer = (*simTimer)(nil)
)

// SimClock is a simulated clock for the simulator and for tests. In manual
// mode (speed 0) time stands still until Advance or Set is called; with a
// speed N it also runs on its own at N times real time.
//
// Advance fires due timers one at a time in deadline order, with the clock
// reading exactly each timer's deadline while its function runs, and runs the
// functions in the caller's goroutine. A caller of Advance therefore sees
// every consequence of the elapsed time before Advance returns, which is what
// makes tests and the panel's "advance one hour" deterministic.
type SimClock struct {
	mu     sync.Mutex
	wall   time.Time     // wall time at mono == monoAt
	mono   time.Duration // monotonic reading at the anchor
	speed  float64
	anchor time.Time // real time of the anchor (speed mode only)
	timers timerHeap
	seq    uint64
	real   *time.Timer // speed mode: wakes for the earliest timer
	firing sync.Mutex  // serialises timer functions
}

// NewSimClock returns a manual simulated clock reading start.
func NewSimClock(start time.Time) *SimClock {
	return &SimClock{wall: start}
}

// SetSpeed makes the clock run at speed times real time (0 stops it). A
// speed that is not finite and positive stops it too: a negative one would
// run the monotonic clock backwards.
func (c *SimClock) SetSpeed(speed float64) {
	if !(speed > 0) || math.IsInf(speed, 1) {
		speed = 0
	}
	c.mu.Lock()
	c.reanchorLocked()
	c.speed = speed
	c.rearmLocked()
	c.mu.Unlock()
}

// Speed reports the current speed (0 for manual).
func (c *SimClock) Speed() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.speed
}

func (c *SimClock) elapsedLocked() time.Duration {
	if c.speed == 0 {
		return 0
	}
	return time.Duration(float64(time.Since(c.anchor)) * c.speed)
}

// reanchorLocked folds the real time elapsed in speed mode into the anchor.
func (c *SimClock) reanchorLocked() {
	e := c.elapsedLocked()
	c.wall = c.wall.Add(e)
	c.mono += e
	c.anchor = time.Now()
}

func (c *SimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall.Add(c.elapsedLocked())
}

func (c *SimClock) Monotonic() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mono + c.elapsedLocked()
}

func (c *SimClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &simTimer{c: c, at: c.mono + c.elapsedLocked() + max(d, 0), seq: c.seq, f: f}
	heap.Push(&c.timers, t)
	c.rearmLocked()
	return t
}

// Advance moves both wall and monotonic time forward by d, firing timers
// that fall due on the way. Concurrent calls add up; a timer function must
// not call Advance itself.
func (c *SimClock) Advance(d time.Duration) {
	// The target is taken once the firing lock is held: taken before, a
	// second caller would aim at the first one's start and lose its time.
	c.firing.Lock()
	defer c.firing.Unlock()
	c.mu.Lock()
	c.reanchorLocked()
	target := c.mono + max(d, 0)
	c.mu.Unlock()
	c.fireUntil(target)
}

// Set steps the wall clock to t without moving monotonic time, as NTP or a
// user setting the date does. No timer fires because of it.
func (c *SimClock) Set(t time.Time) {
	c.mu.Lock()
	c.reanchorLocked()
	c.wall = t
	c.mu.Unlock()
}

// fireUntil fires every timer due at or before target (monotonic), in
// order. The caller holds c.firing.
func (c *SimClock) fireUntil(target time.Duration) {
	for {
		c.mu.Lock()
		c.reanchorLocked()
		if len(c.timers) == 0 || c.timers[0].at > target {
			if target > c.mono {
				c.wall = c.wall.Add(target - c.mono)
				c.mono = target
			}
			c.rearmLocked()
			c.mu.Unlock()
			return
		}
		t := heap.Pop(&c.timers).(*simTimer)
		t.fired = true
		if t.at > c.mono {
			c.wall = c.wall.Add(t.at - c.mono)
			c.mono = t.at
		}
		c.mu.Unlock()
		t.f()
	}
}

// rearmLocked keeps one real timer pending for the earliest simulated timer
// when the clock runs on its own.
func (c *SimClock) rearmLocked() {
	if c.real != nil {
		c.real.Stop()
		c.real = nil
	}
	if c.speed == 0 || len(c.timers) == 0 {
		return
	}
	now := c.mono + c.elapsedLocked()
	wait := time.Duration(float64(c.timers[0].at-now) / c.speed)
	c.real = time.AfterFunc(max(wait, 0), func() {
		c.firing.Lock()
		defer c.firing.Unlock()
		c.mu.Lock()
		target := c.mono + c.elapsedLocked()
		c.mu.Unlock()
		c.fireUntil(target)
	})
}

type simTimer struct {
	c     *SimClock
	at    time.Duration
	seq   uint64
	f     func()
	index int
	fired bool
}

func (t *simTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.fired || t.index < 0 {
		return false
	}
	heap.Remove(&t.c.timers, t.index)
	t.c.rearmLocked()
	return true
}

type timerHeap []*simTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*simTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*h = old[:n-1]
	return t
}
