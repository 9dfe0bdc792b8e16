// Package clinicdb opens the clinic's store that a --db flag names, for
// the commands that wire one (adherenced, pillctl clinic and report,
// pillload): the path of an SQLite file, a file: URL of one, or a
// PostgreSQL URL.
//
// Parse decides which backend a value names and Open switches on that, so
// a backend is one Kind and one arm in open.
package clinicdb

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/postgres"
	"github.com/pillbox/pillbox/adherence/clinic/sqlite"
)

// Kind is the backend a --db value names.
type Kind int

const (
	SQLite   Kind = iota + 1 // a file path or file: URL
	Postgres                 // postgres:// or postgresql://
)

// Target is a parsed --db value.
type Target struct {
	Kind Kind
	// Path is the SQLite file's path (Kind SQLite).
	Path string
	// URL is the value as given, password and all (Kind Postgres): the
	// driver parses it. Print String, never URL.
	URL string
}

// String is the target as it may be logged and audited: a URL without
// its password, a path as it is.
func (t Target) String() string {
	if t.Kind == SQLite {
		return t.Path
	}
	return Redact(t.URL)
}

// urlScheme matches the start of a URL with an authority ("scheme://"),
// which is never how a path is meant.
var urlScheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)

// Parse says which backend db names and where. It opens nothing.
func Parse(db string) (Target, error) {
	switch {
	case db == "":
		return Target{}, errors.New("clinicdb: no database given")
	case IsPostgres(db):
		if _, err := url.Parse(db); err != nil {
			return Target{}, fmt.Errorf("clinicdb: %s: not a URL", Redact(db))
		}
		return Target{Kind: Postgres, URL: db}, nil
	case strings.HasPrefix(db, "file:"):
		return parseFileURL(db)
	}
	if m := urlScheme.FindStringSubmatch(db); m != nil {
		return Target{}, fmt.Errorf("clinicdb: %s: unknown kind of database %q; give postgres://..., an SQLite file's path, or file:PATH", Redact(db), m[1])
	}
	return Target{Kind: SQLite, Path: db}, nil
}

// parseFileURL reads file:PATH, file:/abs/path and file:///abs/path (RFC
// 8089). SQLite's own URI parameters are refused rather than ignored: the
// backend sets the pragmas it relies on itself.
func parseFileURL(db string) (Target, error) {
	u, err := url.Parse(db)
	if err != nil {
		return Target{}, fmt.Errorf("clinicdb: %q: not a file: URL: %w", db, err)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return Target{}, fmt.Errorf("clinicdb: %q: a file: URL takes no ?parameters or #fragment; the backend sets its own", db)
	}
	if u.Host != "" && u.Host != "localhost" {
		return Target{}, fmt.Errorf("clinicdb: %q: a file: URL names a file on this machine, not on %s", db, u.Host)
	}
	path := u.Path
	if u.Opaque != "" { // file:relative/path
		if path, err = url.PathUnescape(u.Opaque); err != nil {
			return Target{}, fmt.Errorf("clinicdb: %q: %w", db, err)
		}
	}
	if path == "" {
		return Target{}, fmt.Errorf("clinicdb: %q: no file named", db)
	}
	return Target{Kind: SQLite, Path: path}, nil
}

// IsPostgres reports whether db names a PostgreSQL database.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Open opens the store db names, creating an SQLite file (and its
// directory) when it is missing; a PostgreSQL database must exist (its
// tables are made or migrated).
func Open(ctx context.Context, db string) (clinic.Store, error) {
	t, err := Parse(db)
	if err != nil {
		return nil, err
	}
	return open(ctx, t)
}

// OpenExisting is Open for a database that must be there already (pillctl
// on the server): a mistyped path must not create a new, empty one.
func OpenExisting(ctx context.Context, db string) (clinic.Store, error) {
	t, err := Parse(db)
	if err != nil {
		return nil, err
	}
	if t.Kind == SQLite {
		if _, err := os.Stat(t.Path); err != nil {
			return nil, fmt.Errorf("%w (adherenced creates the database in its --data folder)", err)
		}
	}
	return open(ctx, t)
}

// open is the one place that knows the backends.
func open(ctx context.Context, t Target) (clinic.Store, error) {
	switch t.Kind {
	case SQLite:
		return sqlite.Open(ctx, t.Path)
	case Postgres:
		st, err := postgres.Open(ctx, t.URL)
		if err != nil {
			// pgx's connect errors name the host and user, never the password.
			return nil, fmt.Errorf("clinicdb: %s: %w", t, err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("clinicdb: no backend for kind %d", t.Kind)
}

// Redact returns db as it may be logged and audited: a URL without its
// password, a path as it is.
func Redact(db string) string {
	m := urlScheme.FindStringSubmatch(db)
	if m == nil {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return m[0] + "(unreadable URL)"
	}
	return u.Redacted()
}
