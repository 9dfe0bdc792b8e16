package clinic

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/notify/vitals"
)

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
			e := newEnv(t)
			p, err := e.store.Authenticate(e.ctx, e.tokA)
			if err != nil {
				t.Fatal(err)
			}
			// Through JSON, as a device sends it.
			j, err := json.Marshal(&uplink.Batch{Version: uplink.Version, Device: e.devA.ID, Log: "l1",
				Heartbeat: uplink.Heartbeat{Time: t0, Profile: tc.profile}})
			if err != nil {
				t.Fatal(err)
			}
			b, err := uplink.DecodeBatch(j)
			if err != nil {
				t.Fatalf("DecodeBatch(%s) = %v", j, err)
			}
			if _, err := e.store.Ingest(e.ctx, p, b, ""); err != nil {
				t.Fatal(err)
			}
			setup, _, err := e.store.PatientSetup(e.ctx, e.patA.ID)
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
