package vital

// Thermometers: the Bluetooth SIG Health Thermometer Service.

// Temperature is body temperature.
const Temperature Quantity = "temperature"

// KindThermometer is a body thermometer (ear, forehead, mouth...).
var KindThermometer = Kind{
	Name: "thermometer", Noun: "thermometer", Title: "Thermometer",
	Profile:  Profile{Name: "health thermometer", Service: 0x1809, Chars: []uint16{0x2A1C}},
	Measures: []Quantity{Temperature},
}

// The band is the NEWS2 zero-score range. Plausible: 30-44 °C. Clinical
// thermometers must cover at least 35.5-42.0 °C (ISO 80601-2-56) and home
// ones show about 32-43 °C; a body below 30 °C or above 44 °C is beyond
// what a home thermometer reads, so such a number is a probe fault or an
// ambient reading. Units: °C or °F (Temperature Measurement flags bit 0).
var temperature = QuantitySpec{Quantity: Temperature, Unit: "Cel", UnitLabel: "°C",
	LOINC: Coding{"8310-5", "Body temperature"}, VitalSign: true,
	Band: &Band{36.1, 38.0}, Plausible: Band{30, 44}, Units: []string{"°C", "°F", "C", "F", "[degF]"}}
