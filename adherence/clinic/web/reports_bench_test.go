package web

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/pillbox/pillbox/adherence/clinic/internal/clinictest"
	"github.com/pillbox/pillbox/adherence/clinic/sqlite"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/schedule"
)

// BenchmarkPatientPage serves one patient-year's page (?days=365) to a
// signed-in clinician: the database reads, the report, the charts and the
// template, as a browser gets them. The sub-benchmarks split it: "report"
// builds the figures from data already read, "render" only writes the
// page of a built report. Target: 50 ms for the whole page.
func BenchmarkPatientPage(b *testing.B) {
	e := newFileEnv(b)
	e.syncSynthetic(365)
	cookie, _ := e.login("alice", testPassword)
	path := "/patients/" + e.PatA.ID + "?days=365"
	b.Run("served", func(b *testing.B) {
		for b.Loop() {
			if w := e.do("GET", path, cookie, ""); w.Code != http.StatusOK {
				b.Fatalf("GET %s = %d", path, w.Code)
			}
		}
	})
	now := e.Clock.Now()
	from := now.AddDate(-1, 0, 0)
	in, err := e.Clinic.ReportInput(e.Ctx, e.PatA, from, now)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.Clinic.ReportInput(e.Ctx, e.PatA, from, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("report", func(b *testing.B) {
		for b.Loop() {
			report.Build(in)
		}
	})
	rep := report.Build(in)
	b.Run("render", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			pg := PatientPage{Patient: e.PatA, Report: rep, Loc: nyc, Days: 365, Heatmap: heatmap(rep, nyc, Names{}), DoseRows: doseRows(rep, nyc, Names{}, e.PatA.ID, "csrf", 365), Legend: HeatmapLegend(),
				VitalChart: vitalsCharts(rep, nyc), Now: now}
			if err := e.srv.pages["patient"].ExecuteTemplate(&buf, "layout", pageData{Title: "x", Data: pg}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len()), "bytes")
	})
	b.Run("fhir", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			rep.WriteFHIR(&buf)
		}
		b.ReportMetric(float64(buf.Len()), "bytes")
	})
}

// newFileEnv is newEnv on a database file as adherenced has it (WAL, a
// pool of readers) rather than in memory.
func newFileEnv(b *testing.B) *env {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "clinic.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return serve(b, clinictest.Populate(b, st, schedule.NewSimClock(t0)))
}
