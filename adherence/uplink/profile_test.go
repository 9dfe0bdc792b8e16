package uplink

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/notify/vitals"
	"github.com/pillbox/pillbox/schedule"
)

func TestProfileRoundTrip(t *testing.T) {
	meds := []dispenser.Medication{
		{ID: "metformin", Name: "Metformin", Strength: "500 mg", PillsPerDose: 1, Compartment: 1, Class: "biguanide"},
		{ID: "warfarin", PillsPerDose: 2, Compartment: 2, Critical: true},
	}
	regs := []schedule.Regimen{
		{Medication: "metformin", Cron: "0 8,20 * * *", Window: 90 * time.Minute},
		{Medication: "warfarin", Cron: "0 18 * * *", Early: 30 * time.Minute, Late: 3 * time.Hour},
		{Medication: "warfarin", PRN: &schedule.PRN{MinInterval: 4 * time.Hour, MaxPerDay: 3}},
	}
	meters := []vitals.Device{{Address: "A4:C1:38:12:34:56", Kind: vital.KindBloodPressure.Name, Name: "cuff"}}
	p := NewProfile(dispenser.Patient{FirstName: "Margaret", Timezone: "America/New_York"}, meds, regs, meters)
	b := Batch{Version: Version, Device: "dv_1", Log: "log1", Heartbeat: Heartbeat{Time: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Profile: p}}
	j, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(j), "Margaret") {
		t.Errorf("the profile carries the patient's name: %s", j)
	}
	got, err := DecodeBatch(j)
	if err != nil {
		t.Fatalf("DecodeBatch(batch with profile) = %v, want it accepted", err)
	}
	loc, gm, gr, gd, err := got.Heartbeat.Profile.Domain()
	if err != nil {
		t.Fatalf("Profile.Domain() = %v", err)
	}
	if loc.String() != "America/New_York" || !reflect.DeepEqual(gm, meds) || !reflect.DeepEqual(gr, regs) {
		t.Errorf("Profile.Domain() = %v, %+v, %+v; want the config back", loc, gm, gr)
	}
	if want := []vitals.Device{{Address: "A4:C1:38:12:34:56", Kind: "blood_pressure", Name: "cuff"}}; !reflect.DeepEqual(gd, want) {
		t.Errorf("meters = %+v, want %+v", gd, want)
	}
}

func TestProfileRejects(t *testing.T) {
	good := func() *Profile {
		return NewProfile(dispenser.Patient{Timezone: "UTC"}, []dispenser.Medication{{ID: "m", PillsPerDose: 1, Compartment: 1}},
			[]schedule.Regimen{{Medication: "m", Cron: "0 8 * * *"}}, nil)
	}
	tests := []struct {
		name   string
		change func(p *Profile)
		want   string
	}{
		{"too many medications", func(p *Profile) { p.Medications = make([]ProfileMedication, 65) }, "at most 64"},
		{"negative window", func(p *Profile) { p.Regimens[0].LateS = -1 }, "regimens[0]: a duration is out of range"},
		{"huge pills", func(p *Profile) { p.Medications[0].PillsPerDose = 1e6 }, "medications[0]: pills_per_dose"},
		{"long cron", func(p *Profile) { p.Regimens[0].Cron = strings.Repeat("*", 300) }, "regimens.cron: longer than"},
		{"bad utf-8", func(p *Profile) { p.Timezone = "\xff" }, "timezone: not UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := good()
			tc.change(p)
			b := Batch{Version: Version, Device: "d", Log: "l", Heartbeat: Heartbeat{Profile: p}}
			err := b.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("unknown zone is the reader's to refuse", func(t *testing.T) {
		p := good()
		p.Timezone = "Mars/Olympus"
		if _, _, _, _, err := p.Domain(); err == nil || !strings.Contains(err.Error(), "unknown time zone") {
			t.Errorf("Domain() = %v, want unknown time zone", err)
		}
	})
	t.Run("other version", func(t *testing.T) {
		p := good()
		p.Version = 2
		if _, _, _, _, err := p.Domain(); err == nil || !strings.Contains(err.Error(), "version 2") {
			t.Errorf("Domain() = %v, want a version error", err)
		}
	})
}

func TestProfileThresholdsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		cfg  *vitals.Config
		want *vitals.Thresholds // nil: the profile carries none
	}{
		{"no vitals section", nil, nil},
		{"all defaults", &vitals.Config{}, &vitals.Thresholds{GlucoseLow: 70, GlucoseHigh: 250, CrisisSystolic: 180,
			CrisisDiastolic: 120, SpO2Scale: 1}},
		{"the patient's", &vitals.Config{Thresholds: vitals.Thresholds{GlucoseLow: 80, CrisisSystolic: 160, SpO2Scale: 2}},
			&vitals.Thresholds{GlucoseLow: 80, GlucoseHigh: 250, CrisisSystolic: 160, CrisisDiastolic: 120, SpO2Scale: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewProfile(dispenser.Patient{Timezone: "UTC"}, nil, nil, nil).WithThresholds(tc.cfg)
			b := Batch{Version: Version, Device: "d", Log: "l", Heartbeat: Heartbeat{Profile: p}}
			j, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeBatch(j)
			if err != nil {
				t.Fatalf("DecodeBatch(%s) = %v, want it accepted", j, err)
			}
			th := got.Heartbeat.Profile.Thresholds
			if tc.want == nil {
				if th != nil || strings.Contains(string(j), "thresholds") {
					t.Errorf("thresholds = %+v in %s, want none", th, j)
				}
				return
			}
			if th == nil {
				t.Fatalf("thresholds = nil in %s, want %+v", j, tc.want)
			}
			d, err := th.Domain()
			if err != nil {
				t.Fatalf("Thresholds.Domain() = %v", err)
			}
			// The rules' other thresholds do not travel; Domain gives
			// their defaults, as the device applies them.
			w := vitals.Config{Thresholds: *tc.want}.EffectiveThresholds()
			if d != w {
				t.Errorf("Thresholds.Domain() = %+v, want %+v", d, w)
			}
		})
	}
}

// TestProfileThresholdsRead: what a device sends in the thresholds part.
// A part the clinic cannot use (another version, implausible values) is
// kept and refused by Domain with the reason; a malformed one, or one
// without a version, sets the profile aside (the batch stands).
func TestProfileThresholdsRead(t *testing.T) {
	batch := func(th string) []byte {
		return []byte(`{"version":1,"device":"d","log":"l","heartbeat":{"profile":{"version":1,"timezone":"UTC","medications":[],"regimens":[],"thresholds":` +
			th + `}},"events":[],"readings":[]}`)
	}
	tests := []struct {
		name      string
		part      string
		aside     string // DecodeBatch's reason for setting the profile aside
		domainErr string // Thresholds.Domain
		want      vitals.Thresholds
	}{
		{"values", `{"version":1,"glucose_low":65,"glucose_high":300,"crisis_systolic":170,"crisis_diastolic":110,"spo2_scale":2}`, "", "",
			vitals.Thresholds{GlucoseLow: 65, GlucoseHigh: 300, CrisisSystolic: 170, CrisisDiastolic: 110, SpO2Scale: 2}},
		{"values left out take the defaults", `{"version":1,"glucose_high":200}`, "", "",
			vitals.Thresholds{GlucoseLow: 70, GlucoseHigh: 200, CrisisSystolic: 180, CrisisDiastolic: 120, SpO2Scale: 1}},
		{"unknown fields are ignored", `{"version":1,"glucose_low":75,"ketones_high":1.5}`, "", "",
			vitals.Thresholds{GlucoseLow: 75, GlucoseHigh: 250, CrisisSystolic: 180, CrisisDiastolic: 120, SpO2Scale: 1}},
		{"a newer version is kept unused", `{"version":2,"glucose":{"low":70}}`, "", "version 2, want 1", vitals.Thresholds{}},
		{"implausible value", `{"version":1,"glucose_low":5}`, "", "thresholds.glucose_low: glucose_low 5 mg/dL is not a plausible threshold",
			vitals.Thresholds{}},
		{"negative value", `{"version":1,"glucose_low":110,"glucose_high":150,"crisis_diastolic":-3}`, "",
			"crisis_diastolic -3 mmHg is not a plausible threshold", vitals.Thresholds{}},
		{"unknown scale", `{"version":1,"spo2_scale":3}`, "", "spo2_scale 3 must be 1 or 2", vitals.Thresholds{}},
		{"no version", `{"glucose_low":70}`, "thresholds.version: must be at least 1", "", vitals.Thresholds{}},
		{"wrong type", `{"version":1,"glucose_low":"low"}`, "profile.thresholds: glucose_low: wrong type", "", vitals.Thresholds{}},
		{"not an object", `[70,250]`, "profile.thresholds", "", vitals.Thresholds{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := DecodeBatch(batch(tc.part))
			if err != nil {
				t.Fatalf("DecodeBatch(thresholds %s) = %v, want it accepted", tc.part, err)
			}
			if tc.aside != "" {
				if b.Heartbeat.Profile != nil || len(b.SetAside) != 1 || b.SetAside[0].What != "profile" ||
					!strings.Contains(b.SetAside[0].Reason, tc.aside) {
					t.Errorf("DecodeBatch(thresholds %s): profile %+v, set aside %+v; want the profile set aside for %q",
						tc.part, b.Heartbeat.Profile, b.SetAside, tc.aside)
				}
				return
			}
			got, err := b.Heartbeat.Profile.Thresholds.Domain()
			switch {
			case tc.domainErr != "" && (err == nil || !strings.Contains(err.Error(), tc.domainErr)):
				t.Errorf("Domain() = %v, want an error containing %q", err, tc.domainErr)
			case tc.domainErr == "" && err != nil:
				t.Errorf("Domain() = %v, want %+v", err, tc.want)
			case tc.domainErr == "" && got != vitals.Config{Thresholds: tc.want}.EffectiveThresholds():
				t.Errorf("Domain() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzProfileThresholds: any thresholds part reads without a panic, and
// what Domain accepts is a set of thresholds the dispenser would run.
func FuzzProfileThresholds(f *testing.F) {
	for _, s := range []string{`{"version":1,"glucose_low":70,"glucose_high":250,"crisis_systolic":180,"crisis_diastolic":120,"spo2_scale":1}`,
		`{"version":2}`, `{"version":1,"glucose_low":-1e308}`, `null`, `{"version":1,"spo2_scale":2,"x":[1]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var th ProfileThresholds
		if err := json.Unmarshal(data, &th); err != nil {
			return
		}
		d, err := th.Domain()
		if err != nil {
			return
		}
		if ps := (&vitals.Config{Thresholds: d}).Validate(); len(ps) > 0 || d.GlucoseLow >= d.GlucoseHigh {
			t.Fatalf("Domain() = %+v, which the dispenser refuses: %v", d, ps)
		}
		j, err := json.Marshal(&th)
		if err != nil {
			t.Fatalf("accepted thresholds do not encode: %v", err)
		}
		var again ProfileThresholds
		if err := json.Unmarshal(j, &again); err != nil {
			t.Fatalf("re-encoded thresholds %s do not read: %v", j, err)
		}
		if d2, err := again.Domain(); err != nil || d2 != d {
			t.Fatalf("re-encoded thresholds %s = %+v, %v; want %+v", j, d2, err, d)
		}
	})
}
