package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
	fhirvalidate "github.com/pillbox/pillbox/tools/fhir-validate"
)

// qualityReport is a report whose readings carry each data-quality flag:
// an implausible glucose (30 kg/L sent with exponent 0), a faulty one, a
// control-solution test, a temperature whose time was corrected from a
// clock 3 days late and that was sent twice more, and a sound glucose.
func qualityReport(t testing.TB) *Report {
	t.Helper()
	meter := "A4:C1:38:00:00:01"
	at := func(s string, q vital.Quantity, v float64, orig string, flags ...vital.FlagCode) vital.Reading {
		r := vitalReading(s, q, v)
		r.Device, r.DeviceTime, r.Original = meter, true, orig
		r.ID = "r-" + string(q) + "-" + strings.NewReplacer(" ", "T", ":", "").Replace(s)
		for _, f := range flags {
			r.Flag(f, "because "+string(f))
		}
		return r
	}
	corrected := at("2026-03-07 07:00", vital.Temperature, 37.1, "37.1 °C", vital.ClockCorrected)
	corrected.DeviceClock = corrected.Time.Add(-72 * time.Hour)
	corrected.Repeats = 2
	setup := fixtureSetup
	setup.Meters = []Meter{{Address: meter, Kind: "glucose", Name: "meter"}}
	return Build(Input{
		Subject: Subject{ID: "pt_0123456789abcdef0123", Name: "Ann Patient"},
		Setup:   setup, Events: week(),
		Readings: []vital.Reading{
			at("2026-03-06 07:00", vital.Glucose, 3e6, "30 kg/L", vital.Implausible),
			at("2026-03-06 08:00", vital.Glucose, 95, "0.00095 kg/L", vital.DeviceFault),
			at("2026-03-06 09:00", vital.Glucose, 120, "0.0012 kg/L", vital.ControlSolution),
			corrected,
			at("2026-03-07 12:00", vital.Glucose, 140, "0.0014 kg/L"),
		},
		From: local("2026-03-06 00:00"), To: local("2026-03-13 00:00"), Generated: local("2026-03-12 21:00"),
	})
}

// TestReportLeavesFlaggedValuesOut: an excluded reading is counted, not
// used; in the CSV it has no value; in FHIR it has a data-absent reason
// instead of a value, and its device.
func TestReportLeavesFlaggedValuesOut(t *testing.T) {
	r := qualityReport(t)
	var g VitalStats
	for _, s := range r.Vitals {
		if s.Quantity == vital.Glucose {
			g = s
		}
	}
	if g.Readings != 4 || g.Excluded != 3 || g.Values != 1 || g.Max != 140 || g.Min != 140 {
		t.Errorf("glucose stats = %+v, want 4 readings, 3 excluded, the one value 140", g)
	}

	var csvOut bytes.Buffer
	if err := r.WriteReadingsCSV(&csvOut); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&csvOut).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	want := map[string][5]string{ // value, flags, device clock, repeats, original
		"r-glucose-2026-03-06T0700":     {"", "implausible", "", "0", "30 kg/L"},
		"r-glucose-2026-03-06T0900":     {"", "control_solution", "", "0", "0.0012 kg/L"},
		"r-temperature-2026-03-07T0700": {"37.1", "clock_corrected", "2026-03-04T12:00:00Z", "2", "37.1 °C"},
		"r-glucose-2026-03-07T1200":     {"140", "", "", "0", "0.0014 kg/L"},
	}
	for _, row := range rows[1:] {
		w, ok := want[row[col["reading_id"]]]
		if !ok {
			continue
		}
		got := [5]string{row[col["value"]], row[col["flags"]], row[col["device_clock_utc"]], row[col["repeats"]], row[col["original"]]}
		if got != w {
			t.Errorf("CSV row %s = %q, want %q", row[0], got, w)
		}
		delete(want, row[0])
	}
	if len(want) > 0 {
		t.Errorf("CSV lacks rows %v", want)
	}

	var buf bytes.Buffer
	if err := r.WriteFHIR(&buf); err != nil {
		t.Fatal(err)
	}
	if ok, out := fhirvalidate.Run(t, buf.Bytes()); !ok {
		t.Fatalf("the FHIR bundle does not validate:\n%s", out)
	}
	var b struct {
		Entry []struct {
			Resource struct {
				ResourceType     string           `json:"resourceType"`
				Identifier       []fhirIdentifier `json:"identifier"`
				ValueQuantity    *fhirQuantity    `json:"valueQuantity"`
				DataAbsentReason *fhirConcept     `json:"dataAbsentReason"`
				Interpretation   []fhirConcept    `json:"interpretation"`
				Device           *fhirRef         `json:"device"`
				Note             []fhirAnnotation `json:"note"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range b.Entry {
		o := e.Resource
		if o.ResourceType != "Observation" || len(o.Identifier) == 0 {
			continue
		}
		id := o.Identifier[0].Value
		seen[id] = true
		absent := ""
		if o.DataAbsentReason != nil {
			absent = o.DataAbsentReason.Coding[0].Code + ": " + o.DataAbsentReason.Text
		}
		switch id {
		case "r-glucose-2026-03-06T0700", "r-glucose-2026-03-06T0800":
			if o.ValueQuantity != nil || o.Interpretation != nil || !strings.HasPrefix(absent, "error: because ") || o.Device == nil {
				t.Errorf("excluded %s: value %v, interpretation %v, absent %q, device %v; want no value, error with the reason, the device",
					id, o.ValueQuantity, o.Interpretation, absent, o.Device)
			}
		case "r-glucose-2026-03-06T0900":
			if o.ValueQuantity != nil || absent != "not-performed: because control_solution" {
				t.Errorf("control test: value %v, absent %q; want no value, not-performed", o.ValueQuantity, absent)
			}
		case "r-temperature-2026-03-07T0700":
			notes := ""
			for _, n := range o.Note {
				notes += n.Text + " "
			}
			if o.ValueQuantity == nil || !strings.Contains(notes, "Time corrected: the device's clock was off and stamped it 2026-03-04T12:00:00Z.") ||
				!strings.Contains(notes, "The device sent it 2 more times") {
				t.Errorf("corrected temperature: value %v, notes %q; want its value and notes on the clock and the repeats", o.ValueQuantity, notes)
			}
		case "r-glucose-2026-03-07T1200":
			if o.ValueQuantity == nil || o.Interpretation == nil {
				t.Errorf("sound glucose: value %v, interpretation %v; want both", o.ValueQuantity, o.Interpretation)
			}
		}
	}
	if len(seen) != 5 {
		t.Errorf("Observations of readings: %v, want all 5", seen)
	}
}
