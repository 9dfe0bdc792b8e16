package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/schedule"
)

// qualityBatch is a dispenser's batch as it sends it: a 30 kg/L glucose
// (a valid GATT encoding, 3,000,000 mg/dL) the dispenser flagged
// implausible, and a plausible one whose time it corrected from a device
// clock 3 days behind.
const qualityBatch = `{"version":1,"device":"dv_d","log":"log1","heartbeat":{"time":"2026-03-05T13:00:00Z","software":"dev"},"events":[],
"readings":[{"seq":1,"id":"r1","device":"A4:C1:38:00:00:01","quantity":"glucose","value":3000000,"unit":"mg/dL","original":"30 kg/L",
"time":"2026-03-05T12:40:00Z","device_time":true,"quality":{"version":1,"flags":[{"code":"implausible","reason":"glucose 3000000 mg/dL is outside the plausible 10-1000 mg/dL"}]}},
{"seq":2,"id":"r2","device":"A4:C1:38:00:00:01","quantity":"glucose","value":95,"unit":"mg/dL","time":"2026-03-05T12:41:00Z","device_time":true,
"quality":{"version":1,"flags":[{"code":"clock_corrected","reason":"the device's clock was 3 days behind"}],"device_clock":"2026-03-02T12:41:00Z","repeats":1}}]}`

// testSyncedQuality: a synced reading's data-quality part survives the
// store, so that the clinic's report and FHIR export leave out the value
// the dispenser found implausible, through the sync path a dispenser
// uses (the wire batch decoded, clinic.Service.Ingest, ReportInput).
func testSyncedQuality(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	now := time.Date(2026, 3, 5, 13, 0, 0, 0, time.UTC)
	svc := clinic.New(s, schedule.NewSimClock(now))
	p, err := svc.Authenticate(w.ctx, "pbd_device")
	must(t, err)
	bt, err := uplink.DecodeBatch([]byte(qualityBatch))
	must(t, err)
	if len(bt.SetAside) != 0 {
		t.Fatalf("DecodeBatch set aside %+v", bt.SetAside)
	}
	if _, err := svc.Ingest(w.ctx, p, bt, "192.0.2.1"); err != nil {
		t.Fatalf("Ingest = %v", err)
	}

	rs, err := s.PatientReadings(w.ctx, w.p.ID, now.Add(-time.Hour), now, 10)
	must(t, err)
	if len(rs) != 2 {
		t.Fatalf("PatientReadings = %d readings, want 2", len(rs))
	}
	if got := rs[0]; !got.Flagged(vital.Implausible) || !got.Excluded() {
		t.Errorf("the 30 kg/L glucose read back: flags %+v, excluded %v; want implausible, excluded", got.Flags, got.Excluded())
	}
	if got, wantClock := rs[1], time.Date(2026, 3, 2, 12, 41, 0, 0, time.UTC); !got.Flagged(vital.ClockCorrected) || got.Excluded() ||
		!same(got.DeviceClock, wantClock) || got.Repeats != 1 {
		t.Errorf("the corrected glucose read back: flags %+v, excluded %v, device clock %v, repeats %d; want clock_corrected, kept, %v, 1",
			got.Flags, got.Excluded(), got.DeviceClock, got.Repeats, wantClock)
	}

	in, err := svc.ReportInput(w.ctx, w.p, now.Add(-24*time.Hour), now)
	must(t, err)
	rep := report.Build(in)
	var glucose *report.VitalStats
	for i := range rep.Vitals {
		if rep.Vitals[i].Quantity == vital.Glucose {
			glucose = &rep.Vitals[i]
		}
	}
	if glucose == nil || glucose.Readings != 2 || glucose.Excluded != 1 {
		t.Fatalf("report glucose = %+v, want 2 readings, 1 excluded", glucose)
	}

	var values []float64
	absent := 0
	for _, res := range rep.FHIRResources(report.URNRef) {
		if res.Type != "Observation" {
			continue
		}
		j, err := json.Marshal(res.Resource)
		must(t, err)
		var o struct {
			ValueQuantity *struct {
				Value float64 `json:"value"`
			} `json:"valueQuantity"`
			DataAbsentReason json.RawMessage `json:"dataAbsentReason"`
		}
		must(t, json.Unmarshal(j, &o))
		if o.ValueQuantity != nil {
			values = append(values, o.ValueQuantity.Value)
		}
		if o.DataAbsentReason != nil {
			absent++
		}
	}
	if len(values) != 1 || values[0] != 95 || absent < 1 {
		t.Errorf("FHIR Observations: values %v, %d with dataAbsentReason; want only 95 and the implausible one absent", values, absent)
	}
}
