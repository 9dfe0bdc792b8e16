package uplink

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
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
	meters := []vitals.Device{{Address: "A4:C1:38:12:34:56", Kind: vitals.KindBloodPressure, Name: "cuff"}}
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
