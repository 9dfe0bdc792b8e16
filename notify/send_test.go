package notify

import (
	"math"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	half := func() float64 { return 0.5 }
	tests := []struct {
		attempt   int
		base, max time.Duration
		rnd       func() float64
		want      time.Duration
	}{
		{0, time.Second, time.Minute, half, 500 * time.Millisecond},
		{1, time.Second, time.Minute, half, time.Second},
		{3, time.Second, time.Minute, half, 4 * time.Second},
		{6, time.Second, time.Minute, half, 30 * time.Second}, // 64 s capped at 60 s
		{100, time.Second, time.Minute, half, 30 * time.Second},
		{math.MaxInt, time.Second, time.Minute, half, 30 * time.Second},
		{-5, time.Second, time.Minute, half, 500 * time.Millisecond},
		{2, time.Second, time.Minute, func() float64 { return 0 }, 0},
		{2, time.Second, time.Minute, func() float64 { return 1 }, 4 * time.Second},
		{2, time.Second, time.Minute, func() float64 { return math.NaN() }, 0},
		{2, 0, time.Minute, half, 0},
		{2, time.Second, 0, half, 0},
		{62, 1, math.MaxInt64, half, 1 << 61},
	}
	for _, tt := range tests {
		if got := Backoff(tt.attempt, tt.base, tt.max, tt.rnd); got != tt.want {
			t.Errorf("Backoff(%d, %v, %v) = %v, want %v", tt.attempt, tt.base, tt.max, got, tt.want)
		}
	}
	for attempt := range 70 {
		ceil := time.Minute
		if attempt < 6 {
			ceil = time.Second << attempt
		}
		if got := Backoff(attempt, time.Second, time.Minute, nil); got < 0 || got > ceil {
			t.Errorf("Backoff(%d, 1s, 1m, nil) = %v, want within [0, %v]", attempt, got, ceil)
		}
	}
}

func TestClassString(t *testing.T) {
	for c, want := range map[Class]string{Retryable: "retryable", Permanent: "permanent", 9: "Class(9)"} {
		if got := c.String(); got != want {
			t.Errorf("Class(%d).String() = %q, want %q", int(c), got, want)
		}
	}
}
