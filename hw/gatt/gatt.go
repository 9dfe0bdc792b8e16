// Package gatt decodes the Bluetooth SIG health measurement characteristics
// (heart rate, blood pressure, glucose, health thermometer, pulse oximeter,
// weight scale) byte-exactly as the GATT Specification Supplement and the
// service specifications lay them out, and flattens them into
// vital.Readings in canonical units, with the flags the device's own
// status earns (a device fault, a control-solution test). It also reads
// and writes a device's clock (Current Time, Date Time) and reads a
// scale's resolution (Weight Scale Feature). It owns no radio: a transport
// hands it the characteristic's 16-bit UUID and value bytes.
//
// Decisions where the specifications leave a receiver a choice:
//   - A payload shorter than its flags announce is an error (ErrTruncated);
//     so is a payload longer than they announce (ErrTrailing), except for
//     heart-rate RR intervals, which fill the rest of the value.
//   - Reserved (RFU) flag bits are ignored, as Bluetooth asks of receivers,
//     and noted in Measurement.Notes. Because later specification versions
//     only append fields, bytes after the known fields are then skipped with
//     a note instead of failing.
//   - Reserved status bits and reserved enumeration values are kept as sent
//     and noted; they never make a decode fail.
//   - IEEE 11073 special values (NaN, NRes, ±INF, reserved) are kept as such
//     and become Readings with Absent set, never numbers.
package gatt

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// UUID is a 16-bit Bluetooth characteristic UUID; it prints and marshals
// as four hex digits ("2A35").
type UUID uint16

// The characteristics Decode understands.
const (
	GlucoseMeasurement        = 0x2A18
	TemperatureMeasurement    = 0x2A1C
	GlucoseMeasurementContext = 0x2A34
	BloodPressureMeasurement  = 0x2A35
	IntermediateCuffPressure  = 0x2A36
	HeartRateMeasurement      = 0x2A37
	PLXSpotCheckMeasurement   = 0x2A5E
	PLXContinuousMeasurement  = 0x2A5F
	WeightMeasurement         = 0x2A9D
	WeightScaleFeatureChar    = 0x2A9E
)

// characteristic is what Decode knows of one characteristic: its name in
// the specification and the decoder of its value.
type characteristic struct {
	name   string
	decode func(*reader, *Measurement) error
}

var characteristics = map[UUID]characteristic{
	GlucoseMeasurement:        {"Glucose Measurement", decodeGlucose},
	TemperatureMeasurement:    {"Temperature Measurement", decodeTemperature},
	GlucoseMeasurementContext: {"Glucose Measurement Context", decodeGlucoseContext},
	BloodPressureMeasurement:  {"Blood Pressure Measurement", decodeBloodPressure},
	IntermediateCuffPressure:  {"Intermediate Cuff Pressure", decodeBloodPressure},
	HeartRateMeasurement:      {"Heart Rate Measurement", decodeHeartRate},
	PLXSpotCheckMeasurement:   {"PLX Spot-check Measurement", decodePLXSpotCheck},
	PLXContinuousMeasurement:  {"PLX Continuous Measurement", decodePLXContinuous},
	WeightMeasurement:         {"Weight Measurement", decodeWeight},
	// Read on connection, not subscribed to: they give no reading, but
	// the time the device's clock shows and a scale's resolution.
	CurrentTime:            {"Current Time", decodeCurrentTime},
	DateTimeChar:           {"Date Time", decodeDateTime},
	WeightScaleFeatureChar: {"Weight Scale Feature", decodeWeightScaleFeature},
}

// unsupported is the message for a characteristic Decode does not know.
var unsupported = func() string {
	var known []string
	for _, u := range slices.Sorted(maps.Keys(characteristics)) {
		known = append(known, u.String())
	}
	return "not a characteristic this decoder knows (" + strings.Join(known, ", ") + ")"
}()

func (u UUID) String() string { return fmt.Sprintf("%04X", uint16(u)) }

// Name is the characteristic's name in the specification, or "" if Decode
// does not know it.
func (u UUID) Name() string { return characteristics[u].name }

func (u UUID) MarshalJSON() ([]byte, error) { return []byte(`"` + u.String() + `"`), nil }

// ParseUUID reads "2A35", "2a35" or "0x2A35".
func ParseUUID(s string) (UUID, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	v, err := strconv.ParseUint(t, 16, 16)
	if err != nil || t == "" {
		return 0, fmt.Errorf("gatt: %q is not a 16-bit characteristic UUID (want four hex digits such as 2A35)", s)
	}
	return UUID(v), nil
}

// Measurement is one decoded characteristic value. Exactly one of the
// detail pointers is set, matching Char.
type Measurement struct {
	Char UUID   `json:"characteristic"`
	Name string `json:"name"`
	// Device, Received, Zone and ScaleFeature are not in the payload: the
	// transport sets them, and Readings uses them. Received stands in for
	// the measurement time when the device sent no usable time stamp; Zone
	// is the zone the device's clock runs in (nil means UTC); ScaleFeature
	// is the scale's Weight Scale Feature, read on connection, whose
	// resolution weights and heights are rounded to.
	Device       string              `json:"device,omitempty"`
	Received     time.Time           `json:"received,omitzero"`
	Zone         *time.Location      `json:"-"`
	ScaleFeature *WeightScaleFeature `json:"-"`
	// Notes lists what was ignored under this package's rules for reserved
	// bits and values.
	Notes []string `json:"notes,omitempty"`

	HeartRate      *HeartRate      `json:"heart_rate,omitempty"`
	BloodPressure  *BloodPressure  `json:"blood_pressure,omitempty"` // 2A35 and 2A36
	Glucose        *Glucose        `json:"glucose,omitempty"`
	GlucoseContext *GlucoseContext `json:"glucose_context,omitempty"`
	Temperature    *Temperature    `json:"temperature,omitempty"`
	PLXSpotCheck   *PLXSpotCheck   `json:"plx_spot_check,omitempty"`
	PLXContinuous  *PLXContinuous  `json:"plx_continuous,omitempty"`
	Weight         *Weight         `json:"weight,omitempty"`
	// Clock is a Current Time or Date Time; WeightScaleFeature a scale's
	// feature. Neither gives readings.
	Clock              *Clock              `json:"clock,omitempty"`
	WeightScaleFeature *WeightScaleFeature `json:"weight_scale_feature,omitempty"`
}

var (
	_ json.Marshaler = UUID(0)
	_ json.Marshaler = Float{}
	_ json.Marshaler = DateTime{}
	_ error          = (*Error)(nil)
)

func (m *Measurement) note(format string, args ...any) {
	m.Notes = append(m.Notes, fmt.Sprintf(format, args...))
}

// Decode decodes the value of the characteristic uuid. The error, if any,
// is an *Error naming the characteristic and the field.
func Decode(uuid uint16, payload []byte) (Measurement, error) {
	u := UUID(uuid)
	c, ok := characteristics[u]
	if !ok {
		return Measurement{}, &Error{Char: u, Err: ErrUnsupported, Msg: unsupported}
	}
	m := Measurement{Char: u, Name: c.name}
	if err := c.decode(newReader(&m, payload), &m); err != nil {
		return Measurement{}, err
	}
	return m, nil
}

// Code is an enumerated field: the value as sent and its name in the
// specification ("reserved (12)" for a value the specification reserves).
type Code struct {
	Value uint8  `json:"value"`
	Name  string `json:"name"`
}

// Status is a status or annunciation bit field as sent, with the names of
// the conditions its set bits report.
type Status struct {
	Raw        uint32   `json:"raw"`
	Conditions []string `json:"conditions,omitempty"`
}

// statusBit names one bit of a status field and what its condition says
// of the measured value.
type statusBit struct {
	bit   uint
	name  string
	class statusClass
}

// statusClass is what a status condition says of the measured value.
type statusClass uint8

const (
	// info says nothing against the value (battery low, validated data).
	info statusClass = iota
	// doubt makes the value untrustworthy, through how it was measured
	// (body movement, a loose cuff, low perfusion): Reading.Unreliable.
	doubt
	// fault is the device's own failure to measure (sensor malfunction,
	// sample size insufficient): Unreliable, and the reading is flagged
	// vital.DeviceFault, which keeps it out of the patient's values and
	// counts it as a device problem.
	fault
)

// has reports whether the condition name is set in s.
func (s *Status) has(name string) bool {
	if s == nil {
		return false
	}
	for _, c := range s.Conditions {
		if c == name {
			return true
		}
	}
	return false
}

// unreliable returns the set conditions of s that table marks doubt or
// fault.
func (s *Status) unreliable(table []statusBit) []string {
	return s.conditions(table, func(c statusClass) bool { return c != info })
}

// faults returns the set conditions of s that table marks fault.
func (s *Status) faults(table []statusBit) []string {
	return s.conditions(table, func(c statusClass) bool { return c == fault })
}

func (s *Status) conditions(table []statusBit, keep func(statusClass) bool) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, b := range table {
		if keep(b.class) && s.has(b.name) {
			out = append(out, b.name)
		}
	}
	return out
}
