package adherence

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// DoseRecord is one row of the doses table.
type DoseRecord struct {
	DoseID     string
	Medication string
	Scheduled  time.Time // from the first event about the dose; zero if it had none
	State      dispenser.State
	Updated    time.Time // Time of the event that set State
	LastSeq    int64     // Seq of that event
}

const insertEventSQL = `INSERT INTO events(id, time, kind, dose_id, scheduled, medication, compartment, detail, clock_untrusted)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// The latest event decides the state, in log order, whatever its Time says:
// the dispenser's state machine is the judge of transitions, this table only
// mirrors it. A dose's scheduled instant is part of its identity and comes
// from the event that created the row; leaving it out of the update also
// spares the doses_scheduled index a page write on every commit.
const upsertDoseSQL = `INSERT INTO doses(dose_id, medication, scheduled, state, updated, last_seq)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT(dose_id) DO UPDATE SET
	medication = coalesce(excluded.medication, medication),
	state      = excluded.state,
	updated    = excluded.updated,
	last_seq   = excluded.last_seq`

const selectEvents = `SELECT seq, id, time, kind, coalesce(dose_id, ''), scheduled,
coalesce(medication, ''), compartment, coalesce(detail, ''), clock_untrusted FROM events `

// selectEventsBefore6 reads a log older than migration 0006 (Salvage reads
// databases it does not migrate).
const selectEventsBefore6 = `SELECT seq, id, time, kind, coalesce(dose_id, ''), scheduled,
coalesce(medication, ''), compartment, coalesce(detail, ''), 0 FROM events `

// Append stores evs in one transaction, committed and fsynced before it
// returns, and updates the doses table in the same transaction. It returns
// the events as stored: Seq and ID assigned, times in UTC truncated to the
// millisecond. Events without a Time or Kind are rejected (nothing is stored).
func (s *Store) Append(ctx context.Context, evs ...dispenser.Event) ([]dispenser.Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	out := make([]dispenser.Event, len(evs))
	for i, ev := range evs {
		if ev.Kind == "" || ev.Time.IsZero() {
			return nil, fmt.Errorf("adherence: append: event %d (%q) has no kind or no time", i, ev.Kind)
		}
		ev.ID = newID()
		ev.Time = time.UnixMilli(ev.Time.UnixMilli()).UTC()
		if !ev.Scheduled.IsZero() {
			ev.Scheduled = time.UnixMilli(ev.Scheduled.UnixMilli()).UTC()
		}
		out[i] = ev
	}
	if err := s.append(ctx, out); err != nil {
		return nil, fmt.Errorf("adherence: append: %w", err)
	}
	s.ckpt.committed()
	return out, nil
}

func (s *Store) append(ctx context.Context, evs []dispenser.Event) error {
	tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE (DSN)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins := tx.StmtContext(ctx, s.insertEvent)
	ups := tx.StmtContext(ctx, s.upsertDose)
	for i := range evs {
		ev := &evs[i]
		sched := nullMillis(ev.Scheduled)
		res, err := ins.ExecContext(ctx, ev.ID, ev.Time.UnixMilli(), string(ev.Kind),
			nullString(ev.DoseID), sched, nullString(ev.Medication), ev.Compartment, nullString(ev.Detail), ev.ClockUntrusted)
		if err != nil {
			return fmt.Errorf("event %d (%s): %w", i, ev.Kind, err)
		}
		if ev.Seq, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("event %d (%s): %w", i, ev.Kind, err)
		}
		state, ok := dispenser.StateForKind(ev.Kind)
		if !ok || ev.DoseID == "" {
			continue
		}
		if _, err := ups.ExecContext(ctx, ev.DoseID, nullString(ev.Medication), sched,
			string(state), ev.Time.UnixMilli(), ev.Seq); err != nil {
			return fmt.Errorf("event %d (%s): dose: %w", i, ev.Kind, err)
		}
	}
	return tx.Commit()
}

// Since returns up to limit events with Seq > seq, in Seq order.
func (s *Store) Since(ctx context.Context, seq int64, limit int) ([]dispenser.Event, error) {
	if limit < 1 {
		return nil, fmt.Errorf("adherence: since: limit %d, want at least 1", limit)
	}
	evs, err := s.queryEvents(ctx, selectEvents+`WHERE seq > ? ORDER BY seq LIMIT ?`, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("adherence: since: %w", err)
	}
	return evs, nil
}

// SinceTime returns every event whose Time is at or after t, in Seq order.
func (s *Store) SinceTime(ctx context.Context, t time.Time) ([]dispenser.Event, error) {
	evs, err := s.queryEvents(ctx, selectEvents+`WHERE time >= ? ORDER BY seq`, ceilMillis(t))
	if err != nil {
		return nil, fmt.Errorf("adherence: since time: %w", err)
	}
	return evs, nil
}

// LastOfKinds returns the latest event (by Seq) of one of kinds for a
// compartment; ok is false if there is none. The dispenser uses it at boot
// to find each compartment's last pill count. There is no index for it:
// one would cost a page write on every commit, and the backward scan stops
// at the first match, which for dispensing kinds is a recent event.
func (s *Store) LastOfKinds(ctx context.Context, compartment int, kinds ...dispenser.Kind) (ev dispenser.Event, ok bool, err error) {
	if len(kinds) == 0 {
		return dispenser.Event{}, false, nil
	}
	args := []any{compartment}
	in := "?" + strings.Repeat(", ?", len(kinds)-1)
	for _, k := range kinds {
		args = append(args, string(k))
	}
	evs, err := s.queryEvents(ctx, selectEvents+`WHERE compartment = ? AND kind IN (`+in+`) ORDER BY seq DESC LIMIT 1`, args...)
	if err != nil {
		return dispenser.Event{}, false, fmt.Errorf("adherence: last of kinds: %w", err)
	}
	if len(evs) == 0 {
		return dispenser.Event{}, false, nil
	}
	return evs[0], true, nil
}

func (s *Store) queryEvents(ctx context.Context, query string, args ...any) ([]dispenser.Event, error) {
	evs, err := scanEvents(ctx, s.r, query, args)
	if err != nil {
		return nil, err
	}
	return evs, nil
}

const selectDoses = `SELECT dose_id, coalesce(medication, ''), scheduled, state, updated, last_seq FROM doses `

// Dose returns the record of one dose; ok is false if no event named it.
func (s *Store) Dose(ctx context.Context, doseID string) (rec DoseRecord, ok bool, err error) {
	ds, err := s.queryDoses(ctx, selectDoses+`WHERE dose_id = ?`, doseID)
	if err != nil {
		return DoseRecord{}, false, fmt.Errorf("adherence: dose: %w", err)
	}
	if len(ds) == 0 {
		return DoseRecord{}, false, nil
	}
	return ds[0], true, nil
}

// Doses returns the doses scheduled in [from, to), in scheduled order.
func (s *Store) Doses(ctx context.Context, from, to time.Time) ([]DoseRecord, error) {
	ds, err := s.queryDoses(ctx, selectDoses+`WHERE scheduled >= ? AND scheduled < ? ORDER BY scheduled, dose_id`,
		ceilMillis(from), ceilMillis(to))
	if err != nil {
		return nil, fmt.Errorf("adherence: doses: %w", err)
	}
	return ds, nil
}

func (s *Store) queryDoses(ctx context.Context, query string, args ...any) ([]DoseRecord, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ds []DoseRecord
	for rows.Next() {
		var d DoseRecord
		var sched sql.NullInt64
		var updated int64
		if err := rows.Scan(&d.DoseID, &d.Medication, &sched, &d.State, &updated, &d.LastSeq); err != nil {
			return nil, err
		}
		d.Scheduled = fromNullMillis(sched)
		d.Updated = time.UnixMilli(updated).UTC()
		ds = append(ds, d)
	}
	return ds, rows.Err()
}

// ceilMillis is t in unix ms rounded up, so that a query bound of t admits
// exactly the stored (millisecond) times that are not before t.
func ceilMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}

func nullMillis(t time.Time) sql.NullInt64 {
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: !t.IsZero()}
}

func fromNullMillis(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
