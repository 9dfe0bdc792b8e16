package schedule

import (
	"testing"
	"time"
)

func TestJumpDetector(t *testing.T) {
	type step struct {
		advance time.Duration // both clocks move
		set     time.Duration // then the wall clock alone steps by this
		jump    time.Duration
		jumped  bool
	}
	tests := []struct {
		name      string
		threshold time.Duration
		steps     []step
	}{
		{"steady", 0, []step{{advance: time.Minute}, {advance: time.Hour}}},
		{"forward step, reported once", 0, []step{
			{advance: time.Minute},
			{advance: time.Minute, set: 3 * time.Hour, jump: 3 * time.Hour, jumped: true},
			{advance: time.Minute},
		}},
		{"backward step", 0, []step{
			{advance: time.Minute},
			{set: -10 * time.Minute, jump: -10 * time.Minute, jumped: true},
			{advance: time.Minute},
		}},
		{"under the threshold", 0, []step{{advance: time.Minute, set: 2 * time.Minute}}},
		{"just over the threshold", 0, []step{{advance: time.Minute, set: 2*time.Minute + time.Second, jump: 2*time.Minute + time.Second, jumped: true}}},
		{"custom threshold", 10 * time.Second, []step{{set: 11 * time.Second, jump: 11 * time.Second, jumped: true}}},
		{"two jumps", 0, []step{
			{set: time.Hour, jump: time.Hour, jumped: true},
			{advance: time.Second},
			{set: -time.Hour, jump: -time.Hour, jumped: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewSimClock(utc("2026-03-01T00:00:00Z"))
			d := JumpDetector{Threshold: tt.threshold}
			if _, jumped := d.Observe(c.Now(), c.Monotonic()); jumped {
				t.Fatal("first reading reported a jump")
			}
			for i, s := range tt.steps {
				c.Advance(s.advance)
				c.Set(c.Now().Add(s.set))
				jump, jumped := d.Observe(c.Now(), c.Monotonic())
				if jump != s.jump || jumped != s.jumped {
					t.Errorf("step %d: Observe = %s, %v, want %s, %v", i, jump, jumped, s.jump, s.jumped)
				}
			}
		})
	}
}

func TestJumpDetectorRestart(t *testing.T) {
	var d JumpDetector
	wall := utc("2026-03-01T00:00:00Z")
	d.Observe(wall, time.Hour)
	// A new process's monotonic clock starts again near zero.
	if jump, jumped := d.Observe(wall.Add(5*time.Hour), time.Second); jumped {
		t.Errorf("Observe after the monotonic clock restarted = %s, jumped, want a new baseline", jump)
	}
	if _, jumped := d.Observe(wall.Add(5*time.Hour+time.Minute), time.Second+time.Minute); jumped {
		t.Error("Observe after re-baselining reported a jump")
	}
}
