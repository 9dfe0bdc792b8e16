package vitals

import (
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

func TestValidate(t *testing.T) {
	good := Device{Address: "a4-c1-38-12-34-56", Kind: vital.KindScale.Name, SilentAfter: 36 * time.Hour}
	tests := []struct {
		name string
		cfg  Config
		want []string // path: message fragments, in order
	}{
		{"empty section", Config{}, nil},
		{"good device", Config{Devices: []Device{good}}, nil},
		{"missing address and kind", Config{Devices: []Device{{}}}, []string{"devices[0]: device has no address", "devices[0]: device has no kind"}},
		{"bad address", Config{Devices: []Device{{Address: "A4:C1:38:12:34", Kind: vital.KindScale.Name}}}, []string{"devices[0].address: \"A4:C1:38:12:34\" is not"}},
		{"duplicate address", Config{Devices: []Device{good, {Address: "A4:C1:38:12:34:56", Kind: vital.KindGlucose.Name}}}, []string{"devices[1].address: same address as devices[0]"}},
		{"unknown kind", Config{Devices: []Device{{Address: "A4:C1:38:12:34:56", Kind: "bp"}}}, []string{`devices[0].kind: unknown device kind "bp"`}},
		{"silent_after too short", Config{Devices: []Device{{Address: "A4:C1:38:12:34:56", Kind: vital.KindScale.Name, SilentAfter: time.Minute}}}, []string{"devices[0].silent_after: silent_after 1m0s would alarm"}},
		{"negative silent_after", Config{Devices: []Device{{Address: "A4:C1:38:12:34:56", Kind: vital.KindScale.Name, SilentAfter: -time.Hour}}}, []string{"silent_after is negative"}},
		{"implausible glucose", Config{Thresholds: Thresholds{GlucoseLow: 7}}, []string{"thresholds.glucose_low: glucose_low 7 mg/dL is not a plausible", "thresholds.glucose_very_low: glucose_very_low 54 is not below glucose_low 7"}},
		{"very low above low", Config{Thresholds: Thresholds{GlucoseVeryLow: 75}}, []string{"glucose_very_low 75 is not below glucose_low 70"}},
		{"scale 3", Config{Thresholds: Thresholds{SpO2Scale: 3}}, []string{"spo2_scale 3 must be 1 or 2"}},
		{"confirm window", Config{Thresholds: Thresholds{CrisisConfirmWithin: 2 * time.Hour}}, []string{"crisis_confirm_within 2h0m0s is out of range"}},
		{"trend readings", Config{Thresholds: Thresholds{TrendMinReadings: 1}}, []string{"trend_min_readings 1"}},
		{"weight window", Config{WeightGain: []WeightGain{{Kg: 0, Within: time.Hour}}}, []string{"weight_gain[0].kg", "weight_gain[0].within"}},
		{"long name", Config{Devices: []Device{{Address: "A4:C1:38:12:34:56", Kind: vital.KindScale.Name, Name: strings.Repeat("x", 41)}}}, []string{"devices[0].name: name must be"}},
		{"empty class", Config{BPMedicationClasses: []string{" "}}, []string{"bp_medication_classes[0]: empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cfg.Validate()
			if len(got) != len(tt.want) {
				t.Fatalf("Validate() = %v, want %d problem(s) %q", got, len(tt.want), tt.want)
			}
			for i, p := range got {
				if s := p.Path + ": " + p.Msg; !strings.Contains(s, tt.want[i]) && !strings.Contains(p.Msg, tt.want[i]) {
					t.Errorf("problem %d = %q, want it to contain %q", i, s, tt.want[i])
				}
				if p.Fix == "" {
					t.Errorf("problem %d (%s) has no fix", i, p.Msg)
				}
			}
		})
	}
}

func TestResolvedDefaults(t *testing.T) {
	c := Config{Thresholds: Thresholds{GlucoseLow: 80}}.resolved()
	if c.Thresholds.GlucoseLow != 80 || c.Thresholds.GlucoseVeryLow != 54 || c.Thresholds.CrisisConfirmWithin != 5*time.Minute {
		t.Errorf("resolved thresholds = %+v, want glucose_low 80 and the other defaults", c.Thresholds)
	}
	if len(c.WeightGain) != 3 || len(c.BPMedicationClasses) == 0 {
		t.Errorf("resolved weight gain %v, classes %v: want the defaults", c.WeightGain, c.BPMedicationClasses)
	}
	off := Config{WeightGain: []WeightGain{}}.resolved()
	if len(off.WeightGain) != 0 {
		t.Errorf("weight_gain: [] resolved to %v, want the rule off", off.WeightGain)
	}
}
