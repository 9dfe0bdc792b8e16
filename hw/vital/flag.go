package vital

import "slices"

// FlagCode names a data-quality finding on a reading. Codes are stored
// and sent to the clinic: never rename one.
type FlagCode string

// The findings. The decoder sets those the device itself reports (a fault,
// a control-solution test); the quality step (hw/vital/quality) sets the
// others. docs/vitals.md, "Data quality", has the rules.
const (
	// Implausible: the value is outside its quantity's physiological
	// limits (QuantitySpec.Plausible), contradicts another value of the
	// same measurement (a diastolic at or above the systolic), or comes in
	// a unit the quantity's profile does not allow.
	Implausible FlagCode = "implausible"
	// DeviceFault: the device reported a fault of its own with the
	// measurement (sensor malfunction, sample size insufficient, strip
	// insertion error, equipment malfunction, ...).
	DeviceFault FlagCode = "device_fault"
	// ControlSolution: a glucose meter's control-solution test, a check of
	// the meter and its strips: not the patient's blood.
	ControlSolution FlagCode = "control_solution"
	// ClockCorrected: the device's clock was off by more than the
	// tolerance; Time is corrected and DeviceClock keeps what the device
	// said.
	ClockCorrected FlagCode = "clock_corrected"
)

// Flag is one finding and why, in words a caregiver or clinician reads
// ("glucose 3000000 mg/dL is outside 10-1000 mg/dL").
type Flag struct {
	Code   FlagCode `json:"code"`
	Reason string   `json:"reason"`
}

// Excludes reports whether a reading with the flag is kept out of the
// clinical rules and out of the patient's statistics. Every code does but
// clock_corrected (a corrected time is still the patient's value), and so
// does a code this version does not know, from a newer device: a doubtful
// value is left out, never used.
func (c FlagCode) Excludes() bool { return c != ClockCorrected }

// Flagged reports whether r carries the flag code.
func (r Reading) Flagged(code FlagCode) bool {
	return slices.ContainsFunc(r.Flags, func(f Flag) bool { return f.Code == code })
}

// Excluded reports whether a flag keeps r out of the rules and the
// patient's statistics: it is stored and shown, as what the device sent,
// but it is not a measurement of the patient.
func (r Reading) Excluded() bool {
	return slices.ContainsFunc(r.Flags, func(f Flag) bool { return f.Code.Excludes() })
}

// Clinical reports whether r is a patient value the rules may judge: it
// has a value and no flag excludes it. The device's own doubts
// (Unreliable) are the rules' business on top of this.
func (r Reading) Clinical() bool { return r.HasValue() && !r.Excluded() }

// Flag adds a finding to r, once per code (the first reason stays).
func (r *Reading) Flag(code FlagCode, reason string) {
	if !r.Flagged(code) {
		r.Flags = append(r.Flags, Flag{Code: code, Reason: reason})
	}
}
