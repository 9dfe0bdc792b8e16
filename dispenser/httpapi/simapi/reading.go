package simapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/dispenser/httpapi"
	"github.com/pillbox/pillbox/hw/ble"
	"github.com/pillbox/pillbox/hw/gatt"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/hw/vital/quality"
)

// Rules check, store and judge readings (vitals.Monitor).
type Rules interface {
	Ingest(ctx context.Context, rs []vital.Reading, rc quality.Reception) (stored []vital.Reading, alerts []dispenser.Event, err error)
}

// Readings serves POST /api/sim/reading: a reading injected through the
// path a device's values take, the device path's decoder (its assembler,
// and its reading of the device's clock) for a raw value and the same
// rules for all.
type Readings struct {
	Decoder *ble.Decoder
	Rules   Rules
	Clock   interface{ Now() time.Time }
	Logger  *slog.Logger
}

// Routes is the route.
func (h *Readings) Routes() map[string]http.Handler {
	return map[string]http.Handler{"POST /api/sim/reading": h}
}

// readingBody is the body of POST /api/sim/reading: either a
// characteristic value as a device sends it,
//
//	{"char": "2A35", "hex": "1E B4 00 6E 00 ..."}
//
// or decoded values,
//
//	{"quantity": "glucose", "value": 52, "unit": "mg/dL"}
//	{"readings": [{"quantity": "systolic", "value": 185, "unit": "mmHg"},
//	              {"quantity": "diastolic", "value": 100, "unit": "mmHg"}]}
//
// with an optional "device" (default "sim") and, for decoded values,
// "time" (RFC 3339; default the simulated clock's now) and "unreliable"
// (conditions the device reported). With a raw value, "clock_offset" (a
// Go duration such as "-72h") is how far the device's clock is from the
// simulated one: the daemon reads that clock first, as it does on a
// connection, and the offset holds for the device's values until another
// is given.
type readingBody struct {
	Device      string `json:"device"`
	Char        string `json:"char"`
	Hex         string `json:"hex"`
	ClockOffset string `json:"clock_offset"`
	value
	Readings []value `json:"readings"`
	Time     string  `json:"time"`
}

type value struct {
	Quantity   vital.Quantity `json:"quantity"`
	Value      *float64       `json:"value"`
	Unit       string         `json:"unit"`
	Unreliable []string       `json:"unreliable"`
}

// input is a checked readingBody: a payload, with the device clock's
// offset, or readings.
type input struct {
	payload     *ble.Payload
	clockOffset *time.Duration
	readings    []vital.Reading
}

// maxClockOffset bounds a simulated device clock's offset: a clock reset
// to its maker's date is years off.
const maxClockOffset = 50 * 365 * 24 * time.Hour

const maxReadingBody = 64 << 10

// parseReading checks a body of POST /api/sim/reading. now stamps decoded
// values without a time.
func parseReading(body []byte, now time.Time) (input, error) {
	var b readingBody
	if err := decodeStrict(body, &b); err != nil {
		if errors.Is(err, errMore) {
			return input{}, errors.New("body has more than one JSON value")
		}
		return input{}, fmt.Errorf("body is not a reading: %v", err)
	}
	if b.Device == "" {
		b.Device = "sim"
	}
	if len(b.Device) > 64 || strings.ContainsFunc(b.Device, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return input{}, errors.New("device must be at most 64 printable characters")
	}
	raw := b.Char != "" || b.Hex != ""
	decoded := b.Quantity != "" || b.Value != nil || b.Unit != "" || len(b.Readings) > 0
	switch {
	case raw && decoded:
		return input{}, errors.New(`give either "char" and "hex" or decoded values, not both`)
	case b.ClockOffset != "" && !raw:
		return input{}, errors.New(`"clock_offset" goes with a raw value ("char" and "hex"), whose time stamp the device's clock gave`)
	case raw:
		if b.Time != "" || len(b.Unreliable) > 0 {
			return input{}, errors.New(`"time" and "unreliable" go with decoded values; a raw value carries its own`)
		}
		var in input
		if b.ClockOffset != "" {
			off, err := time.ParseDuration(b.ClockOffset)
			if err != nil || off > maxClockOffset || off < -maxClockOffset {
				return input{}, errors.New(`clock_offset: want a duration such as "-72h" or "90s", within 50 years`)
			}
			in.clockOffset = &off
		}
		u, err := gatt.ParseUUID(b.Char)
		if err != nil {
			return input{}, fmt.Errorf("char: %v", err)
		}
		data, err := ble.ParseHex(b.Hex)
		if err != nil {
			return input{}, fmt.Errorf("hex: %v", err)
		}
		in.payload = &ble.Payload{Device: b.Device, Char: uint16(u), Data: data}
		return in, nil
	case !decoded:
		return input{}, errors.New(`give "char" and "hex", or "quantity", "value" and "unit", or "readings"`)
	}
	at := now
	if b.Time != "" {
		t, err := time.Parse(time.RFC3339, b.Time)
		if err != nil {
			return input{}, fmt.Errorf("time: want RFC 3339 such as 2026-03-08T07:00:00-05:00: %v", err)
		}
		at = t
	}
	values := b.Readings
	if b.Quantity != "" || b.Value != nil || b.Unit != "" {
		if len(b.Readings) > 0 {
			return input{}, errors.New(`give one reading or "readings", not both`)
		}
		values = []value{b.value}
	}
	if len(values) > 16 {
		return input{}, errors.New("at most 16 readings at once")
	}
	var in input
	for i, sv := range values {
		r, err := sv.reading(b.Device, at)
		if err != nil {
			if len(values) > 1 {
				return input{}, fmt.Errorf("readings[%d]: %v", i, err)
			}
			return input{}, err
		}
		in.readings = append(in.readings, r)
	}
	return in, nil
}

// reading is the value in its quantity's canonical unit, converted as a
// device's value is (gatt.ToCanonical).
func (sv value) reading(device string, at time.Time) (vital.Reading, error) {
	canonical := sv.Quantity.Unit()
	switch {
	case sv.Quantity == "":
		return vital.Reading{}, errors.New("quantity is missing")
	case canonical == "":
		return vital.Reading{}, fmt.Errorf("unknown quantity %q", sv.Quantity)
	case sv.Value == nil:
		return vital.Reading{}, errors.New("value is missing")
	case math.IsNaN(*sv.Value) || math.IsInf(*sv.Value, 0):
		return vital.Reading{}, errors.New("value must be a finite number")
	case len(sv.Unreliable) > 8:
		return vital.Reading{}, errors.New("at most 8 unreliable conditions")
	}
	unit := sv.Unit
	if unit == "" {
		unit = canonical
	}
	v, err := gatt.ToCanonical(sv.Quantity, unit, *sv.Value)
	switch {
	case errors.Is(err, gatt.ErrUnknownUnit):
		return vital.Reading{}, fmt.Errorf("unit %q is not one for %s (want %s)", unit, sv.Quantity, canonical)
	case err != nil:
		return vital.Reading{}, fmt.Errorf("value is out of range in %s", canonical)
	}
	for _, c := range sv.Unreliable {
		if c == "" || len(c) > 64 {
			return vital.Reading{}, errors.New("each unreliable condition must be 1 to 64 characters")
		}
	}
	return vital.Reading{
		Device: device, Quantity: sv.Quantity, Value: v, Unit: canonical,
		Original: strconv.FormatFloat(*sv.Value, 'f', -1, 64) + " " + unit,
		Time:     at, DeviceTime: false, Unreliable: sv.Unreliable,
	}, nil
}

// readingResult is the answer to POST /api/sim/reading.
type readingResult struct {
	Stored []vital.Reading   `json:"stored"`
	Alerts []dispenser.Event `json:"alerts"`
	// Pending: a glucose measurement waits for its context (send the 2A34
	// value next).
	Pending bool `json:"pending,omitempty"`
	// ClockSet: the device's clock was off and the daemon set it.
	ClockSet bool `json:"clock_set,omitempty"`
}

func (h *Readings) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := h.Clock.Now()
	in, ok := readParsed(w, r, maxReadingBody, func(b []byte) (input, error) { return parseReading(b, now) })
	if !ok {
		return
	}
	rs := in.readings
	var res readingResult
	if in.payload != nil {
		dev := in.payload.Device
		if in.clockOffset != nil {
			// The simulated device's clock, read as on a connection.
			zone := h.Decoder.Assembler.Zone
			if zone == nil {
				zone = time.UTC
			}
			shows := now.Add(*in.clockOffset).In(zone)
			if set := h.Decoder.Clock(ble.Payload{Device: dev, Char: gatt.CurrentTime, Data: gatt.CurrentTimeValue(shows)}); set != nil {
				h.Decoder.ClockSet(dev, nil)
				res.ClockSet = true
			}
		}
		var decodeErr error
		rs, decodeErr = h.Decoder.Assembler.Add(*in.payload, now)
		if decodeErr != nil {
			// A measurement it released (one waiting for its context) is
			// still stored, as from a device.
			if len(rs) > 0 {
				if _, _, err := h.Rules.Ingest(r.Context(), rs, h.Decoder.Reception(dev, now)); err != nil {
					h.Logger.Error("vitals: store readings", "err", err)
				}
			}
			httpapi.WriteError(w, http.StatusBadRequest, decodeErr.Error())
			return
		}
		res.Pending = h.Decoder.Assembler.Pending(dev)
	}
	var device string
	if len(rs) > 0 {
		device = rs[0].Device
	}
	var err error
	res.Stored, res.Alerts, err = h.Rules.Ingest(r.Context(), rs, h.Decoder.Reception(device, now))
	if err != nil {
		h.Logger.Error("vitals: sim reading", "err", err)
		httpapi.WriteError(w, http.StatusInternalServerError, "could not store the reading")
		return
	}
	if res.Stored == nil {
		res.Stored = []vital.Reading{}
	}
	if res.Alerts == nil {
		res.Alerts = []dispenser.Event{}
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
}
