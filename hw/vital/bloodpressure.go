package vital

// Blood pressure monitors: the Bluetooth SIG Blood Pressure Service.

// The pressures a blood pressure monitor measures; most also send the
// pulse.
const (
	Systolic     Quantity = "systolic"
	Diastolic    Quantity = "diastolic"
	MeanArterial Quantity = "mean_arterial"
)

// A hypertensive crisis reading is a systolic or a diastolic pressure at
// or above these (AHA blood pressure categories: wait 5 minutes and test
// again). They are the crisis rule's default thresholds, and the tops of
// the report bands, a whole mmHg below.
const (
	DefaultCrisisSystolic  = 180 // mmHg
	DefaultCrisisDiastolic = 120 // mmHg
)

// KindBloodPressure is an upper-arm or wrist cuff.
var KindBloodPressure = Kind{
	Name: "blood_pressure", Noun: "blood pressure monitor", Title: "Blood pressure monitor",
	// Intermediate Cuff Pressure (2A36) is read but gives no reading: it
	// is the pressure on the way to a result.
	Profile:  Profile{Name: "blood pressure", Service: 0x1810, Chars: []uint16{0x2A35, 0x2A36}},
	Measures: []Quantity{Systolic, Diastolic, MeanArterial, Pulse},
}

// Plausible pressures: an automated cuff inflates to at most 300 mmHg
// (IEC 80601-2-30 caps the cuff pressure there), so no systolic above it
// can be measured; 50 mmHg systolic and 20 diastolic are below what a
// cuff can detect in a conscious patient at home (home monitors' display
// ranges start at 40-60 mmHg). A diastolic is below its systolic by
// definition, and so is the mean arterial pressure, an average over the
// beat. Units: mmHg or kPa (Blood Pressure Measurement flags bit 0).
var bpUnits = []string{"mmHg", "kPa"}

var (
	// The systolic band's low end is the NEWS2 zero-score range's.
	systolic = QuantitySpec{Quantity: Systolic, Unit: "mm[Hg]", UnitLabel: "mmHg",
		LOINC: Coding{"8480-6", "Systolic blood pressure"}, VitalSign: true,
		Band: &Band{91, DefaultCrisisSystolic - 1}, Plausible: Band{50, 300}, Units: bpUnits}
	diastolic = QuantitySpec{Quantity: Diastolic, Unit: "mm[Hg]", UnitLabel: "mmHg",
		LOINC: Coding{"8462-4", "Diastolic blood pressure"}, VitalSign: true,
		Band: &Band{below, DefaultCrisisDiastolic - 1}, Plausible: Band{20, 200}, Below: Systolic, Units: bpUnits}
	meanArterial = QuantitySpec{Quantity: MeanArterial, Unit: "mm[Hg]", UnitLabel: "mmHg",
		LOINC: Coding{"8478-0", "Mean blood pressure"}, VitalSign: true,
		Plausible: Band{20, 300}, Below: Systolic, Units: bpUnits}
)
