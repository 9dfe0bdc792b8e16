package adherence

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

// Vital-sign readings live beside the event log, in the readings table
// (migrations 0003 and 0008): append-only but for their repeat count,
// numbered by Seq for sync like events, and deduplicated so that a device
// sending the same stored measurement again (a glucometer's records read
// after every reconnection, a cuff replaying its memory) does not store
// it twice: the stored one counts the repeat (Reading.Repeats).
//
// A reading is a repeat of a stored one when it has the same device,
// quantity and device time stamp (the stamp as the device gave it, before
// any clock correction), and either both carry the same device record
// number (Context["sequence"], the Glucose Measurement sequence number) or,
// with no record number, both report the same value as sent (Original,
// Absent). A reading timed on arrival has no stamp: the quality step judges
// its repeats (hw/vital/quality) and the store counts them (CountRepeats).

const readingColumns = `seq, id, device, quantity, value, unit, coalesce(original, ''), time, device_time,
coalesce(absent, ''), unreliable, context, flags, stamp, repeats`

// A repeat counts on the stored reading; RETURNING tells the two apart by
// the id, which is the new one only for a row inserted.
const insertReadingSQL = `INSERT INTO readings(id, device, quantity, value, unit, original, time, device_time,
absent, unreliable, context, dedupe, flags, stamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(device, quantity, stamp, dedupe) WHERE dedupe IS NOT NULL DO UPDATE SET repeats = repeats + 1
RETURNING seq, id`

// AppendReadings stores rs in one transaction, committed and fsynced before
// it returns, and returns the readings it stored, in order, with Seq and ID
// assigned and Time in UTC truncated to the millisecond. Repeats of stored
// readings (see above) are counted on those and left out of the result. A
// reading without a device, a known quantity or a time, in another unit
// than its quantity's canonical one, or with a value that is not a finite
// number, is an error and nothing is stored.
func (s *Store) AppendReadings(ctx context.Context, rs ...vital.Reading) ([]vital.Reading, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	type row struct {
		r                          vital.Reading
		unreliable, context, flags sql.NullString
		dedupe                     sql.NullString
		stamp                      sql.NullInt64
	}
	rows := make([]row, len(rs))
	for i, r := range rs {
		if err := checkReading(r); err != nil {
			return nil, fmt.Errorf("adherence: append readings: reading %d (%s): %w", i, r.Quantity, err)
		}
		r.Seq, r.ID = 0, newID()
		r.Time = time.UnixMilli(r.Time.UnixMilli()).UTC()
		r.Repeats = 0
		if !r.DeviceClock.IsZero() {
			r.DeviceClock = time.UnixMilli(r.DeviceClock.UnixMilli()).UTC()
		}
		if !r.HasValue() {
			r.Value = 0
		}
		w := row{r: r}
		if len(r.Unreliable) > 0 {
			b, _ := json.Marshal(r.Unreliable) // a []string always marshals
			w.unreliable = sql.NullString{String: string(b), Valid: true}
		}
		if len(r.Context) > 0 {
			b, _ := json.Marshal(r.Context)
			w.context = sql.NullString{String: string(b), Valid: true}
		}
		if len(r.Flags) > 0 {
			b, _ := json.Marshal(r.Flags)
			w.flags = sql.NullString{String: string(b), Valid: true}
		}
		w.stamp = stampOf(r)
		w.dedupe = dedupeKey(r, w.stamp)
		rows[i] = w
	}
	var out []vital.Reading
	err := func() error {
		tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE (DSN)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		ins, err := tx.PrepareContext(ctx, insertReadingSQL)
		if err != nil {
			return err
		}
		defer ins.Close()
		for i := range rows {
			w := &rows[i]
			value := sql.NullFloat64{Float64: w.r.Value, Valid: w.r.HasValue()}
			var seq int64
			var id string
			if err := ins.QueryRowContext(ctx, w.r.ID, w.r.Device, string(w.r.Quantity), value, w.r.Unit,
				nullString(w.r.Original), w.r.Time.UnixMilli(), w.r.DeviceTime, nullString(w.r.Absent),
				w.unreliable, w.context, w.dedupe, w.flags, w.stamp).Scan(&seq, &id); err != nil {
				return fmt.Errorf("reading %d (%s): %w", i, w.r.Quantity, err)
			}
			if id != w.r.ID {
				continue // a repeat, counted on the stored reading
			}
			w.r.Seq = seq
			out = append(out, w.r)
		}
		return tx.Commit()
	}()
	if err != nil {
		return nil, fmt.Errorf("adherence: append readings: %w", err)
	}
	return out, nil
}

func checkReading(r vital.Reading) error {
	switch {
	case r.Device == "":
		return errors.New("no device")
	case r.Quantity.Unit() == "":
		return errors.New("unknown quantity")
	case r.Unit != r.Quantity.Unit():
		return fmt.Errorf("unit %q, want the canonical %q", r.Unit, r.Quantity.Unit())
	case r.Time.IsZero():
		return errors.New("no time")
	case r.HasValue() && (math.IsNaN(r.Value) || math.IsInf(r.Value, 0)):
		return errors.New("value is not a finite number")
	}
	return nil
}

// stampOf is the stamp column of r: the device's own time stamp, from
// before any clock correction; NULL for a reading timed on arrival.
func stampOf(r vital.Reading) sql.NullInt64 {
	switch {
	case !r.DeviceClock.IsZero():
		return sql.NullInt64{Int64: r.DeviceClock.UnixMilli(), Valid: true}
	case r.DeviceTime:
		return sql.NullInt64{Int64: r.Time.UnixMilli(), Valid: true}
	}
	return sql.NullInt64{}
}

// dedupeKey is the readings_dedupe key of r, whose stamp column is stamp;
// NULL when r has no stamp.
func dedupeKey(r vital.Reading, stamp sql.NullInt64) sql.NullString {
	if !stamp.Valid {
		return sql.NullString{}
	}
	if seq, ok := r.Context["sequence"]; ok {
		return sql.NullString{String: "seq:" + seq, Valid: true}
	}
	return sql.NullString{String: "value:" + r.Original + "|" + r.Absent, Valid: true}
}

// CountRepeats counts one repeat on each stored reading of ids: the
// quality step found the device sent it again (hw/vital/quality). An id
// that is not stored is an error and nothing is counted.
func (s *Store) CountRepeats(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	err := func() error {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, id := range ids {
			res, err := tx.ExecContext(ctx, `UPDATE readings SET repeats = repeats + 1 WHERE id = ?`, id)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return fmt.Errorf("reading %q is not stored", id)
			}
		}
		return tx.Commit()
	}()
	if err != nil {
		return fmt.Errorf("adherence: count repeats: %w", err)
	}
	return nil
}

// DeviceReadings returns the readings of device measured in [from, to),
// in time order (Seq order within the same time): what the quality step
// compares a new reading with, and a device's data quality.
func (s *Store) DeviceReadings(ctx context.Context, device string, from, to time.Time) ([]vital.Reading, error) {
	rs, err := s.queryReadings(ctx, `SELECT `+readingColumns+` FROM readings
WHERE device = ? AND time >= ? AND time < ? ORDER BY time, seq`, device, ceilMillis(from), ceilMillis(to))
	if err != nil {
		return nil, fmt.Errorf("adherence: device readings: %w", err)
	}
	return rs, nil
}

// ReadingsSince returns up to limit readings with Seq > seq, in Seq order:
// the sync's cursor, as Since is for events.
func (s *Store) ReadingsSince(ctx context.Context, seq int64, limit int) ([]vital.Reading, error) {
	if limit < 1 {
		return nil, fmt.Errorf("adherence: readings since: limit %d, want at least 1", limit)
	}
	rs, err := s.queryReadings(ctx, `SELECT `+readingColumns+` FROM readings WHERE seq > ? ORDER BY seq LIMIT ?`, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("adherence: readings since: %w", err)
	}
	return rs, nil
}

// ReadingsBetween returns the readings of quantity q measured in
// [from, to), from every device, in time order (Seq order within the same
// time).
func (s *Store) ReadingsBetween(ctx context.Context, q vital.Quantity, from, to time.Time) ([]vital.Reading, error) {
	rs, err := s.queryReadings(ctx, `SELECT `+readingColumns+` FROM readings
WHERE quantity = ? AND time >= ? AND time < ? ORDER BY time, seq`, string(q), ceilMillis(from), ceilMillis(to))
	if err != nil {
		return nil, fmt.Errorf("adherence: readings between: %w", err)
	}
	return rs, nil
}

// LastReading returns the reading of device stored last (highest Seq), of
// quantity q or, when q is "", of any quantity; ok is false if there is
// none. It tells how long a device has been silent, and where a
// glucometer's record transfer should resume (its Context["sequence"]).
func (s *Store) LastReading(ctx context.Context, device string, q vital.Quantity) (r vital.Reading, ok bool, err error) {
	query := `SELECT ` + readingColumns + ` FROM readings WHERE device = ? ORDER BY seq DESC LIMIT 1`
	args := []any{device}
	if q != "" {
		query = `SELECT ` + readingColumns + ` FROM readings WHERE device = ? AND quantity = ? ORDER BY seq DESC LIMIT 1`
		args = append(args, string(q))
	}
	rs, err := s.queryReadings(ctx, query, args...)
	if err != nil {
		return vital.Reading{}, false, fmt.Errorf("adherence: last reading: %w", err)
	}
	if len(rs) == 0 {
		return vital.Reading{}, false, nil
	}
	return rs[0], true, nil
}

func (s *Store) queryReadings(ctx context.Context, query string, args ...any) ([]vital.Reading, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rs []vital.Reading
	for rows.Next() {
		var r vital.Reading
		var value sql.NullFloat64
		var ms int64
		var unreliable, context, flags sql.NullString
		var stamp sql.NullInt64
		if err := rows.Scan(&r.Seq, &r.ID, &r.Device, &r.Quantity, &value, &r.Unit, &r.Original, &ms,
			&r.DeviceTime, &r.Absent, &unreliable, &context, &flags, &stamp, &r.Repeats); err != nil {
			return nil, err
		}
		r.Value = value.Float64
		r.Time = time.UnixMilli(ms).UTC()
		if stamp.Valid && stamp.Int64 != ms {
			r.DeviceClock = time.UnixMilli(stamp.Int64).UTC()
		}
		if flags.Valid {
			if err := json.Unmarshal([]byte(flags.String), &r.Flags); err != nil {
				return nil, fmt.Errorf("reading %s: flags: %w", strconv.FormatInt(r.Seq, 10), err)
			}
		}
		if unreliable.Valid {
			if err := json.Unmarshal([]byte(unreliable.String), &r.Unreliable); err != nil {
				return nil, fmt.Errorf("reading %s: unreliable: %w", strconv.FormatInt(r.Seq, 10), err)
			}
		}
		if context.Valid {
			if err := json.Unmarshal([]byte(context.String), &r.Context); err != nil {
				return nil, fmt.Errorf("reading %s: context: %w", strconv.FormatInt(r.Seq, 10), err)
			}
		}
		rs = append(rs, r)
	}
	return rs, rows.Err()
}
