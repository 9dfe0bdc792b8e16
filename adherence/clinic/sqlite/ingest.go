package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/hw/vital"
)

const insertEventSQL = `INSERT INTO clinic_events(device_id, log_id, seq, id, patient_id, time, kind, dose_id, scheduled,
medication, compartment, detail, received, clock) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(device_id, id) DO NOTHING`

const insertReadingSQL = `INSERT INTO clinic_readings(device_id, log_id, seq, id, patient_id, time, device_time, quantity,
value, unit, absent, extra, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(device_id, id) DO NOTHING`

const insertSetAsideSQL = `INSERT INTO clinic_set_aside(device_id, log_id, patient_id, what, seq, item_id, reason, raw, received)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`

// Ingest stores a batch (clinic.Store says what it promises). The write
// connection is the only one, and BEGIN IMMEDIATE takes the write lock at
// once, so the device's row cannot change between the read of its state
// and the update.
func (s *Store) Ingest(ctx context.Context, b clinic.SyncBatch, decide func(clinic.SyncState) (clinic.SyncUpdate, error)) error {
	return fail("ingest", s.tx(ctx, func(tx *sql.Tx) error {
		var st clinic.SyncState
		var disabled bool
		var seen, silent sql.NullInt64
		var hb sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT d.patient_id, p.first_name, d.disabled, d.last_seen, d.silent_since, d.heartbeat
FROM clinic_devices d JOIN clinic_patients p ON p.id = d.patient_id WHERE d.id = ?`, b.Device).
			Scan(&st.PatientID, &st.FirstName, &disabled, &seen, &silent, &hb)
		if errors.Is(err, sql.ErrNoRows) || disabled {
			return clinic.ErrUnauthenticated
		}
		if err != nil {
			return err
		}
		st.LastSeen, st.SilentSince = fromNullMS(seen), fromNullMS(silent)
		if hb.Valid {
			st.Heartbeat = []byte(hb.String)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO clinic_streams(device_id, log_id) VALUES (?, ?)
ON CONFLICT DO UPDATE SET log_id = log_id RETURNING acked_seq, acked_reading_seq`, b.Device, b.Log).Scan(&st.AckedSeq, &st.AckedReadingSeq); err != nil {
			return err
		}
		if err := insertEvents(ctx, tx, st.PatientID, b, &st); err != nil {
			return err
		}
		if err := insertReadings(ctx, tx, st.PatientID, b, &st); err != nil {
			return err
		}
		for i, sa := range b.SetAside {
			if _, err := tx.ExecContext(ctx, insertSetAsideSQL, b.Device, b.Log, st.PatientID, sa.What, sa.Seq, sa.ID,
				sa.Reason, sa.Raw, ms(b.Received)); err != nil {
				return fmt.Errorf("set aside %s %d: %w", sa.What, i, err)
			}
		}
		// The usual batch continues the stream without a gap and is all
		// new: the walk below then starts after it. (A resent one takes the
		// walk from the old ack, in case its ids sit at other seqs; one
		// with items set aside, to count their places.)
		if n := len(b.Events); n > 0 && st.Duplicates == 0 && len(b.SetAside) == 0 && b.Events[0].Seq <= st.AckedSeq+1 &&
			b.Events[n-1].Seq-b.Events[0].Seq == int64(n-1) {
			st.AckedSeq = max(st.AckedSeq, b.Events[n-1].Seq)
		}
		if st.AckedSeq, err = contiguous(ctx, tx, "clinic_events", "event", b.Device, b.Log, st.AckedSeq); err != nil {
			return err
		}
		if st.AckedReadingSeq, err = contiguous(ctx, tx, "clinic_readings", "reading", b.Device, b.Log, st.AckedReadingSeq); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE clinic_streams SET acked_seq = ?, acked_reading_seq = ? WHERE device_id = ? AND log_id = ?`,
			st.AckedSeq, st.AckedReadingSeq, b.Device, b.Log); err != nil {
			return err
		}
		u, err := decide(st)
		if err != nil {
			return err
		}
		var offset sql.NullInt64
		if u.ClockOffset != nil {
			offset = sql.NullInt64{Int64: u.ClockOffset.Milliseconds(), Valid: true}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE clinic_devices SET last_seen = ?1, silent_since = NULL, heartbeat = ?2, software = ?6,
clock_offset = coalesce(?3, clock_offset),
clock_suspect = CASE WHEN ?5 != '' THEN ?1 ELSE clock_suspect END,
clock_note = CASE WHEN ?5 != '' THEN ?5 ELSE clock_note END WHERE id = ?4`,
			ms(b.Received), nullText(string(u.Heartbeat)), offset, b.Device, u.ClockNote, u.Software); err != nil {
			return err
		}
		for _, t := range u.Texts {
			if err := queueText(ctx, tx, st.PatientID, b.Device, t); err != nil {
				return err
			}
		}
		return audit(ctx, tx, u.Audit...)
	}))
}

// insertEvents stores the batch's events, counting what it stored, the
// duplicates and the stored events with a clock mark.
func insertEvents(ctx context.Context, tx *sql.Tx, patient string, b clinic.SyncBatch, st *clinic.SyncState) error {
	return insertEach(ctx, tx, insertEventSQL, "events", b.Events, func(e clinic.SyncedEvent) (int64, []any, error) {
		return e.Seq, []any{b.Device, b.Log, e.Seq, e.ID, patient, ms(e.Time), e.Kind, nullText(e.DoseID), nullMS(e.Scheduled),
			nullText(e.Medication), e.Compartment, nullText(e.Detail), ms(b.Received), nullText(e.Clock)}, nil
	}, func(e clinic.SyncedEvent, stored bool) {
		if stored {
			st.Stored++
			if e.Clock != "" {
				st.Flagged++
			}
		} else {
			st.Duplicates++
		}
	})
}

func insertReadings(ctx context.Context, tx *sql.Tx, patient string, b clinic.SyncBatch, st *clinic.SyncState) error {
	return insertEach(ctx, tx, insertReadingSQL, "readings", b.Readings, func(r vital.Reading) (int64, []any, error) {
		value := sql.NullFloat64{Float64: r.Value, Valid: r.Absent == ""}
		j, err := clinic.ReadingExtra(r)
		if err != nil {
			return 0, nil, err
		}
		extra := sql.NullString{String: j, Valid: j != ""}
		return r.Seq, []any{b.Device, b.Log, r.Seq, r.ID, patient, ms(r.Time), r.DeviceTime, r.Quantity,
			value, r.Unit, nullText(r.Absent), extra, ms(b.Received)}, nil
	}, func(_ vital.Reading, stored bool) {
		if stored {
			st.ReadingsStored++
		} else {
			st.ReadingDuplicates++
		}
	})
}

// insertEach runs one prepared insert per item (args gives its seq and
// arguments) and tells count whether each was stored or already there. A
// seq that holds another item is clinic.ErrConflict.
func insertEach[T any](ctx context.Context, tx *sql.Tx, query, what string, items []T, args func(T) (int64, []any, error), count func(T, bool)) error {
	if len(items) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer st.Close()
	for i, it := range items {
		seq, a, err := args(it)
		if err != nil {
			return err
		}
		res, err := st.ExecContext(ctx, a...)
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE constraint failed") {
				return fmt.Errorf("%w: %s[%d]: seq %d already holds another %s", clinic.ErrConflict, what, i, seq, strings.TrimSuffix(what, "s"))
			}
			return fmt.Errorf("%s[%d]: %w", what, i, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		count(it, n == 1)
	}
	return nil
}

// contiguous returns the highest seq reached from acked by consecutive
// rows of table for the stream, counting the places of the items of kind
// what that were set aside.
func contiguous(ctx context.Context, tx *sql.Tx, table, what, device, log string, acked int64) (int64, error) {
	errStop := errors.New("stop")
	err := query(ctx, tx, func(sc scanner) error {
		var seq int64
		if err := sc.Scan(&seq); err != nil {
			return err
		}
		if seq != acked+1 {
			return errStop
		}
		acked = seq
		return nil
	}, `SELECT seq FROM `+table+` WHERE device_id = ?1 AND log_id = ?2 AND seq > ?3
UNION SELECT seq FROM clinic_set_aside WHERE device_id = ?1 AND log_id = ?2 AND what = ?4 AND seq > 0 AND seq > ?3 ORDER BY seq`,
		device, log, acked, what)
	if errors.Is(err, errStop) {
		err = nil
	}
	return acked, err
}

// queueText queues t to each of the patient's caregivers, about device.
func queueText(ctx context.Context, tx *sql.Tx, patient, device string, t clinic.CaregiverText) error {
	at := ms(t.At)
	_, err := tx.ExecContext(ctx, `INSERT INTO clinic_sms(created, patient_id, device_id, reason, to_phone, body, next_try)
SELECT ?, ?, ?, ?, phone, ?, ? FROM clinic_caregivers WHERE patient_id = ? ORDER BY id`, at, patient, device, t.Reason, t.Body, at, patient)
	return err
}

func (s *Store) MarkSilent(ctx context.Context, cutoff, at time.Time, compose func(clinic.SilentDevice) (clinic.CaregiverText, clinic.Entry)) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		due, err := list(ctx, tx, func(sc scanner) (clinic.SilentDevice, error) {
			var d clinic.SilentDevice
			var seen int64
			err := sc.Scan(&d.ID, &d.PatientID, &d.FirstName, &seen)
			d.LastSeen = fromMS(seen)
			return d, err
		}, `SELECT d.id, d.patient_id, p.first_name, d.last_seen FROM clinic_devices d JOIN clinic_patients p ON p.id = d.patient_id
WHERE d.disabled = 0 AND d.silent_since IS NULL AND d.last_seen IS NOT NULL AND d.last_seen <= ? ORDER BY d.id`, ms(cutoff))
		if err != nil {
			return err
		}
		for _, d := range due {
			if _, err := tx.ExecContext(ctx, `UPDATE clinic_devices SET silent_since = ? WHERE id = ?`, ms(at), d.ID); err != nil {
				return err
			}
			text, entry := compose(d)
			if err := queueText(ctx, tx, d.PatientID, d.ID, text); err != nil {
				return err
			}
			if err := audit(ctx, tx, entry); err != nil {
				return err
			}
		}
		n = len(due)
		return nil
	})
	return n, fail("mark silent", err)
}

func (s *Store) SilenceWatch(ctx context.Context) (oldestSeen, nextTry time.Time, err error) {
	var seen, retry sql.NullInt64
	err = s.r.QueryRowContext(ctx, `SELECT
(SELECT min(last_seen) FROM clinic_devices WHERE disabled = 0 AND silent_since IS NULL AND last_seen IS NOT NULL),
(SELECT min(next_try) FROM clinic_sms WHERE sent IS NULL AND failed IS NULL)`).Scan(&seen, &retry)
	return fromNullMS(seen), fromNullMS(retry), fail("silence watch", err)
}

// DeviceSilence is three aggregates in one read, for the metrics.
func (s *Store) DeviceSilence(ctx context.Context) (clinic.DeviceSilence, error) {
	var ds clinic.DeviceSilence
	var seen sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT
(SELECT count(*) FROM clinic_devices WHERE disabled = 0 AND silent_since IS NOT NULL),
(SELECT min(last_seen) FROM clinic_devices WHERE disabled = 0 AND last_seen IS NOT NULL),
(SELECT count(*) FROM clinic_sms WHERE sent IS NULL AND failed IS NULL)`).Scan(&ds.Silent, &seen, &ds.TextsQueued)
	ds.OldestSeen = fromNullMS(seen)
	return ds, fail("device silence", err)
}

const selectText = `SELECT id, created, patient_id, device_id, reason, to_phone, body, attempts, sent, failed, last_error FROM clinic_sms `

func scanText(sc scanner) (clinic.Text, error) {
	var t clinic.Text
	var created int64
	var sent, failed sql.NullInt64
	err := sc.Scan(&t.ID, &created, &t.PatientID, &t.DeviceID, &t.Reason, &t.To, &t.Body, &t.Attempts, &sent, &failed, &t.LastError)
	t.Created, t.Sent, t.Failed = fromMS(created), fromNullMS(sent), fromNullMS(failed)
	return t, err
}

func (s *Store) ClaimTexts(ctx context.Context, at, until time.Time, limit int) ([]clinic.Text, error) {
	var ts []clinic.Text
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if ts, err = list(ctx, tx, scanText, selectText+`WHERE sent IS NULL AND failed IS NULL AND next_try <= ? ORDER BY id LIMIT ?`,
			ms(at), limit); err != nil {
			return err
		}
		for _, t := range ts {
			if _, err := tx.ExecContext(ctx, `UPDATE clinic_sms SET next_try = ? WHERE id = ?`, ms(until), t.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return ts, fail("claim texts", err)
}

func (s *Store) TextAttempted(ctx context.Context, id int64, a clinic.TextAttempt) error {
	_, err := s.w.ExecContext(ctx, `UPDATE clinic_sms SET attempts = attempts + 1, sent = ?, failed = ?,
next_try = coalesce(?, next_try), last_error = ? WHERE id = ?`, nullMS(a.Sent), nullMS(a.Failed), nullMS(a.NextTry), a.Error, id)
	return fail("text attempted", err)
}

func (s *Store) Texts(ctx context.Context) ([]clinic.Text, error) {
	ts, err := list(ctx, s.r, scanText, selectText+`ORDER BY id`)
	return ts, fail("texts", err)
}
