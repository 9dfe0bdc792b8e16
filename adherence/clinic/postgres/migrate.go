package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The schema's version is the highest row of schema_migrations. Each
// migration runs in a transaction of its own, with its row, under an
// advisory lock: two processes starting at once on a new database migrate
// one after the other, and the second finds the work done.

// migrateLock is the advisory lock key of the clinic's migrations
// ("pblc", pillbox clinic, as the SQLite backend's application_id).
const migrateLock = 0x70626c63

//go:embed migrations/*.sql
var migrationFiles embed.FS

var migrationName = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// migrations reads NNNN_name.sql files and insists on versions 1, 2, 3, ...
// with no gap, so that a misnamed file fails every test instead of being
// skipped on some servers.
func migrations(fsys fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("clinic/postgres: migrations: %w", err)
	}
	var ms []string
	for _, e := range entries { // sorted by name
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil || m[1] != fmt.Sprintf("%04d", len(ms)+1) {
			return nil, fmt.Errorf("clinic/postgres: migrations: %q is not migration %04d_name.sql", e.Name(), len(ms)+1)
		}
		b, err := fs.ReadFile(fsys, "migrations/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("clinic/postgres: migrations: %w", err)
		}
		ms = append(ms, string(b))
	}
	return ms, nil
}

// migrate brings the database up to the last migration.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := migrations(migrationFiles)
	if err != nil {
		return err
	}
	for i, m := range ms {
		if err := apply(ctx, pool, i+1, m); err != nil {
			return fmt.Errorf("clinic/postgres: migrate %04d: %w", i+1, err)
		}
	}
	v, err := version(ctx, pool)
	if err != nil {
		return fmt.Errorf("clinic/postgres: migrate: %w", err)
	}
	if v > len(ms) {
		return fmt.Errorf("clinic/postgres: migrate: the database is at version %d, newer than this program's %d", v, len(ms))
	}
	return nil
}

// version returns the schema's version, 0 for a database without the
// clinic's tables.
func version(ctx context.Context, db querier) (int, error) {
	var exists bool
	if err := db.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return 0, err
	}
	var v int
	err := db.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// apply runs migration number v unless the database has it already. The
// version is read under the lock: another process may have migrated
// since. A database already at v needs no privilege beyond reading
// schema_migrations, so a service role that may not change the schema
// starts on a database its owner migrated.
func apply(ctx context.Context, pool *pgxpool.Pool, v int, sqlText string) error {
	if have, err := version(ctx, pool); err != nil || have >= v {
		return err
	}
	// The lock is the session's, taken before the transaction begins: a
	// transaction that waited for an advisory lock inside itself may still
	// resolve names from its catalog cache as it was before the wait (an
	// advisory lock makes the server read no invalidations), and would not
	// see the tables the other process just made. A transaction begun after
	// the wait reads them afresh.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLock); err != nil {
		return err
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLock); err != nil {
			// A connection that cannot unlock must not go back to the pool
			// holding the lock.
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		have, err := version(ctx, tx)
		if err != nil || have >= v {
			return err
		}
		if have == 0 {
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)`); err != nil {
				return err
			}
		}
		// The simple protocol runs a file of several statements in one go.
		if _, err := tx.Exec(ctx, sqlText, pgx.QueryExecModeSimpleProtocol); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO schema_migrations(version) VALUES ($1)`, v)
		return err
	})
}
