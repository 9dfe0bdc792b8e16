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

// The band is the NEWS2 zero-score range.
var temperature = QuantitySpec{Quantity: Temperature, Unit: "Cel", UnitLabel: "°C",
	LOINC: Coding{"8310-5", "Body temperature"}, VitalSign: true,
	Band: &Band{36.1, 38.0}}
