package gatt

// PLX Spot-check Measurement (0x2A5E) flags.
const (
	spTimeStamp    = 1 << 0
	spMeasStatus   = 1 << 1
	spDeviceStatus = 1 << 2
	spPAI          = 1 << 3
	spClockNotSet  = 1 << 4
	spDefined      = spTimeStamp | spMeasStatus | spDeviceStatus | spPAI | spClockNotSet
)

// PLX Continuous Measurement (0x2A5F) flags.
const (
	ctFast         = 1 << 0
	ctSlow         = 1 << 1
	ctMeasStatus   = 1 << 2
	ctDeviceStatus = 1 << 3
	ctPAI          = 1 << 4
	ctDefined      = ctFast | ctSlow | ctMeasStatus | ctDeviceStatus | ctPAI
)

// plxMeasurementStatusBits: bits 0-4 are reserved. Statuses that say the
// value is provisional, synthetic or doubtful make it unreliable; those
// that vouch for it (validated, fully qualified) or say where it came from
// (storage) do not.
var plxMeasurementStatusBits = []statusBit{
	{5, "measurement ongoing", true},
	{6, "early estimated data", true},
	{7, "validated data", false},
	{8, "fully qualified data", false},
	{9, "data from measurement storage", false},
	{10, "data for demonstration", true},
	{11, "data for testing", true},
	{12, "calibration ongoing", true},
	{13, "measurement unavailable", true},
	{14, "questionable measurement", true},
	{15, "invalid measurement", true},
}

// plxDeviceStatusBits: bits 16-23 are reserved.
var plxDeviceStatusBits = []statusBit{
	{0, "extended display update ongoing", false},
	{1, "equipment malfunction", true},
	{2, "signal processing irregularity", true},
	{3, "inadequate signal", true},
	{4, "poor signal", true},
	{5, "low perfusion", true},
	{6, "erratic signal", true},
	{7, "nonpulsatile signal", true},
	{8, "questionable pulse", true},
	{9, "signal analysis ongoing", true},
	{10, "sensor interference", true},
	{11, "sensor unconnected to user", true},
	{12, "unknown sensor connected", true},
	{13, "sensor displaced", true},
	{14, "sensor malfunctioning", true},
	{15, "sensor disconnected", true},
}

// SpO2PR is an oxygen saturation (percent) and pulse rate (beats per
// minute) pair.
type SpO2PR struct {
	SpO2      Float `json:"spo2"`
	PulseRate Float `json:"pulse_rate"`
}

// PLXSpotCheck is a PLX Spot-check Measurement (0x2A5E).
type PLXSpotCheck struct {
	Flags uint8 `json:"flags"`
	SpO2PR
	TimeStamp          *DateTime `json:"time_stamp,omitempty"`
	MeasurementStatus  *Status   `json:"measurement_status,omitempty"`
	DeviceSensorStatus *Status   `json:"device_sensor_status,omitempty"`
	// PulseAmplitudeIndex is in percent.
	PulseAmplitudeIndex *Float `json:"pulse_amplitude_index,omitempty"`
	// ClockNotSet says the device's clock was never set, so TimeStamp is
	// not a real time.
	ClockNotSet bool `json:"clock_not_set,omitempty"`
}

// PLXContinuous is a PLX Continuous Measurement (0x2A5F). Normal is the
// device's standard averaging; Fast and Slow are optional shorter and
// longer averaging windows of the same signal.
type PLXContinuous struct {
	Flags               uint8   `json:"flags"`
	Normal              SpO2PR  `json:"normal"`
	Fast                *SpO2PR `json:"fast,omitempty"`
	Slow                *SpO2PR `json:"slow,omitempty"`
	MeasurementStatus   *Status `json:"measurement_status,omitempty"`
	DeviceSensorStatus  *Status `json:"device_sensor_status,omitempty"`
	PulseAmplitudeIndex *Float  `json:"pulse_amplitude_index,omitempty"`
}

func (r *reader) spo2pr(name string) SpO2PR {
	return SpO2PR{SpO2: r.sfloat(name + "SpO2"), PulseRate: r.sfloat(name + "pulse rate")}
}

// plxStatuses reads the measurement status and device and sensor status
// fields that both PLX characteristics share, each when the flags set its
// bit (meas, dev).
func plxStatuses(r *reader, meas, dev uint8) (ms, ds *Status) {
	ms = r.status(meas, "measurement status", 16, plxMeasurementStatusBits)
	ds = r.status(dev, "device and sensor status", 24, plxDeviceStatusBits)
	return ms, ds
}

func decodePLXSpotCheck(r *reader, m *Measurement) error {
	flags := r.readFlags(spDefined)
	p := &PLXSpotCheck{Flags: flags, ClockNotSet: r.has(spClockNotSet)}
	p.SpO2PR = r.spo2pr("")
	p.TimeStamp = optional(r, spTimeStamp, "time stamp", r.dateTime)
	p.MeasurementStatus, p.DeviceSensorStatus = plxStatuses(r, spMeasStatus, spDeviceStatus)
	p.PulseAmplitudeIndex = optional(r, spPAI, "pulse amplitude index", r.sfloat)
	if err := r.done(); err != nil {
		return err
	}
	m.PLXSpotCheck = p
	return nil
}

func decodePLXContinuous(r *reader, m *Measurement) error {
	flags := r.readFlags(ctDefined)
	p := &PLXContinuous{Flags: flags}
	p.Normal = r.spo2pr("")
	p.Fast = optional(r, ctFast, "fast ", r.spo2pr)
	p.Slow = optional(r, ctSlow, "slow ", r.spo2pr)
	p.MeasurementStatus, p.DeviceSensorStatus = plxStatuses(r, ctMeasStatus, ctDeviceStatus)
	p.PulseAmplitudeIndex = optional(r, ctPAI, "pulse amplitude index", r.sfloat)
	if err := r.done(); err != nil {
		return err
	}
	m.PLXContinuous = p
	return nil
}
