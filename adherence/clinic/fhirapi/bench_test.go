package fhirapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/sqlite"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/schedule"
)

// benchClinic is a clinic on an SQLite file with patients patient-years
// of synthetic data on one panel, and the API with a token of that panel.
type benchClinic struct {
	api      *API
	tok      string
	patients []clinic.Patient
}

func newBenchClinic(b *testing.B, patients int) *benchClinic {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "clinic.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	clock := schedule.NewSimClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	c := clinic.New(st, clock)
	c.Password = clinic.PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1}
	cli := clinic.CLI("bench")
	u, err := c.CreateUser(ctx, cli, "panel", "Panel", clinic.RoleClinician, "correct horse battery")
	if err != nil {
		b.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	bc := &benchClinic{}
	for i := range patients {
		p, err := c.CreatePatient(ctx, cli, "Patient "+strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		if err := c.SetPanel(ctx, cli, u.ID, p.ID, true); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.SeedSynthetic(ctx, cli, p.ID, 365, uint64(i), ny); err != nil {
			b.Fatal(err)
		}
		bc.patients = append(bc.patients, p)
	}
	if bc.api, err = New(Config{Clinic: c, Clock: clock, BaseURL: "https://clinic.example.org", Location: ny, Bulk: BulkConfig{Dir: b.TempDir()}}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(bc.api.Close)
	bc.tok, _, err = c.IssueFHIRToken(ctx, cli, mustClient(b, c, u.ID).ID, "bench", clock.Now().Add(time.Minute), "system/*.rs", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	return bc
}

func mustClient(b *testing.B, c *clinic.Service, panel string) clinic.FHIRClient {
	fc, err := c.AddFHIRClient(context.Background(), clinic.CLI("bench"), "bench", []byte(`{"keys":[{"kty":"EC"}]}`), panel, nil)
	if err != nil {
		b.Fatal(err)
	}
	return fc
}

func (bc *benchClinic) get(b *testing.B, u string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+bc.tok)
	req.Header.Set("Prefer", "respond-async")
	rec := httptest.NewRecorder()
	bc.api.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK && rec.Code != http.StatusAccepted {
		b.Fatalf("GET %s = %d %s", u, rec.Code, rec.Body.String())
	}
	return rec
}

// BenchmarkSearchPatientYear: searches of one patient with a year of data
// (about 1,500 doses, 700 readings, 70 alerts), each built from the store
// at the request, as a client would page: blood pressure in a month,
// newest first. Reports p50 and p99 of the request.
//
//	go test -run '^$' -bench SearchPatientYear -benchtime 50x ./adherence/clinic/fhirapi/
func BenchmarkSearchPatientYear(b *testing.B) {
	bc := newBenchClinic(b, 1)
	id := report.FHIRID(bc.patients[0].ID, "Patient")
	u := "/fhir/Observation?patient=" + id + "&code=http://loinc.org|85354-9&date=ge2026-06-01&date=lt2026-07-01&_sort=-date"
	var ds []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		bc.get(b, u)
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkBulkExport: a Group export of PILLBOX_BENCH_PATIENTS
// patient-years (default 100, so that make bench stays within its
// timeout; seeding takes about as long as the export) on an SQLite file,
// from kick-off to the manifest. Reports resources per second.
//
//	PILLBOX_BENCH_PATIENTS=1000 go test -run '^$' -bench BulkExport -benchtime 1x -timeout 120m ./adherence/clinic/fhirapi/
func BenchmarkBulkExport(b *testing.B) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("PILLBOX_BENCH_PATIENTS")); err == nil && v > 0 {
		n = v
	}
	bc := newBenchClinic(b, n)
	fc, err := bc.api.c.Clinic.FHIRClients(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	group := GroupID(fc[0])
	var resources int
	b.ResetTimer()
	for b.Loop() {
		loc := bc.get(b, "/fhir/Group/"+group+"/$export").Header().Get("Content-Location")
		id := loc[len(loc)-24:]
		bc.api.bulk.mu.Lock()
		j := bc.api.bulk.jobs[id]
		bc.api.bulk.mu.Unlock()
		<-j.done
		j.mu.Lock()
		for _, f := range j.files {
			resources += f.Count
		}
		j.mu.Unlock()
	}
	b.ReportMetric(float64(resources)/b.Elapsed().Seconds(), "resources/s")
	b.ReportMetric(float64(n), "patient-years")
}
