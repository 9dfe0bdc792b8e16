package adherence

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/internal/sqlitefile"
)

var _ dispenser.Log = (*Store)(nil)

// Store is the device's SQLite database. It is safe for concurrent use.
type Store struct {
	// w holds the single write connection: SQLite admits one writer at a
	// time, and queueing in database/sql is cheaper than SQLITE_BUSY retries.
	w *sql.DB
	// r is a pool of query_only connections; in WAL mode they read a
	// committed snapshot while w writes. For an in-memory store r == w.
	r *sql.DB

	insertEvent *sql.Stmt // on w
	upsertDose  *sql.Stmt // on w
	ckpt        checkpointer

	deviceID string
}

// readConns bounds the reader pool; the device has few concurrent readers
// (UI, sync, reports) and each connection costs a page cache.
const readConns = 4

// Open opens (creating if needed) the database file at path, checks it
// with quick_check, applies the embedded migrations and returns the store.
// A missing directory is created with mode 0700; the database and its -wal
// and -shm files get mode 0600. A damaged file fails with an error that
// wraps ErrDamaged.
func Open(ctx context.Context, path string) (*Store, error) {
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return openFile(ctx, path, ms)
}

func openFile(ctx context.Context, path string, ms []migration) (*Store, error) {
	if err := sqlitefile.CreatePrivate(path); err != nil {
		return nil, fmt.Errorf("adherence: %w", err)
	}
	uri := sqlitefile.URI(path)
	w, err := openPool(ctx, uri+sqlitefile.WriteDSN, 1)
	if err != nil {
		return nil, markDamaged(err)
	}
	if err := sqlitefile.CheckDurable(ctx, w); err != nil {
		w.Close()
		return nil, markDamaged(fmt.Errorf("adherence: %w", err))
	}
	if err := quickCheck(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	s, err := newStore(ctx, w, ms)
	if err != nil {
		return nil, markDamaged(err)
	}
	// Readers open after the migrations so they never see an old schema.
	if s.r, err = openPool(ctx, uri+sqlitefile.ReadDSN, readConns); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.ckpt.start(ctx, uri); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// OpenMemory returns a private in-memory store with the full schema, for
// tests. It has one connection (each connection to ":memory:" would be a
// database of its own), so readers wait for the writer.
func OpenMemory(ctx context.Context) (*Store, error) {
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	w, err := openPool(ctx, sqlitefile.MemoryDSN, 1)
	if err != nil {
		return nil, err
	}
	s, err := newStore(ctx, w, ms)
	if err != nil {
		return nil, err
	}
	s.r = w
	return s, nil
}

func openPool(ctx context.Context, dsn string, conns int) (*sql.DB, error) {
	db, err := sqlitefile.OpenPool(ctx, dsn, conns)
	if err != nil {
		return nil, fmt.Errorf("adherence: %w", err)
	}
	return db, nil
}

// newStore migrates w, loads the device id and prepares the write
// statements. It closes w on failure.
func newStore(ctx context.Context, w *sql.DB, ms []migration) (*Store, error) {
	s := &Store{w: w}
	if err := s.init(ctx, ms); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init(ctx context.Context, ms []migration) error {
	if err := migrate(ctx, s.w, ms); err != nil {
		return err
	}
	// DO NOTHING keeps the id of the first open: the clinic knows the
	// device by it.
	if _, err := s.w.ExecContext(ctx,
		`INSERT INTO meta(key, value) VALUES('device_id', ?) ON CONFLICT(key) DO NOTHING`, newID()); err != nil {
		return fmt.Errorf("adherence: device id: %w", err)
	}
	if err := s.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'device_id'`).Scan(&s.deviceID); err != nil {
		return fmt.Errorf("adherence: device id: %w", err)
	}
	var err error
	if s.insertEvent, err = s.w.PrepareContext(ctx, insertEventSQL); err != nil {
		return fmt.Errorf("adherence: prepare: %w", err)
	}
	if s.upsertDose, err = s.w.PrepareContext(ctx, upsertDoseSQL); err != nil {
		return fmt.Errorf("adherence: prepare: %w", err)
	}
	return nil
}

// Close closes the database. Everything Append returned is already on disk.
func (s *Store) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.insertEvent, s.upsertDose} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	errs = append(errs, s.ckpt.close())
	if s.r != nil && s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("adherence: close: %w", err)
	}
	return nil
}

// newID returns 128 random bits in hex: unique across devices and across a
// database that was wiped and recreated, which a counter would not be.
func newID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails; crashes the program if the OS cannot supply randomness
	return hex.EncodeToString(b[:])
}

// DeviceID is the random id this database was given when it was created.
func (s *Store) DeviceID() string { return s.deviceID }

// LastTrusted returns the last wall-clock time recorded as trusted, or the
// zero time if none was.
func (s *Store) LastTrusted(ctx context.Context) (time.Time, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'last_trusted'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("adherence: last trusted: %w", err)
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("adherence: last trusted: %w", err)
	}
	return time.UnixMilli(ms).UTC(), nil
}

// SetLastTrusted records t (to the millisecond) as the last trusted time.
// It stores what it is given, earlier or later than before: deciding whether
// a time may be trusted is the schedule package's job.
func (s *Store) SetLastTrusted(ctx context.Context, t time.Time) error {
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO meta(key, value) VALUES('last_trusted', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
		strconv.FormatInt(t.UnixMilli(), 10))
	if err != nil {
		return fmt.Errorf("adherence: set last trusted: %w", err)
	}
	return nil
}

// QuickCheck runs PRAGMA quick_check: a fast structural check that does not
// verify index contents. It returns nil if the database is sound.
func (s *Store) QuickCheck(ctx context.Context) error {
	return s.check(ctx, "quick_check")
}

// IntegrityCheck runs PRAGMA integrity_check, which also checks that every
// index matches its table; it reads the whole database.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	return s.check(ctx, "integrity_check")
}

func (s *Store) check(ctx context.Context, pragma string) error {
	rows, err := s.r.QueryContext(ctx, "PRAGMA "+pragma)
	if err != nil {
		return fmt.Errorf("adherence: %s: %w", pragma, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return fmt.Errorf("adherence: %s: %w", pragma, err)
		}
		if p != "ok" {
			problems = append(problems, p)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("adherence: %s: %w", pragma, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("adherence: %s: %s", pragma, strings.Join(problems, "; "))
	}
	return nil
}
