// Package clinicdb opens the clinic's store that a --db flag names, for
// the commands that wire one (adherenced, pillctl clinic and report,
// pillload): a PostgreSQL URL, or the path of an SQLite file.
package clinicdb

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/postgres"
	"github.com/pillbox/pillbox/adherence/clinic/sqlite"
)

// IsPostgres reports whether db names a PostgreSQL database.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Open opens the store db names, creating an SQLite file (and its
// directory) when it is missing; a PostgreSQL database must exist (its
// tables are made or migrated).
func Open(ctx context.Context, db string) (clinic.Store, error) {
	switch {
	case db == "":
		return nil, errors.New("clinicdb: no database given")
	case IsPostgres(db):
		st, err := postgres.Open(ctx, db)
		if err != nil {
			// pgx's connect errors name the host and user, never the password.
			return nil, fmt.Errorf("clinicdb: %s: %w", Redact(db), err)
		}
		return st, nil
	}
	return sqlite.Open(ctx, db)
}

// OpenExisting is Open for a database that must be there already (pillctl
// on the server): a mistyped path must not create a new, empty one.
func OpenExisting(ctx context.Context, db string) (clinic.Store, error) {
	if !IsPostgres(db) {
		if _, err := os.Stat(db); err != nil {
			return nil, fmt.Errorf("%w (adherenced creates the database in its --data folder)", err)
		}
	}
	return Open(ctx, db)
}

// Redact returns db as it may be logged and audited: a URL without its
// password, a path as it is.
func Redact(db string) string {
	if !IsPostgres(db) {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "postgres://(unreadable URL)"
	}
	return u.Redacted()
}
