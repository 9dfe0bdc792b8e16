package adherence

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/internal/sqlitefile"
)

// What the store does when its file is damaged or cannot be written. The
// policy that uses these (cmd/dispenserd) is in docs/reliability.md.

// ErrDamaged is wrapped by Open's error when the file is not a sound SQLite
// database: quick_check finds a problem, or SQLite reports the file
// corrupt or not a database. Such a file is kept aside (MoveAside), never
// deleted; Salvage reads what it still can.
var ErrDamaged = errors.New("database damaged")

// damaged reports whether err is SQLite saying the file is corrupt or not
// a database at all.
func damaged(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return true
	}
	return false
}

// markDamaged wraps err with ErrDamaged when SQLite says the file is
// damaged.
func markDamaged(err error) error {
	if err != nil && damaged(err) && !errors.Is(err, ErrDamaged) {
		return fmt.Errorf("%w (%w)", err, ErrDamaged)
	}
	return err
}

// quickCheck runs PRAGMA quick_check on db (the write connection, before
// the migrations touch anything): it reads every page, so a damaged file
// is found at boot rather than by the commit of a dose.
func quickCheck(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return fmt.Errorf("adherence: quick_check: %w", markDamaged(err))
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return fmt.Errorf("adherence: quick_check: %w", markDamaged(err))
		}
		if p != "ok" {
			problems = append(problems, p)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("adherence: quick_check: %w", markDamaged(err))
	}
	if len(problems) > 0 {
		if len(problems) > 3 {
			problems = append(problems[:3], fmt.Sprintf("and %d more", len(problems)-3))
		}
		return fmt.Errorf("adherence: quick_check: %s (%w)", strings.Join(problems, "; "), ErrDamaged)
	}
	return nil
}

// MoveAside renames the database at path, with its -wal and -shm files, to
// path.damaged-<stamp> (UTC), so that a new database can start at path and
// the old one stays whole for whoever investigates (SQLite opens it again
// with its WAL under the new name). It returns the new path.
func MoveAside(path string, stamp time.Time) (string, error) {
	aside := path + ".damaged-" + stamp.UTC().Format("20060102T150405.000Z")
	for _, suffix := range []string{"-wal", "-shm", ""} { // the main file last: a crash leaves it in place
		if err := os.Rename(path+suffix, aside+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("adherence: move damaged database aside: %w", err)
		}
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return "", fmt.Errorf("adherence: move damaged database aside: %w", err)
	}
	return aside, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Salvaged is what Salvage could read from a damaged database.
type Salvaged struct {
	// Events in Seq order, with their original ids and times.
	Events []dispenser.Event
	// Complete is true when every row of the event log was read.
	Complete bool
	// LastTrusted is the last trusted wall time, zero if unreadable.
	LastTrusted time.Time
}

// Salvage reads what it can of the event log in the database at path,
// read-only: forwards from the first event until a damaged page stops it,
// then backwards from the last until one does, so that damage in the
// middle of the log costs only the rows on the damaged pages. err reports
// why the read stopped; what was read is returned with it.
func Salvage(ctx context.Context, path string) (Salvaged, error) {
	var s Salvaged
	db, err := sql.Open("sqlite", sqlitefile.URI(path)+"?mode=ro&"+sqlitefile.BasePragmas+"&_pragma=query_only(1)")
	if err != nil {
		return s, fmt.Errorf("adherence: salvage: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var v string
	if db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'last_trusted'`).Scan(&v) == nil {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			s.LastTrusted = time.UnixMilli(ms).UTC()
		}
	}
	sel := selectEvents
	var marked int
	if db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('events') WHERE name = 'clock_untrusted'`).Scan(&marked) == nil && marked == 0 {
		sel = selectEventsBefore6
	}
	fwd, ferr := scanEvents(ctx, db, sel+`ORDER BY seq`, nil)
	s.Events = fwd
	if ferr == nil {
		s.Complete = true
		return s, nil
	}
	last := int64(0)
	if len(fwd) > 0 {
		last = fwd[len(fwd)-1].Seq
	}
	back, berr := scanEvents(ctx, db, sel+`WHERE seq > ? ORDER BY seq DESC`, []any{last})
	for i := len(back) - 1; i >= 0; i-- {
		s.Events = append(s.Events, back[i])
	}
	return s, fmt.Errorf("adherence: salvage: %w", errors.Join(ferr, berr))
}

// scanEvents reads events until the query ends or fails, returning what it
// read either way.
func scanEvents(ctx context.Context, db *sql.DB, query string, args []any) ([]dispenser.Event, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var evs []dispenser.Event
	for rows.Next() {
		var ev dispenser.Event
		var ms int64
		var sched sql.NullInt64
		if err := rows.Scan(&ev.Seq, &ev.ID, &ms, &ev.Kind, &ev.DoseID, &sched,
			&ev.Medication, &ev.Compartment, &ev.Detail, &ev.ClockUntrusted); err != nil {
			return evs, err
		}
		ev.Time = time.UnixMilli(ms).UTC()
		ev.Scheduled = fromNullMillis(sched)
		evs = append(evs, ev)
	}
	return evs, rows.Err()
}

// importBatch is how many events Import commits per transaction.
const importBatch = 500

// Import appends events read from another log (Salvage) keeping their ids
// and times, so that the clinic, which stores an event once per id, does
// not count them twice; they get new sequence numbers. It returns the last
// of them as stored.
func (s *Store) Import(ctx context.Context, evs []dispenser.Event) (dispenser.Event, error) {
	var last dispenser.Event
	for len(evs) > 0 {
		n := min(len(evs), importBatch)
		batch := make([]dispenser.Event, n)
		for i, ev := range evs[:n] {
			if ev.ID == "" || ev.Kind == "" || ev.Time.IsZero() {
				return last, fmt.Errorf("adherence: import: event %d has no id, kind or time", i)
			}
			ev.Seq = 0
			batch[i] = ev
		}
		if err := s.append(ctx, batch); err != nil {
			return last, fmt.Errorf("adherence: import: %w", err)
		}
		s.ckpt.committed()
		last = batch[n-1]
		evs = evs[n:]
	}
	return last, nil
}

// OpenUnwritable opens the database at path for reading only, for a
// dispenser that cannot write its log (a read-only file or file system, a
// full disk at the first migration): its history stays readable, and every
// write fails, so the dispenser holds pills back. When the file cannot be
// read either (or is not a database of this program's), it returns an
// empty in-memory store that refuses writes, and history is false.
func OpenUnwritable(ctx context.Context, path string) (s *Store, history bool, err error) {
	db, err := openPool(ctx, sqlitefile.URI(path)+"?mode=ro&"+sqlitefile.BasePragmas+"&_pragma=query_only(1)", 1)
	if err == nil {
		s = &Store{w: db, r: db}
		if err = s.initUnwritable(ctx); err == nil {
			return s, true, nil
		}
		s.Close()
	}
	ms, lerr := loadMigrations(migrationFiles, "migrations")
	if lerr != nil {
		return nil, false, lerr
	}
	mem, merr := openPool(ctx, sqlitefile.MemoryDSN, 1)
	if merr != nil {
		return nil, false, errors.Join(err, merr)
	}
	s, merr = newStore(ctx, mem, ms)
	if merr != nil {
		return nil, false, errors.Join(err, merr)
	}
	s.r = mem
	if _, merr := mem.ExecContext(ctx, "PRAGMA query_only = 1"); merr != nil {
		s.Close()
		return nil, false, errors.Join(err, merr)
	}
	return s, false, nil
}

// initUnwritable loads the device id and prepares the write statements of
// a read-only store, whose schema must be this program's.
func (s *Store) initUnwritable(ctx context.Context) error {
	var v int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("adherence: read-only: %w", err)
	}
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	if v != len(ms) {
		return fmt.Errorf("adherence: read-only: database at version %d, this program's is %d", v, len(ms))
	}
	if err := s.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'device_id'`).Scan(&s.deviceID); err != nil {
		return fmt.Errorf("adherence: read-only: device id: %w", err)
	}
	if s.insertEvent, err = s.w.PrepareContext(ctx, insertEventSQL); err != nil {
		return fmt.Errorf("adherence: read-only: prepare: %w", err)
	}
	if s.upsertDose, err = s.w.PrepareContext(ctx, upsertDoseSQL); err != nil {
		return fmt.Errorf("adherence: read-only: prepare: %w", err)
	}
	return nil
}
