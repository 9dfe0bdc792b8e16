package clinic_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/internal/clinictest"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/notify/vitals"
)

func mustUser(t *testing.T, c *clinic.Service, name string) clinic.User {
	t.Helper()
	u, err := c.UserByName(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestIngestAcksContiguous(t *testing.T) {
	e := clinictest.New(t)
	p, err := e.Clinic.Authenticate(e.Ctx, e.TokA)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name            string
		from, n         int
		wantAck, stored int
	}{
		{"first batch", 1, 3, 3, 3},
		{"a gap: stored, not acknowledged", 6, 2, 3, 2},
		{"the gap filled", 4, 2, 7, 2},
		{"resent", 1, 7, 7, 0},
		{"heartbeat only", 1, 0, 7, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.Clinic.Ingest(e.Ctx, p, clinictest.Batch(t, e.DevA.ID, "log1", tc.from, tc.n), "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			if res.Ack.AckedSeq != int64(tc.wantAck) || res.Ack.Stored != tc.stored || res.Ack.Duplicates != tc.n-tc.stored {
				t.Errorf("Ingest(seq %d..%d) = %+v, want acked %d, stored %d", tc.from, tc.from+tc.n-1, res.Ack, tc.wantAck, tc.stored)
			}
		})
	}
	// Another log of the same device (its database was recreated) starts
	// its own acknowledgement at 0.
	res, err := e.Clinic.Ingest(e.Ctx, p, clinictest.Batch(t, e.DevA.ID, "log2", 1, 2), "")
	if err != nil || res.Ack.AckedSeq != 2 {
		t.Errorf("Ingest(new log) = %+v, %v; want acked 2", res.Ack, err)
	}
	if n, _ := e.Clinic.EventCount(e.Ctx, e.PatA.ID); n != 9 {
		t.Errorf("events of patient A = %d, want 9", n)
	}
	// Readings are stored and acknowledged the same way.
	b := clinictest.Batch(t, e.DevA.ID, "log1", 8, 0)
	b.Readings = []uplink.Reading{{Seq: 1, ID: "r1", Quantity: "pulse", Value: 72, Unit: "/min", Time: clinictest.T0, Context: map[string]string{"a": "b"}},
		{Seq: 2, ID: "r2", Quantity: "spo2", Unit: "%", Time: clinictest.T0.Add(time.Minute), Absent: "measurement unsuccessful"}}
	res, err = e.Clinic.Ingest(e.Ctx, p, b, "")
	if err != nil || res.Ack.AckedReadingSeq != 2 {
		t.Fatalf("Ingest(readings) = %+v, %v; want readings acked 2", res.Ack, err)
	}
	rds, err := e.Clinic.PatientReadings(e.Ctx, e.PatA.ID, clinictest.T0.Add(-time.Hour), clinictest.T0.Add(time.Hour), 10)
	if err != nil || len(rds) != 2 || rds[0].Value != 72 || rds[0].Context["a"] != "b" || rds[1].HasValue() {
		t.Errorf("PatientReadings = %+v, %v; want the pulse and the absent spo2", rds, err)
	}
	// The audit entries of ingest name counts, never a reading's value.
	es, _ := e.Clinic.AuditLog(e.Ctx, clinic.AuditQuery{PatientID: e.PatA.ID, Limit: 1000})
	for _, en := range es {
		if strings.Contains(en.Target, "72") && en.Action == "sync.ingest" && strings.Contains(en.Target, "pulse") {
			t.Errorf("audit entry %+v holds a reading", en)
		}
	}
}

func TestIngestRefuses(t *testing.T) {
	e := clinictest.New(t)
	pa, _ := e.Clinic.Authenticate(e.Ctx, e.TokA)
	pb, _ := e.Clinic.Authenticate(e.Ctx, e.TokB)
	if _, err := e.Clinic.Ingest(e.Ctx, pa, clinictest.Batch(t, e.DevA.ID, "log1", 1, 2), ""); err != nil {
		t.Fatal(err)
	}
	forged := clinictest.Batch(t, e.DevA.ID, "log1", 2, 2)
	forged.Events[0].ID = "another"
	tests := []struct {
		name string
		p    clinic.Principal
		b    *uplink.Batch
		want error
	}{
		{"device B writes as device A", pb, clinictest.Batch(t, e.DevA.ID, "log1", 3, 1), clinic.ErrForbidden},
		{"a user writes", clinic.Principal{UserID: e.Alice.ID}, clinictest.Batch(t, e.DevA.ID, "log1", 3, 1), clinic.ErrForbidden},
		{"seq 2 again with another event", pa, forged, clinic.ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.Clinic.Ingest(e.Ctx, tc.p, tc.b, ""); !errors.Is(err, tc.want) {
				t.Errorf("Ingest = %v, want %v", err, tc.want)
			}
		})
	}
	if n, _ := e.Clinic.EventCount(e.Ctx, e.PatA.ID); n != 2 {
		t.Errorf("events of patient A after refused batches = %d, want 2 (a refused batch stores nothing)", n)
	}
	if err := e.Clinic.SetDeviceDisabled(e.Ctx, clinic.CLI("test"), e.DevA.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Clinic.Authenticate(e.Ctx, e.TokA); !errors.Is(err, clinic.ErrUnauthenticated) {
		t.Errorf("Authenticate(disabled device's token) = %v, want clinic.ErrUnauthenticated", err)
	}
}

func TestSetupDemo(t *testing.T) {
	e := clinictest.New(t)
	d1, err := e.Clinic.SetupDemo(e.Ctx, clinic.CLI("test"), "Margaret (demo)", "")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := e.Clinic.Authenticate(e.Ctx, d1.Token); err != nil || p.DeviceID != clinic.DemoDeviceID || p.PatientID != d1.PatientID {
		t.Fatalf("demo token authenticates as %+v, %v; want the demo device", p, err)
	}
	if _, err := e.Clinic.CheckPassword(e.Ctx, "demo", d1.Password); err != nil {
		t.Fatalf("demo login: %v", err)
	}
	// Again, keeping the token: same patient, same token, new password.
	d2, err := e.Clinic.SetupDemo(e.Ctx, clinic.CLI("test"), "Margaret (demo)", d1.Token)
	if err != nil {
		t.Fatal(err)
	}
	if d2.Token != d1.Token || d2.PatientID != d1.PatientID || d2.Password == d1.Password {
		t.Errorf("second SetupDemo = %+v, want the same token and patient and a new password", d2)
	}
	// Without the token: a new one, the old revoked.
	d3, err := e.Clinic.SetupDemo(e.Ctx, clinic.CLI("test"), "Margaret (demo)", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Clinic.Authenticate(e.Ctx, d1.Token); d3.Token == d1.Token || !errors.Is(err, clinic.ErrUnauthenticated) {
		t.Errorf("third SetupDemo kept the old token (%v), want it rotated", err)
	}
	if ok, _ := e.Clinic.OnPanel(e.Ctx, mustUser(t, e.Clinic, "demo").ID, d3.PatientID); !ok {
		t.Error("demo patient is not on the demo clinician's panel")
	}
}

// TestPatientSetupProfiles: the latest readable profile wins; one the
// clinic cannot read (another version, an unknown zone) leaves the
// report without a setup rather than failing it.
func TestPatientSetupProfiles(t *testing.T) {
	tests := []struct {
		name    string
		profile *uplink.Profile
		wantTZ  string
	}{
		{"readable", &uplink.Profile{Version: uplink.ProfileVersion, Timezone: "Europe/Paris"}, "Europe/Paris"},
		{"another version", &uplink.Profile{Version: 99, Timezone: "Europe/Paris"}, ""},
		{"unknown zone", &uplink.Profile{Version: uplink.ProfileVersion, Timezone: "Mars/Olympus_Mons"}, ""},
		{"none", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := clinictest.New(t)
			p, err := e.Clinic.Authenticate(e.Ctx, e.TokA)
			if err != nil {
				t.Fatal(err)
			}
			b := &uplink.Batch{Version: uplink.Version, Device: e.DevA.ID, Log: "l1", Heartbeat: uplink.Heartbeat{Time: clinictest.T0, Profile: tc.profile}}
			if _, err := e.Clinic.Ingest(e.Ctx, p, b, ""); err != nil {
				t.Fatal(err)
			}
			setup, devs, err := e.Clinic.PatientSetup(e.Ctx, e.PatA.ID)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if setup.Location != nil {
				got = setup.Location.String()
			}
			if got != tc.wantTZ || len(devs) != 1 || devs[0].ID != e.DevA.ID {
				t.Errorf("PatientSetup = zone %q, dispensers %+v; want zone %q and device A", got, devs, tc.wantTZ)
			}
		})
	}
}

// TestPatientSetupThresholds: the thresholds a dispenser sends with its
// profile are stored with it and reach the reports; a profile without
// them, or with a part the clinic cannot use, leaves the defaults.
func TestPatientSetupThresholds(t *testing.T) {
	profile := func(th *uplink.ProfileThresholds) *uplink.Profile {
		return &uplink.Profile{Version: uplink.ProfileVersion, Timezone: "Europe/Paris", Thresholds: th}
	}
	tests := []struct {
		name    string
		profile *uplink.Profile
		want    *report.VitalThresholds
	}{
		{"older device, none", profile(nil), nil},
		{"from the config", (&uplink.Profile{Version: uplink.ProfileVersion, Timezone: "Europe/Paris"}).WithThresholds(
			&vitals.Config{Thresholds: vitals.Thresholds{GlucoseHigh: 300, CrisisDiastolic: 110, SpO2Scale: 2}}),
			&report.VitalThresholds{GlucoseLow: 70, GlucoseHigh: 300, CrisisSystolic: 180, CrisisDiastolic: 110, SpO2Scale: 2}},
		{"values left out are the defaults", profile(&uplink.ProfileThresholds{Version: 1, GlucoseLow: 80}),
			&report.VitalThresholds{GlucoseLow: 80, GlucoseHigh: 250, CrisisSystolic: 180, CrisisDiastolic: 120, SpO2Scale: 1}},
		{"another version", profile(&uplink.ProfileThresholds{Version: 2, GlucoseLow: 80}), nil},
		{"implausible", profile(&uplink.ProfileThresholds{Version: 1, GlucoseLow: 300}), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := clinictest.New(t)
			p, err := e.Clinic.Authenticate(e.Ctx, e.TokA)
			if err != nil {
				t.Fatal(err)
			}
			// Through JSON, as a device sends it.
			j, err := json.Marshal(&uplink.Batch{Version: uplink.Version, Device: e.DevA.ID, Log: "l1",
				Heartbeat: uplink.Heartbeat{Time: clinictest.T0, Profile: tc.profile}})
			if err != nil {
				t.Fatal(err)
			}
			b, err := uplink.DecodeBatch(j)
			if err != nil {
				t.Fatalf("DecodeBatch(%s) = %v", j, err)
			}
			if _, err := e.Clinic.Ingest(e.Ctx, p, b, ""); err != nil {
				t.Fatal(err)
			}
			setup, _, err := e.Clinic.PatientSetup(e.Ctx, e.PatA.ID)
			if err != nil {
				t.Fatal(err)
			}
			if setup.Location == nil || setup.Location.String() != "Europe/Paris" {
				t.Errorf("PatientSetup zone = %v, want Europe/Paris whatever the thresholds", setup.Location)
			}
			if !reflect.DeepEqual(setup.Thresholds, tc.want) {
				t.Errorf("PatientSetup thresholds = %+v, want %+v", setup.Thresholds, tc.want)
			}
		})
	}
}
