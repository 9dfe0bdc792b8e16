package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
)

// The schema's version is SQLite's user_version and the file says it is a
// clinic database by its application_id; both live in the database header
// and so commit or roll back with a migration's own statements.

// applicationID marks a clinic database ("pblc": pillbox clinic), so that
// neither this package nor the dispenser's store takes the other's file
// for its own.
const applicationID = 0x70626c63

//go:embed migrations/*.sql
var migrationFiles embed.FS

var migrationName = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// migrations reads NNNN_name.sql files and insists on versions 1, 2, 3, ...
// with no gap, so that a misnamed file fails every test instead of being
// skipped on some servers.
func migrations(fsys fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("clinic/sqlite: migrations: %w", err)
	}
	var ms []string
	for _, e := range entries { // sorted by name
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil || m[1] != fmt.Sprintf("%04d", len(ms)+1) {
			return nil, fmt.Errorf("clinic/sqlite: migrations: %q is not migration %04d_name.sql", e.Name(), len(ms)+1)
		}
		b, err := fs.ReadFile(fsys, "migrations/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("clinic/sqlite: migrations: %w", err)
		}
		ms = append(ms, string(b))
	}
	return ms, nil
}

// migrate brings the database on db (the write connection) up to the
// last migration, adopting a file of the dispenser's chain first.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations(migrationFiles)
	if err != nil {
		return err
	}
	if err := adoptLegacy(ctx, db); err != nil {
		return err
	}
	for i, m := range ms {
		if err := apply(ctx, db, i+1, m); err != nil {
			return fmt.Errorf("clinic/sqlite: migrate %04d: %w", i+1, err)
		}
	}
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("clinic/sqlite: migrate: %w", err)
	}
	if v > len(ms) {
		return fmt.Errorf("clinic/sqlite: migrate: the database is at version %d, newer than this program's %d", v, len(ms))
	}
	return nil
}

// apply runs migration version on db unless the database has it already.
// The version is read again under the write lock: another process may
// have migrated since.
func apply(ctx context.Context, db *sql.DB, version int, sqlText string) error {
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: one migrator at a time
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v, app int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app); err != nil {
		return err
	}
	if v >= version {
		return nil
	}
	if app != applicationID {
		if v != 0 || app != 0 {
			return fmt.Errorf("not a clinic database (application_id %#x, version %d)", app, v)
		}
		if _, err := tx.ExecContext(ctx, "PRAGMA application_id = "+strconv.Itoa(applicationID)); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, sqlText); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(version)); err != nil {
		return err
	}
	return tx.Commit()
}

// legacyVersion maps the dispenser chain's versions of a clinic file to
// the clinic chain's: migrations 0001-0003 hold, statement for statement,
// what the dispenser's 0004, 0005 and the clinic's part of 0006 did (0007
// and later touch only the dispenser's tables).
func legacyVersion(deviceVersion int) int {
	switch {
	case deviceVersion >= 6:
		return 3
	case deviceVersion == 5:
		return 2
	}
	return 1
}

// adoptLegacy makes a clinic file of the dispenser's chain (adherenced
// before the clinic had migrations of its own: no application_id, the
// clinic's tables, user_version 4 to 7) a clinic database at the matching
// version, in one transaction: the dispenser's tables go (on a clinic
// server they hold nothing but the id the file was given), the header
// takes the clinic's id and version, and the migrations go on from there.
// A file whose dispenser tables hold a dispenser's log is refused: it is a
// dispenser's database, not a clinic's.
func adoptLegacy(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("clinic/sqlite: adopt: %w", err)
	}
	defer tx.Rollback()
	var v, app, clinicTables int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("clinic/sqlite: adopt: %w", err)
	}
	if err := tx.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app); err != nil {
		return fmt.Errorf("clinic/sqlite: adopt: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'clinic_users'`).Scan(&clinicTables); err != nil {
		return fmt.Errorf("clinic/sqlite: adopt: %w", err)
	}
	if app != 0 || v == 0 {
		return nil // the clinic's own, another program's, or new
	}
	if v < 4 || clinicTables == 0 {
		return fmt.Errorf("clinic/sqlite: the database is a dispenser's (version %d without the clinic's tables), not a clinic's", v)
	}
	tables, err := list(ctx, tx, func(sc scanner) (string, error) {
		var name string
		return name, sc.Scan(&name)
	}, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'clinic\_%' ESCAPE '\' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return fmt.Errorf("clinic/sqlite: adopt: %w", err)
	}
	for _, t := range tables {
		var rows int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM "`+strings.ReplaceAll(t, `"`, `""`)+`"`).Scan(&rows); err != nil {
			return fmt.Errorf("clinic/sqlite: adopt: %w", err)
		}
		if rows > 0 && t != "meta" {
			return fmt.Errorf("clinic/sqlite: the database holds a dispenser's records (table %s), not only a clinic's; it was not changed", t)
		}
	}
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, `DROP TABLE "`+strings.ReplaceAll(t, `"`, `""`)+`"`); err != nil {
			return fmt.Errorf("clinic/sqlite: adopt: drop %s: %w", t, err)
		}
	}
	for _, p := range []string{"application_id = " + strconv.Itoa(applicationID), "user_version = " + strconv.Itoa(legacyVersion(v))} {
		if _, err := tx.ExecContext(ctx, "PRAGMA "+p); err != nil {
			return fmt.Errorf("clinic/sqlite: adopt: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("clinic/sqlite: adopt: %w", err)
	}
	return nil
}
