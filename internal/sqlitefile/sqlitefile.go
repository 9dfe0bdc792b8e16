// Package sqlitefile is what the two SQLite stores (the dispenser's log in
// adherence, the clinic's in adherence/clinic/sqlite) share about a
// database file: its private modes, the data source names of the one
// writer and of the readers, the pools, and the check that the pragmas
// durability rests on took effect. Each store keeps its own schema,
// migrations and queries.
package sqlitefile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

const (
	// BasePragmas go on every connection: busy_timeout covers another
	// process (pillctl, a second adherenced) holding the write lock.
	BasePragmas = "_pragma=busy_timeout(5000)"
	// WriteDSN is the write connection's: WAL, every commit synced, and
	// BEGIN IMMEDIATE so a transaction takes the write lock before it
	// reads.
	WriteDSN = "?" + BasePragmas + "&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
	// ReadDSN is the readers': committed snapshots, never a write.
	ReadDSN = "?" + BasePragmas + "&_pragma=query_only(1)"
	// MemoryDSN is a private in-memory database's (tests).
	MemoryDSN = ":memory:?" + BasePragmas + "&_txlock=immediate"
)

// URI is the SQLite URI filename of path, to which a DSN's parameters are
// appended.
func URI(path string) string { return "file:" + EscapePath(path) }

// EscapePath escapes the characters that would end or garble the path
// part of an SQLite URI filename.
func EscapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// CreatePrivate makes sure path exists with mode 0600, in a directory
// created 0700, before SQLite opens it: SQLite would create it 0644 less
// the umask, and it gives the -wal and -shm files the database file's
// mode. Existing files are tightened too.
func CreatePrivate(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create db file: %w", err)
	}
	err = f.Chmod(0o600) // the umask may have taken more than group and other bits
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create db file: %w", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Chmod(path+suffix, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("create db file: %w", err)
		}
	}
	return nil
}

// OpenPool opens conns connections of dsn, and one of them at once, so
// that a bad file or DSN fails here rather than at the first query.
func OpenPool(ctx context.Context, dsn string, conns int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open db: %w", err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open db: %w", err)
	}
	return db, nil
}

// CheckDurable verifies that the pragmas the durability promise rests on
// took effect on db (a WriteDSN connection); SQLite silently keeps another
// journal mode on file systems without shared memory support.
func CheckDurable(ctx context.Context, db *sql.DB) error {
	var mode string
	var sync int
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("open db: %w", err)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return fmt.Errorf("open db: %w", err)
	}
	if mode != "wal" || sync != 2 {
		return fmt.Errorf("open db: journal_mode=%s synchronous=%d, want wal and 2 (FULL)", mode, sync)
	}
	return nil
}
