package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/sqlite"
	"github.com/pillbox/pillbox/adherence/clinic/web"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/schedule"
	fhirvalidate "github.com/pillbox/pillbox/tools/fhir-validate"
)

var reportNow = time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)

// clinicWithHistory makes a clinic database file with a patient, 60 days
// of synthetic history, and a clinician with an API token for the web.
func clinicWithHistory(t *testing.T) (db, patient, token string, srv *web.Server) {
	t.Helper()
	ctx := context.Background()
	db = filepath.Join(t.TempDir(), "clinic.db")
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cs := clinic.New(st, schedule.NewSimClock(reportNow))
	cs.Password = clinic.PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1}
	a := clinic.CLI("test")
	u, err := cs.CreateUser(ctx, a, "alice", "Dr Alice", clinic.RoleClinician, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	p, err := cs.CreatePatient(ctx, a, "Ann Patient")
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.SetPanel(ctx, a, u.ID, p.ID, true); err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	if _, _, err := cs.SeedSynthetic(ctx, a, p.ID, 60, 1, ny); err != nil {
		t.Fatal(err)
	}
	if token, err = cs.IssueAPIToken(ctx, a, u.ID, "report test"); err != nil {
		t.Fatal(err)
	}
	if srv, err = web.New(web.Config{Clinic: cs, Clock: schedule.NewSimClock(reportNow)}); err != nil {
		t.Fatal(err)
	}
	return db, p.ID, token, srv
}

func pillctl(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if got := dispatch(args, &out, &errOut); got != want {
		t.Fatalf("pillctl %s = %d, want %d; stderr %s", strings.Join(args, " "), got, want, errOut.String())
	}
	return out.String(), errOut.String()
}

// TestReportSameAsWeb: the files pillctl writes are the web's downloads,
// byte for byte.
func TestReportSameAsWeb(t *testing.T) {
	db, patient, token, srv := clinicWithHistory(t)
	dir := t.TempDir()
	out, _ := pillctl(t, 0, "report", "--db", db, "--patient", patient, "--days", "30", "--now", reportNow.Format(time.RFC3339), "--out", dir)
	files := strings.Fields(out)
	if len(files) != len(report.Formats) {
		t.Fatalf("pillctl report wrote %v, want %d files", files, len(report.Formats))
	}
	for i, f := range report.Formats {
		got, err := os.ReadFile(files[i])
		if err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(files[i]); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600 (patient data)", files[i], fi.Mode().Perm())
		}
		r := httptest.NewRequest("GET", "/patients/"+patient+"/"+f+"?days=30", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, r)
		if w.Code != 200 {
			t.Fatalf("GET %s = %d: %s", f, w.Code, w.Body)
		}
		if !bytes.Equal(got, w.Body.Bytes()) {
			t.Errorf("pillctl's %s differs from the web's (%d and %d bytes)", f, len(got), w.Body.Len())
		}
		if want := report.FileName(patient, report.LastDays(30, reportNow, mustNY(t)), f); filepath.Base(files[i]) != want {
			t.Errorf("file name %s, want %s", filepath.Base(files[i]), want)
		}
	}
	fhir, _ := pillctl(t, 0, "export", "--fhir", "--db", db, "--patient", patient, "--from", "2026-02-01", "--to", "2026-02-28",
		"--now", reportNow.Format(time.RFC3339), "--out", "-")
	if ok, rep := fhirvalidate.Run(t, []byte(fhir)); !ok {
		t.Errorf("pillctl export --fhir does not validate:\n%.2000s", rep)
	}
}

func mustNY(t *testing.T) *time.Location {
	l, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestReportDispenserDatabase(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "dispenser.db")
	st, err := adherence.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	evs, rs := report.Synthetic(3, reportNow.In(mustNY(t)).AddDate(0, 0, -20), 20, 0.9)
	for i := range evs {
		evs[i].Seq, evs[i].ID = 0, ""
	}
	for i := range rs {
		rs[i].Seq, rs[i].ID = 0, ""
	}
	if _, err := st.Append(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendReadings(ctx, rs...); err != nil {
		t.Fatal(err)
	}
	st.Close()
	cfg := filepath.Join("..", "..", "examples", "dispenser.yaml")
	out, _ := pillctl(t, 0, "export", "--fhir", "--db", db, "--config", cfg, "--days", "14", "--now", reportNow.Format(time.RFC3339), "--out", "-")
	if !strings.Contains(out, `"text": "Margaret"`) || !strings.Contains(out, `"Metformin 500 mg"`) {
		t.Errorf("the bundle lacks the config's patient or medication names: %.500s", out)
	}
	if ok, rep := fhirvalidate.Run(t, []byte(out)); !ok {
		t.Errorf("the dispenser's bundle does not validate:\n%.2000s", rep)
	}
	csv, _ := pillctl(t, 0, "report", "--db", db, "--config", cfg, "--days", "14", "--now", reportNow.Format(time.RFC3339), "--format", "doses.csv", "--out", "-")
	if n := strings.Count(csv, "\n"); n < 14*3 {
		t.Errorf("doses.csv has %d lines, want a row per dose of 14 days", n)
	}
}

func TestReportUsage(t *testing.T) {
	tests := []struct {
		args []string
		want int
		msg  string
	}{
		{[]string{"export", "--db", "x"}, 2, "say what to export"},
		{[]string{"report", "--format", "pdf"}, 2, "want one of"},
		{[]string{"report", "--out", "-"}, 2, "writes one format"},
		{[]string{"report", "--now", "today", "--format", "fhir.json"}, 2, "-now: want an RFC 3339 time"},
		{[]string{"report", "--db", "/nonexistent/clinic.db", "--patient", "pt_x"}, 1, "no such file"},
		{[]string{"report", "--patient", "pt_x", "--config", "c.yaml"}, 1, "give one"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, stderr := pillctl(t, tc.want, tc.args...)
			if !strings.Contains(stderr, tc.msg) {
				t.Errorf("stderr = %q, want %q", stderr, tc.msg)
			}
		})
	}
}
