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
	// stored is told when new readings are in the store (the clinic sync
	// pushes them at once instead of at its next heartbeat).
	stored func()
}

// readingStore is what the API and the record transfer read.
type readingStore interface {
	ReadingsSince(ctx context.Context, seq int64, limit int) ([]vital.Reading, error)
	LastReading(ctx context.Context, device string, q vital.Quantity) (vital.Reading, bool, error)
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
		stored: func() {
			for _, f := range r.onReadings {
				f()
			}
		},
	}
	if err := v.mon.Start(ctx); err != nil {
		return err
	}
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
	if r.opts.sim {
		r.routes["POST /api/sim/reading"] = http.HandlerFunc(v.simReading)
	}
	return nil
}

// Payload is the transport's sink: decode, store, judge.
func (v *vitalsPart) Payload(p ble.Payload) {
	rs, err := v.asm.Add(p, v.clock.Now())
	if err != nil {
		// What failed to decode, not the bytes: they may hold a reading.
		v.log.Warn("vitals: a device sent a value that does not decode", "device", p.Device, "err", err)
	}
	v.ingest(rs)
}

// Disconnected releases a glucose measurement still waiting for a context
// that will not come.
func (v *vitalsPart) Disconnected(device string) { v.ingest(v.asm.Flush(device)) }

func (v *vitalsPart) ingest(rs []vital.Reading) {
	if len(rs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stored, _, err := v.mon.Ingest(ctx, rs)
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
// (conditions the device reported).
type simReadingBody struct {
	Device string `json:"device"`
	Char   string `json:"char"`
	Hex    string `json:"hex"`
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

// simInput is a checked simReadingBody: a payload, or readings.
type simInput struct {
	payload  *ble.Payload
	readings []vital.Reading
}

const maxSimBody = 64 << 10

// unitAliases are units people write for a quantity, and how to convert
// them to the canonical unit.
var unitAliases = map[vital.Quantity]map[string]func(float64) float64{
	vital.Systolic:     {"mmHg": same},
	vital.Diastolic:    {"mmHg": same},
	vital.MeanArterial: {"mmHg": same},
	vital.Pulse:        {"bpm": same, "beats/min": same},
	vital.Glucose:      {"mmol/L": func(v float64) float64 { return math.Round(v*18*10) / 10 }},
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
	case raw:
		if b.Time != "" || len(b.Unreliable) > 0 {
			return simInput{}, errors.New(`"time" and "unreliable" go with decoded values; a raw value carries its own`)
		}
		u, err := gatt.ParseUUID(b.Char)
		if err != nil {
			return simInput{}, fmt.Errorf("char: %v", err)
		}
		data, err := ble.ParseHex(b.Hex)
		if err != nil {
			return simInput{}, fmt.Errorf("hex: %v", err)
		}
		return simInput{payload: &ble.Payload{Device: b.Device, Char: uint16(u), Data: data}}, nil
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
		var decodeErr error
		rs, decodeErr = v.asm.Add(*in.payload, now)
		if decodeErr != nil {
			// A measurement it released (one waiting for its context) is
			// still stored, as from a device.
			v.ingest(rs)
			httpapi.WriteError(w, http.StatusBadRequest, decodeErr.Error())
			return
		}
		res.Pending = v.asm.Pending(in.payload.Device)
	}
	res.Stored, res.Alerts, err = v.mon.Ingest(r.Context(), rs)
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
