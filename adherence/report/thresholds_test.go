package report

import (
	"testing"

	"github.com/pillbox/pillbox/notify/vitals"
)

func TestThresholdsOf(t *testing.T) {
	defaults := vitals.Config{}.EffectiveThresholds()
	tests := []struct {
		name    string
		cfg     *vitals.Config
		wantNil bool
		wantLow float64
	}{
		{"no vitals section", nil, true, 0},
		{"defaults", &vitals.Config{}, false, defaults.GlucoseLow},
		{"the patient's own", &vitals.Config{Thresholds: vitals.Thresholds{GlucoseLow: 80}}, false, 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ThresholdsOf(tt.cfg)
			if (got == nil) != tt.wantNil {
				t.Fatalf("ThresholdsOf(%+v) = %+v, want nil %v", tt.cfg, got, tt.wantNil)
			}
			if got != nil && got.GlucoseLow != tt.wantLow {
				t.Errorf("ThresholdsOf(%+v).GlucoseLow = %v, want %v", tt.cfg, got.GlucoseLow, tt.wantLow)
			}
		})
	}
}
