package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	"github.com/pillbox/pillbox/notify/vitals"
	"github.com/pillbox/pillbox/schedule"
)

// The vitals component: the patient's Bluetooth LE health devices, read
// through a transport, assembled into readings, stored, and judged by the
// rules, whose alerts go into the event log for the notifier. The HTTP API
// lists the stored readings, and in sim mode takes readings to inject
// through the same path.
func init() { register(component{name: "vitals", wire: wireVitals}) }

// newTransport picks how devices are read: BlueZ on a real device, none
// in sim mode (readings come through POST /api/sim/reading). Tests replace
// it with a replay transport.
var newTransport = func(r *running) ble.Transport {
	if r.opts.sim {
		return nil
	}
	return &ble.BlueZ{Logger: r.log}
}

// vitalsPart is the wired component; it is the transport's sink.
type vitalsPart struct {
	mon   *vitals.Monitor
	asm   *ble.Assembler
	store readingStore
	clock schedule.Clock
	log   *slog.Logger
	// trusted says whether the controller trusts its wall clock: only
	// then are device clocks judged and set.
	trusted func() bool
	devices []vitals.Device
	// stored is told when new readings are in the store (the clinic sync
	// pushes them at once instead of at its next heartbeat).
	stored func()
}

// readingStore is what the API and the record transfer read.
type readingStore interface {
	ReadingsSince(ctx context.Context, seq int64, limit int) ([]vital.Reading, error)
	LastReading(ctx context.Context, device string, q vital.Quantity) (vital.Reading, bool, error)
	DeviceReadings(ctx context.Context, device string, from, to time.Time) ([]vital.Reading, error)
}

var _ ble.Sink = (*vitalsPart)(nil)

func wireVitals(ctx context.Context, r *running) error {
	cfg := vitals.Config{}
	if r.file.Vitals != nil {
		cfg = *r.file.Vitals
	}
	v := &vitalsPart{
		mon:   vitals.NewMonitor(cfg, r.file.Medications, r.clock, r.store, r.events, r.log),
		asm:   &ble.Assembler{Zone: r.loc, MinInterval: ble.DefaultMinInterval},
		store: r.store,
		clock: r.clock,
		log:   r.log,
		trusted: func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			st, err := r.ctrl.Status(ctx)
			return err == nil && st.ClockTrusted
		},
		devices: cfg.Devices,
		stored: func() {
			for _, f := range r.onReadings {
				f()
			}
		},
	}
	if err := v.mon.Start(ctx); err != nil {
		return err
	}
	r.vitals = v.mon
	r.closers = append(r.closers, func() error { v.mon.Stop(); return nil })
	r.onCommit = append(r.onCommit, v.mon.OnCommit)
	r.settlers = append(r.settlers, v.mon.Settle)
	r.services = append(r.services, v.mon.Run)

	var devices []ble.Device
	for _, d := range cfg.Devices {
		addr, _ := vital.NormalizeAddress(d.Address) // the config checker vetted it
		kind, _ := vital.KindNamed(d.Kind)           // and the kind
		devices = append(devices, ble.Device{Address: addr, Profile: kind.Profile})
	}
	if t := newTransport(r); t != nil && len(devices) > 0 {
		r.services = append(r.services, func(ctx context.Context) error {
			if err := t.Run(ctx, devices, v); err != nil {
				// Without Bluetooth the dispenser still dispenses: say so
				// and keep running.
				r.log.Error("vitals: transport stopped; health devices are not read", "err", err)
			}
			<-ctx.Done()
			return nil
		})
	}
	r.routes["GET /api/readings"] = http.HandlerFunc(v.listReadings)
	r.routes["GET /api/vitals/devices"] = http.HandlerFunc(v.listDevices)
	if r.opts.sim {
		r.routes["POST /api/sim/reading"] = http.HandlerFunc(v.simReading)
	}
	return nil
}

// Payload is the transport's sink: decode, check, store, judge.
func (v *vitalsPart) Payload(p ble.Payload) {
	now := v.clock.Now()
	rs, err := v.asm.Add(p, now)
	if err != nil {
		// What failed to decode, not the bytes: they may hold a reading.
		v.log.Warn("vitals: a device sent a value that does not decode", "device", p.Device, "err", err)
	}
	if len(rs) > 0 { // most of a strap's values are thinned away
		v.ingest(rs, v.reception(p.Device, now))
	}
}

// Disconnected releases a glucose measurement still waiting for a context
// that will not come; the device's clock offset ends with its connection.
func (v *vitalsPart) Disconnected(device string) {
	rc := v.reception(device, v.clock.Now())
	v.ingest(v.asm.Disconnected(device), rc)
}

// Clock judges a device's clock read on connection and says whether to
// set it (docs/vitals.md, "Device clocks").
func (v *vitalsPart) Clock(p ble.Payload) []byte {
	set, err := v.asm.Clock(p, v.clock.Now(), v.trusted())
	if err != nil {
		v.log.Warn("vitals: a device's clock does not read", "device", p.Device, "err", err)
	}
	return set
}

// ClockSet records whether the device's clock was set.
func (v *vitalsPart) ClockSet(device string, err error) { v.asm.ClockSet(device, v.clock.Now(), err) }

// reception is what the quality step is told of readings from device
// received at at.
func (v *vitalsPart) reception(device string, at time.Time) quality.Reception {
	rc := quality.Reception{At: at, Trusted: v.trusted()}
	if off, ok := v.asm.Offset(device); ok {
		rc.Offsets = map[string]time.Duration{device: off}
	}
	return rc
}

func (v *vitalsPart) ingest(rs []vital.Reading, rc quality.Reception) {
	if len(rs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stored, _, err := v.mon.Ingest(ctx, rs, rc)
	if err != nil {
		v.log.Error("vitals: store readings", "err", err)
	}
	if len(stored) > 0 {
		v.stored()
	}
}

// LastRecord is where a glucometer's record transfer resumes.
func (v *vitalsPart) LastRecord(device string) (uint16, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, ok, err := v.store.LastReading(ctx, device, vital.Glucose)
	if err != nil || !ok {
		return 0, false
	}
	seq, err := strconv.ParseUint(r.Context["sequence"], 10, 16)
	if err != nil {
		return 0, false
	}
	return uint16(seq), true
}

// listReadings serves GET /api/readings?since=SEQ&limit=N: the stored
// readings after SEQ, in order.
func (v *vitalsPart) listReadings(w http.ResponseWriter, r *http.Request) {
	since, limit, ok := httpapi.Page(w, r.URL.Query())
	if !ok {
		return
	}
	rs, err := v.store.ReadingsSince(r.Context(), since, limit)
	if err != nil {
		v.log.Error("vitals: list readings", "err", err)
		httpapi.WriteError(w, http.StatusInternalServerError, "could not read the stored readings")
		return
	}
	if rs == nil {
		rs = []vital.Reading{}
	}
	httpapi.WriteJSON(w, http.StatusOK, rs)
}

// listDevices serves GET /api/vitals/devices?days=N (1 to 366, default
// 30): the data quality of each configured device over the last N days
// (quality.Summary: measurements, implausible, faulty, meter checks and
// the last one, clock corrections, repeats, days without data) and what
// is known of its clock. ?device=ADDR asks about one device, configured or
// not (the simulator's).
func (v *vitalsPart) listDevices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	days := 30
	if s := q.Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 366 {
			httpapi.WriteError(w, http.StatusBadRequest, "days must be a whole number from 1 to 366")
			return
		}
		days = n
	}
	type device struct {
		Address string           `json:"address"`
		Kind    string           `json:"kind,omitempty"`
		Name    string           `json:"name,omitempty"`
		Quality quality.Summary  `json:"quality"`
		Clock   *ble.DeviceClock `json:"clock,omitempty"`
	}
	var out []device
	for _, d := range v.devices {
		addr, _ := vital.NormalizeAddress(d.Address)
		out = append(out, device{Address: addr, Kind: d.Kind, Name: d.Name})
	}
	if one := q.Get("device"); one != "" {
		if len(one) > 64 {
			httpapi.WriteError(w, http.StatusBadRequest, "device must be at most 64 characters")
			return
		}
		if addr, ok := vital.NormalizeAddress(one); ok {
			one = addr
		}
		var match []device
		for _, d := range out {
			if d.Address == one {
				match = append(match, d)
			}
		}
		if match == nil {
			match = []device{{Address: one}}
		}
		out = match
	}
	now := v.clock.Now()
	from := now.Add(-time.Duration(days) * 24 * time.Hour)
	clocks := v.asm.Clocks()
	for i := range out {
		rs, err := v.store.DeviceReadings(r.Context(), out[i].Address, from, now.Add(time.Millisecond))
		if err != nil {
			v.log.Error("vitals: device quality", "err", err)
			httpapi.WriteError(w, http.StatusInternalServerError, "could not read the stored readings")
			return
		}
		out[i].Quality = quality.Summarize(rs, []string{out[i].Address}, from, now.Add(time.Millisecond), v.asm.Zone)[0]
		if c, ok := clocks[out[i].Address]; ok {
			out[i].Clock = &c
		}
	}
	if out == nil {
		out = []device{}
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// simReadingBody is the body of POST /api/sim/reading: either a
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
type simReadingBody struct {
	Device      string `json:"device"`
	Char        string `json:"char"`
	Hex         string `json:"hex"`
	ClockOffset string `json:"clock_offset"`
	simValue
	Readings []simValue `json:"readings"`
	Time     string     `json:"time"`
}

type simValue struct {
	Quantity   vital.Quantity `json:"quantity"`
	Value      *float64       `json:"value"`
	Unit       string         `json:"unit"`
	Unreliable []string       `json:"unreliable"`
}

// simInput is a checked simReadingBody: a payload, with the device clock's
// offset, or readings.
type simInput struct {
	payload     *ble.Payload
	clockOffset *time.Duration
	readings    []vital.Reading
}

// maxClockOffset bounds a simulated device clock's offset: a clock reset
// to its maker's date is years off.
const maxClockOffset = 50 * 365 * 24 * time.Hour

const maxSimBody = 64 << 10

// unitAliases are units people write for a quantity, and how to convert
// them to the canonical unit.
var unitAliases = map[vital.Quantity]map[string]func(float64) float64{
	vital.Systolic:     {"mmHg": same},
	vital.Diastolic:    {"mmHg": same},
	vital.MeanArterial: {"mmHg": same},
	vital.Pulse:        {"bpm": same, "beats/min": same},
	vital.Glucose:      {"mmol/L": func(v float64) float64 { return math.Round(v*vital.MgDLPerMmolL*10) / 10 }},
	vital.Temperature:  {"°C": same, "C": same, "°F": fahrenheit, "F": fahrenheit, "[degF]": fahrenheit},
	vital.Weight:       {"lb": func(v float64) float64 { return math.Round(v*0.45359237*100) / 100 }, "[lb_av]": func(v float64) float64 { return math.Round(v*0.45359237*100) / 100 }},
}

func same(v float64) float64       { return v }
func fahrenheit(v float64) float64 { return math.Round((v-32)*5/9*100) / 100 }

// parseSimReading checks a body of POST /api/sim/reading. now stamps
// decoded values without a time.
func parseSimReading(body []byte, now time.Time) (simInput, error) {
	var b simReadingBody
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return simInput{}, fmt.Errorf("body is not a reading: %v", err)
	}
	if dec.More() {
		return simInput{}, errors.New("body has more than one JSON value")
	}
	if b.Device == "" {
		b.Device = "sim"
	}
	if len(b.Device) > 64 || strings.ContainsFunc(b.Device, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return simInput{}, errors.New("device must be at most 64 printable characters")
	}
	raw := b.Char != "" || b.Hex != ""
	decoded := b.Quantity != "" || b.Value != nil || b.Unit != "" || len(b.Readings) > 0
	switch {
	case raw && decoded:
		return simInput{}, errors.New(`give either "char" and "hex" or decoded values, not both`)
	case b.ClockOffset != "" && !raw:
		return simInput{}, errors.New(`"clock_offset" goes with a raw value ("char" and "hex"), whose time stamp the device's clock gave`)
	case raw:
		if b.Time != "" || len(b.Unreliable) > 0 {
			return simInput{}, errors.New(`"time" and "unreliable" go with decoded values; a raw value carries its own`)
		}
		var in simInput
		if b.ClockOffset != "" {
			off, err := time.ParseDuration(b.ClockOffset)
			if err != nil || off > maxClockOffset || off < -maxClockOffset {
				return simInput{}, errors.New(`clock_offset: want a duration such as "-72h" or "90s", within 50 years`)
			}
			in.clockOffset = &off
		}
		u, err := gatt.ParseUUID(b.Char)
		if err != nil {
			return simInput{}, fmt.Errorf("char: %v", err)
		}
		data, err := ble.ParseHex(b.Hex)
		if err != nil {
			return simInput{}, fmt.Errorf("hex: %v", err)
		}
		in.payload = &ble.Payload{Device: b.Device, Char: uint16(u), Data: data}
		return in, nil
	case !decoded:
		return simInput{}, errors.New(`give "char" and "hex", or "quantity", "value" and "unit", or "readings"`)
	}
	at := now
	if b.Time != "" {
		t, err := time.Parse(time.RFC3339, b.Time)
		if err != nil {
			return simInput{}, fmt.Errorf("time: want RFC 3339 such as 2026-03-08T07:00:00-05:00: %v", err)
		}
		at = t
	}
	values := b.Readings
	if b.Quantity != "" || b.Value != nil || b.Unit != "" {
		if len(b.Readings) > 0 {
			return simInput{}, errors.New(`give one reading or "readings", not both`)
		}
		values = []simValue{b.simValue}
	}
	if len(values) > 16 {
		return simInput{}, errors.New("at most 16 readings at once")
	}
	var in simInput
	for i, sv := range values {
		r, err := sv.reading(b.Device, at)
		if err != nil {
			if len(values) > 1 {
				return simInput{}, fmt.Errorf("readings[%d]: %v", i, err)
			}
			return simInput{}, err
		}
		in.readings = append(in.readings, r)
	}
	return in, nil
}

func (sv simValue) reading(device string, at time.Time) (vital.Reading, error) {
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
	v := *sv.Value
	unit := sv.Unit
	if unit == "" {
		unit = canonical
	}
	if unit != canonical {
		conv, ok := unitAliases[sv.Quantity][unit]
		if !ok {
			return vital.Reading{}, fmt.Errorf("unit %q is not one for %s (want %s)", unit, sv.Quantity, canonical)
		}
		v = conv(v)
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return vital.Reading{}, fmt.Errorf("value is out of range in %s", canonical)
		}
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

// simReadingResult is the answer to POST /api/sim/reading.
type simReadingResult struct {
	Stored []vital.Reading   `json:"stored"`
	Alerts []dispenser.Event `json:"alerts"`
	// Pending: a glucose measurement waits for its context (send the 2A34
	// value next).
	Pending bool `json:"pending,omitempty"`
	// ClockSet: the device's clock was off and the daemon set it.
	ClockSet bool `json:"clock_set,omitempty"`
}

// simReading serves POST /api/sim/reading: a reading injected through the
// path a device's values take.
func (v *vitalsPart) simReading(w http.ResponseWriter, r *http.Request) {
	if !httpapi.JSONBody(r.Header.Get("Content-Type")) {
		httpapi.WriteError(w, http.StatusUnsupportedMediaType, "body must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSimBody))
	if err != nil {
		httpapi.WriteError(w, http.StatusRequestEntityTooLarge, "body is too large")
		return
	}
	now := v.clock.Now()
	in, err := parseSimReading(body, now)
	if err != nil {
		httpapi.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	rs := in.readings
	var res simReadingResult
	if in.payload != nil {
		dev := in.payload.Device
		if in.clockOffset != nil {
			// The simulated device's clock, read as on a connection.
			zone := v.asm.Zone
			if zone == nil {
				zone = time.UTC
			}
			shows := now.Add(*in.clockOffset).In(zone)
			if set := v.Clock(ble.Payload{Device: dev, Char: gatt.CurrentTime, Data: gatt.CurrentTimeValue(shows)}); set != nil {
				v.ClockSet(dev, nil)
				res.ClockSet = true
			}
		}
		var decodeErr error
		rs, decodeErr = v.asm.Add(*in.payload, now)
		if decodeErr != nil {
			// A measurement it released (one waiting for its context) is
			// still stored, as from a device.
			v.ingest(rs, v.reception(dev, now))
			httpapi.WriteError(w, http.StatusBadRequest, decodeErr.Error())
			return
		}
		res.Pending = v.asm.Pending(dev)
	}
	var device string
	if len(rs) > 0 {
		device = rs[0].Device
	}
	res.Stored, res.Alerts, err = v.mon.Ingest(r.Context(), rs, v.reception(device, now))
	if len(res.Stored) > 0 {
		v.stored()
	}
	if err != nil {
		v.log.Error("vitals: sim reading", "err", err)
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
