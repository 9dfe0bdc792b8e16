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
	flags := r.u8("flags")
	t := &Temperature{Flags: flags, Unit: "Cel"}
	if flags&tmFahrenheit != 0 {
		t.Unit = "[degF]"
	}
	t.Value = r.float("temperature")
	if flags&tmTimeStamp != 0 {
		ts := r.dateTime("time stamp")
		t.TimeStamp = &ts
	}
	if flags&tmType != 0 {
		v := r.u8("temperature type")
		if r.err == nil {
			c := m.code("temperature type", v, temperatureTypes)
			t.Type = &c
		}
	}
	reserved := m.noteReservedFlags(flags, tmDefined)
	if err := r.finish(m, reserved); err != nil {
		return err
	}
	m.Temperature = t
	return nil
}
