package uplink

import (
	"encoding/json"
	"errors"
	"slices"
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
	// Faults of the batch itself refuse it whole.
	tests := []struct {
		name, from, to, want string
	}{
		{"unknown field", `"version":1,`, `"version":1,"extra":1,`, `unknown field "extra"`},
		{"wrong version", `"version":1`, `"version":2`, "version 2, want 1"},
		{"no version", `"version":1,`, ``, "version 0, want 1"},
		{"no device", `"device":"dv_1"`, `"device":""`, "device: missing"},
		{"bad device", `"device":"dv_1"`, `"device":"dv 1"`, "device: want letters"},
		{"negative uptime", `"uptime_s":5`, `"uptime_s":-5`, "must not be negative"},
		{"unknown heartbeat field", `"software":"dev"`, `"software":"dev","mood":"ok"`, `unknown field "mood"`},
		{"events not a list", `"log":"abc",`, `"log":"abc","events":7,`, "events: wrong type"},
		{"trailing data", `"context":{"k":"v"}}]}`, `"context":{"k":"v"}}]} {}`, "data after the JSON object"},
		{"not JSON", `{"version":1`, `{"version":1 x`, "JSON syntax error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := DecodeBatch(goodWith(t, tc.from, tc.to))
			if err == nil || b != nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeBatch = %v, %v; want no batch and an error containing %q", b, err, tc.want)
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
		Medication: "m", Compartment: 2, Detail: "z", ClockUntrusted: true}
	if got := FromEvent(ev).Domain(); got != ev {
		t.Errorf("FromEvent(%+v).Domain() = %+v", ev, got)
	}
	r := vital.Reading{Seq: 1, ID: "r", Device: "aa", Quantity: vital.Pulse, Value: 60, Unit: "/min", Time: t0}
	if got := FromReading(r).Domain(); got.ID != r.ID || got.Value != r.Value || got.Quantity != r.Quantity {
		t.Errorf("FromReading(%+v).Domain() = %+v", r, got)
	}
}

// goodWith is goodBatch with from replaced by to.
func goodWith(t *testing.T, from, to string) []byte {
	t.Helper()
	in := strings.Replace(goodBatch, from, to, 1)
	if in == goodBatch {
		t.Fatalf("replacement %q not found", from)
	}
	return []byte(in)
}

// TestDecodeBatchSetsAside: one malformed event, reading or profile is
// taken out of the batch with the reason, and the rest of the batch
// stands. An item whose seq is still readable and after the previous one
// keeps its place, so the server can acknowledge past it.
func TestDecodeBatchSetsAside(t *testing.T) {
	tests := []struct {
		name, from, to string
		events         []int64 // seqs kept
		readings       int
		want           SetAside // Raw is checked to be non-empty only
	}{
		{"unknown event field", `"kind":"taken"`, `"kind":"taken","color":"red"`, []int64{1}, 1,
			SetAside{What: "event", Index: 1, Seq: 2, ID: "e2", Reason: `unknown field "color"`}},
		{"seq zero", `"seq":1,"id":"e1"`, `"seq":0,"id":"e1"`, []int64{2}, 1,
			SetAside{What: "event", Index: 0, ID: "e1", Reason: "seq: 0 after 0"}},
		{"seq not increasing", `"seq":2,"id":"e2"`, `"seq":1,"id":"e2"`, []int64{1}, 1,
			SetAside{What: "event", Index: 1, ID: "e2", Reason: "seq: 1 after 1"}},
		{"no event id", `"id":"e2"`, `"id":""`, []int64{1}, 1,
			SetAside{What: "event", Index: 1, Seq: 2, Reason: "id: missing"}},
		{"no time", `"time":"2026-03-02T08:01:00Z"`, `"time":"0001-01-01T00:00:00Z"`, []int64{1}, 1,
			SetAside{What: "event", Index: 1, Seq: 2, ID: "e2", Reason: "time: missing"}},
		{"bad kind", `"kind":"taken"`, `"kind":"Taken!"`, []int64{1}, 1,
			SetAside{What: "event", Index: 1, Seq: 2, ID: "e2", Reason: "kind: want lower-case"}},
		{"negative compartment", `"compartment":1`, `"compartment":-1`, []int64{2}, 1,
			SetAside{What: "event", Index: 0, Seq: 1, ID: "e1", Reason: "compartment: must be between 0 and 1000"}},
		{"long detail", `"detail":"x"`, `"detail":"` + strings.Repeat("x", 3000) + `"`, []int64{1}, 1,
			SetAside{What: "event", Index: 1, Seq: 2, ID: "e2", Reason: "detail: longer than"}},
		{"string seq", `"seq":2,`, `"seq":"2",`, []int64{1}, 1,
			SetAside{What: "event", Index: 1, ID: "e2", Reason: "seq: wrong type"}},
		{"event not an object", `{"seq":2,"id":"e2","time":"2026-03-02T08:01:00Z","kind":"taken","detail":"x"}`, `"taken"`, []int64{1}, 1,
			SetAside{What: "event", Index: 1, Reason: "wrong type"}},
		{"reading without unit", `"unit":"/min"`, `"unit":""`, []int64{1, 2}, 0,
			SetAside{What: "reading", Index: 0, Seq: 1, ID: "r1", Reason: "unit: missing"}},
		{"reading in 1970", `"time":"2026-03-02T08:00:00Z","device_time"`, `"time":"1970-01-01T00:05:00Z","device_time"`, []int64{1, 2}, 0,
			SetAside{What: "reading", Index: 0, Seq: 1, ID: "r1", Reason: "time: outside the years 2000-2199"}},
		{"profile that does not read", `"software":"dev"`, `"software":"dev","profile":{"version":1,"timezone":7}`, []int64{1, 2}, 1,
			SetAside{What: "profile", Reason: "timezone: wrong type"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := DecodeBatch(goodWith(t, tc.from, tc.to))
			if err != nil {
				t.Fatalf("DecodeBatch = %v, want the batch without the bad item", err)
			}
			var seqs []int64
			for _, e := range b.Events {
				seqs = append(seqs, e.Seq)
			}
			if !slices.Equal(seqs, tc.events) || len(b.Readings) != tc.readings {
				t.Errorf("DecodeBatch kept events %v and %d readings, want %v and %d", seqs, len(b.Readings), tc.events, tc.readings)
			}
			if len(b.SetAside) != 1 {
				t.Fatalf("DecodeBatch set aside %+v, want one item", b.SetAside)
			}
			got := b.SetAside[0]
			if got.What != tc.want.What || got.Index != tc.want.Index || got.Seq != tc.want.Seq || got.ID != tc.want.ID ||
				!strings.Contains(got.Reason, tc.want.Reason) || len(got.Raw) == 0 {
				t.Errorf("set aside %+v, want %+v with raw bytes", got, tc.want)
			}
			if err := b.Validate(); err != nil {
				t.Errorf("what DecodeBatch kept does not validate: %v", err)
			}
		})
	}
	t.Run("events before clock trust and far off", func(t *testing.T) {
		in := strings.Replace(goodBatch, `"time":"2026-03-02T08:00:00Z","kind":"dose_due"`, `"time":"1970-01-01T00:05:00Z","kind":"dose_due","clock_untrusted":true`, 1)
		in = strings.Replace(in, `"time":"2026-03-02T08:01:00Z"`, `"time":"2199-12-31T00:00:00Z"`, 1)
		b, err := DecodeBatch([]byte(in))
		if err != nil || len(b.Events) != 2 || len(b.SetAside) != 0 {
			t.Fatalf("DecodeBatch = %+v, %v; want both events kept: the server judges their times", b, err)
		}
		if !b.Events[0].ClockUntrusted || b.Events[1].ClockUntrusted {
			t.Errorf("clock_untrusted = %v, %v; want true, false", b.Events[0].ClockUntrusted, b.Events[1].ClockUntrusted)
		}
	})
	t.Run("heartbeat in 1970", func(t *testing.T) {
		in := strings.Replace(goodBatch, `"time":"2026-03-02T09:00:00Z"`, `"time":"1970-01-01T00:06:00Z"`, 1)
		if _, err := DecodeBatch([]byte(in)); err != nil {
			t.Errorf("DecodeBatch(heartbeat at 1970) = %v, want it taken", err)
		}
	})
}

// FuzzDecodeBatch: any input gives a batch that passes Validate, or an
// error; never a panic. An accepted batch encodes and decodes to itself,
// and a reading's quality part of another version keeps it out of the
// patient's values.
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
		// Every item is either kept or set aside, and set-aside places
		// never go back.
		var lists struct{ Events, Readings []json.RawMessage }
		json.Unmarshal(data, &lists)
		n := map[string]int{"event": len(b.Events), "reading": len(b.Readings)}
		last := map[string]int64{}
		for _, sa := range b.SetAside {
			n[sa.What]++
			if sa.Seq != 0 && sa.Seq <= last[sa.What] || len(sa.Raw) > MaxSetAsideBytes || sa.Reason == "" {
				t.Fatalf("set aside %+v after seq %d", sa, last[sa.What])
			}
			last[sa.What] = max(last[sa.What], sa.Seq)
		}
		if n["event"] != len(lists.Events) || n["reading"] != len(lists.Readings) {
			t.Fatalf("kept and set aside %v, want %d events and %d readings", n, len(lists.Events), len(lists.Readings))
		}
		// A quality part this version cannot read never lets the value
		// count as the patient's.
		for _, r := range b.Readings {
			if q := r.Quality; q != nil && q.Version != QualityVersion && r.Domain().Clinical() {
				t.Fatalf("reading %d with quality version %d counts as a patient value", r.Seq, q.Version)
			}
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

// TestReadingQualityOnTheWire: a reading's quality travels in its own
// part, omitted when there is nothing to say; the part is read leniently,
// and one of another version keeps the reading out of the patient's
// values instead of setting it aside.
func TestReadingQualityOnTheWire(t *testing.T) {
	r := vital.Reading{Seq: 1, ID: "r1", Device: "meter", Quantity: vital.Glucose, Value: 3e6, Unit: "mg/dL", Time: t0,
		DeviceTime: true, DeviceClock: t0.Add(-72 * time.Hour), Repeats: 2,
		Flags: []vital.Flag{{Code: vital.Implausible, Reason: "glucose 3000000 mg/dL is outside the plausible 10-1000 mg/dL"},
			{Code: vital.ClockCorrected, Reason: "3 days behind"}}}
	w := FromReading(r)
	back := w.Domain()
	if !slices.Equal(back.Flags, r.Flags) || !back.DeviceClock.Equal(r.DeviceClock) || back.Repeats != 2 {
		t.Errorf("FromReading(%+v).Domain() = %+v", r, back)
	}
	plain := FromReading(vital.Reading{Seq: 2, ID: "r2", Quantity: vital.Pulse, Value: 60, Unit: "/min", Time: t0})
	if j, _ := json.Marshal(plain); strings.Contains(string(j), "quality") {
		t.Errorf("an unflagged reading on the wire: %s, want no quality part", j)
	}
	j, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	const want = `"quality":{"version":1,"flags":[{"code":"implausible","reason":"glucose 3000000 mg/dL is outside the plausible 10-1000 mg/dL"},{"code":"clock_corrected","reason":"3 days behind"}],"device_clock":"2026-02-27T09:00:00Z","repeats":2}`
	if !strings.Contains(string(j), want) {
		t.Errorf("json.Marshal = %s, want it to hold %s", j, want)
	}

	reading := func(quality string) string {
		return `{"seq":1,"id":"r1","quantity":"glucose","value":95,"unit":"mg/dL","time":"2026-03-02T08:00:00Z","device_time":true,"quality":` + quality + `}`
	}
	tests := []struct {
		name    string
		quality string
		flags   []vital.FlagCode // of the reading kept
		aside   string           // the reason it was set aside instead
	}{
		{"version 1", `{"version":1,"flags":[{"code":"control_solution","reason":"a meter check"}],"repeats":1}`,
			[]vital.FlagCode{vital.ControlSolution}, ""},
		{"a field this version does not know", `{"version":1,"flags":[{"code":"implausible","reason":"x"}],"source":"racp"}`,
			[]vital.FlagCode{vital.Implausible}, ""},
		{"a flag this version does not know", `{"version":1,"flags":[{"code":"sensor_expired","reason":"x"}]}`,
			[]vital.FlagCode{"sensor_expired"}, ""},
		{"another version", `{"version":2,"verdict":{"kind":"implausible"}}`, []vital.FlagCode{QualityUnread}, ""},
		{"not an object", `7`, nil, "quality: wrong type"},
		{"negative repeats", `{"version":1,"repeats":-1}`, nil, "repeats must not be negative"},
		{"bad code", `{"version":1,"flags":[{"code":"Bad Code","reason":"x"}]}`, nil, "flag code"},
		{"device clock in 1970", `{"version":1,"device_clock":"1970-01-01T00:00:00Z"}`, nil, "device_clock: outside"},
		{"too many flags", `{"version":1,"flags":[` + strings.TrimSuffix(strings.Repeat(`{"code":"x","reason":""},`, maxListLen+1), ",") + `]}`, nil, "at most 32 flags"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(goodBatch, `"readings":[{"seq":1,"id":"r1","quantity":"pulse","value":72,"unit":"/min","time":"2026-03-02T08:00:00Z","device_time":true,"context":{"k":"v"}}]`,
				`"readings":[`+reading(tc.quality)+`]`, 1)
			b, err := DecodeBatch([]byte(in))
			if err != nil {
				t.Fatalf("DecodeBatch = %v, want the batch", err)
			}
			if tc.aside != "" {
				if len(b.SetAside) != 1 || !strings.Contains(b.SetAside[0].Reason, tc.aside) {
					t.Errorf("set aside %+v, want the reading with %q", b.SetAside, tc.aside)
				}
				return
			}
			if len(b.Readings) != 1 || len(b.SetAside) != 0 {
				t.Fatalf("DecodeBatch kept %d readings, set aside %+v; want the reading kept", len(b.Readings), b.SetAside)
			}
			d := b.Readings[0].Domain()
			var got []vital.FlagCode
			for _, f := range d.Flags {
				got = append(got, f.Code)
			}
			if !slices.Equal(got, tc.flags) || !d.Excluded() == (tc.flags != nil) {
				t.Errorf("flags %v (excluded %v), want %v", got, d.Excluded(), tc.flags)
			}
		})
	}
}
