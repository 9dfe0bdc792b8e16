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
	// The band is the NEWS2 zero-score range. Plausible: 20-300 beats a
	// minute; pulse oximeters and heart rate monitors display about
	// 25-250 (ISO 80601-2-61 has the maker state the range) and a heart
	// outside 20-300 is not pumping blood a cuff or an oximeter could
	// measure.
	pulse = QuantitySpec{Quantity: Pulse, Unit: "/min", UnitLabel: "beats/minute",
		LOINC: Coding{"8867-4", "Heart rate"}, VitalSign: true,
		Band: &Band{51, 90}, Plausible: Band{20, 300}, Units: []string{"bpm", "beats/min"}}
	// No LOINC code: the FHIR export writes the quantity's name.
	// Plausible: the beat-to-beat times of a pulse of 20-300 a minute.
	// The Heart Rate Measurement sends them in 1/1024 s.
	rrInterval = QuantitySpec{Quantity: RRInterval, Unit: "ms", UnitLabel: "ms",
		Plausible: Band{200, 3000}, Units: []string{"/1024 s"}}
)
