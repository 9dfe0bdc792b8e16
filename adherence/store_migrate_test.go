package adherence

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    []int // versions
		wantErr string
	}{
		{"in order", fstest.MapFS{"m/0001_a.sql": file("A"), "m/0002_b.sql": file("B")}, []int{1, 2}, ""},
		{"gap", fstest.MapFS{"m/0001_a.sql": file("A"), "m/0003_c.sql": file("C")}, nil, `"0003_c.sql" has version 3, want 2`},
		{"duplicate version", fstest.MapFS{"m/0001_a.sql": file("A"), "m/0001_b.sql": file("B")}, nil, "want 2"},
		{"starts at 2", fstest.MapFS{"m/0002_b.sql": file("B")}, nil, "want 1"},
		{"bad name", fstest.MapFS{"m/0001_a.sql": file("A"), "m/2_b.sql": file("B")}, nil, "not named NNNN_name.sql"},
		{"not sql", fstest.MapFS{"m/0001_a.txt": file("A")}, nil, "not named NNNN_name.sql"},
		{"no directory", fstest.MapFS{}, nil, "adherence: migrations:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := loadMigrations(tc.fsys, "m")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("loadMigrations = %v, %v; want error containing %q", ms, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadMigrations: %v", err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.version)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("loadMigrations versions = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEmbeddedMigrationsLoad(t *testing.T) {
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil || len(ms) == 0 {
		t.Fatalf("embedded migrations = %d, %v; want at least one", len(ms), err)
	}
}

// rawState reads the schema version and the whole schema text without the
// store's help.
func rawState(t *testing.T, path string) (version int, schema string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_schema ORDER BY name)`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	return version, schema
}

func TestMigrationIsAtomic(t *testing.T) {
	real, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	n := len(real)
	// The broken step creates a table, alters one, and then fails at run
	// time (the INSERT cannot even be prepared before the CREATE ran): none
	// of it may survive, and the version must stay at the last good step.
	broken := append(append([]migration(nil), real...), migration{
		version: n + 1,
		sql: `CREATE TABLE half_done (x INTEGER NOT NULL);
ALTER TABLE events ADD COLUMN extra TEXT;
INSERT INTO half_done VALUES (NULL);`,
	})
	path := filepath.Join(t.TempDir(), "m.db")
	s, err := openFile(t.Context(), path, real)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, schema := rawState(t, path)

	s, err = openFile(t.Context(), path, broken)
	want := fmt.Sprintf("adherence: migrate %04d: ", n+1)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("open with a broken migration: error = %v, want prefix %q", err, want)
	}
	v, after := rawState(t, path)
	if v != n {
		t.Errorf("user_version after the failed migration = %d, want %d", v, n)
	}
	if after != schema {
		t.Errorf("schema after the failed migration:\n%s\nwant that of version %d:\n%s", after, n, schema)
	}

	// The real list still opens it, keeping the earlier steps' data.
	s, err = openFile(t.Context(), path, real)
	if err != nil {
		t.Fatalf("open with the real migrations after a failed one: %v", err)
	}
	mustAppend(t, s, doseEv("dose_due", "d", t0))
	s.Close()

	fixed := append(append([]migration(nil), real...), migration{version: n + 1, sql: "CREATE TABLE half_done (x INTEGER);"})
	s, err = openFile(t.Context(), path, fixed)
	if err != nil {
		t.Fatalf("open with a fixed migration: %v", err)
	}
	if evs, err := s.Since(t.Context(), 0, 10); err != nil || len(evs) != 1 {
		t.Errorf("events after the fixed migration = %d, %v; want 1", len(evs), err)
	}
	s.Close()
	if v, _ := rawState(t, path); v != n+1 {
		t.Errorf("user_version after the fixed migration = %d, want %d", v, n+1)
	}

	// A program older than the database refuses it rather than guessing.
	if s, err := openFile(t.Context(), path, real); err == nil || !strings.Contains(err.Error(), "newer than this program") {
		if s != nil {
			s.Close()
		}
		t.Errorf("open a version %d database with %d migrations: error = %v, want newer than this program", n+1, n, err)
	}
}

// TestMigration6: tokens issued before tokens expired get the default
// lifetime from the upgrade (API 90 days, device 365), so none stops
// working at the upgrade and each still ends; patients get the first word
// of their name as the name the clinic's texts use.
func TestMigration6(t *testing.T) {
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "clinic.db")
	oldSchema(t, path, ms[:5],
		`INSERT INTO clinic_patients(id, display_name, created) VALUES ('pt_1', 'P', 0), ('pt_2', ' Margaret  Jones ', 0)`,
		`INSERT INTO clinic_devices(id, patient_id, created) VALUES ('dv_1', 'pt_1', 0)`,
		`INSERT INTO clinic_users(id, username, display_name, role, created) VALUES ('us_1', 'u', 'U', 'clinician', 0)`,
		`INSERT INTO clinic_tokens(id, hash, kind, user_id, created) VALUES ('tk_api', 'h1', 'api', 'us_1', 0)`,
		`INSERT INTO clinic_tokens(id, hash, kind, device_id, created) VALUES ('tk_dev', 'h2', 'device', 'dv_1', 0)`)
	before := time.Now()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	after := time.Now()
	for id, days := range map[string]int{"tk_api": 90, "tk_dev": 365} {
		var ms int64
		if err := s.r.QueryRowContext(t.Context(), `SELECT expires FROM clinic_tokens WHERE id = ?`, id).Scan(&ms); err != nil {
			t.Fatal(err)
		}
		ttl := time.Duration(days) * 24 * time.Hour
		if got := time.UnixMilli(ms); got.Before(before.Add(ttl).Truncate(time.Millisecond)) || got.After(after.Add(ttl)) {
			t.Errorf("token %s expires %v, want %d days after the upgrade (%v)", id, got, days, before.Add(ttl))
		}
	}
	for id, want := range map[string]string{"pt_1": "P", "pt_2": "Margaret"} {
		var got string
		if err := s.r.QueryRowContext(t.Context(), `SELECT first_name FROM clinic_patients WHERE id = ?`, id).Scan(&got); err != nil || got != want {
			t.Errorf("patient %s first name = %q, %v; want %q", id, got, err, want)
		}
	}
}
