package web

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/hw/vital"
)

// TestDataQuality: the patient page shows per device the share of
// measurements left out (implausible, device fault), the latest
// control-solution check of the glucose meter and the clock corrections,
// from the flags the readings carry.
func TestDataQuality(t *testing.T) {
	setup := report.SyntheticSetup(nyc)
	glucoseMeter, scale := setup.Meters[2].Address, setup.Meters[1].Address
	day := time.Date(2026, 3, 3, 0, 0, 0, 0, nyc)
	reading := func(h int, v float64, flags ...vital.FlagCode) vital.Reading {
		r := vital.Reading{Quantity: vital.Glucose, Value: v, Unit: "mg/dL", Time: day.Add(time.Duration(h) * time.Hour), Device: glucoseMeter}
		for _, f := range flags {
			r.Flag(f, "because "+string(f))
		}
		return r
	}
	late := reading(9, 110, vital.ClockCorrected)
	late.DeviceClock = late.Time.Add(-72 * time.Hour)
	rs := []vital.Reading{reading(7, 3e6, vital.Implausible), reading(8, 0, vital.DeviceFault), late,
		reading(10, 120, vital.ControlSolution), reading(11, 95), reading(12, 101)}
	rep := report.Build(report.Input{Setup: setup, Readings: rs, From: day, To: day.AddDate(0, 0, 2), Generated: day.AddDate(0, 0, 2)})

	rows := qualityRows(rep, nyc)
	if len(rows) != 3 {
		t.Fatalf("qualityRows = %d rows, want one per meter (3)", len(rows))
	}
	byDev := map[string]QualityRow{}
	for _, r := range rows {
		byDev[r.Device] = r
	}
	g := byDev[glucoseMeter]
	check := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("glucose meter's %s = %v, want %v", what, got, want)
		}
	}
	check("label", g.Label, "Blood glucose meter")
	check("measurements", g.Measurements, 6)
	check("left out", g.Excluded, 2)
	check("share left out", g.ExcludedShare, 2.0/6)
	check("clock offset", g.ClockOffset, "3 days behind")
	check("meter check", g.LastMeterCheck != nil && g.LastMeterCheck.Time.Equal(day.Add(10*time.Hour)), true)
	if s := byDev[scale]; s.Measurements != 0 || s.DaysWithoutData != 2 {
		t.Errorf("scale that sent nothing: %d measurements, %d days without data; want 0, 2", s.Measurements, s.DaysWithoutData)
	}

	e := newEnv(t)
	w := httptest.NewRecorder()
	e.srv.render(w, httptest.NewRequest("GET", "/", nil), 200, "patient", nil,
		pageData{Data: PatientPage{Report: rep, Loc: nyc, Quality: rows, Now: day}})
	page := w.Body.String()
	for _, s := range []string{`<h2 id="quality">Data quality</h2>`, "33%</span> (1 implausible, 1 device fault)",
		"2026-03-03 10:00 <span class=\"muted\">(120 mg/dL)", "1, latest 2026-03-03 09:00: its clock was 3 days behind"} {
		if !strings.Contains(page, s) {
			t.Errorf("patient page lacks %q", s)
		}
	}
}
