package uplink

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const goodBatch = `{"version":1,"device":"dv_1","log":"abc","heartbeat":{"time":"2026-03-02T09:00:00Z","uptime_s":5,"last_seq":2,"last_reading_seq":0,"software":"dev"},
"events":[{"seq":1,"id":"e1","time":"2026-03-02T08:00:00Z","kind":"dose_due","dose_id":"d1","scheduled":"2026-03-02T08:00:00Z","medication":"m","compartment":1},
{"seq":2,"id":"e2","time":"2026-03-02T08:01:00Z","kind":"taken","detail":"x"}],
"readings":[{"seq":1,"id":"r1","quantity":"pulse","value":72,"unit":"/min","time":"2026-03-02T08:00:00Z","device_time":true,"context":{"k":"v"}}]}`

func TestDecodeBatch(t *testing.T) {
	b, err := DecodeBatch([]byte(goodBatch))
	if err != nil {
		t.Fatalf("DecodeBatch(good) = %v", err)
	}
	if len(b.Events) != 2 || b.Events[1].Kind != "taken" || len(b.Readings) != 1 || b.Readings[0].Value != 72 {
		t.Errorf("DecodeBatch(good) = %+v, want 2 events and a pulse reading", b)
	}
	tests := []struct {
		name, from, to, want string
	}{
		{"unknown field", `"version":1,`, `"version":1,"extra":1,`, `unknown field "extra"`},
		{"unknown event field", `"kind":"taken"`, `"kind":"taken","color":"red"`, `unknown field "color"`},
		{"wrong version", `"version":1`, `"version":2`, "version 2, want 1"},
		{"no version", `"version":1,`, ``, "version 0, want 1"},
		{"no device", `"device":"dv_1"`, `"device":""`, "device: missing"},
		{"bad device", `"device":"dv_1"`, `"device":"dv 1"`, "device: want letters"},
		{"seq zero", `"seq":1,"id":"e1"`, `"seq":0,"id":"e1"`, "events[0]: seq: 0 after 0"},
		{"seq not increasing", `"seq":2,"id":"e2"`, `"seq":1,"id":"e2"`, "events[1]: seq: 1 after 1"},
		{"no event id", `"id":"e2"`, `"id":""`, "events[1]: id: missing"},
		{"no time", `"time":"2026-03-02T08:01:00Z"`, `"time":"0001-01-01T00:00:00Z"`, "events[1]: time: missing"},
		{"time far off", `"time":"2026-03-02T08:01:00Z"`, `"time":"2999-01-01T00:00:00Z"`, "outside the years"},
		{"bad kind", `"kind":"taken"`, `"kind":"Taken!"`, "kind: want lower-case"},
		{"negative compartment", `"compartment":1`, `"compartment":-1`, "compartment"},
		{"long detail", `"detail":"x"`, `"detail":"` + strings.Repeat("x", 3000) + `"`, "detail: longer than"},
		{"string seq", `"seq":2,`, `"seq":"2",`, "events.seq: wrong type"},
		{"reading without unit", `"unit":"/min"`, `"unit":""`, "readings[0]: unit: missing"},
		{"trailing data", `"context":{"k":"v"}}]}`, `"context":{"k":"v"}}]} {}`, "data after the JSON object"},
		{"not JSON", `{"version":1`, `{"version":1 x`, "JSON syntax error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(goodBatch, tc.from, tc.to, 1)
			if in == goodBatch {
				t.Fatalf("replacement %q not found", tc.from)
			}
			_, err := DecodeBatch([]byte(in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeBatch = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		if _, err := DecodeBatch(nil); err == nil || !strings.Contains(err.Error(), "empty body") {
			t.Errorf("DecodeBatch(nil) = %v, want empty body", err)
		}
	})
	t.Run("too many events", func(t *testing.T) {
		b := Batch{Version: Version, Device: "d", Log: "l"}
		for i := range MaxEvents + 1 {
			b.Events = append(b.Events, Event{Seq: int64(i + 1), ID: "e", Time: t0, Kind: "button"})
		}
		j, _ := json.Marshal(b)
		if _, err := DecodeBatch(j); err == nil || !strings.Contains(err.Error(), "at most 1000") {
			t.Errorf("DecodeBatch(1001 events) = %v, want at most 1000", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		if _, err := DecodeBatch(make([]byte, MaxBatchBytes+1)); !errors.Is(err, ErrTooLarge) {
			t.Errorf("DecodeBatch(2 MiB + 1) = %v, want ErrTooLarge", err)
		}
	})
}

func TestEventRoundTrip(t *testing.T) {
	ev := dispenser.Event{Seq: 7, ID: "x", Time: t0, Kind: dispenser.KindTaken, DoseID: "d", Scheduled: t0,
		Medication: "m", Compartment: 2, Detail: "z"}
	if got := FromEvent(ev).Domain(); got != ev {
		t.Errorf("FromEvent(%+v).Domain() = %+v", ev, got)
	}
	r := vital.Reading{Seq: 1, ID: "r", Device: "aa", Quantity: vital.Pulse, Value: 60, Unit: "/min", Time: t0}
	if got := FromReading(r).Domain(); got.ID != r.ID || got.Value != r.Value || got.Quantity != r.Quantity {
		t.Errorf("FromReading(%+v).Domain() = %+v", r, got)
	}
}

// FuzzDecodeBatch: any input gives a batch that passes Validate, or an
// error; never a panic. An accepted batch encodes and decodes to itself.
func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte(goodBatch))
	f.Add([]byte(`{"version":1,"device":"d","log":"l","heartbeat":{},"events":[],"readings":[]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBatch(data)
		if err != nil {
			if b != nil {
				t.Fatalf("DecodeBatch returned a batch and error %v", err)
			}
			return
		}
		if err := b.Validate(); err != nil {
			t.Fatalf("accepted batch does not validate: %v", err)
		}
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("accepted batch does not encode: %v", err)
		}
		if _, err := DecodeBatch(j); err != nil && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("re-encoded batch is refused: %v\n%s", err, j)
		}
	})
}
