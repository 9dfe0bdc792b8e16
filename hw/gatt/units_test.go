package gatt

import (
	"errors"
	"testing"

	"github.com/pillbox/pillbox/hw/vital"
)

// ToCanonical rounds as the decoders do: to the resolution the value was
// written with, in the new unit. These pin it.
func TestToCanonical(t *testing.T) {
	tests := []struct {
		q    vital.Quantity
		unit string
		v    float64
		want float64
		err  error
	}{
		{vital.Glucose, "mmol/L", 2.9, 52, nil},    // 0.1 mmol/L is 1.8 mg/dL: whole mg/dL
		{vital.Glucose, "mmol/L", 2.95, 53.1, nil}, // 0.01 mmol/L is 0.18 mg/dL: tenths
		{vital.Glucose, "mmol/L", 5.5, 99, nil},    // 5.5 × 18
		{vital.Temperature, "°F", 100.4, 38, nil},  // 0.1 °F is 0.056 °C: hundredths, 38.00
		{vital.Temperature, "F", 101.3, 38.5, nil}, // 38.50
		{vital.Temperature, "[degF]", 98.65, 37.028, nil},
		{vital.Temperature, "°F", -40, -40, nil}, // where the scales meet
		{vital.Temperature, "°C", 37.25, 37.25, nil},
		{vital.Weight, "lb", 176, 79.8, nil},         // 1 lb is 0.45 kg: tenths
		{vital.Weight, "[lb_av]", 176.4, 80.01, nil}, // 0.1 lb: hundredths
		{vital.Systolic, "mmHg", 120, 120, nil},
		{vital.Pulse, "bpm", 72, 72, nil},
		{vital.Glucose, "mg/dL", 52.25, 52.25, nil}, // the canonical unit: unchanged
		{vital.Glucose, "mg/dL", 0.30000000000000004, 0.30000000000000004, nil},
		{vital.Temperature, "°C", 0.30000000000000004, 0.3, nil}, // at most 9 digits
		{vital.Pulse, "mmHg", 60, 0, ErrUnknownUnit},
		{vital.Weight, "kg ", 60, 0, ErrUnknownUnit},
		{vital.Temperature, "°F", 1e308, 0, ErrOutOfRange},
		{vital.Temperature, "°F", 1e-300, 0, ErrOutOfRange},
	}
	for _, tt := range tests {
		got, err := ToCanonical(tt.q, tt.unit, tt.v)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("ToCanonical(%s, %q, %v) = %v, %v; want %v, %v", tt.q, tt.unit, tt.v, got, err, tt.want, tt.err)
		}
	}
}

// A value a person writes converts exactly as the same value a device
// reports: one conversion.
func TestToCanonicalMatchesDecoder(t *testing.T) {
	tests := []struct {
		q    vital.Quantity
		unit string
		c    conv
		v    Float
	}{
		{vital.Temperature, "°F", degFToCel, Dec(1013, -1)},
		{vital.Weight, "lb", lbToKg, Dec(1764, -1)},
		{vital.Glucose, "mmol/L", mmolLToMgDL, Dec(29, -1)},
	}
	for _, tt := range tests {
		got, err := ToCanonical(tt.q, tt.unit, tt.v.Float64())
		if want := tt.c.apply(tt.v); err != nil || got != want {
			t.Errorf("ToCanonical(%s, %q, %v) = %v, %v; the decoder gives %v", tt.q, tt.unit, tt.v, got, err, want)
		}
	}
	// mol/L as a glucose meter reports it, and mmol/L as a person writes it.
	if a, b := molLToMgDL.apply(Dec(29, -4)), mmolLToMgDL.apply(Dec(29, -1)); a != b {
		t.Errorf("2.9e-3 mol/L = %v mg/dL but 2.9 mmol/L = %v", a, b)
	}
}
