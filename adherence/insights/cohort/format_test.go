package cohort

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func writeCohort(t testing.TB, seed uint64, ps []Patient) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Seed: seed, Patients: len(ps), Params: DefaultParams})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		if err := w.Write(&ps[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	var ps []Patient
	for i := range 4 {
		ps = append(ps, Generate(DefaultParams, 11, i))
	}
	var got []Patient
	h, err := Read(bytes.NewReader(writeCohort(t, 11, ps)), func(p *Patient) error {
		got = append(got, *p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if h.Seed != 11 || h.Patients != 4 || h.Params != DefaultParams {
		t.Errorf("header = seed %d, %d patients, params equal %v; want seed 11, 4, true", h.Seed, h.Patients, h.Params == DefaultParams)
	}
	if len(got) != len(ps) {
		t.Fatalf("read %d patients, want %d", len(got), len(ps))
	}
	for i := range ps {
		// The zone is loaded again: compare it by name.
		want, g := ps[i], got[i]
		if want.Location.String() != g.Location.String() {
			t.Errorf("patient %d: zone %s, want %s", i, g.Location, want.Location)
		}
		want.Location, g.Location = nil, nil
		if !want.Start.Equal(g.Start) {
			t.Errorf("patient %d: start %v, want %v", i, g.Start, want.Start)
		}
		want.Start = g.Start
		if !reflect.DeepEqual(g, want) {
			t.Errorf("patient %d read back differs from what was written", i)
		}
	}
}

func TestReadRejects(t *testing.T) {
	head := `{"type":"cohort","version":1,"seed":1,"first":0,"patients":1,"params":{}}` + "\n"
	patient := `{"type":"patient","index":0,"id":"p0","zone":"Europe/London","start":"2025-03-01","days":10,"truth":{"skipper":false,"base_logit":0},"regimens":null}` + "\n"
	dose := func(s string) string {
		return head + patient + `{"type":"dose","id":"m@1","med":"m","at":"2025-03-01T08:00:00Z","opens":"2025-03-01T07:00:00Z","closes":"2025-03-01T09:00:00Z",` + s + "}\n"
	}
	for _, c := range []struct{ name, in, want string }{
		{"empty", "", "empty file"},
		{"not json", "hello\n", "line 1"},
		{"other type first", patient, "not a cohort file"},
		{"newer version", `{"type":"cohort","version":2}` + "\n", "format version 2"},
		{"unknown field", `{"type":"cohort","version":1,"extra":1}` + "\n", "unknown field"},
		{"record before patient", head + `{"type":"refill","at":"2025-03-01T08:00:00Z"}` + "\n", "before any patient"},
		{"bad zone", head + strings.Replace(patient, "Europe/London", "Mars/Olympus", 1), "zone"},
		{"bad start", head + strings.Replace(patient, "2025-03-01", "March", 1), "start"},
		{"unknown type", head + patient + `{"type":"pill"}` + "\n", "unknown line type"},
		{"bad outcome", dose(`"outcome":"eaten","settled":"2025-03-01T09:00:00Z","p":0`), "unknown outcome"},
		{"window", dose(`"outcome":"missed","settled":"2025-03-01T09:00:00Z","p":0`)[:0] + head + patient +
			`{"type":"dose","id":"x","med":"m","at":"2025-03-01T10:00:00Z","opens":"2025-03-01T07:00:00Z","closes":"2025-03-01T09:00:00Z","outcome":"missed","settled":"2025-03-01T09:00:00Z","p":0}` + "\n", "opens <= at < closes"},
		{"unsettled", dose(`"outcome":"missed","p":0`), "settled"},
		{"taken without time", dose(`"outcome":"taken","settled":"2025-03-01T08:10:00Z","p":0`), "taking time"},
		{"bad p", dose(`"outcome":"missed","settled":"2025-03-01T09:00:00Z","p":2`), "probability"},
		{"reading without unit", head + patient + `{"type":"reading","q":"weight","v":80,"unit":"","at":"2025-03-01T08:00:00Z"}` + "\n", "reading"},
		{"label order", head + patient + `{"type":"label","kind":"hf_decompensation","onset":"2025-03-05T00:00:00Z","at":"2025-03-01T00:00:00Z","size":1}` + "\n", "label"},
		{"two values", head + patient + `{"type":"refill","at":"2025-03-01T08:00:00Z"} {}` + "\n", "line 3"},
		{"long line", head + strings.Repeat(" ", MaxLine+1) + "\n", "longer than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(c.in), func(*Patient) error { return nil })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Read() error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestReadStopsOnCallbackError(t *testing.T) {
	ps := []Patient{Generate(DefaultParams, 1, 0), Generate(DefaultParams, 1, 1)}
	stop := errors.New("enough")
	calls := 0
	_, err := Read(bytes.NewReader(writeCohort(t, 1, ps)), func(*Patient) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Read() = %v after %d calls, want the callback's error after 1", err, calls)
	}
}

// FuzzRead: a cohort file is outside input (pillctl backtest --cohort
// reads one); whatever it holds, Read returns patients or an error, never
// panics, and what it accepts writes back to what reads the same.
func FuzzRead(f *testing.F) {
	f.Add(writeCohort(f, 1, []Patient{Generate(Params{Days: 3, HolidayMinDays: 1, HolidayMaxDays: 1, TravelMinDays: 1, TravelMaxDays: 1,
		DecompMinDays: 1, DecompMaxDays: 1, SupplyDays: 30, RefillEvery: 28, SkipRedrawDays: 90, PostDischargeDays: 10, WeightDriftDays: 60,
		HFShare: 1, HTNShare: 1, DMShare: 1, MeasureRate: 0.9, TimingSDMin: 5, TimingSDMax: 5, WeightNoiseKg: 0.5}, 1, 0)}))
	f.Add([]byte(`{"type":"cohort","version":1}` + "\n"))
	f.Add([]byte("{\"type\":\"cohort\",\"version\":1}\n{\"type\":\"patient\",\"index\":0,\"id\":\"p\",\"zone\":\"UTC\",\"start\":\"2025-01-01\",\"days\":1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ps []Patient
		h, err := Read(bytes.NewReader(data), func(p *Patient) error {
			ps = append(ps, *p)
			return nil
		})
		if err != nil {
			return
		}
		again := writeCohort(t, h.Seed, ps)
		var back []Patient
		if _, err := Read(bytes.NewReader(again), func(p *Patient) error {
			back = append(back, *p)
			return nil
		}); err != nil {
			t.Fatalf("what Read accepted does not read back: %v", err)
		}
		if len(back) != len(ps) {
			t.Fatalf("read back %d patients, want %d", len(back), len(ps))
		}
	})
}
