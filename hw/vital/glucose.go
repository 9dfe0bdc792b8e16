package vital

// Blood glucose meters: the Bluetooth SIG Glucose Service.

// The quantities of a glucose meter: the glucose concentration, and the
// HbA1c some meters add in a measurement's context.
const (
	Glucose Quantity = "glucose"
	HbA1c   Quantity = "hba1c"
)

// The glucose rules' default thresholds, in mg/dL: ADA Standards of Care,
// section 6 (level 1 hypoglycaemia below 70, level 2 below 54) and the
// International Consensus on Time in Range, 2019 (level 2 hyperglycaemia
// above 250). The report band is the range between the alerts.
const (
	DefaultGlucoseLow     = 70
	DefaultGlucoseVeryLow = 54
	DefaultGlucoseHigh    = 250
)

// KindGlucose is a blood glucose meter. Its stored records are read on
// every connection, so a measurement taken away from home arrives later.
var KindGlucose = Kind{
	Name: "glucose", Noun: "glucose meter", Title: "Blood glucose meter",
	Profile:  Profile{Name: "glucose", Service: 0x1808, Chars: []uint16{0x2A18, 0x2A34}, RACP: true},
	Measures: []Quantity{Glucose, HbA1c},
}

var (
	// A home meter's glucose is reported with the vital signs it is
	// monitored with; the generic vital-signs profile's code binding is
	// extensible, and no vital-signs code covers glucose.
	glucose = QuantitySpec{Quantity: Glucose, Unit: "mg/dL", UnitLabel: "mg/dL",
		LOINC: Coding{"2339-0", "Glucose [Mass/volume] in Blood"}, VitalSign: true,
		Band: &Band{DefaultGlucoseLow, DefaultGlucoseHigh}}
	// HbA1c is glycated haemoglobin, percent (NGSP): a laboratory value.
	hba1c = QuantitySpec{Quantity: HbA1c, Unit: "%", UnitLabel: "%",
		LOINC: Coding{"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"}}
)
