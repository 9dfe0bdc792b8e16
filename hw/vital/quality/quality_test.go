package quality

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw/gatt"
	"github.com/pillbox/pillbox/hw/vital"
)

const dev = "A4:C1:38:00:00:01"

func newYork(t testing.TB) *time.Location {
	t.Helper()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	return ny
}

// decode turns a testdata payload into readings as the Assembler does.
func decode(t testing.TB, p payload, at time.Time, zone *time.Location) []vital.Reading {
	t.Helper()
	m, err := gatt.Decode(p.char, p.data)
	if err != nil {
		t.Fatalf("Decode(%04X, % X): %v", p.char, p.data, err)
	}
	m.Device, m.Received, m.Zone = dev, at, zone
	return m.Readings()
}

func codes(r vital.Reading) string {
	var out []string
	for _, f := range r.Flags {
		out = append(out, string(f.Code))
	}
	return strings.Join(out, ",")
}

// TestCheckPayloads runs each data-quality case of testdata/payloads.txt
// through the decoder and the step, received on 5 March 2026 at 07:40 in
// New York by a trusted clock.
func TestCheckPayloads(t *testing.T) {
	ny := newYork(t)
	at := time.Date(2026, 3, 5, 7, 40, 0, 0, ny)
	ps := loadPayloads(t)
	tests := []struct {
		payload string
		offset  *time.Duration // the device clock's, read on connection
		// want is each reading's quantity=value and flags, in order;
		// reason is a part of the first reading's first reason.
		want   []string
		reason string
		time   time.Time // the first reading's time, when it matters
	}{
		{payload: "glucose_30_kgL", want: []string{"glucose=3000000 implausible"},
			reason: "glucose 3000000 mg/dL is outside the plausible 10-1000 mg/dL"},
		{payload: "glucose_low_half_mgdL", want: []string{"glucose=0.5 implausible"},
			reason: "glucose 0.5 mg/dL is outside the plausible 10-1000 mg/dL"},
		{payload: "glucose_30_kgL_late_clock", offset: ptr(-72 * time.Hour),
			want:   []string{"glucose=3000000 clock_corrected,implausible"},
			reason: "the device's clock was 3 days behind when read on connection", time: at},
		{payload: "glucose_sample_insufficient", want: []string{"glucose=95 device_fault"},
			reason: "the device reported sample size insufficient"},
		{payload: "glucose_control_solution", want: []string{"glucose=120 control_solution"},
			reason: "a control-solution test (the meter's sample type)"},
		{payload: "glucose_mmolL", want: []string{"glucose=99 "}},
		{payload: "bp_diastolic_above_systolic",
			want: []string{"systolic=110 implausible", "diastolic=120 implausible", "mean_arterial=115 implausible", "pulse=72 implausible"},
			// the systolic is flagged through its measurement
			reason: "another value of the same measurement is implausible: diastolic 120 mmHg is not below the systolic, 110 mmHg"},
		{payload: "bp_systolic_350",
			want:   []string{"systolic=350 implausible", "diastolic=90 implausible", "mean_arterial=177 implausible", "pulse=70 implausible"},
			reason: "systolic 350 mmHg is outside the plausible 50-300 mmHg"},
		{payload: "bp_kpa_plausible", want: []string{"systolic=120 ", "diastolic=80.3 ", "mean_arterial=93 "}},
		{payload: "spo2_45", want: []string{"spo2=45 implausible", "pulse=80 implausible"},
			reason: "spo2 45 % is outside the plausible 50-100 %"},
		{payload: "heart_rate_350", want: []string{"pulse=350 implausible"},
			reason: "pulse 350 beats/minute is outside the plausible 20-300 beats/minute"},
		{payload: "temperature_45_5", want: []string{"temperature=45.5 implausible"},
			reason: "temperature 45.5 °C is outside the plausible 30-44 °C"},
		{payload: "temperature_36_5", want: []string{"temperature=36.5 "}},
		{payload: "temperature_dated_ahead", want: []string{"temperature=36.5 clock_corrected"},
			reason: "dated 3 days after it arrived, so the device's clock is ahead; timed on arrival", time: at},
		{payload: "weight_1_5_kg", want: []string{"weight=1.5 implausible"},
			reason: "weight 1.5 kg is outside the plausible 2-400 kg"},
	}
	for _, tt := range tests {
		t.Run(tt.payload, func(t *testing.T) {
			p, ok := ps[tt.payload]
			if !ok {
				t.Fatalf("no payload %s in testdata", tt.payload)
			}
			rc := Reception{At: at, Trusted: true}
			if tt.offset != nil {
				rc.Offsets = map[string]time.Duration{dev: *tt.offset}
			}
			res := Check(decode(t, p, at, ny), Context{Reception: rc})
			var got []string
			for _, r := range res.Readings {
				got = append(got, string(r.Quantity)+"="+num(r.Value)+" "+codes(r))
			}
			if !slices.Equal(got, tt.want) || len(res.Repeats) != 0 {
				t.Fatalf("Check(%s) = %q, repeats %d; want %q", tt.payload, got, len(res.Repeats), tt.want)
			}
			first := res.Readings[0]
			if tt.reason != "" && (len(first.Flags) == 0 || !strings.Contains(reasons(first), tt.reason)) {
				t.Errorf("Check(%s) reasons %q, want one with %q", tt.payload, reasons(first), tt.reason)
			}
			if !tt.time.IsZero() && (!first.Time.Equal(tt.time) || first.DeviceClock.IsZero()) {
				t.Errorf("Check(%s) time %v (device clock %v), want %v with the device's kept", tt.payload, first.Time, first.DeviceClock, tt.time)
			}
		})
	}
}

func reasons(r vital.Reading) string {
	var out []string
	for _, f := range r.Flags {
		out = append(out, f.Reason)
	}
	return strings.Join(out, " | ")
}

func ptr[T any](v T) *T { return &v }
