package quality

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

var at = time.Date(2026, 3, 5, 12, 40, 0, 0, time.UTC)

func rd(q vital.Quantity, v float64, orig string, t time.Time, stamped bool) vital.Reading {
	return vital.Reading{Device: dev, Quantity: q, Value: v, Unit: q.Unit(), Original: orig, Time: t, DeviceTime: stamped}
}

func TestCorrectClock(t *testing.T) {
	stamp := at.Add(-72 * time.Hour)
	tests := []struct {
		name      string
		r         vital.Reading
		trusted   bool
		offsets   map[string]time.Duration
		wantTime  time.Time
		corrected bool
		stamped   bool // DeviceTime after
	}{
		{"3 days behind, read on connection", rd(vital.Glucose, 95, "95 mg/dL", stamp, true), true,
			map[string]time.Duration{dev: -72 * time.Hour}, at, true, true},
		{"an older record moves by the same offset", rd(vital.Glucose, 95, "95 mg/dL", stamp.Add(-24*time.Hour), true), true,
			map[string]time.Duration{dev: -72 * time.Hour}, at.Add(-24 * time.Hour), true, true},
		{"within the tolerance: as stamped", rd(vital.Glucose, 95, "95 mg/dL", at.Add(-4*time.Minute), true), true,
			map[string]time.Duration{dev: -4 * time.Minute}, at.Add(-4 * time.Minute), false, true},
		{"just past the tolerance", rd(vital.Glucose, 95, "95 mg/dL", at.Add(-5*time.Minute-time.Second), true), true,
			map[string]time.Duration{dev: -5*time.Minute - time.Second}, at, true, true},
		{"untrusted controller clock: as stamped", rd(vital.Glucose, 95, "95 mg/dL", stamp, true), false,
			map[string]time.Duration{dev: -72 * time.Hour}, stamp, false, true},
		{"another device's offset does not apply", rd(vital.Glucose, 95, "95 mg/dL", stamp, true), true,
			map[string]time.Duration{"A4:C1:38:00:00:09": -72 * time.Hour}, stamp, false, true},
		// A meter whose clock reset to 2020 keeps a record its right clock
		// stamped a day ago: moving it by six years would date it ahead.
		{"stamped before the clock went wrong", rd(vital.Glucose, 95, "95 mg/dL", at.Add(-24*time.Hour), true), true,
			map[string]time.Duration{dev: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Sub(at)}, at.Add(-24 * time.Hour), false, true},
		{"a clock centuries off: timed on arrival", rd(vital.Glucose, 95, "95 mg/dL", time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), true), true,
			map[string]time.Duration{dev: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC).Sub(at)}, at, true, false},
		{"dated ahead, no clock read: timed on arrival", rd(vital.Temperature, 36.5, "36.5 °C", at.Add(72*time.Hour), true), true,
			nil, at, true, false},
		{"dated a little ahead: as stamped", rd(vital.Temperature, 36.5, "36.5 °C", at.Add(4*time.Minute), true), true,
			nil, at.Add(4 * time.Minute), false, true},
		{"dated in the past, no clock read: a stored record", rd(vital.Temperature, 36.5, "36.5 °C", stamp, true), true,
			nil, stamp, false, true},
		{"timed on arrival: nothing to judge", rd(vital.Temperature, 36.5, "36.5 °C", at, false), true,
			map[string]time.Duration{dev: -72 * time.Hour}, at, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Check([]vital.Reading{tt.r}, Context{Reception: Reception{At: at, Trusted: tt.trusted, Offsets: tt.offsets}})
			got := res.Readings[0]
			if !got.Time.Equal(tt.wantTime) || got.Flagged(vital.ClockCorrected) != tt.corrected || got.DeviceTime != tt.stamped {
				t.Fatalf("time %v, corrected %v, device time %v; want %v, %v, %v (flags %v)",
					got.Time, got.Flagged(vital.ClockCorrected), got.DeviceTime, tt.wantTime, tt.corrected, tt.stamped, got.Flags)
			}
			if tt.corrected != !got.DeviceClock.IsZero() || tt.corrected && !got.DeviceClock.Equal(tt.r.Time) {
				t.Errorf("DeviceClock = %v, want the stamp %v kept when corrected", got.DeviceClock, tt.r.Time)
			}
			if got.Excluded() {
				t.Errorf("a clock correction excludes the reading: %v", got.Flags)
			}
		})
	}
}

func TestJudgeClock(t *testing.T) {
	tests := []struct {
		device   time.Time
		trusted  bool
		off, set bool
	}{
		{at.Add(-72 * time.Hour), true, true, true},
		{at.Add(72 * time.Hour), true, true, true},
		{at.Add(-72 * time.Hour), false, true, false}, // off, but the controller's clock is not to be written
		{at.Add(-5 * time.Minute), true, false, false},
		{at.Add(5*time.Minute + time.Second), true, true, true},
		// A clock reset to 1600: further off than a Duration holds.
		{time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), true, true, true},
	}
	for _, tt := range tests {
		v := JudgeClock(tt.device, at, tt.trusted)
		if v.Offset != tt.device.Sub(at) || v.Off != tt.off || v.Set != tt.set {
			t.Errorf("JudgeClock(%v, trusted %v) = %+v, want off %v set %v", tt.device, tt.trusted, v, tt.off, tt.set)
		}
	}
}

func TestRepeats(t *testing.T) {
	stored := func(r vital.Reading, id string) vital.Reading { r.ID = id; return r }
	temp := func(v float64, orig string, t time.Time) vital.Reading {
		return rd(vital.Temperature, v, orig, t, false)
	}
	cuff := func(t time.Time, sys float64) []vital.Reading {
		return []vital.Reading{rd(vital.Systolic, sys, "120 mmHg", t, false), rd(vital.Diastolic, 80, "80 mmHg", t, false)}
	}
	tests := []struct {
		name    string
		batch   []vital.Reading
		recent  []vital.Reading
		repeats []string // ids
		stored  int
	}{
		{"the same value 10 s later", []vital.Reading{temp(36.5, "36.5 °C", at)},
			[]vital.Reading{stored(temp(36.5, "36.5 °C", at.Add(-10*time.Second)), "r1")}, []string{"r1"}, 0},
		{"another value", []vital.Reading{temp(36.6, "36.6 °C", at)},
			[]vital.Reading{stored(temp(36.5, "36.5 °C", at.Add(-10*time.Second)), "r1")}, nil, 1},
		{"a minute later is a new measurement", []vital.Reading{temp(36.5, "36.5 °C", at)},
			[]vital.Reading{stored(temp(36.5, "36.5 °C", at.Add(-RepeatWindow)), "r1")}, nil, 1},
		{"another device", []vital.Reading{temp(36.5, "36.5 °C", at)},
			[]vital.Reading{func() vital.Reading {
				r := stored(temp(36.5, "36.5 °C", at.Add(-5*time.Second)), "r1")
				r.Device = "other"
				return r
			}()}, nil, 1},
		{"a whole measurement repeated", cuff(at, 120),
			[]vital.Reading{stored(cuff(at.Add(-20*time.Second), 120)[0], "s"), stored(cuff(at.Add(-20*time.Second), 120)[1], "d")}, []string{"s", "d"}, 0},
		{"only part of it the same", []vital.Reading{rd(vital.Systolic, 121, "121 mmHg", at, false), rd(vital.Diastolic, 80, "80 mmHg", at, false)},
			[]vital.Reading{stored(cuff(at.Add(-20*time.Second), 120)[0], "s"), stored(cuff(at.Add(-20*time.Second), 120)[1], "d")}, nil, 2},
		// A stamped record sent again is the store's to drop: it is not
		// judged against the recent ones.
		{"a stamped record", []vital.Reading{rd(vital.Temperature, 36.5, "36.5 °C", at.Add(-time.Hour), true)},
			[]vital.Reading{stored(rd(vital.Temperature, 36.5, "36.5 °C", at.Add(-time.Hour), true), "r1")}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Check(tt.batch, Context{Reception: Reception{At: at, Trusted: true}, Recent: tt.recent})
			var ids []string
			for _, r := range res.Repeats {
				ids = append(ids, r.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.repeats, ",") || len(res.Readings) != tt.stored {
				t.Errorf("Check = %d to store, repeats %q; want %d, %q", len(res.Readings), ids, tt.stored, tt.repeats)
			}
		})
	}
}

func TestPlausibleUnits(t *testing.T) {
	tests := []struct {
		r      vital.Reading
		reason string // "" for none
	}{
		{rd(vital.Glucose, 99, "0.0055 mol/L", at, false), ""},
		{rd(vital.Glucose, 99, "5.5 mmol/L", at, false), ""},
		{rd(vital.Glucose, 99, "99 mg/dL", at, false), ""},
		{rd(vital.Glucose, 99, "0.99 g/L", at, false), "glucose sent in g/L, a unit its profile does not allow"},
		{rd(vital.Weight, 70, "154.32 lb", at, false), ""},
		{rd(vital.Weight, 70, "11 st", at, false), "weight sent in st, a unit its profile does not allow"},
		{rd(vital.RRInterval, 800.8, "820/1024 s", at, false), ""},
		{rd(vital.Temperature, 37, "98.6 °F", at, false), ""},
		{rd(vital.Temperature, 37, "310.15 K", at, false), "temperature sent in K, a unit its profile does not allow"},
		{rd(vital.Glucose, 99, "", at, false), ""}, // nothing sent to judge
		{vital.Reading{Device: dev, Quantity: vital.Systolic, Unit: "mm[Hg]", Original: "NaN mmHg", Absent: "NaN (not a number)", Time: at}, ""},
		{vital.Reading{Device: dev, Quantity: "peak_flow", Unit: "L/min", Original: "400 L/min", Value: 400, Time: at}, "peak_flow is not a quantity this version knows"},
	}
	for _, tt := range tests {
		res := Check([]vital.Reading{tt.r}, Context{Reception: Reception{At: at, Trusted: true}})
		got := res.Readings[0]
		if got.Flagged(vital.Implausible) != (tt.reason != "") || tt.reason != "" && got.Flags[0].Reason != tt.reason {
			t.Errorf("Check(%s %q) flags %v, want reason %q", tt.r.Quantity, tt.r.Original, got.Flags, tt.reason)
		}
	}
}

func TestCheckLeavesInputAlone(t *testing.T) {
	in := []vital.Reading{rd(vital.Glucose, 3e6, "30 kg/L", at, false)}
	in[0].Flags = make([]vital.Flag, 0, 4) // room to append into
	Check(in, Context{Reception: Reception{At: at, Trusted: true}})
	if len(in[0].Flags) != 0 || in[0].Flags[:1][0].Code != "" {
		t.Errorf("Check wrote the caller's reading: %v", in[0].Flags[:1])
	}
}

func TestOriginalUnit(t *testing.T) {
	for in, want := range map[string]string{
		"0.00095 kg/L": "kg/L", "820/1024 s": "/1024 s", "98.6 °F": "°F", "NaN kPa": "kPa", "NRes °C": "°C",
		"-40.0 °F": "°F", "1e-3 kg/L": "kg/L", "72": "", "": "", "+INF bpm": "bpm",
	} {
		if got := OriginalUnit(in); got != want {
			t.Errorf("OriginalUnit(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		72 * time.Hour: "3 days", -72 * time.Hour: "3 days", 47 * time.Hour: "47 hours", 2 * time.Hour: "2 hours",
		119 * time.Minute: "119 minutes", 6 * time.Minute: "6 minutes", 90 * time.Second: "90 seconds", time.Second: "1 second",
		24*time.Hour*365*6 + time.Hour: "2190 days", 60 * time.Hour: "3 days",
		// A clock centuries off saturates the offset; nothing overflows.
		math.MaxInt64: "106752 days", math.MinInt64: "106752 days",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}
