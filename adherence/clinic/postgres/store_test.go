package postgres

import (
	"context"
	"flag"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/storetest"
	"github.com/pillbox/pillbox/internal/pgtest"
)

// TestMain runs the package's tests on a throwaway cluster (skipped, loudly,
// without Debian's postgresql; mandatory with PILLBOX_REQUIRE_POSTGRES=1).
// Benchmarks get a durable cluster (fsync on), so that a commit costs
// what it costs on a server; tests a fast one.
func TestMain(m *testing.M) {
	flag.Parse()
	pgtest.Main(m, pgtest.Settings{Durable: flag.Lookup("test.bench").Value.String() != ""})
}

// schema is a database with the clinic's migrations applied, copied for
// each test: migrating takes longer than copying.
var schema = pgtest.NewTemplate("clinic", func(ctx context.Context, conn string) error {
	s, err := Open(ctx, conn)
	if err != nil {
		return err
	}
	return s.Close()
})

// newStore returns a store on a new migrated database, and its URL.
func newStore(t testing.TB) (*Store, string) {
	t.Helper()
	url := schema.New(t)
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return s, url
}

// TestConformance runs the store suite, each test on a database of its
// own; a second Store opens another pool on it, as a second adherenced
// would.
func TestConformance(t *testing.T) {
	urls := map[clinic.Store]string{}
	var mu sync.Mutex
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T) clinic.Store {
			s, url := newStore(t)
			mu.Lock()
			urls[s] = url
			mu.Unlock()
			return s
		},
		Again: func(t *testing.T, s clinic.Store) clinic.Store {
			mu.Lock()
			url := urls[s]
			mu.Unlock()
			s2, err := Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			return s2
		},
	})
}

// TestMigrateConcurrently starts four processes' worth of Open on one new
// database at once: the advisory lock lets one migrate and the others
// find the work done.
func TestMigrateConcurrently(t *testing.T) {
	url := pgtest.New(t)
	ctx := context.Background()
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := Open(ctx, url)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("Open on a new database, four at once = %v", err)
		}
	}
	conn := connect(t, url)
	var versions, want int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	ms, err := migrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if want = len(ms); versions != want {
		t.Errorf("schema_migrations rows = %d, want %d (each migration once)", versions, want)
	}
	// A database of a newer program is refused, not downgraded.
	if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations(version) VALUES ($1)`, want+1); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctx, url); err == nil || !strings.Contains(err.Error(), "newer than this program") {
		if s != nil {
			s.Close()
		}
		t.Errorf("Open(a database at a newer version) = %v, want refused", err)
	}
}

func connect(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestAuditAppendOnlyInDatabase: the database itself refuses to change
// or remove audit entries, to anyone, the table's owner included.
func TestAuditAppendOnlyInDatabase(t *testing.T) {
	s, url := newStore(t)
	defer s.Close()
	ctx := context.Background()
	if err := s.AppendAudit(ctx, clinic.Entry{Actor: "system", Action: "service.start", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, url)
	for _, q := range []string{
		`UPDATE clinic_audit SET actor = 'someone else'`,
		`DELETE FROM clinic_audit`,
		`TRUNCATE clinic_audit`,
	} {
		_, err := conn.Exec(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s = %v, want refused as append-only", q, err)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM clinic_audit WHERE actor = 'system'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("audit entries after the refused changes = %d, %v; want 1", n, err)
	}
}

// serviceGrants are the grants docs/clinic.md ("PostgreSQL", "Roles")
// gives the service's role; TestServiceRole checks that they are enough to
// run the clinic and no more than it needs on the audit log.
const serviceGrants = `
GRANT USAGE ON SCHEMA public TO adherenced;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO adherenced;
REVOKE UPDATE, DELETE, TRUNCATE ON clinic_audit FROM adherenced;
REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM adherenced;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO adherenced;
`

func TestServiceRole(t *testing.T) {
	owner, url := newStore(t)
	owner.Close()
	ctx := context.Background()
	conn := connect(t, url)
	if _, err := conn.Exec(ctx, `DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'adherenced') THEN CREATE ROLE adherenced LOGIN; END IF;
END $$`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, serviceGrants, pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	// The same database as the service's role.
	svcURL := strings.Replace(url, "postgres://postgres@", "postgres://adherenced@", 1)
	if svcURL == url {
		t.Fatalf("pgtest's URL %q does not name the postgres role", url)
	}
	svc, err := Open(ctx, svcURL)
	if err != nil {
		t.Fatalf("Open as the service role on a migrated database = %v", err)
	}
	defer svc.Close()
	entry := clinic.Entry{Actor: "cli:test", Action: "patient.create", PatientID: "pt_1", Outcome: "ok"}
	if err := svc.CreatePatient(ctx, clinic.Patient{ID: "pt_1", DisplayName: "Ann Lee", FirstName: "Ann"}, entry); err != nil {
		t.Errorf("CreatePatient as the service role = %v", err)
	}
	if err := svc.AddCaregiver(ctx, "pt_1", clinic.Caregiver{Name: "Bo", Phone: "+15555550100"}, entry); err != nil {
		t.Errorf("AddCaregiver (an identity column) as the service role = %v", err)
	}
	sconn := connect(t, svcURL)
	for _, q := range []string{`UPDATE clinic_audit SET actor = 'x'`, `DELETE FROM clinic_audit`, `TRUNCATE clinic_audit`,
		`DROP TABLE clinic_audit`, `ALTER TABLE clinic_audit DISABLE TRIGGER USER`, `CREATE TABLE clinic_x (a int)`,
		`DELETE FROM schema_migrations`} {
		if _, err := sconn.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "permission denied") && !strings.Contains(err.Error(), "must be owner") {
			t.Errorf("%s as the service role = %v, want permission denied", q, err)
		}
	}
}

// TestOpenRefusesBadURL: the error never quotes the connection string
// (it may hold a password).
func TestOpenRefusesBadURL(t *testing.T) {
	_, err := Open(context.Background(), "postgres://u:s3cret@[::1/clinic")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open(a bad URL) = %v, want an error without the password", err)
	}
}
