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
	Profile:  Profile{Name: "weight scale", Service: 0x181D, Chars: []uint16{0x2A9D}},
	Measures: []Quantity{Weight, BMI, Height},
}

// Weight has no band: what matters is its change (the weight gain rule).
var (
	weight = QuantitySpec{Quantity: Weight, Unit: "kg", UnitLabel: "kg",
		LOINC: Coding{"29463-7", "Body weight"}, VitalSign: true}
	bmi = QuantitySpec{Quantity: BMI, Unit: "kg/m2", UnitLabel: "kg/m2",
		LOINC: Coding{"39156-5", "Body mass index (BMI) [Ratio]"}, VitalSign: true}
	height = QuantitySpec{Quantity: Height, Unit: "m", UnitLabel: "m",
		LOINC: Coding{"8302-2", "Body height"}, VitalSign: true}
)
