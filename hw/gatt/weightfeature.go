package gatt

import "fmt"

// WeightScaleFeature is the Weight Scale Feature (0x2A9E), read once on
// connection: what the scale supports and the resolution it really weighs
// to. The Weight Measurement always counts in 0.005 kg or 0.01 lb steps; a
// scale that weighs to 0.1 kg says so here, and its weights are rounded to
// it (Measurement.ScaleFeature).
type WeightScaleFeature struct {
	Raw           uint32 `json:"raw"`
	TimeStamp     bool   `json:"time_stamp_supported"`
	MultipleUsers bool   `json:"multiple_users_supported"`
	BMI           bool   `json:"bmi_supported"`
	// WeightResolution and HeightResolution name the resolution in both
	// unit systems ("0.1 kg or 0.2 lb"); value 0 is "not specified".
	WeightResolution Code `json:"weight_resolution"`
	HeightResolution Code `json:"height_resolution"`
}

// Weight Scale Feature bits (Weight Scale Service 1.0, section 3.1).
const (
	wfTimeStamp     = 1 << 0
	wfMultipleUsers = 1 << 1
	wfBMI           = 1 << 2
	wfWeightShift   = 3 // 4 bits
	wfHeightShift   = 7 // 3 bits
	wfDefinedBits   = 10
)

// resolution is one resolution step of a scale, in each unit system.
type resolution struct{ si, imperial Float }

var weightResolutions = map[uint8]resolution{
	1: {Dec(5, -1), Dec(1, 0)},
	2: {Dec(2, -1), Dec(5, -1)},
	3: {Dec(1, -1), Dec(2, -1)},
	4: {Dec(5, -2), Dec(1, -1)},
	5: {Dec(1, -2), Dec(5, -2)},
	6: {Dec(5, -3), Dec(2, -2)},
	7: {Dec(5, -3), Dec(1, -2)},
}

var heightResolutions = map[uint8]resolution{
	1: {Dec(1, -2), Dec(1, 0)},
	2: {Dec(5, -3), Dec(5, -1)},
	3: {Dec(1, -3), Dec(1, -1)},
}

func resolutionNames(table map[uint8]resolution, si, imperial string) map[uint8]string {
	names := map[uint8]string{0: "not specified"}
	for v, r := range table {
		names[v] = fmt.Sprintf("%s %s or %s %s", r.si, si, r.imperial, imperial)
	}
	return names
}

var (
	weightResolutionNames = resolutionNames(weightResolutions, "kg", "lb")
	heightResolutionNames = resolutionNames(heightResolutions, "m", "in")
)

func decodeWeightScaleFeature(r *reader, m *Measurement) error {
	raw := r.u32("weight scale feature")
	f := &WeightScaleFeature{Raw: raw, TimeStamp: raw&wfTimeStamp != 0,
		MultipleUsers: raw&wfMultipleUsers != 0, BMI: raw&wfBMI != 0}
	if w := r.code("weight measurement resolution", uint8(raw>>wfWeightShift&0x0F), weightResolutionNames); w != nil {
		f.WeightResolution = *w
	}
	if h := r.code("height measurement resolution", uint8(raw>>wfHeightShift&0x07), heightResolutionNames); h != nil {
		f.HeightResolution = *h
	}
	for bit := uint(wfDefinedBits); bit < 32 && r.err == nil; bit++ {
		if raw&(1<<bit) != 0 {
			m.note("weight scale feature bit %d is reserved for future use; ignored", bit)
		}
	}
	if err := r.done(); err != nil {
		return err
	}
	m.WeightScaleFeature = f
	return nil
}

// weightStep and heightStep are the scale's resolution in unit ("kg" or
// "lb", "m" or "in"); ok is false without a feature or when it specified
// none.
func (f *WeightScaleFeature) weightStep(unit string) (Float, bool) {
	if f == nil {
		return Float{}, false
	}
	return step(weightResolutions, f.WeightResolution.Value, unit == "lb")
}

func (f *WeightScaleFeature) heightStep(unit string) (Float, bool) {
	if f == nil {
		return Float{}, false
	}
	return step(heightResolutions, f.HeightResolution.Value, unit == "in")
}

func step(table map[uint8]resolution, v uint8, imperial bool) (Float, bool) {
	r, ok := table[v]
	if imperial {
		return r.imperial, ok
	}
	return r.si, ok
}
