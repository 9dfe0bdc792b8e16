package report

import "github.com/pillbox/pillbox/notify/vitals"

// FromVitals returns the thresholds the reports judge readings by, from
// the vitals rules' own (with their defaults filled in).
func FromVitals(t vitals.Thresholds) *VitalThresholds {
	return &VitalThresholds{GlucoseLow: t.GlucoseLow, GlucoseHigh: t.GlucoseHigh,
		CrisisSystolic: t.CrisisSystolic, CrisisDiastolic: t.CrisisDiastolic, SpO2Scale: t.SpO2Scale}
}

// ThresholdsOf is the patient's alert thresholds in a dispenser's config,
// for reports made from the config rather than a synced profile (pillctl
// report); nil without a vitals section, or with thresholds the dispenser
// itself would refuse (the reports then use the default ranges and say
// so).
func ThresholdsOf(c *vitals.Config) *VitalThresholds {
	if c == nil {
		return nil
	}
	t := c.EffectiveThresholds()
	if ps := (&vitals.Config{Thresholds: t}).Validate(); len(ps) > 0 {
		return nil
	}
	return FromVitals(t)
}

// MetersOf converts the config's health devices for the reports.
func MetersOf(ds []vitals.Device) []Meter {
	out := make([]Meter, len(ds))
	for i, d := range ds {
		out[i] = Meter{Address: d.Address, Kind: d.Kind, Name: d.Name}
	}
	return out
}
