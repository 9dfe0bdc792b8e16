package schedule

import (
	"testing"
	"time"
)

func TestPRNAllowed(t *testing.T) {
	base := utc("2025-06-01T00:00:00Z")
	at := func(h, m int) time.Time { return base.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	limits := PRN{MinInterval: 4 * time.Hour, MaxPerDay: 3}
	tests := []struct {
		name   string
		r      PRN
		taken  []time.Time
		now    time.Time
		ok     bool
		next   time.Time
		reason Refusal
	}{
		{"first dose", limits, nil, at(10, 0), true, at(10, 0), ""},
		{"too soon", limits, []time.Time{at(10, 0)}, at(13, 0), false, at(14, 0), TooSoon},
		{"exactly the interval", limits, []time.Time{at(10, 0)}, at(14, 0), true, at(14, 0), ""},
		{"last dose is the latest, not the last listed", limits, []time.Time{at(12, 0), at(8, 0)}, at(15, 0), false, at(16, 0), TooSoon},
		{"daily max in a rolling day", limits, []time.Time{at(0, 0), at(5, 0), at(10, 0)}, at(20, 0), false, at(24, 0), DailyMax},
		{"allowed when the oldest leaves the rolling day", limits, []time.Time{at(0, 0), at(5, 0), at(10, 0)}, at(24, 0), true, at(24, 0), ""},
		// Calendar days would allow this: 23:59 and 00:01 are different days.
		{"no double-up across midnight", PRN{MinInterval: time.Minute, MaxPerDay: 1}, []time.Time{at(23, 59)}, at(24, 1), false, at(47, 59), DailyMax},
		{"doses older than a day do not count", limits, []time.Time{at(0, 0), at(5, 0), at(10, 0), at(-20, 0)}, at(24, 0), true, at(24, 0), ""},
		{"binding limit is the later one", PRN{MinInterval: 6 * time.Hour, MaxPerDay: 2}, []time.Time{at(1, 0), at(20, 0)}, at(21, 0), false, at(26, 0), TooSoon},
		{"daily max later than interval", PRN{MinInterval: time.Hour, MaxPerDay: 2}, []time.Time{at(1, 0), at(2, 0)}, at(3, 0), false, at(25, 0), DailyMax},
		// The wall clock was set back below a logged dose: be conservative.
		{"dose logged in the future", limits, []time.Time{at(12, 0)}, at(9, 0), false, at(16, 0), TooSoon},
		{"bad limits", PRN{}, nil, at(9, 0), false, time.Time{}, BadLimits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, next, reason := tt.r.Allowed(tt.taken, tt.now)
			if ok != tt.ok || !next.Equal(tt.next) || reason != tt.reason {
				t.Errorf("Allowed(%v, %s) = %v, %s, %q, want %v, %s, %q", tt.taken, tt.now, ok, next, reason, tt.ok, tt.next, tt.reason)
			}
			if !ok && reason.Text() == "" {
				t.Errorf("Refusal %q has no text", reason)
			}
		})
	}
}

// TestPRNNextIsAllowed checks that next is exactly the earliest allowed
// time: allowed at next, refused a nanosecond before.
func TestPRNNextIsAllowed(t *testing.T) {
	r := PRN{MinInterval: 3 * time.Hour, MaxPerDay: 4}
	now := utc("2025-06-01T00:00:00Z")
	var taken []time.Time
	for range 40 {
		ok, next, reason := r.Allowed(taken, now)
		if !ok {
			if ok2, _, _ := r.Allowed(taken, next); !ok2 {
				t.Fatalf("Allowed at next=%s: refused (%s)", next, reason)
			}
			if ok2, _, _ := r.Allowed(taken, next.Add(-1)); ok2 {
				t.Fatalf("Allowed just before next=%s: allowed", next)
			}
			now = next
			continue
		}
		taken = append(taken, now)
		for _, t0 := range taken {
			n := 0
			for _, t1 := range taken {
				if !t1.Before(t0) && t1.Sub(t0) < 24*time.Hour {
					n++
				}
			}
			if n > r.MaxPerDay {
				t.Fatalf("%d doses within 24h of %s, max %d", n, t0, r.MaxPerDay)
			}
		}
		now = now.Add(time.Hour)
	}
}
