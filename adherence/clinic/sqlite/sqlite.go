// Package sqlite is the clinic's embedded backend: clinic.Store in one
// SQLite file (modernc.org/sqlite, pure Go), with its own migrations.
//
// One write connection takes every change (SQLite admits one writer at a
// time, and queueing in database/sql is cheaper than SQLITE_BUSY retries),
// beside a pool of query_only connections that read committed snapshots in
// WAL mode; another process on the same file (a second adherenced, pillctl)
// waits for the write lock up to busy_timeout. Every change is one
// immediate transaction committed with synchronous=FULL. The file and its
// -wal and -shm are created 0600 in a directory created 0700.
//
// A file adherenced made before the clinic had migrations of its own (the
// dispenser's chain, version 4 to 7, with the device's tables in it) is
// adopted at its first open: see migrate.go.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/internal/sqlitefile"
)

var _ clinic.Store = (*Store)(nil)

// Store is clinic.Store on an SQLite database.
type Store struct {
	w *sql.DB // the single write connection
	r *sql.DB // query_only readers; w itself for an in-memory store
}

// readConns bounds the reader pool: a page reads events and readings side
// by side, and a few clinicians read at once.
const readConns = 4

// Open opens (creating if needed) the clinic database at path, checks it
// with quick_check and brings its schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := sqlitefile.CreatePrivate(path); err != nil {
		return nil, fmt.Errorf("clinic/sqlite: %w", err)
	}
	uri := sqlitefile.URI(path)
	w, err := openPool(ctx, uri+sqlitefile.WriteDSN, 1)
	if err != nil {
		return nil, err
	}
	s := &Store{w: w}
	if err := s.init(ctx, true); err != nil {
		w.Close()
		return nil, err
	}
	// Readers open after the migrations so they never see an old schema.
	if s.r, err = openPool(ctx, uri+sqlitefile.ReadDSN, readConns); err != nil {
		w.Close()
		return nil, err
	}
	return s, nil
}

// OpenMemory returns a private in-memory store with the full schema, for
// tests. It has one connection (each connection to ":memory:" would be a
// database of its own), so readers wait for the writer.
func OpenMemory(ctx context.Context) (*Store, error) {
	w, err := openPool(ctx, sqlitefile.MemoryDSN, 1)
	if err != nil {
		return nil, err
	}
	s := &Store{w: w, r: w}
	if err := s.init(ctx, false); err != nil {
		w.Close()
		return nil, err
	}
	return s, nil
}

// init checks the write connection and migrates.
func (s *Store) init(ctx context.Context, file bool) error {
	if file {
		if err := sqlitefile.CheckDurable(ctx, s.w); err != nil {
			return fmt.Errorf("clinic/sqlite: %w", err)
		}
		if err := s.check(ctx, "quick_check"); err != nil {
			return err
		}
	}
	return migrate(ctx, s.w)
}

// share returns another Store value on s's database and connections, as
// a second process would have (tests: an in-memory database cannot be
// opened twice).
func (s *Store) share() *Store { return &Store{w: s.w, r: s.r} }

func openPool(ctx context.Context, dsn string, conns int) (*sql.DB, error) {
	db, err := sqlitefile.OpenPool(ctx, dsn, conns)
	if err != nil {
		return nil, fmt.Errorf("clinic/sqlite: %w", err)
	}
	return db, nil
}

// check runs an integrity pragma (quick_check, integrity_check) and
// returns nil when it finds the database sound.
func (s *Store) check(ctx context.Context, pragma string) error {
	var problems []string
	err := query(ctx, s.w, func(sc scanner) error {
		var p string
		if err := sc.Scan(&p); err != nil {
			return err
		}
		if p != "ok" {
			problems = append(problems, p)
		}
		return nil
	}, "PRAGMA "+pragma)
	if err != nil {
		return fmt.Errorf("clinic/sqlite: %s: %w", pragma, err)
	}
	if len(problems) > 3 {
		problems = append(problems[:3], fmt.Sprintf("and %d more", len(problems)-3))
	}
	if len(problems) > 0 {
		return fmt.Errorf("clinic/sqlite: %s: %s", pragma, strings.Join(problems, "; "))
	}
	return nil
}

// Ping checks that the database answers a read.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("clinic/sqlite: ping: %w", err)
	}
	return nil
}

// Close closes the database. Everything a method returned is on disk.
func (s *Store) Close() error {
	var errs []error
	if s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clinic/sqlite: close: %w", err)
	}
	return nil
}

// tx runs f in one write transaction (BEGIN IMMEDIATE: the write lock is
// taken first, so what f reads stays true until it commits).
func (s *Store) tx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// scanner is a row: *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// querier is what reads run on: a pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// query runs q and calls each for every row.
func query(ctx context.Context, db querier, each func(scanner) error, q string, args ...any) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// list runs q and scans each row with scan into a slice.
func list[T any](ctx context.Context, db querier, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	var out []T
	err := query(ctx, db, func(sc scanner) error {
		v, err := scan(sc)
		out = append(out, v)
		return err
	}, q, args...)
	return out, err
}

// mustAffect turns an UPDATE or DELETE that found nothing into
// clinic.ErrNotFound.
func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return clinic.ErrNotFound
	}
	return nil
}

// fail wraps a database error with what failed; the clinic's own errors
// pass as they are.
func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	for _, e := range []error{clinic.ErrNotFound, clinic.ErrConflict, clinic.ErrUnauthenticated} {
		if errors.Is(err, e) {
			return err
		}
	}
	return fmt.Errorf("clinic/sqlite: %s: %w", op, err)
}
