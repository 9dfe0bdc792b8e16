package gatt

// Heart Rate Measurement (0x2A37) flags.
const (
	hrValue16       = 1 << 0 // heart rate is uint16, else uint8
	hrContactStatus = 1 << 1 // sensor contact detected (meaningful only with hrContactSupp)
	hrContactSupp   = 1 << 2 // sensor contact feature supported
	hrEnergy        = 1 << 3 // energy expended present
	hrRR            = 1 << 4 // one or more RR intervals present
	hrDefined       = hrValue16 | hrContactStatus | hrContactSupp | hrEnergy | hrRR
)

// SensorContact is the heart-rate sensor's skin-contact report.
type SensorContact string

const (
	ContactUnsupported SensorContact = "unsupported"  // the sensor cannot tell
	ContactNotDetected SensorContact = "not_detected" // supported, and the sensor is off the skin
	ContactDetected    SensorContact = "detected"
)

// HeartRate is a Heart Rate Measurement (0x2A37).
type HeartRate struct {
	Flags uint8 `json:"flags"`
	// BPM is the heart rate in beats per minute.
	BPM           uint16        `json:"bpm"`
	SensorContact SensorContact `json:"sensor_contact"`
	// EnergyExpended is the accumulated energy in kJ since the collector
	// last reset it; 0xFFFF means the counter is at its maximum.
	EnergyExpended *uint16 `json:"energy_expended_kj,omitempty"`
	// RRIntervals are beat-to-beat times in units of 1/1024 s, oldest
	// first.
	RRIntervals []uint16 `json:"rr_intervals_1024ths,omitempty"`
}

func decodeHeartRate(r *reader, m *Measurement) error {
	flags := r.readFlags(hrDefined)
	h := &HeartRate{Flags: flags}
	if r.has(hrValue16) {
		h.BPM = r.u16("heart rate")
	} else {
		h.BPM = uint16(r.u8("heart rate"))
	}
	switch {
	case !r.has(hrContactSupp):
		h.SensorContact = ContactUnsupported
	case !r.has(hrContactStatus):
		h.SensorContact = ContactNotDetected
	default:
		h.SensorContact = ContactDetected
	}
	h.EnergyExpended = optional(r, hrEnergy, "energy expended", r.u16)
	if r.has(hrRR) {
		// The flag promises one or more intervals; they fill the rest.
		h.RRIntervals = append(h.RRIntervals, r.u16("RR interval"))
		for r.err == nil && r.left() > 0 {
			h.RRIntervals = append(h.RRIntervals, r.u16("RR interval"))
		}
	}
	if err := r.done(); err != nil {
		return err
	}
	m.HeartRate = h
	return nil
}
