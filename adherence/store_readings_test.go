package adherence

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

const cuff = "A4:C1:38:00:00:01"

func reading(q vital.Quantity, v float64, at time.Time) vital.Reading {
	return vital.Reading{Device: cuff, Quantity: q, Value: v, Unit: q.Unit(), Time: at,
		Original: strconv.FormatFloat(v, 'f', -1, 64)}
}

func TestReadingsRoundTrip(t *testing.T) {
	bothStores(t, func(t *testing.T, s *Store) {
		in := []vital.Reading{
			{Device: cuff, Quantity: vital.Systolic, Value: 120.5, Unit: "mm[Hg]", Original: "16.1 kPa",
				Time: t0.Add(1500 * time.Microsecond), DeviceTime: true,
				Unreliable: []string{"body movement"}, Context: map[string]string{"user_id": "1"}},
			{Device: "meter", Quantity: vital.Glucose, Unit: "mg/dL", Time: t0.In(time.FixedZone("x", 3600)),
				Absent: "NaN (not a number)", Value: 99}, // Value is dropped when Absent
		}
		got, err := s.AppendReadings(t.Context(), in...)
		if err != nil {
			t.Fatalf("AppendReadings: %v", err)
		}
		want := []vital.Reading{in[0], in[1]}
		want[0].Time = t0.Add(time.Millisecond)
		want[1].Time, want[1].Value = t0, 0
		for i := range want {
			want[i].Seq = int64(i + 1)
			if !hexID.MatchString(got[i].ID) {
				t.Errorf("reading %d ID = %q, want 32 hex digits", i, got[i].ID)
			}
			want[i].ID = got[i].ID
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("AppendReadings =\n%+v\nwant\n%+v", got, want)
		}
		back, err := s.ReadingsSince(t.Context(), 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, want) {
			t.Errorf("ReadingsSince(0) =\n%+v\nwant\n%+v", back, want)
		}
		if rs, _ := s.ReadingsSince(t.Context(), 1, 10); len(rs) != 1 || rs[0].Seq != 2 {
			t.Errorf("ReadingsSince(1) = %+v, want reading 2 only", rs)
		}
		if rs, _ := s.ReadingsSince(t.Context(), 0, 1); len(rs) != 1 || rs[0].Seq != 1 {
			t.Errorf("ReadingsSince(0, limit 1) = %+v, want reading 1 only", rs)
		}
		if _, err := s.ReadingsSince(t.Context(), 0, 0); err == nil {
			t.Errorf("ReadingsSince(limit 0): no error")
		}
	})
}

func TestAppendReadingsRejects(t *testing.T) {
	ok := reading(vital.Pulse, 70, t0)
	tests := []struct {
		name string
		edit func(r *vital.Reading)
		want string
	}{
		{"no device", func(r *vital.Reading) { r.Device = "" }, "no device"},
		{"unknown quantity", func(r *vital.Reading) { r.Quantity = "mood" }, "unknown quantity"},
		{"wrong unit", func(r *vital.Reading) { r.Unit = "bpm" }, `unit "bpm"`},
		{"no time", func(r *vital.Reading) { r.Time = time.Time{} }, "no time"},
		{"NaN value", func(r *vital.Reading) { r.Value = math.NaN() }, "finite"},
		{"infinite value", func(r *vital.Reading) { r.Value = math.Inf(1) }, "finite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newMemStore(t)
			bad := ok
			tt.edit(&bad)
			_, err := s.AppendReadings(t.Context(), ok, bad)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "reading 1") {
				t.Errorf("AppendReadings(%s) error = %v, want one naming reading 1 and %q", tt.name, err, tt.want)
			}
			if rs, _ := s.ReadingsSince(t.Context(), 0, 10); len(rs) != 0 {
				t.Errorf("after a rejected batch the store holds %d readings, want 0", len(rs))
			}
		})
	}
}

func TestAppendReadingsDedupe(t *testing.T) {
	glucose := func(seq string, v float64, at time.Time) vital.Reading {
		return vital.Reading{Device: "meter", Quantity: vital.Glucose, Value: v, Unit: "mg/dL",
			Original: "x", Time: at, DeviceTime: true, Context: map[string]string{"sequence": seq}}
	}
	arrival := reading(vital.Pulse, 70, t0) // timed on arrival
	stamped := reading(vital.Weight, 80, t0)
	stamped.DeviceTime = true
	tests := []struct {
		name   string
		first  []vital.Reading
		second []vital.Reading
		stored int // of second
	}{
		{"same record again", []vital.Reading{glucose("7", 95, t0)}, []vital.Reading{glucose("7", 95, t0)}, 0},
		{"next record", []vital.Reading{glucose("7", 95, t0)}, []vital.Reading{glucose("8", 95, t0)}, 1},
		{"meter reset: same number, other time", []vital.Reading{glucose("7", 95, t0)}, []vital.Reading{glucose("7", 95, t0.Add(time.Hour))}, 1},
		{"timed on arrival is always new", []vital.Reading{arrival}, []vital.Reading{arrival}, 1},
		{"stamped replay of the same value", []vital.Reading{stamped}, []vital.Reading{stamped}, 0},
		{"repeat inside one batch", nil, []vital.Reading{glucose("9", 95, t0), glucose("9", 95, t0)}, 1},
		{"other device, same record", []vital.Reading{glucose("7", 95, t0)},
			[]vital.Reading{func() vital.Reading { r := glucose("7", 95, t0); r.Device = "meter2"; return r }()}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newMemStore(t)
			if _, err := s.AppendReadings(t.Context(), tt.first...); err != nil {
				t.Fatal(err)
			}
			got, err := s.AppendReadings(t.Context(), tt.second...)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.stored {
				t.Errorf("second AppendReadings stored %d, want %d", len(got), tt.stored)
			}
			all, _ := s.ReadingsSince(t.Context(), 0, 100)
			if len(all) != len(tt.first)+tt.stored {
				t.Errorf("store holds %d readings, want %d", len(all), len(tt.first)+tt.stored)
			}
		})
	}
}

func TestReadingsBetweenAndLast(t *testing.T) {
	s := newMemStore(t)
	other := reading(vital.Systolic, 150, t0.Add(30*time.Minute))
	other.Device = "cuff2"
	if _, err := s.AppendReadings(t.Context(),
		reading(vital.Systolic, 130, t0.Add(time.Hour)),
		reading(vital.Diastolic, 80, t0.Add(time.Hour)),
		reading(vital.Systolic, 120, t0),
		other,
	); err != nil {
		t.Fatal(err)
	}
	rs, err := s.ReadingsBetween(t.Context(), vital.Systolic, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var vals []float64
	for _, r := range rs {
		vals = append(vals, r.Value)
	}
	if want := []float64{120, 150}; !reflect.DeepEqual(vals, want) {
		t.Errorf("ReadingsBetween(systolic, [t0, t0+1h)) values = %v, want %v (time order, end excluded)", vals, want)
	}

	tests := []struct {
		device string
		q      vital.Quantity
		ok     bool
		want   float64
	}{
		{cuff, "", true, 120},
		{cuff, vital.Diastolic, true, 80},
		{cuff, vital.Glucose, false, 0},
		{"cuff2", "", true, 150},
		{"nobody", "", false, 0},
	}
	for _, tt := range tests {
		r, ok, err := s.LastReading(t.Context(), tt.device, tt.q)
		if err != nil || ok != tt.ok || r.Value != tt.want {
			t.Errorf("LastReading(%s, %q) = %v, %v, %v; want %v, %v", tt.device, tt.q, r.Value, ok, err, tt.want, tt.ok)
		}
	}
}

func TestReadingsAreAppendOnly(t *testing.T) {
	s := newMemStore(t)
	if _, err := s.AppendReadings(t.Context(), reading(vital.Pulse, 60, t0)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE readings SET value = 1`, `DELETE FROM readings`} {
		if _, err := s.w.ExecContext(t.Context(), q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: error = %v, want append-only", q, err)
		}
	}
}

func BenchmarkAppendReadings(b *testing.B) {
	s, _ := newFileStore(b)
	// One blood pressure measurement: systolic, diastolic, mean, pulse.
	batch := []vital.Reading{
		reading(vital.Systolic, 120, t0), reading(vital.Diastolic, 80, t0),
		reading(vital.MeanArterial, 93, t0), reading(vital.Pulse, 70, t0),
	}
	for b.Loop() {
		if _, err := s.AppendReadings(b.Context(), batch...); err != nil {
			b.Fatal(err)
		}
	}
}
