package clinicdb

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/postgres"
	"github.com/pillbox/pillbox/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m, pgtest.Settings{}) }

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tests := []struct {
		name, db string
		wantErr  error  // errors.Is
		wantText string // in the error
	}{
		// Nothing listens there: the error names the database, not the password.
		{"postgres URL, no server", "postgres://adherenced:s3cret@127.0.0.1:1/clinic?connect_timeout=5", nil, "postgres://adherenced:xxxxx@127.0.0.1:1/clinic"},
		{"postgresql URL, no server", "postgresql://adherenced:s3cret@/clinic?host=" + dir + "&connect_timeout=5", nil, "postgresql://adherenced:xxxxx@/clinic"},
		{"empty", "", nil, "no database"},
		{"another kind", "mysql://root:s3cret@h/clinic", nil, `unknown kind of database "mysql"`},
		{"file: URL with SQLite parameters", "file:" + dir + "/x.db?mode=ro", nil, "takes no ?parameters"},
		{"file: URL of another host", "file://nas/clinic.db", nil, "not on nas"},
		{"file: URL of nothing", "file:", nil, "no file named"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := Open(ctx, tc.db)
			if err == nil {
				st.Close()
				t.Fatalf("Open(%q) = nil error, want %q", tc.db, tc.wantText)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("Open(%q) = %v, want %v saying %q", tc.db, err, tc.wantErr, tc.wantText)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("Open(%q) = %v: the error shows the password", tc.db, err)
			}
		})
	}
	path := filepath.Join(dir, "sub", "clinic.db")
	if _, err := OpenExisting(ctx, path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenExisting(a missing file) = %v, want not found", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("OpenExisting made %s: %v", path, err)
	}
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open(an SQLite path) = %v", err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Errorf("Ping = %v", err)
	}
	st.Close()
	st, err = OpenExisting(ctx, path)
	if err != nil {
		t.Fatalf("OpenExisting(the file Open made) = %v", err)
	}
	st.Close()
}

func TestParse(t *testing.T) {
	tests := []struct {
		db   string
		want Target
	}{
		{"/var/lib/pillbox-clinic/clinic.db", Target{Kind: SQLite, Path: "/var/lib/pillbox-clinic/clinic.db"}},
		{"clinic.db", Target{Kind: SQLite, Path: "clinic.db"}},
		{"file:clinic.db", Target{Kind: SQLite, Path: "clinic.db"}},
		{"file:/srv/clinic.db", Target{Kind: SQLite, Path: "/srv/clinic.db"}},
		{"file:///srv/my%20clinic.db", Target{Kind: SQLite, Path: "/srv/my clinic.db"}},
		{"file://localhost/srv/clinic.db", Target{Kind: SQLite, Path: "/srv/clinic.db"}},
		{"postgres://u:pw@h/clinic", Target{Kind: Postgres, URL: "postgres://u:pw@h/clinic"}},
		{"postgresql:///clinic?host=/run/postgresql", Target{Kind: Postgres, URL: "postgresql:///clinic?host=/run/postgresql"}},
	}
	for _, tc := range tests {
		got, err := Parse(tc.db)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.db, got, err, tc.want)
		}
	}
	if s := (Target{Kind: Postgres, URL: "postgres://u:pw@h/clinic"}).String(); strings.Contains(s, "pw") {
		t.Errorf("Target.String() = %q shows the password", s)
	}
}

// TestOpenFileURL: a file: URL opens the same file as its path.
func TestOpenFileURL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "clinic.db")
	st, err := Open(ctx, "file://"+path)
	if err != nil {
		t.Fatalf("Open(file://%s) = %v", path, err)
	}
	st.Close()
	st, err = OpenExisting(ctx, path)
	if err != nil {
		t.Fatalf("OpenExisting(%s) after Open(its file: URL) = %v", path, err)
	}
	st.Close()
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"/var/lib/pillbox-clinic/clinic.db":       "/var/lib/pillbox-clinic/clinic.db",
		"postgres://u:secret@h:5432/clinic":       "postgres://u:xxxxx@h:5432/clinic",
		"postgres://h/clinic?sslmode=verify-full": "postgres://h/clinic?sslmode=verify-full",
		"mysql://root:secret@h/clinic":            "mysql://root:xxxxx@h/clinic",
		"postgres://u:p@h/%zz":                    "postgres://(unreadable URL)",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOpenPostgres: a postgres:// URL opens the PostgreSQL backend, which
// OpenExisting does not take for a missing file.
func TestOpenPostgres(t *testing.T) {
	ctx := context.Background()
	url := pgtest.New(t)
	for _, open := range []func(context.Context, string) (clinic.Store, error){Open, OpenExisting} {
		st, err := open(ctx, url)
		if err != nil {
			t.Fatalf("Open(%s) = %v", Redact(url), err)
		}
		if _, ok := st.(*postgres.Store); !ok {
			t.Errorf("Open(%s) = %T, want *postgres.Store", Redact(url), st)
		}
		if err := st.Ping(ctx); err != nil {
			t.Errorf("Ping = %v", err)
		}
		st.Close()
	}
	if alt := strings.Replace(url, "postgres://", "postgresql://", 1); !IsPostgres(alt) {
		t.Errorf("IsPostgres(%q) = false", alt)
	}
}
