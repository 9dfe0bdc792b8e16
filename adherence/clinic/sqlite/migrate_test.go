package sqlite

import (
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/schedule"
)

// raw opens path without this package, as another program would.
func raw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// header returns the file's application_id and user_version.
func header(t *testing.T, db *sql.DB) (app, version int) {
	t.Helper()
	if err := db.QueryRow("PRAGMA application_id").Scan(&app); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	return app, version
}

// schema is every table, index and trigger of the database at path with
// the SQL that made it.
func schema(t *testing.T, path string) []string {
	t.Helper()
	rows, err := raw(t, path).Query(`SELECT type, name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ, name, text string
		if err := rows.Scan(&typ, &name, &text); err != nil {
			t.Fatal(err)
		}
		out = append(out, typ+" "+name+": "+text)
	}
	return out
}

// freshSchema is the schema of a new clinic database.
func freshSchema(t *testing.T) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fresh.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	return schema(t, path)
}

// dispenserChain makes a database at path with the dispenser's migration
// chain (adherence/migrations) up to version, as adherence.Open did for
// the clinic before it had migrations of its own.
func dispenserChain(t *testing.T, path string, version int) *sql.DB {
	t.Helper()
	files, err := filepath.Glob("../../migrations/*.sql")
	if err != nil || len(files) < version {
		t.Fatalf("the dispenser's migrations: %v, %v", files, err)
	}
	db := raw(t, path)
	for i, f := range files[:version] {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := db.Exec("PRAGMA user_version = " + strconv.Itoa(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func gunzip(t *testing.T, from, to string) {
	t.Helper()
	f, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, z); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestUpgradeLegacyFile opens a clinic database made by adherenced before
// the clinic had its own migrations (testdata/README.md): the file becomes
// a clinic database at the last version with exactly a new one's schema,
// the dispenser's tables go, and every account, session, token, delay,
// patient, device, event, reading, mark, text and audit entry still works
// through the clinic as it did.
func TestUpgradeLegacyFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "clinic.db")
	gunzip(t, "testdata/clinic-v7.db.gz", path)
	var fx map[string]string
	b, err := os.ReadFile("testdata/clinic-v7.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	if app, v := header(t, raw(t, path)); app != 0 || v != 7 {
		t.Fatalf("testdata file: application_id %#x, version %d; want the dispenser chain's 0 and 7", app, v)
	}
	now, err := time.Parse(time.RFC3339Nano, fx["now"])
	if err != nil {
		t.Fatal(err)
	}
	legacyRows := rowCounts(t, path)
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open(the legacy file) = %v", err)
	}
	defer st.Close()
	upgradedRows := rowCounts(t, path)
	for table, n := range legacyRows {
		if strings.HasPrefix(table, "clinic_") && upgradedRows[table] != n {
			t.Errorf("rows in %s after the upgrade = %d, want the legacy file's %d", table, upgradedRows[table], n)
		}
	}
	ms, _ := migrations(migrationFiles)
	if app, v := header(t, raw(t, path)); app != applicationID || v != len(ms) {
		t.Errorf("after the upgrade: application_id %#x, version %d; want %#x and %d", app, v, applicationID, len(ms))
	}
	if got, want := schema(t, path), freshSchema(t); !reflect.DeepEqual(got, want) {
		t.Errorf("schema after the upgrade differs from a new database's:\n got %q\nwant %q", got, want)
	}

	c := clinic.New(st, schedule.NewSimClock(now.Add(time.Minute)))
	if u, err := c.CheckPassword(ctx, "alice", fx["password"]); err != nil || u.ID != fx["alice"] {
		t.Errorf("CheckPassword(alice) = %+v, %v; want her account", u, err)
	}
	if _, err := c.CheckPassword(ctx, "gone", fx["password"]); !errors.Is(err, clinic.ErrBadLogin) {
		t.Errorf("CheckPassword(the disabled account) = %v, want ErrBadLogin", err)
	}
	if p, err := c.Session(ctx, fx["session"], clinic.DefaultSessionLimits); err != nil || p.UserID != fx["alice"] || p.CSRF == "" {
		t.Errorf("Session(alice's cookie) = %+v, %v; want her session", p, err)
	}
	if p, err := c.Authenticate(ctx, fx["api_token"]); err != nil || p.UserID != fx["alice"] {
		t.Errorf("Authenticate(API token) = %+v, %v", p, err)
	}
	if p, err := c.Authenticate(ctx, fx["device_token"]); err != nil || p.DeviceID != fx["device"] || p.PatientID != fx["ann"] {
		t.Errorf("Authenticate(device token) = %+v, %v", p, err)
	}
	var rt *clinic.RefusedToken
	if _, err := c.Authenticate(ctx, fx["revoked_token"]); !errors.As(err, &rt) || rt.Why != "revoked" {
		t.Errorf("Authenticate(revoked token) = %v, want refused as revoked", err)
	}
	if ok, err := c.OnPanel(ctx, fx["alice"], fx["ann"]); err != nil || !ok {
		t.Errorf("OnPanel(alice, Ann) = %v, %v", ok, err)
	}
	if rs, _ := c.PanelRequests(ctx); len(rs) != 1 || rs[0].UserID != fx["root"] || rs[0].PatientID != fx["ben"] {
		t.Errorf("PanelRequests = %+v, want root's request for Ben", rs)
	}
	if p, _ := c.Patient(ctx, fx["ben"]); p.FirstName != "Benny" {
		t.Errorf("Ben's first name = %q, want Benny", p.FirstName)
	}
	if cs, _ := c.Caregivers(ctx, fx["ann"]); len(cs) != 2 {
		t.Errorf("Ann's caregivers = %+v, want 2", cs)
	}
	devs, err := c.Devices(ctx, "")
	if err != nil || len(devs) != 3 {
		t.Fatalf("Devices = %+v, %v; want 3", devs, err)
	}
	software := map[string]string{}
	for _, d := range devs {
		software[d.ID] = d.Software
		if d.ID == fx["device"] && (d.SetAside != 1 || d.ClockNote == "" || d.TokenExpires.IsZero() || d.SilentSince.IsZero()) {
			t.Errorf("device %s = %+v, want a set-aside item, a clock note, its token's expiry and silent", d.ID, d)
		}
		if d.ID == fx["device_b"] && !d.Disabled {
			t.Errorf("device B is no longer disabled")
		}
	}
	if software[fx["device"]] != "1.0" || !strings.Contains(strings.Join(mapValues(software), ","), "synthetic") {
		t.Errorf("software by device = %v, want 1.0 and synthetic read out of the heartbeats (migration 0004)", software)
	}
	if n, _ := c.EventCount(ctx, fx["ann"]); n < 100 {
		t.Errorf("Ann's events = %d, want the synthetic fortnight and the batch", n)
	}
	flagged, _ := c.ClockFlagged(ctx, fx["ann"], 10)
	if len(flagged) != 2 {
		t.Errorf("clock-flagged events = %+v, want the untrusted and the ahead one", flagged)
	}
	in, err := c.ReportInput(ctx, clinic.Patient{ID: fx["ann"], DisplayName: "Ann Patient"}, now.AddDate(0, 0, -14), now)
	if err != nil {
		t.Fatal(err)
	}
	rep := report.Build(in)
	if rep.Overall.Scheduled == 0 || len(rep.Readings) == 0 || in.Setup.Location == nil || len(in.Marks) != 1 {
		t.Errorf("Ann's fortnight report: %d doses scheduled, %d readings, zone %v, %d marks; want the history with its profile and mark",
			rep.Overall.Scheduled, len(rep.Readings), in.Setup.Location, len(in.Marks))
	}
	if texts, _ := c.Texts(ctx); len(texts) != 4 {
		t.Errorf("texts = %d, want the 4 silent ones", len(texts))
	}
	// The account's failure counts on: the next is its second.
	key := clinic.KeyDelay{Key: clinic.AccountKey("alice"), Delay: clinic.Delay{First: time.Millisecond, Max: time.Hour}}
	if until, err := st.LoginFailed(ctx, now, now.Add(-24*time.Hour), key); err != nil || !until.Equal(now.Add(2*time.Millisecond)) {
		t.Errorf("the next failure of alice's account waits until %v, %v; want %v (its second)", until, err, now.Add(2*time.Millisecond))
	}
	es, err := c.AuditLog(ctx, clinic.AuditQuery{Limit: 1000})
	if err != nil || len(es) < 20 || es[0].Action != "user.create" {
		t.Errorf("audit log = %d entries, %v; want the legacy file's, from the first user.create", len(es), err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// Opening again changes nothing: not the schema, the header or a row.
	before, rowsBefore := schema(t, path), rowCounts(t, path)
	st2, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open(upgraded) = %v", err)
	}
	st2.Close()
	if after := schema(t, path); !reflect.DeepEqual(after, before) {
		t.Error("a second Open changed the schema")
	}
	if after := rowCounts(t, path); !reflect.DeepEqual(after, rowsBefore) {
		t.Errorf("rows per table after a second Open = %v, want %v", after, rowsBefore)
	}
	if app, v := header(t, raw(t, path)); app != applicationID || v != len(ms) {
		t.Errorf("after a second Open: application_id %#x, version %d; want %#x and %d", app, v, applicationID, len(ms))
	}
}

// rowCounts is the number of rows in each table of the database at path.
func rowCounts(t *testing.T, path string) map[string]int {
	t.Helper()
	db := raw(t, path)
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	out := map[string]int{}
	for _, n := range names {
		var c int
		if err := db.QueryRow(`SELECT count(*) FROM "` + n + `"`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		out[n] = c
	}
	return out
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestUpgradeDispenserChain: a clinic file of the dispenser's chain at
// any version that had the clinic's tables (4 to 7; the test builds it
// from adherence/migrations) ends with a new database's schema and keeps
// its rows.
func TestUpgradeDispenserChain(t *testing.T) {
	want := freshSchema(t)
	for v := 4; v <= 7; v++ {
		t.Run(strconv.Itoa(v), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "clinic.db")
			db := dispenserChain(t, path, v)
			if _, err := db.Exec(`INSERT INTO meta(key, value) VALUES ('device_id', 'x');
INSERT INTO clinic_users(id, username, display_name, role, password_hash, created) VALUES ('us_1', 'alice', 'Dr Alice', 'clinician', 'h', 1);
INSERT INTO clinic_patients(id, display_name, created) VALUES ('pt_1', 'Ann Lee', 1);
INSERT INTO clinic_devices(id, patient_id, created, heartbeat) VALUES ('dv_1', 'pt_1', 1, '{"software":"v0.9"}');`); err != nil {
				t.Fatal(err)
			}
			db.Close()
			st, err := Open(context.Background(), path)
			if err != nil {
				t.Fatalf("Open(version %d) = %v", v, err)
			}
			defer st.Close()
			if got := schema(t, path); !reflect.DeepEqual(got, want) {
				t.Errorf("schema after upgrading version %d differs from a new database's:\n got %q\nwant %q", v, got, want)
			}
			if u, err := st.UserByName(context.Background(), "alice"); err != nil || u.ID != "us_1" {
				t.Errorf("UserByName(alice) = %+v, %v", u, err)
			}
			p, err := st.Patient(context.Background(), "pt_1")
			// Before the dispenser's 0006 the file has no first_name: the
			// clinic's 0003 adds it and takes it from the name. From 0006 on
			// the row was inserted with the column's default, which stays.
			wantFirst := ""
			if v < 6 {
				wantFirst = "Ann"
			}
			if err != nil || p.FirstName != wantFirst {
				t.Errorf("Patient(pt_1) at version %d = %+v, %v; want first name %q", v, p, err, wantFirst)
			}
			if ds, _ := st.Devices(context.Background(), ""); len(ds) != 1 || ds[0].Software != "v0.9" {
				t.Errorf("Devices = %+v, want dv_1 with its software", ds)
			}
		})
	}
}

// TestRefusesOtherDatabases: a dispenser's database (its log, or no
// clinic tables), another program's, or one newer than this program is
// refused and left as it was.
func TestRefusesOtherDatabases(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		want  string
	}{
		{"a dispenser's log", func(t *testing.T, path string) {
			db := dispenserChain(t, path, 7)
			if _, err := db.Exec(`INSERT INTO events(id, time, kind) VALUES ('e1', 1, 'button')`); err != nil {
				t.Fatal(err)
			}
		}, "holds a dispenser's records (table events)"},
		{"a dispenser's database before the clinic tables", func(t *testing.T, path string) { dispenserChain(t, path, 3) },
			"is a dispenser's"},
		{"another program's", func(t *testing.T, path string) {
			if _, err := raw(t, path).Exec("PRAGMA application_id = 42; CREATE TABLE t(x)"); err != nil {
				t.Fatal(err)
			}
		}, "not a clinic database"},
		{"a newer clinic", func(t *testing.T, path string) {
			s, err := Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			if _, err := raw(t, path).Exec("PRAGMA user_version = 99"); err != nil {
				t.Fatal(err)
			}
		}, "newer than this program"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.db")
			tc.setup(t, path)
			db := raw(t, path)
			app, v := header(t, db)
			before := schema(t, path)
			s, err := Open(context.Background(), path)
			if err == nil {
				s.Close()
				t.Fatalf("Open = nil error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open = %v, want %q", err, tc.want)
			}
			if a2, v2 := header(t, db); a2 != app || v2 != v || !reflect.DeepEqual(schema(t, path), before) {
				t.Errorf("the refused database changed: header %#x/%d -> %#x/%d", app, v, a2, v2)
			}
		})
	}
}

// TestAuditAppendOnlyInTheDatabase: even SQL that goes around the store
// cannot change or remove an audit entry.
func TestAuditAppendOnlyInTheDatabase(t *testing.T) {
	s, err := OpenMemory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AppendAudit(context.Background(), clinic.Entry{Time: time.Unix(1, 0), Actor: "system", Action: "service.start", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE clinic_audit SET actor = 'someone else'`, `DELETE FROM clinic_audit`} {
		if _, err := s.w.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s = %v, want refused as append-only", q, err)
		}
	}
}

// TestFileModes: the database and its WAL files are the service's only,
// in a directory that is too, and an existing file is tightened.
func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "clinic.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(context.Background(), clinic.Entry{Time: time.Unix(1, 0), Actor: "system", Action: "x", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("mode of %s = %v, %v; want %04o", filepath.Base(p), fi.Mode().Perm(), err, want)
		}
	}
	s.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode of an existing file after Open = %04o, want 0600", fi.Mode().Perm())
	}
}
