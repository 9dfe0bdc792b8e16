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

// MgDLPerMmolL converts a glucose concentration from mmol/L to mg/dL:
// the molar mass of glucose, C6H12O6, is 180.156 g/mol (IUPAC standard
// atomic weights, abridged: C 12.011, H 1.008, O 15.999), so 1 mmol/L is
// 180.156 mg/L, 18.0156 mg/dL, written 18.016 to the precision of the
// molar mass. The other factor in circulation, 18.0182, comes from an
// older molar mass of 180.182; 18 is the rounded clinical rule of thumb.
// Converted values are rounded to the resolution the device reported,
// so for a meter's 0.1 mmol/L steps the three agree to within 1 mg/dL up
// to 33.3 mmol/L (600 mg/dL), the top of home meters' ranges.
const MgDLPerMmolL = 18.016

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
	//
	// Plausible: home meters measure 10 or 20 to 600 mg/dL (the measuring
	// range ISO 15197:2013 has the maker state; above it they show "HI"
	// and send no number), so a number outside 10-1000 mg/dL is an
	// encoding or unit fault, such as a concentration sent in kg/L with
	// the wrong exponent. Units: kg/L or mol/L (Glucose Measurement flags
	// bit 2), and mmol/L as people write it.
	glucose = QuantitySpec{Quantity: Glucose, Unit: "mg/dL", UnitLabel: "mg/dL",
		LOINC: Coding{"2339-0", "Glucose [Mass/volume] in Blood"}, VitalSign: true,
		Band: &Band{DefaultGlucoseLow, DefaultGlucoseHigh}, Plausible: Band{10, 1000},
		Units: []string{"kg/L", "mol/L", "mmol/L"}}
	// HbA1c is glycated haemoglobin, percent (NGSP): a laboratory value.
	// Plausible: 3-20 %, wider than the reportable range of HbA1c assays
	// (about 4-18 %); the Glucose Measurement Context sends it in percent.
	hba1c = QuantitySpec{Quantity: HbA1c, Unit: "%", UnitLabel: "%",
		LOINC: Coding{"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"}, Plausible: Band{3, 20}}
)
