package vital

// Heart rate monitors: the Bluetooth SIG Heart Rate Service.

// The quantities of a heart rate monitor. Pulse, beats per minute, is also
// what blood pressure monitors and pulse oximeters send beside their own
// quantities; RRInterval is the time from one heart beat to the next.
const (
	Pulse      Quantity = "pulse"
	RRInterval Quantity = "rr_interval"
)

// KindHeartRate is a chest strap or a watch streaming the heart rate. It
// is worn during exercise, so its values are not resting values.
var KindHeartRate = Kind{
	Name: "heart_rate", Noun: "heart rate monitor", Title: "Heart rate monitor",
	Profile:  Profile{Name: "heart rate", Service: 0x180D, Chars: []uint16{0x2A37}},
	Measures: []Quantity{Pulse, RRInterval},
	Exercise: true,
}

var (
	// The band is the NEWS2 zero-score range.
	pulse = QuantitySpec{Quantity: Pulse, Unit: "/min", UnitLabel: "beats/minute",
		LOINC: Coding{"8867-4", "Heart rate"}, VitalSign: true,
		Band: &Band{51, 90}}
	// No LOINC code: the FHIR export writes the quantity's name.
	rrInterval = QuantitySpec{Quantity: RRInterval, Unit: "ms", UnitLabel: "ms"}
)
