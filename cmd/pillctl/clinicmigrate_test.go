package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/postgres"
	"github.com/pillbox/pillbox/adherence/clinic/sqlite"
	"github.com/pillbox/pillbox/internal/pgtest"
)

// TestMain gives the migrate test its PostgreSQL (skipped, loudly,
// without one; mandatory with PILLBOX_REQUIRE_POSTGRES=1).
func TestMain(m *testing.M) { pgtest.Main(m, pgtest.Settings{}) }

func TestClinicMigrate(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "clinic.db")
	pc := func(want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if got := dispatch(append([]string{"clinic"}, args...), &out, &errOut); got != want {
			t.Fatalf("pillctl clinic %s = %d, want %d; stdout %s stderr %s", strings.Join(args, " "), got, want, out.String(), errOut.String())
		}
		return out.String() + errOut.String()
	}
	// A clinic made the way an operator makes one. (The first command needs
	// the file: adherenced makes it.)
	lite, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	lite.Close()
	pc(0, "user", "add", "--db", db, "alice", "Dr Alice")
	patient := strings.TrimSpace(pc(0, "patient", "add", "--db", db, "Ann Lee"))
	pc(0, "device", "add", "--db", db, patient)
	pc(0, "caregiver", "add", "--db", db, patient, "Carol", "+15555550101")

	url := pgtest.New(t)
	out := pc(0, "migrate", "--db", db, "--to", url)
	for _, want := range []string{`clinic_users\s+1\n`, `clinic_patients\s+1\n`, `clinic_devices\s+1\n`, `clinic_caregivers\s+1\n`,
		`copied \d+ rows from .*clinic.db to postgres://.*; every table's count verified`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("migrate output %q does not match %q", out, want)
		}
	}
	// pillctl and adherenced now work on the copy.
	if users := pc(0, "users", "--db", url); !strings.Contains(users, "alice") {
		t.Errorf("users on the copy = %q, want alice", users)
	}
	if ps := pc(0, "patients", "--db", url); !strings.Contains(ps, patient) {
		t.Errorf("patients on the copy = %q, want %s", ps, patient)
	}
	st, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	es, err := st.AuditLog(context.Background(), clinic.AuditQuery{Limit: 1000})
	st.Close()
	if err != nil || len(es) == 0 || es[len(es)-1].Action != "clinic.migrate" {
		t.Errorf("the copy's last audit entry = %+v, %v; want clinic.migrate", es, err)
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a target with rows", []string{"--db", db, "--to", url}, "not empty"},
		{"a target that is not a URL", []string{"--db", db, "--to", filepath.Join(dir, "other.db")}, "must be a postgres://"},
		{"a source that is missing", []string{"--data", filepath.Join(dir, "nowhere"), "--to", pgtest.New(t)}, "no such file"},
		{"a source that is a URL", []string{"--db", url, "--to", pgtest.New(t)}, "not a URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if out := pc(1, append([]string{"migrate"}, tc.args...)...); !strings.Contains(out, tc.want) {
				t.Errorf("migrate %q = %q, want %q", tc.args, out, tc.want)
			}
		})
	}
	// --data names adherenced's folder.
	if out := pc(0, "migrate", "--data", dir, "--to", pgtest.New(t)); !strings.Contains(out, "every table's count verified") {
		t.Errorf("migrate --data = %q", out)
	}
}
