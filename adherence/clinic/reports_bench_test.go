package clinic

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/pillbox/pillbox/adherence"
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
	path := "/patients/" + e.patA.ID + "?days=365"
	b.Run("served", func(b *testing.B) {
		for b.Loop() {
			if w := e.do("GET", path, cookie, ""); w.Code != http.StatusOK {
				b.Fatalf("GET %s = %d", path, w.Code)
			}
		}
	})
	now := e.clock.Now()
	from := now.AddDate(-1, 0, 0)
	in, err := e.store.ReportInput(e.ctx, e.patA, from, now)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.store.ReportInput(e.ctx, e.patA, from, now); err != nil {
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
			pg := PatientPage{Patient: e.patA, Report: rep, Loc: nyc, Days: 365, Heatmap: heatmap(rep, nyc), DoseRows: doseRows(rep, nyc, e.patA.ID, "csrf", 365), Legend: HeatmapLegend(),
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

// newFileEnv is the part of newEnv a page needs (alice, patient A and
// device A), on a database file as adherenced has it (WAL, a pool of
// readers) rather than in memory.
func newFileEnv(b *testing.B) *env {
	e := &env{t: b, ctx: context.Background(), clock: schedule.NewSimClock(t0)}
	var err error
	if e.st, err = adherence.Open(e.ctx, filepath.Join(b.TempDir(), "clinic.db")); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.st.Close() })
	if e.store, err = Open(e.ctx, e.st, e.clock); err != nil {
		b.Fatal(err)
	}
	e.store.Password = cheap
	cli := CLI("bench")
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	e.alice, err = e.store.CreateUser(e.ctx, cli, "alice", "Dr Alice", RoleClinician, testPassword)
	must(err)
	e.patA, err = e.store.CreatePatient(e.ctx, cli, "Ann Patient")
	must(err)
	must(e.store.SetPanel(e.ctx, cli, e.alice.ID, e.patA.ID, true))
	e.devA, e.tokA, err = e.store.RegisterDevice(e.ctx, cli, e.patA.ID, "kitchen")
	must(err)
	if e.srv, err = NewServer(ServerConfig{Store: e.store, Clock: e.clock}); err != nil {
		b.Fatal(err)
	}
	e.handler = e.srv.Handler()
	return e
}
