package adherence

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one schema step; version N takes the database from N-1 to N.
type migration struct {
	version int
	sql     string
}

var migrationName = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// loadMigrations reads NNNN_name.sql files from dir in fsys and insists on
// versions 1, 2, 3, ... with no gap, so a misnamed file fails every test
// instead of being skipped on some devices.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("adherence: migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries { // ReadDir sorts by name
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("adherence: migrations: %q is not named NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if v != len(ms)+1 {
			return nil, fmt.Errorf("adherence: migrations: %q has version %d, want %d", e.Name(), v, len(ms)+1)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("adherence: migrations: %w", err)
		}
		ms = append(ms, migration{version: v, sql: string(b)})
	}
	return ms, nil
}

// migrate brings db up to the last of ms. The schema version is SQLite's
// user_version, which lives in the database header and so commits or rolls
// back with the migration's own statements: a failed step leaves the
// previous version whole.
func migrate(ctx context.Context, db *sql.DB, ms []migration) error {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("adherence: migrate: read version: %w", err)
	}
	if v > len(ms) {
		return fmt.Errorf("adherence: migrate: database is at version %d, newer than this program's %d", v, len(ms))
	}
	for _, m := range ms[v:] {
		if err := applyMigration(ctx, db, m); err != nil {
			return fmt.Errorf("adherence: migrate %04d: %w", m.version, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, m migration) error {
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (DSN): one migrator at a time
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Read again under the write lock: another process may have migrated
	// since the caller looked.
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v >= m.version {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.version)); err != nil {
		return err
	}
	return tx.Commit()
}
