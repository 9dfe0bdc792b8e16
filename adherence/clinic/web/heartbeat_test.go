package web

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify/vitals"
	"github.com/pillbox/pillbox/schedule"
)

// TestHeartbeatPartsStay: a batch in the older wire form (a dispenser
// from before the profile, testdata/sync-v1-before-profile.json) keeps
// the patient's setup the clinic holds from an earlier profile: its zone,
// regimens and thresholds, so the report is the same. A profile without
// thresholds keeps the stored thresholds. The device's reported software
// version follows each heartbeat, is logged when it changes, and is shown.
func TestHeartbeatPartsStay(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	prof := uplink.NewProfile(dispenser.Patient{Timezone: "America/New_York"},
		[]dispenser.Medication{{ID: "metformin", PillsPerDose: 1, Compartment: 1}},
		[]schedule.Regimen{{Medication: "metformin", Cron: "0 3 * * *", Window: time.Hour}}, nil).
		WithThresholds(&vitals.Config{Thresholds: vitals.Thresholds{GlucoseLow: 80}})
	current := uplink.Batch{Version: uplink.Version, Device: e.DevA.ID, Log: "4f1c2a9e0b7d4e3f",
		Heartbeat: uplink.Heartbeat{Time: t0.Add(-3 * time.Hour), Software: "dispenserd v1.0.0", Profile: prof}}
	j, _ := json.Marshal(current)
	if code, _, body := e.postBatch(e.TokA, string(j)); code != http.StatusOK {
		t.Fatalf("POST with a profile = %d %s", code, body)
	}
	build := func() *report.Report {
		t.Helper()
		in, err := e.Clinic.ReportInput(e.Ctx, e.PatA, t0.Add(-24*time.Hour), t0)
		if err != nil {
			t.Fatal(err)
		}
		return report.Build(in)
	}
	before := build()

	old, err := os.ReadFile("testdata/sync-v1-before-profile.json")
	if err != nil {
		t.Fatal(err)
	}
	code, ack, body := e.postBatch(e.TokA, strings.ReplaceAll(string(old), "DEVICE", e.DevA.ID))
	if code != http.StatusOK || ack.AckedSeq != 3 {
		t.Fatalf("POST in the older wire form = %d %s, want 200 and acked_seq 3", code, body)
	}
	setup, _, err := e.Clinic.PatientSetup(e.Ctx, e.PatA.ID)
	if err != nil {
		t.Fatal(err)
	}
	if setup.Location == nil || setup.Location.String() != "America/New_York" || len(setup.Regimens) != 1 ||
		setup.Thresholds == nil || setup.Thresholds.GlucoseLow != 80 {
		t.Errorf("setup after a batch without a profile = %+v, want the zone, regimen and thresholds of the profile before", setup)
	}
	after := build()
	if after.Timezone != before.Timezone || after.Timezone != "America/New_York" || after.Overall.Scheduled != 1 || after.Overall.Taken != 1 {
		t.Errorf("report after the older batch: zone %s, %d of %d taken; want America/New_York and the 03:00 dose taken",
			after.Timezone, after.Overall.Taken, after.Overall.Scheduled)
	}

	// A newer profile replaces the profile; one without thresholds keeps
	// the thresholds.
	noThresholds := *prof
	noThresholds.Timezone, noThresholds.Thresholds = "Europe/Paris", nil
	current.Heartbeat.Profile, current.Heartbeat.Software = &noThresholds, "dispenserd v1.1.0"
	j, _ = json.Marshal(current)
	if code, _, body := e.postBatch(e.TokA, string(j)); code != http.StatusOK {
		t.Fatalf("POST with a profile without thresholds = %d %s", code, body)
	}
	setup, _, _ = e.Clinic.PatientSetup(e.Ctx, e.PatA.ID)
	if setup.Location == nil || setup.Location.String() != "Europe/Paris" || setup.Thresholds == nil || setup.Thresholds.GlucoseLow != 80 {
		t.Errorf("setup after a profile without thresholds = %+v, want Europe/Paris with the thresholds kept", setup)
	}

	// The version: logged at each change, shown by the API and the page.
	for _, want := range []string{`software="dispenserd v0.9.0" was="dispenserd v1.0.0"`, `software="dispenserd v1.1.0" was="dispenserd v0.9.0"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
	var view patientView
	w := e.do("GET", "/api/v1/patients/"+e.PatA.ID, "Bearer "+e.APIAlice, "")
	if err := json.Unmarshal(w.Body.Bytes(), &view); err != nil || len(view.Devices) != 1 || view.Devices[0].Software != "dispenserd v1.1.0" {
		t.Errorf("GET patient = %d %s, want the device's software dispenserd v1.1.0", w.Code, w.Body)
	}
	cookie, _ := e.login("alice", testPassword)
	if page := e.do("GET", "/patients/"+e.PatA.ID, cookie, "").Body.String(); !strings.Contains(page, "(dispenserd v1.1.0)") {
		t.Error("patient page does not show the dispenser's software version")
	}
}
