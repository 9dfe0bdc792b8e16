package sim

import (
	"testing"
	"time"
)

func TestCoilsDecode(t *testing.T) {
	type write struct {
		after time.Duration // since the previous write
		in    int           // 0 = IN1
		high  bool
	}
	// phases returns the writes of a driver that sets only the coil that
	// changes, one phase every delay, then switches the coils off one by
	// one.
	phases := func(delay time.Duration, seq ...byte) []write {
		var ws []write
		var cur byte
		for _, p := range seq {
			first := true
			for i := range 4 {
				bit := byte(8 >> i)
				if p&bit != cur&bit {
					d := time.Duration(0)
					if first {
						d, first = delay, false
					}
					ws = append(ws, write{d, i, p&bit != 0})
				}
			}
			cur = p
		}
		for i := range 4 {
			d := time.Duration(0)
			if i == 0 {
				d = delay
			}
			ws = append(ws, write{d, i, false})
		}
		return ws
	}
	fwd := []byte{0b1100, 0b0100, 0b0110, 0b0010, 0b0011, 0b0001, 0b1001, 0b1000}
	tests := []struct {
		name   string
		writes []write
		steps  int
		faults int
	}{
		{"eight half steps forward", phases(2*time.Millisecond, fwd...), 8, 0},
		{"backward", phases(2*time.Millisecond, 0b1001, 0b0001, 0b0011), -3, 0},
		{"too fast to follow", phases(100*time.Microsecond, fwd...), 0, 0},
		{"full steps skip phases", phases(2*time.Millisecond, 0b0100, 0b0010), 0, 2},
		{"opposing coils", phases(2*time.Millisecond, 0b1010), 0, 1},
		{"re-energising the same phase", phases(2*time.Millisecond, 0b1000), 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c coils
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			steps := 0
			for _, w := range tt.writes {
				now = now.Add(w.after)
				steps += c.set(w.in, w.high, now)
			}
			if steps != tt.steps || c.faults != tt.faults {
				t.Errorf("decoded %d half steps, %d faults; want %d, %d", steps, c.faults, tt.steps, tt.faults)
			}
		})
	}
}

func TestServoGate(t *testing.T) {
	const frame = 20 * time.Millisecond
	pulse := func(w time.Duration) PWM { return PWM{Width: w, Period: frame} }
	type cmd struct {
		after time.Duration
		p     PWM
	}
	tests := []struct {
		name string
		cmds []cmd
		want int
	}{
		{"to dispense and back", []cmd{{0, pulse(1500 * time.Microsecond)}, {300 * time.Millisecond, pulse(500 * time.Microsecond)}, {300 * time.Millisecond, PWM{}}}, 1},
		{"twice", []cmd{{0, pulse(1500 * time.Microsecond)}, {300 * time.Millisecond, pulse(500 * time.Microsecond)},
			{300 * time.Millisecond, pulse(1500 * time.Microsecond)}, {300 * time.Millisecond, pulse(500 * time.Microsecond)}}, 2},
		{"no return: one unit only", []cmd{{0, pulse(1500 * time.Microsecond)}, {300 * time.Millisecond, pulse(1000 * time.Microsecond)},
			{300 * time.Millisecond, pulse(1500 * time.Microsecond)}, {300 * time.Millisecond, pulse(500 * time.Microsecond)}}, 1},
		{"turned back too soon", []cmd{{0, pulse(1500 * time.Microsecond)}, {50 * time.Millisecond, pulse(500 * time.Microsecond)}, {300 * time.Millisecond, PWM{}}}, 0},
		{"wrong frame rate", []cmd{{0, PWM{Width: 1500 * time.Microsecond, Period: 5 * time.Millisecond}}, {300 * time.Millisecond, pulse(500 * time.Microsecond)}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// 0..180 degrees over 500..2500us: rest 0 at 500us, dispense 90 at 1500us.
			s := newServo(500*time.Microsecond, 2500*time.Microsecond, 0, 90)
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			got := 0
			for _, c := range tt.cmds {
				now = now.Add(c.after)
				n, _ := s.pulse(c.p, now)
				got += n
			}
			got += s.advance(now.Add(time.Second))
			if got != tt.want {
				t.Errorf("released %d units, want %d", got, tt.want)
			}
		})
	}
}
