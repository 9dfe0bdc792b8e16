package gatt

// Weight Measurement (0x2A9D) flags.
const (
	wtImperial  = 1 << 0 // lb and in, else kg and m
	wtTimeStamp = 1 << 1
	wtUserID    = 1 << 2
	wtBMI       = 1 << 3 // BMI and height present
	wtDefined   = wtImperial | wtTimeStamp | wtUserID | wtBMI

	// wtUnsuccessful is the Weight Scale Service's "Measurement
	// Unsuccessful" weight.
	wtUnsuccessful = 0xFFFF
)

// Weight is a Weight Measurement (0x2A9D). The fixed-resolution integers
// of the payload are given as decimals in the reported unit: an SI weight
// of 14000 × 0.005 kg is 70000e-3 ("70.000" kg).
type Weight struct {
	Flags uint8 `json:"flags"`
	// WeightUnit is "kg" or "lb"; HeightUnit is "m" or "in".
	WeightUnit string `json:"weight_unit"`
	HeightUnit string `json:"height_unit"`
	// Weight is nil when the scale reported the measurement unsuccessful.
	Weight       *Float    `json:"weight"`
	Unsuccessful bool      `json:"unsuccessful,omitempty"`
	TimeStamp    *DateTime `json:"time_stamp,omitempty"`
	// UserID identifies the user on a shared scale; 255 is "unknown user".
	UserID *uint8 `json:"user_id,omitempty"`
	// BMI is in kg/m2.
	BMI    *Float `json:"bmi,omitempty"`
	Height *Float `json:"height,omitempty"`
}

func decodeWeight(r *reader, m *Measurement) error {
	flags := r.readFlags(wtDefined)
	w := &Weight{Flags: flags, WeightUnit: "kg", HeightUnit: "m"}
	imperial := r.has(wtImperial)
	if imperial {
		w.WeightUnit, w.HeightUnit = "lb", "in"
	}
	raw := r.u16("weight")
	switch {
	case raw == wtUnsuccessful:
		w.Unsuccessful = true
	case imperial:
		v := Dec(int32(raw), -2) // 0.01 lb
		w.Weight = &v
	default:
		v := Dec(int32(raw)*5, -3) // 0.005 kg
		w.Weight = &v
	}
	w.TimeStamp = optional(r, wtTimeStamp, "time stamp", r.dateTime)
	w.UserID = optional(r, wtUserID, "user id", r.u8)
	if r.has(wtBMI) {
		bmi := Dec(int32(r.u16("BMI")), -1) // 0.1 kg/m2
		h := r.u16("height")
		height := Dec(int32(h), -3) // 0.001 m
		if imperial {
			height = Dec(int32(h), -1) // 0.1 in
		}
		w.BMI, w.Height = &bmi, &height
	}
	if err := r.done(); err != nil {
		return err
	}
	m.Weight = w
	return nil
}
