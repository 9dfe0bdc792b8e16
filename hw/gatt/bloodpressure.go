package gatt

// Blood Pressure Measurement (0x2A35) and Intermediate Cuff Pressure
// (0x2A36) flags; both characteristics share the layout.
const (
	bpKPa       = 1 << 0 // pressures in kPa, else mmHg
	bpTimeStamp = 1 << 1
	bpPulseRate = 1 << 2
	bpUserID    = 1 << 3
	bpStatus    = 1 << 4
	bpDefined   = bpKPa | bpTimeStamp | bpPulseRate | bpUserID | bpStatus
)

// Blood pressure measurement status conditions.
const (
	BodyMovement       = "body movement"
	CuffTooLoose       = "cuff too loose"
	IrregularPulse     = "irregular pulse"
	PulseAboveRange    = "pulse rate exceeds upper limit"
	PulseBelowRange    = "pulse rate is less than lower limit"
	ImproperPosition   = "improper measurement position"
	bpPulseRangeMask   = 3 << 3
	bpPulseRangeRFU    = 3 << 3
	bpStatusFieldWidth = 16
)

// bpStatusBits: the pulse-rate range is a 2-bit value at bits 3-4 whose
// values 1 and 2 are single bits; value 3 is reserved and handled apart.
// None is a fault of the monitor: each says how the measurement was taken.
var bpStatusBits = []statusBit{
	{0, BodyMovement, doubt},
	{1, CuffTooLoose, doubt},
	{2, IrregularPulse, info}, // a finding about the patient, not a fault of the reading
	{3, PulseAboveRange, doubt},
	{4, PulseBelowRange, doubt},
	{5, ImproperPosition, doubt},
}

// BloodPressure is a Blood Pressure Measurement (0x2A35) or, with
// Intermediate set, an Intermediate Cuff Pressure (0x2A36), where Systolic
// holds the current cuff pressure and Diastolic and MeanArterial are unused
// (devices send NaN).
type BloodPressure struct {
	Flags        uint8 `json:"flags"`
	Intermediate bool  `json:"intermediate,omitempty"`
	// Unit is "mmHg" or "kPa", for Systolic, Diastolic and MeanArterial.
	Unit         string    `json:"unit"`
	Systolic     Float     `json:"systolic"`
	Diastolic    Float     `json:"diastolic"`
	MeanArterial Float     `json:"mean_arterial"`
	TimeStamp    *DateTime `json:"time_stamp,omitempty"`
	// PulseRate is in beats per minute.
	PulseRate *Float `json:"pulse_rate,omitempty"`
	// UserID identifies the user on a shared device; 255 is "unknown user".
	UserID *uint8  `json:"user_id,omitempty"`
	Status *Status `json:"status,omitempty"`
}

func decodeBloodPressure(r *reader, m *Measurement) error {
	flags := r.readFlags(bpDefined)
	b := &BloodPressure{Flags: flags, Intermediate: m.Char == IntermediateCuffPressure, Unit: "mmHg"}
	if r.has(bpKPa) {
		b.Unit = "kPa"
	}
	if b.Intermediate {
		b.Systolic = r.sfloat("current cuff pressure")
	} else {
		b.Systolic = r.sfloat("systolic")
	}
	b.Diastolic = r.sfloat("diastolic")
	b.MeanArterial = r.sfloat("mean arterial pressure")
	b.TimeStamp = optional(r, bpTimeStamp, "time stamp", r.dateTime)
	b.PulseRate = optional(r, bpPulseRate, "pulse rate", r.sfloat)
	b.UserID = optional(r, bpUserID, "user id", r.u8)
	b.Status = r.status(bpStatus, "measurement status", bpStatusFieldWidth, bpStatusBits)
	if s := b.Status; s != nil && s.Raw&bpPulseRangeMask == bpPulseRangeRFU {
		m.note("measurement status pulse rate range value 3 is reserved for future use; ignored")
		s.Conditions = without(s.Conditions, PulseAboveRange, PulseBelowRange)
	}
	if err := r.done(); err != nil {
		return err
	}
	m.BloodPressure = b
	return nil
}

func without(list []string, drop ...string) []string {
	var out []string
outer:
	for _, s := range list {
		for _, d := range drop {
			if s == d {
				continue outer
			}
		}
		out = append(out, s)
	}
	return out
}
