package vital

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestReadingFlags(t *testing.T) {
	at := time.Date(2027, 1, 12, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name               string
		flags              []FlagCode
		absent             string
		excluded, clinical bool
	}{
		{"no flag", nil, "", false, true},
		{"clock corrected only", []FlagCode{ClockCorrected}, "", false, true},
		{"implausible", []FlagCode{Implausible}, "", true, false},
		{"device fault", []FlagCode{DeviceFault}, "", true, false},
		{"control solution", []FlagCode{ControlSolution}, "", true, false},
		{"corrected and implausible", []FlagCode{ClockCorrected, Implausible}, "", true, false},
		// A newer device's finding this version does not know: left out.
		{"unknown code", []FlagCode{"sensor_expired"}, "", true, false},
		{"absent", nil, "NaN (not a number)", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Reading{Quantity: Glucose, Value: 90, Unit: "mg/dL", Time: at, Absent: tt.absent}
			for _, c := range tt.flags {
				r.Flag(c, "because")
				r.Flag(c, "again") // once per code
			}
			if len(r.Flags) != len(tt.flags) {
				t.Errorf("Flags = %v, want one per code of %v", r.Flags, tt.flags)
			}
			if got := r.Excluded(); got != tt.excluded {
				t.Errorf("Excluded() = %v, want %v", got, tt.excluded)
			}
			if got := r.Clinical(); got != tt.clinical {
				t.Errorf("Clinical() = %v, want %v", got, tt.clinical)
			}
			for _, c := range tt.flags {
				if !r.Flagged(c) {
					t.Errorf("Flagged(%s) = false", c)
				}
			}
		})
	}
}

func TestReadingQualityJSON(t *testing.T) {
	at := time.Date(2027, 1, 12, 8, 0, 0, 0, time.UTC)
	r := Reading{Quantity: Glucose, Value: 90, Unit: "mg/dL", Time: at, DeviceClock: at.Add(-72 * time.Hour), Repeats: 2,
		Flags: []Flag{{ClockCorrected, "the meter's clock was 3 days behind"}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	const want = `"flags":[{"code":"clock_corrected","reason":"the meter's clock was 3 days behind"}],"device_clock":"2027-01-09T08:00:00Z","repeats":2`
	if got := string(b); !strings.Contains(got, want) {
		t.Errorf("json.Marshal = %s, want it to hold %s", got, want)
	}
	var back Reading
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.DeviceClock.Equal(r.DeviceClock) || back.Repeats != 2 || !back.Flagged(ClockCorrected) {
		t.Errorf("round trip = %+v, want %+v", back, r)
	}
	plain, _ := json.Marshal(Reading{Quantity: Glucose, Value: 90, Unit: "mg/dL", Time: at})
	for _, key := range []string{"flags", "device_clock", "repeats"} {
		if strings.Contains(string(plain), `"`+key+`"`) {
			t.Errorf("an unflagged reading writes %q: %s", key, plain)
		}
	}
}
