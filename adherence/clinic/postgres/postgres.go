// Package postgres is the clinic's backend for a health system's
// PostgreSQL: clinic.Store on github.com/jackc/pgx/v5 with its pool, with
// its own migrations (migrate.go).
//
// Several adherenced processes may share one database: everything the
// clinic relies on between requests (sessions, sign-in delays, silent
// devices, claimed texts) is in it, and each Store method is one
// transaction at READ COMMITTED that takes the row locks its promise needs
// (the device's row for a batch, FOR UPDATE SKIP LOCKED for texts) or
// relies on a unique constraint (ON CONFLICT) for what two processes may
// do at once. A transaction that loses a deadlock or a serialization race
// is run again, which the Store contract allows.
//
// The connection string is pgx's (a postgres:// URL or key=value pairs);
// pool_max_conns in it sizes the pool (default: 4, or the number of CPUs
// if more). The password belongs in it or in ~/.pgpass, never on a command
// line others can read; errors and logs name the database without it.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pillbox/pillbox/adherence/clinic"
)

var _ clinic.Store = (*Store)(nil)

// Store is clinic.Store on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects to the database connString names and brings its schema up
// to date (taking an advisory lock, so that processes starting at once
// migrate one after the other).
func Open(ctx context.Context, connString string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		// pgx's parse errors quote the string, password included.
		return nil, errors.New("clinic/postgres: open db: the connection string does not parse")
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "adherenced"
	// Times are integers here, but a session's time zone shows in logs and
	// psql: keep it UTC, as the clinic's times are.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("clinic/postgres: open db: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Ping checks that the database answers a read.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("clinic/postgres: ping: %w", err)
	}
	return nil
}

// Close closes the pool. Everything a method returned is committed.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// retries bounds how often tx runs a transaction that lost a race.
const retries = 10

// tx runs f in one transaction at READ COMMITTED, again when the server
// reports a deadlock or a serialization failure.
func (s *Store) tx(ctx context.Context, f func(tx pgx.Tx) error) error {
	for try := 1; ; try++ {
		err := pgx.BeginFunc(ctx, s.pool, f)
		if err == nil || try == retries || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(try) * time.Millisecond):
		}
	}
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// querier is what reads run on: the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// list runs q and scans each row with scan into a slice.
func list[T any](ctx context.Context, db querier, scan func(pgx.Row) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}

// mustAffect turns an UPDATE or DELETE that found nothing into
// clinic.ErrNotFound.
func mustAffect(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return clinic.ErrNotFound
	}
	return nil
}

// fail wraps a database error with what failed; the clinic's own errors
// pass as they are. A unique violation is clinic.ErrConflict and a
// reference to a missing row clinic.ErrNotFound, wrapped, where a method
// did not say so itself first.
func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	for _, e := range []error{clinic.ErrNotFound, clinic.ErrConflict, clinic.ErrUnauthenticated} {
		if errors.Is(err, e) {
			return err
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return fmt.Errorf("clinic/postgres: %s: %w (%s)", op, clinic.ErrConflict, pe.ConstraintName)
		case "23503":
			return fmt.Errorf("clinic/postgres: %s: %w (%s)", op, clinic.ErrNotFound, pe.ConstraintName)
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return clinic.ErrNotFound
	}
	return fmt.Errorf("clinic/postgres: %s: %w", op, err)
}
