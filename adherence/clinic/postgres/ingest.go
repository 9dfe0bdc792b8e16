package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pillbox/pillbox/adherence/clinic"
)

// A batch's events (readings) go in with one statement over arrays
// (unnest), not one statement each: a round trip per row would cost more
// than the rows. ON CONFLICT (device_id, id) DO NOTHING stores each id
// once; RETURNING says which were new.

const insertEventsSQL = `INSERT INTO clinic_events(device_id, log_id, seq, id, patient_id, time, kind, dose_id, scheduled,
medication, compartment, detail, received, clock)
SELECT $1, $2, u.seq, u.id, $3, u.time, u.kind, u.dose_id, u.scheduled, u.medication, u.compartment, u.detail, $4, u.clock
FROM unnest($5::bigint[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::bigint[], $11::text[], $12::integer[],
  $13::text[], $14::text[]) WITH ORDINALITY AS u(seq, id, time, kind, dose_id, scheduled, medication, compartment, detail, clock, n)
ORDER BY u.n
ON CONFLICT (device_id, id) DO NOTHING RETURNING clock IS NOT NULL`

const insertReadingsSQL = `INSERT INTO clinic_readings(device_id, log_id, seq, id, patient_id, time, device_time, quantity,
value, unit, absent, extra, received)
SELECT $1, $2, u.seq, u.id, $3, u.time, u.device_time, u.quantity, u.value, u.unit, u.absent, u.extra, $4
FROM unnest($5::bigint[], $6::text[], $7::bigint[], $8::boolean[], $9::text[], $10::double precision[], $11::text[],
  $12::text[], $13::text[]) WITH ORDINALITY AS u(seq, id, time, device_time, quantity, value, unit, absent, extra, n)
ORDER BY u.n
ON CONFLICT (device_id, id) DO NOTHING RETURNING 1`

const insertSetAsideSQL = `INSERT INTO clinic_set_aside(device_id, log_id, patient_id, what, seq, item_id, reason, raw, received)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`

// Ingest stores a batch (clinic.Store says what it promises). The
// device's row is locked (FOR UPDATE) first, so batches of one device,
// through this process or another, take turns: each sees what the one
// before stored and the device's state it left.
func (s *Store) Ingest(ctx context.Context, b clinic.SyncBatch, decide func(clinic.SyncState) (clinic.SyncUpdate, error)) error {
	return fail("ingest", s.tx(ctx, func(tx pgx.Tx) error {
		var st clinic.SyncState
		var disabled bool
		var seen, silent *int64
		var hb *string
		err := tx.QueryRow(ctx, `SELECT d.patient_id, p.first_name, d.disabled, d.last_seen, d.silent_since, d.heartbeat
FROM clinic_devices d JOIN clinic_patients p ON p.id = d.patient_id WHERE d.id = $1 FOR UPDATE OF d`, b.Device).
			Scan(&st.PatientID, &st.FirstName, &disabled, &seen, &silent, &hb)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && disabled {
			return clinic.ErrUnauthenticated
		}
		if err != nil {
			return err
		}
		st.LastSeen, st.SilentSince = fromNullMS(seen), fromNullMS(silent)
		if hb != nil {
			st.Heartbeat = []byte(*hb)
		}
		if err := tx.QueryRow(ctx, `INSERT INTO clinic_streams(device_id, log_id) VALUES ($1, $2)
ON CONFLICT (device_id, log_id) DO UPDATE SET log_id = excluded.log_id RETURNING acked_seq, acked_reading_seq`, b.Device, b.Log).
			Scan(&st.AckedSeq, &st.AckedReadingSeq); err != nil {
			return err
		}
		if err := insertEvents(ctx, tx, st.PatientID, b, &st); err != nil {
			return err
		}
		if err := insertReadings(ctx, tx, st.PatientID, b, &st); err != nil {
			return err
		}
		for i, sa := range b.SetAside {
			if _, err := tx.Exec(ctx, insertSetAsideSQL, b.Device, b.Log, st.PatientID, sa.What, sa.Seq, sa.ID,
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
		if _, err := tx.Exec(ctx, `UPDATE clinic_streams SET acked_seq = $1, acked_reading_seq = $2 WHERE device_id = $3 AND log_id = $4`,
			st.AckedSeq, st.AckedReadingSeq, b.Device, b.Log); err != nil {
			return err
		}
		u, err := decide(st)
		if err != nil {
			return err
		}
		var offset *int64
		if u.ClockOffset != nil {
			v := u.ClockOffset.Milliseconds()
			offset = &v
		}
		if _, err := tx.Exec(ctx, `UPDATE clinic_devices SET last_seen = $1, silent_since = NULL, heartbeat = $2, software = $6,
clock_offset = coalesce($3, clock_offset),
clock_suspect = CASE WHEN $5 <> '' THEN $1 ELSE clock_suspect END,
clock_note = CASE WHEN $5 <> '' THEN $5 ELSE clock_note END WHERE id = $4`,
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

// seqTaken turns the primary key's refusal (a seq of the log that holds
// another item) into clinic.ErrConflict.
func seqTaken(what string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%w: %s: a seq already holds another %s (%s)", clinic.ErrConflict, what, what[:len(what)-1], pe.ConstraintName)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// insertEvents stores the batch's events, counting what it stored, the
// duplicates and the stored events with a clock mark.
func insertEvents(ctx context.Context, tx pgx.Tx, patient string, b clinic.SyncBatch, st *clinic.SyncState) error {
	n := len(b.Events)
	if n == 0 {
		return nil
	}
	seq, tm, sched := make([]int64, n), make([]int64, n), make([]*int64, n)
	id, kind := make([]string, n), make([]string, n)
	dose, med, detail, clock := make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
	comp := make([]int32, n)
	for i, e := range b.Events {
		seq[i], id[i], tm[i], kind[i] = e.Seq, e.ID, ms(e.Time), string(e.Kind)
		dose[i], sched[i], med[i], comp[i] = nullText(e.DoseID), nullMS(e.Scheduled), nullText(e.Medication), int32(e.Compartment)
		detail[i], clock[i] = nullText(e.Detail), nullText(e.Clock)
	}
	rows, err := tx.Query(ctx, insertEventsSQL, b.Device, b.Log, patient, ms(b.Received), seq, id, tm, kind, dose, sched, med, comp, detail, clock)
	if err != nil {
		return seqTaken("events", err)
	}
	flags, err := pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil {
		return seqTaken("events", err)
	}
	st.Stored, st.Duplicates = len(flags), n-len(flags)
	for _, f := range flags {
		if f {
			st.Flagged++
		}
	}
	return nil
}

func insertReadings(ctx context.Context, tx pgx.Tx, patient string, b clinic.SyncBatch, st *clinic.SyncState) error {
	n := len(b.Readings)
	if n == 0 {
		return nil
	}
	seq, tm := make([]int64, n), make([]int64, n)
	id, qty, unit := make([]string, n), make([]string, n), make([]string, n)
	devTime := make([]bool, n)
	value := make([]*float64, n)
	absent, extra := make([]*string, n), make([]*string, n)
	for i, r := range b.Readings {
		seq[i], id[i], tm[i], devTime[i], qty[i], unit[i], absent[i] = r.Seq, r.ID, ms(r.Time), r.DeviceTime, string(r.Quantity), r.Unit, nullText(r.Absent)
		if r.Absent == "" {
			v := r.Value
			value[i] = &v
		}
		j, err := clinic.ReadingExtra(r)
		if err != nil {
			return err
		}
		extra[i] = nullText(j)
	}
	tag, err := tx.Exec(ctx, insertReadingsSQL, b.Device, b.Log, patient, ms(b.Received), seq, id, tm, devTime, qty, value, unit, absent, extra)
	if err != nil {
		return seqTaken("readings", err)
	}
	st.ReadingsStored = int(tag.RowsAffected())
	st.ReadingDuplicates = n - st.ReadingsStored
	return nil
}

// contiguous returns the highest seq reached from acked by consecutive
// rows of table for the stream, counting the places of the items of kind
// what that were set aside.
func contiguous(ctx context.Context, tx pgx.Tx, table, what, device, log string, acked int64) (int64, error) {
	rows, err := tx.Query(ctx, `SELECT seq FROM `+table+` WHERE device_id = $1 AND log_id = $2 AND seq > $3
UNION SELECT seq FROM clinic_set_aside WHERE device_id = $1 AND log_id = $2 AND what = $4 AND seq > 0 AND seq > $3 ORDER BY seq`,
		device, log, acked, what)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return 0, err
		}
		if seq != acked+1 {
			break
		}
		acked = seq
	}
	rows.Close()
	return acked, rows.Err()
}

// queueText queues t to each of the patient's caregivers, about device.
func queueText(ctx context.Context, tx pgx.Tx, patient, device string, t clinic.CaregiverText) error {
	at := ms(t.At)
	_, err := tx.Exec(ctx, `INSERT INTO clinic_sms(created, patient_id, device_id, reason, to_phone, body, next_try)
SELECT $1, $2, $3, $4, phone, $5, $1 FROM clinic_caregivers WHERE patient_id = $2 ORDER BY id`, at, patient, device, t.Reason, t.Body)
	return err
}

// MarkSilent locks the due devices' rows (FOR UPDATE, in id order, so two
// watchers never deadlock): a second watcher waits for the first and
// then finds them silent already, an Ingest of one of them waits or is
// waited for.
func (s *Store) MarkSilent(ctx context.Context, cutoff, at time.Time, compose func(clinic.SilentDevice) (clinic.CaregiverText, clinic.Entry)) (int, error) {
	var n int
	err := s.tx(ctx, func(tx pgx.Tx) error {
		due, err := list(ctx, tx, func(sc pgx.Row) (clinic.SilentDevice, error) {
			var d clinic.SilentDevice
			var seen int64
			err := sc.Scan(&d.ID, &d.PatientID, &d.FirstName, &seen)
			d.LastSeen = fromMS(seen)
			return d, err
		}, `SELECT d.id, d.patient_id, p.first_name, d.last_seen FROM clinic_devices d JOIN clinic_patients p ON p.id = d.patient_id
WHERE NOT d.disabled AND d.silent_since IS NULL AND d.last_seen IS NOT NULL AND d.last_seen <= $1 ORDER BY d.id FOR UPDATE OF d`, ms(cutoff))
		if err != nil {
			return err
		}
		for _, d := range due {
			if _, err := tx.Exec(ctx, `UPDATE clinic_devices SET silent_since = $1 WHERE id = $2`, ms(at), d.ID); err != nil {
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
	var seen, retry *int64
	err = s.pool.QueryRow(ctx, `SELECT
(SELECT min(last_seen) FROM clinic_devices WHERE NOT disabled AND silent_since IS NULL AND last_seen IS NOT NULL),
(SELECT min(next_try) FROM clinic_sms WHERE sent IS NULL AND failed IS NULL)`).Scan(&seen, &retry)
	return fromNullMS(seen), fromNullMS(retry), fail("silence watch", err)
}

// DeviceSilence is three aggregates in one read, for the metrics.
func (s *Store) DeviceSilence(ctx context.Context) (clinic.DeviceSilence, error) {
	var ds clinic.DeviceSilence
	var seen *int64
	err := s.pool.QueryRow(ctx, `SELECT
(SELECT count(*) FROM clinic_devices WHERE NOT disabled AND silent_since IS NOT NULL),
(SELECT min(last_seen) FROM clinic_devices WHERE NOT disabled AND last_seen IS NOT NULL),
(SELECT count(*) FROM clinic_sms WHERE sent IS NULL AND failed IS NULL)`).Scan(&ds.Silent, &seen, &ds.TextsQueued)
	ds.OldestSeen = fromNullMS(seen)
	return ds, fail("device silence", err)
}

const selectText = `SELECT id, created, patient_id, device_id, reason, to_phone, body, attempts, sent, failed, last_error FROM clinic_sms `

func scanText(sc pgx.Row) (clinic.Text, error) {
	var t clinic.Text
	var created int64
	var sent, failed *int64
	err := sc.Scan(&t.ID, &created, &t.PatientID, &t.DeviceID, &t.Reason, &t.To, &t.Body, &t.Attempts, &sent, &failed, &t.LastError)
	t.Created, t.Sent, t.Failed = fromMS(created), fromNullMS(sent), fromNullMS(failed)
	return t, err
}

// ClaimTexts locks the texts it hands out and skips those another
// process is claiming (FOR UPDATE SKIP LOCKED); one whose claim committed
// meanwhile no longer matches when its lock is taken.
func (s *Store) ClaimTexts(ctx context.Context, at, until time.Time, limit int) ([]clinic.Text, error) {
	var ts []clinic.Text
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if ts, err = list(ctx, tx, scanText, selectText+`WHERE sent IS NULL AND failed IS NULL AND next_try <= $1 ORDER BY id LIMIT $2
FOR UPDATE SKIP LOCKED`, ms(at), limit); err != nil {
			return err
		}
		ids := make([]int64, len(ts))
		for i, t := range ts {
			ids[i] = t.ID
		}
		_, err = tx.Exec(ctx, `UPDATE clinic_sms SET next_try = $1 WHERE id = ANY($2)`, ms(until), ids)
		return err
	})
	return ts, fail("claim texts", err)
}

func (s *Store) TextAttempted(ctx context.Context, id int64, a clinic.TextAttempt) error {
	_, err := s.pool.Exec(ctx, `UPDATE clinic_sms SET attempts = attempts + 1, sent = $1, failed = $2,
next_try = coalesce($3, next_try), last_error = $4 WHERE id = $5`, nullMS(a.Sent), nullMS(a.Failed), nullMS(a.NextTry), a.Error, id)
	return fail("text attempted", err)
}

func (s *Store) Texts(ctx context.Context) ([]clinic.Text, error) {
	ts, err := list(ctx, s.pool, scanText, selectText+`ORDER BY id`)
	return ts, fail("texts", err)
}
