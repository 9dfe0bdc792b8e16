package vital

// Body weight scales: the Bluetooth SIG Weight Scale Service.

// The quantities of a scale: weight, and the BMI and height some scales
// add for a known user.
const (
	Weight Quantity = "weight"
	BMI    Quantity = "bmi"
	Height Quantity = "height"
)

// KindScale is a bathroom scale.
var KindScale = Kind{
	Name: "scale", Noun: "scale", Title: "Body weight scale",
	Profile:  Profile{Name: "weight scale", Service: 0x181D, Chars: []uint16{0x2A9D}, Read: []uint16{0x2A9E}},
	Measures: []Quantity{Weight, BMI, Height},
}

// Weight has no band: what matters is its change (the weight gain rule).
//
// Plausible: a weight of 2-400 kg. Below 2 kg nobody stands on the
// scale (bathroom scales start weighing at a few kilograms); 400 kg is
// above the capacity of the heaviest home scales, so a larger number is
// an encoding fault. Height 0.5-2.5 m and BMI 10-150 kg/m2 are this
// project's choice: adults outside them are single cases in the medical
// literature, and the scale computes BMI from a height the user typed.
// Units: kg and m, or lb and in (Weight Measurement flags bit 0).
var (
	weight = QuantitySpec{Quantity: Weight, Unit: "kg", UnitLabel: "kg",
		LOINC: Coding{"29463-7", "Body weight"}, VitalSign: true,
		Plausible: Band{2, 400}, Units: []string{"lb", "[lb_av]"}}
	bmi = QuantitySpec{Quantity: BMI, Unit: "kg/m2", UnitLabel: "kg/m2",
		LOINC: Coding{"39156-5", "Body mass index (BMI) [Ratio]"}, VitalSign: true,
		Plausible: Band{10, 150}}
	height = QuantitySpec{Quantity: Height, Unit: "m", UnitLabel: "m",
		LOINC: Coding{"8302-2", "Body height"}, VitalSign: true,
		Plausible: Band{0.5, 2.5}, Units: []string{"in"}}
)
