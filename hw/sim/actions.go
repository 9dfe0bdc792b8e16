package sim

import (
	"fmt"
	"time"

	"github.com/pillbox/pillbox/hw"
)

// PressButton presses the patient's button and releases it pressTime
// later; it returns after the release.
func (w *World) PressButton() { w.HoldButton(pressTime) }

// HoldButton holds the button down for d, then releases it. With
// WithButtonBounce, the contacts bounce on press and on release.
func (w *World) HoldButton(d time.Duration) {
	w.setButton(true)
	time.Sleep(d)
	w.setButton(false)
}

func (w *World) setButton(pressed bool) {
	w.mu.Lock()
	w.pressed = pressed
	w.updateLocked(hw.Button)
	w.mu.Unlock()
	for range w.opts.bounce {
		w.glitch(hw.Button)
	}
}

// glitch flips a sensor's line away from its level for bounceGap, then
// back, bounceGap apart from the previous edge.
func (w *World) glitch(in hw.Input) {
	time.Sleep(bounceGap)
	w.mu.Lock()
	if s := w.sensors[in]; s != nil {
		s.pin.drive(!w.levelLocked(s))
	}
	w.mu.Unlock()
	time.Sleep(bounceGap)
	w.mu.Lock()
	w.updateLocked(in)
	w.mu.Unlock()
}

// SetLid opens or closes the lid.
func (w *World) SetLid(open bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lidOpen == open {
		return
	}
	w.lidOpen = open
	w.updateLocked(hw.Lid)
	w.saveLocked()
}

// SetCup puts the cup in the tray or lifts it out. Lifting it is taking
// the pills in it.
func (w *World) SetCup(present bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cupPresent == present {
		return
	}
	w.cupPresent = present
	if !present {
		for _, c := range w.comps {
			c.taken += c.inCup
			c.inCup = 0
		}
	}
	w.updateLocked(hw.Cup)
	w.saveLocked()
}

// Refill sets the pill count of compartment id (0 empties it).
func (w *World) Refill(id, count int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.compartment(id)
	if err != nil {
		return err
	}
	if count < 0 || count > c.capacity {
		return fmt.Errorf("sim: refill compartment %d with %d pills: want 0..%d", id, count, c.capacity)
	}
	c.count = count
	w.saveLocked()
	return nil
}

// InjectJam makes the next count units of compartment id turn without
// dropping a pill (0 clears the jam).
func (w *World) InjectJam(id, count int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.compartment(id)
	if err != nil {
		return err
	}
	if count < 0 {
		return fmt.Errorf("sim: jam compartment %d for %d units: want >= 0", id, count)
	}
	c.jams = count
	w.saveLocked()
	return nil
}

// StickSensor makes a sensor read active (or inactive) whatever happens:
// a lid switch stuck open or closed, a drop beam always blocked
// (StickSensor(hw.Drop, true)), a cup sensor that never sees the cup.
func (w *World) StickSensor(in hw.Input, active bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.sensors[in]
	if s == nil {
		return fmt.Errorf("sim: stick %s sensor: not configured", in)
	}
	s.stuck = &active
	w.updateLocked(in)
	return nil
}

// UnstickSensor makes a stuck sensor follow the world again.
func (w *World) UnstickSensor(in hw.Input) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.sensors[in]
	if s == nil {
		return fmt.Errorf("sim: unstick %s sensor: not configured", in)
	}
	s.stuck = nil
	w.updateLocked(in)
	return nil
}

// Chatter makes a sensor's line flap: edges changes bounceGap apart, then
// the line settles back to its level (one more edge if edges is odd). On
// the button it is a flapping switch; on the drop sensor, every two edges
// are a spurious pill pulse with no pill (Chatter(hw.Drop, 2) with the
// motor idle is a stray drop). It returns when the line has settled.
func (w *World) Chatter(in hw.Input, edges int) error {
	return w.ChatterEvery(in, edges, bounceGap)
}

// ChatterEvery is Chatter with edges gap apart: a button bouncing at 100 Hz
// is ChatterEvery(hw.Button, n, 5*time.Millisecond).
func (w *World) ChatterEvery(in hw.Input, edges int, gap time.Duration) error {
	w.mu.Lock()
	s := w.sensors[in]
	w.mu.Unlock()
	if s == nil {
		return fmt.Errorf("sim: chatter %s sensor: not configured", in)
	}
	if gap <= 0 {
		return fmt.Errorf("sim: chatter %s sensor: gap %v, want > 0", in, gap)
	}
	for i := range edges {
		if i > 0 {
			time.Sleep(gap)
		}
		w.mu.Lock()
		s.pin.drive(!s.pin.Level())
		w.mu.Unlock()
	}
	time.Sleep(gap)
	w.mu.Lock()
	w.updateLocked(in)
	w.mu.Unlock()
	return nil
}
