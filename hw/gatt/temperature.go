package gatt

// Temperature Measurement (0x2A1C) flags.
const (
	tmFahrenheit = 1 << 0
	tmTimeStamp  = 1 << 1
	tmType       = 1 << 2
	tmDefined    = tmFahrenheit | tmTimeStamp | tmType
)

var temperatureTypes = map[uint8]string{
	1: "armpit", 2: "body", 3: "ear", 4: "finger", 5: "gastrointestinal tract",
	6: "mouth", 7: "rectum", 8: "toe", 9: "tympanum",
}

// Temperature is a Temperature Measurement (0x2A1C).
type Temperature struct {
	Flags uint8 `json:"flags"`
	// Unit is "Cel" or "[degF]" (UCUM).
	Unit      string    `json:"unit"`
	Value     Float     `json:"value"`
	TimeStamp *DateTime `json:"time_stamp,omitempty"`
	// Type is where on the body the temperature was taken.
	Type *Code `json:"type,omitempty"`
}

func decodeTemperature(r *reader, m *Measurement) error {
	flags := r.readFlags(tmDefined)
	t := &Temperature{Flags: flags, Unit: "Cel"}
	if r.has(tmFahrenheit) {
		t.Unit = "[degF]"
	}
	t.Value = r.float("temperature")
	t.TimeStamp = optional(r, tmTimeStamp, "time stamp", r.dateTime)
	if r.has(tmType) {
		t.Type = r.code("temperature type", r.u8("temperature type"), temperatureTypes)
	}
	if err := r.done(); err != nil {
		return err
	}
	m.Temperature = t
	return nil
}
