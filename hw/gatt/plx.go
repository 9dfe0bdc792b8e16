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
// value is provisional or doubtful make it unreliable; those that vouch
// for it (validated, fully qualified) or say where it came from (storage)
// do not. Demonstration and test data, and a measurement the oximeter
// itself calls invalid, are not the patient's: faults.
var plxMeasurementStatusBits = []statusBit{
	{5, "measurement ongoing", doubt},
	{6, "early estimated data", doubt},
	{7, "validated data", info},
	{8, "fully qualified data", info},
	{9, "data from measurement storage", info},
	{10, "data for demonstration", fault},
	{11, "data for testing", fault},
	{12, "calibration ongoing", doubt},
	{13, "measurement unavailable", doubt},
	{14, "questionable measurement", doubt},
	{15, "invalid measurement", fault},
}

// plxDeviceStatusBits: bits 16-23 are reserved. What the finger or the
// signal does is doubt; what the oximeter or its probe does is a fault.
var plxDeviceStatusBits = []statusBit{
	{0, "extended display update ongoing", info},
	{1, "equipment malfunction", fault},
	{2, "signal processing irregularity", doubt},
	{3, "inadequate signal", doubt},
	{4, "poor signal", doubt},
	{5, "low perfusion", doubt},
	{6, "erratic signal", doubt},
	{7, "nonpulsatile signal", doubt},
	{8, "questionable pulse", doubt},
	{9, "signal analysis ongoing", doubt},
	{10, "sensor interference", doubt},
	{11, "sensor unconnected to user", doubt},
	{12, "unknown sensor connected", fault},
	{13, "sensor displaced", doubt},
	{14, "sensor malfunctioning", fault},
	{15, "sensor disconnected", fault},
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
