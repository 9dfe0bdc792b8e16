package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/hw/vital"
	fhirvalidate "github.com/pillbox/pillbox/tools/fhir-validate"
)

// weekReport is the fixture week as a report, with readings of every
// kind the FHIR export codes, special values and an unreliable one.
func weekReport(t testing.TB) *Report {
	t.Helper()
	cuff := "A4:C1:38:12:34:56"
	at := func(s string, q vital.Quantity, v float64) vital.Reading {
		r := vitalReading(s, q, v)
		r.Device, r.DeviceTime = cuff, true
		r.ID = "r-" + string(q) + "-" + strings.NewReplacer(" ", "T", ":", "").Replace(s)
		return r
	}
	nan := at("2026-03-07 07:00", vital.Glucose, 0)
	nan.Absent = "NaN (not a number)"
	moved := at("2026-03-07 07:30", vital.Systolic, 150)
	moved.Unreliable = []string{"body movement"}
	failed := at("2026-03-08 07:00", vital.Weight, 0)
	failed.Absent = "measurement unsuccessful"
	lone := at("2026-03-08 09:00", vital.Diastolic, 70) // no systolic beside it
	rs := []vital.Reading{
		at("2026-03-06 07:00", vital.Systolic, 185), at("2026-03-06 07:00", vital.Diastolic, 95),
		at("2026-03-06 07:00", vital.Pulse, 88), at("2026-03-06 07:00", vital.MeanArterial, 125),
		at("2026-03-06 07:05", vital.SpO2, 94), at("2026-03-06 07:06", vital.Temperature, 37.2),
		at("2026-03-06 07:10", vital.Weight, 80.4), at("2026-03-06 07:10", vital.Height, 1.68),
		at("2026-03-06 07:10", vital.BMI, 28.5), at("2026-03-06 12:00", vital.Glucose, 140),
		nan, moved, at("2026-03-07 07:30", vital.Diastolic, 90), failed, lone,
		at("2026-03-08 12:00", vital.HbA1c, 6.9), at("2026-03-08 12:00", vital.RRInterval, 800),
	}
	setup := fixtureSetup
	setup.Meters = []Meter{{Address: cuff, Kind: "blood_pressure", Name: "cuff"}}
	return Build(Input{
		Subject:    Subject{ID: "pt_0123456789abcdef0123", Name: "Ann Patient"},
		Dispensers: []DispenserInfo{{ID: "dv_1", Label: "kitchen", Software: "dispenserd test"}},
		Setup:      setup, Events: join(pdcEvents(), week()), Readings: rs,
		Marks: map[string]FalseMiss{"metformin@2026-03-07T08:00": {Reason: "took it from the blister pack", By: "user:u1",
			Source: "caregiver", At: local("2026-03-08 10:00")}},
		From: local("2026-03-06 00:00"), To: local("2026-03-13 00:00"), Generated: local("2026-03-12 21:00"),
	})
}

// The JSON report (report.json) has one casing, snake_case, all the way
// down, and says its version (docs/reports.md documents both). It lives
// here, beside the fixture it reads.
func TestReportJSONForm(t *testing.T) {
	var buf bytes.Buffer
	if err := weekReport(t).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if v, _ := doc["version"].(float64); v != ReportVersion {
		t.Errorf("report version = %v, want %d", doc["version"], ReportVersion)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	var bad []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if !snake.MatchString(k) && !slices.Contains(bad, path+"."+k) {
					bad = append(bad, path+"."+k)
				}
				walk(path+"."+k, e)
			}
		case []any:
			for _, e := range v {
				walk(path+"[]", e)
			}
		}
	}
	walk("", doc)
	if len(bad) > 0 {
		slices.Sort(bad)
		t.Errorf("report.json keys not in snake_case: %s", strings.Join(bad, ", "))
	}
	doses, _ := doc["doses"].([]any)
	if len(doses) == 0 {
		t.Fatal("report.json has no doses")
	}
	for _, k := range []string{"id", "medication", "scheduled", "state", "outcome", "on_time", "left_in_cup"} {
		if _, ok := doses[0].(map[string]any)[k]; !ok {
			t.Errorf("a dose in report.json lacks %q: %v", k, doses[0])
		}
	}
	if strings.Contains(buf.String(), "0001-01-01") {
		t.Error("report.json writes a zero time where there is none")
	}
}

func TestFHIRValidates(t *testing.T) {
	var buf bytes.Buffer
	if err := weekReport(t).WriteFHIR(&buf); err != nil {
		t.Fatal(err)
	}
	if ok, out := fhirvalidate.Run(t, buf.Bytes()); !ok {
		t.Fatalf("the FHIR bundle does not validate:\n%s", out)
	}
}

// TestFHIRValidatorRejects makes sure the validator can fail: each
// mutation breaks one rule of R4 or of the vital-signs profile.
func TestFHIRValidatorRejects(t *testing.T) {
	var buf bytes.Buffer
	if err := weekReport(t).WriteFHIR(&buf); err != nil {
		t.Fatal(err)
	}
	first := func(b map[string]any, pred func(r map[string]any) bool) map[string]any {
		for _, e := range b["entry"].([]any) {
			if r := e.(map[string]any)["resource"].(map[string]any); pred(r) {
				return r
			}
		}
		t.Fatal("no such resource in the bundle")
		return nil
	}
	isType := func(typ string) func(map[string]any) bool {
		return func(r map[string]any) bool { return r["resourceType"] == typ }
	}
	vitalCode := func(code string) func(map[string]any) bool {
		return func(r map[string]any) bool {
			return r["resourceType"] == "Observation" && strings.Contains(mustJSON(t, r["code"]), `"`+code+`"`)
		}
	}
	tests := []struct {
		name   string
		mutate func(b map[string]any)
		want   string
	}{
		{"observation status not in its value set", func(b map[string]any) { first(b, isType("Observation"))["status"] = "done" }, "json-schema"},
		{"administration status not in its value set", func(b map[string]any) {
			first(b, isType("MedicationAdministration"))["status"] = "done"
		}, "not found in value set"},
		{"administration without a medication", func(b map[string]any) {
			delete(first(b, isType("MedicationAdministration")), "medicationCodeableConcept")
		}, "fhir.js"},
		{"unknown element", func(b map[string]any) { first(b, isType("Patient"))["nickname"] = "Annie" }, "Patient"},
		{"vital sign without a time", func(b map[string]any) { delete(first(b, vitalCode("8867-4")), "effectiveDateTime") }, "effective[x]: missing"},
		{"heart rate in the wrong unit", func(b map[string]any) {
			first(b, vitalCode("8867-4"))["valueQuantity"].(map[string]any)["code"] = "Hz"
		}, "the profile of 8867-4 allows /min"},
		{"blood pressure without diastolic", func(b map[string]any) {
			o := first(b, vitalCode("85354-9"))
			o["component"] = o["component"].([]any)[:1]
		}, "0 diastolic"},
		{"value and absent reason", func(b map[string]any) {
			first(b, vitalCode("29463-7"))["dataAbsentReason"] = map[string]any{"text": "x"}
		}, "obs-6"},
		{"dangling reference", func(b map[string]any) {
			first(b, isType("Observation"))["subject"] = map[string]any{"reference": "urn:uuid:00000000-0000-5000-8000-000000000000"}
		}, "is not in the bundle"},
	}
	// One validator run for all: starting it costs a second.
	var bundles [][]byte
	for _, tc := range tests {
		var b map[string]any
		if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
			t.Fatal(err)
		}
		tc.mutate(b)
		bundles = append(bundles, []byte(mustJSON(t, b)))
	}
	_, out := fhirvalidate.Run(t, bundles...)
	var rep struct {
		Files []struct {
			Valid  bool  `json:"valid"`
			Errors []any `json:"errors"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Files) != len(tests) {
		t.Fatalf("validator report: %v\n%.2000s", err, out)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := rep.Files[i]
			if errs := mustJSON(t, f.Errors); f.Valid || !strings.Contains(errs, tc.want) {
				t.Errorf("validator on a bundle with %s: valid=%v, errors lack %q: %.2000s", tc.name, f.Valid, tc.want, errs)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(j)
}

// TestFHIRContent checks what the bundle says, resource by resource.
func TestFHIRContent(t *testing.T) {
	var buf bytes.Buffer
	if err := weekReport(t).WriteFHIR(&buf); err != nil {
		t.Fatal(err)
	}
	var b struct {
		Entry []struct {
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	codes := map[string]bool{}
	for _, e := range b.Entry {
		r := e.Resource
		typ := r["resourceType"].(string)
		key := typ
		if typ == "MedicationAdministration" {
			key += "/" + r["status"].(string)
		}
		count[key]++
		if typ == "Observation" {
			cs, _ := r["code"].(map[string]any)["coding"].([]any)
			for _, c := range cs {
				codes[c.(map[string]any)["code"].(string)] = true
			}
		}
	}
	// Doses: 9 taken (the false miss among them) and 3 PRN uses
	// completed; 7 missed, 1 left in the cup, 1 skipped, 1 jammed not
	// done; 1 uncertain unknown; the pending one left out.
	want := map[string]int{"Patient": 1, "Device": 2, "MedicationRequest": 4, "MedicationAdministration/completed": 12,
		"MedicationAdministration/not-done": 10, "MedicationAdministration/unknown": 1}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("bundle has %d %s, want %d (all: %v)", count[k], k, n, count)
		}
	}
	for _, c := range []string{"85354-9", "8867-4", "2708-6", "59408-5", "8310-5", "29463-7", "2339-0", "8302-2", "39156-5",
		"8478-0", "4548-4", "taking-adherence", "timing-adherence", "pdc", "false-miss-rate"} {
		if !codes[c] {
			t.Errorf("bundle has no Observation coded %s", c)
		}
	}
	var again bytes.Buffer
	weekReport(t).WriteFHIR(&again)
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two exports of the same report differ: ids must be stable")
	}
}

func TestFHIRIDs(t *testing.T) {
	id := fhirID("pt_1", "Patient")
	if len(id) != 36 || id[14] != '5' || !strings.ContainsAny(id[19:20], "89ab") {
		t.Errorf("fhirID = %s, want a version 5 UUID", id)
	}
	if fhirID("a", "bc") == fhirID("ab", "c") {
		t.Error("fhirID does not separate its parts")
	}
}
