package vital

// Pulse oximeters: the Bluetooth SIG Pulse Oximeter Service.

// SpO2 is the oxygen saturation, percent.
const SpO2 Quantity = "spo2"

// KindPulseOximeter is a fingertip pulse oximeter, spot-check or
// continuous.
var KindPulseOximeter = Kind{
	Name: "pulse_oximeter", Noun: "pulse oximeter", Title: "Pulse oximeter",
	Profile:  Profile{Name: "pulse oximeter", Service: 0x1822, Chars: []uint16{0x2A5E, 0x2A5F}},
	Measures: []Quantity{SpO2, Pulse},
}

// SpO2Scale2Band is the NEWS2 scale 2 zero-score range on air (every
// reading at home is taken on air), for a patient with hypercapnic
// respiratory failure whose clinician prescribed scale 2.
var SpO2Scale2Band = Band{88, 100}

// US Core and the SpO2 profile pair 59408-5 (by pulse oximetry) with
// 2708-6. The band is the NEWS2 scale 1 zero-score range.
// Plausible: 50-100 %. No saturation exceeds 100 %, and oximeters are
// calibrated and validated down to 70 % only (ISO 80601-2-61 asks the
// accuracy over 70-100 %); below 50 % a home reading is a probe fault.
var spo2 = QuantitySpec{Quantity: SpO2, Unit: "%", UnitLabel: "%",
	LOINC:      Coding{"2708-6", "Oxygen saturation in Arterial blood"},
	LOINCFirst: []Coding{{"59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"}},
	VitalSign:  true, Band: &Band{96, 100}, Plausible: Band{50, 100}}
