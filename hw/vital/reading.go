package vital

import (
	"encoding/json"
	"strings"
	"time"
)

// Reading is one vital-sign value from a measuring device, flattened to a
// canonical unit. It is the record the store, the alert rules, the reports
// and the FHIR export share; device-specific detail stays with the decoder.
type Reading struct {
	// Seq and ID are assigned by the store, as for events.
	Seq int64  `json:"seq,omitempty"`
	ID  string `json:"id,omitempty"`
	// Device identifies the source device (e.g. its Bluetooth address).
	Device   string   `json:"device,omitempty"`
	Quantity Quantity `json:"quantity"`
	// Value is in Unit, which is always Quantity.Unit(). It is 0 when
	// Absent is set (and null in JSON, so that no reader takes the 0 for
	// a measurement); check Absent before using it.
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Original is the value as the device reported it, with its unit and
	// its digits ("16.0 kPa", "98.6 °F"), for audit and display.
	Original string `json:"original,omitempty"`
	// Time is when the measurement was taken: the device's own time stamp
	// when it sent a complete one (DeviceTime true), else the time the
	// reading was received (DeviceTime false).
	Time       time.Time `json:"time"`
	DeviceTime bool      `json:"device_time"`
	// Absent says why there is no value ("NaN (not a number)",
	// "measurement unsuccessful"); empty when Value holds one.
	Absent string `json:"absent,omitempty"`
	// Unreliable lists the conditions the device reported that make the
	// value untrustworthy ("body movement", "sensor displaced"). Rules
	// must not alert on an unreliable value as if it were sound.
	Unreliable []string `json:"unreliable,omitempty"`
	// Context carries qualifiers a clinician needs to read the value:
	// glucose meal and sample type, body site of a temperature, user id
	// on a shared device, irregular pulse. Keys are snake_case.
	Context map[string]string `json:"context,omitempty"`
	// Flags are the data-quality findings (flag.go): a reading with one
	// that Excludes is stored and shown, but no rule judges it and reports
	// count it apart from the patient's values.
	Flags []Flag `json:"flags,omitempty"`
	// DeviceClock is the time stamp as the device's clock gave it, kept
	// when that clock was off and Time holds the corrected time (flag
	// clock_corrected); zero otherwise.
	DeviceClock time.Time `json:"device_clock,omitzero"`
	// Repeats counts how often the device sent this reading again after
	// it was stored (a record re-sent on a reconnection, the last
	// measurement repeated): the store keeps one.
	Repeats int `json:"repeats,omitempty"`
}

// MarshalJSON writes "value": null for a reading without a value.
func (r Reading) MarshalJSON() ([]byte, error) {
	type plain Reading // without the method
	if r.HasValue() {
		return json.Marshal(plain(r))
	}
	return json.Marshal(struct {
		plain
		Value *float64 `json:"value"` // shadows plain's
	}{plain: plain(r)})
}

// HasValue reports whether the reading carries a usable number.
func (r Reading) HasValue() bool { return r.Absent == "" }

// NormalizeAddress returns a Bluetooth address in the upper-case,
// colon-separated form BlueZ uses, and whether s is one. Dashes are
// accepted as separators.
func NormalizeAddress(s string) (string, bool) {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", ":"))
	if len(s) != 17 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i%3 == 2 {
			if c != ':' {
				return "", false
			}
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return "", false
		}
	}
	return s, true
}
