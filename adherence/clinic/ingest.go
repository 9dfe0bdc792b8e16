package clinic

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pillbox/pillbox/adherence/uplink"
)

// IngestResult is what Ingest did.
type IngestResult struct {
	Ack uplink.Ack
	// Wake is true when the silent watcher has something new to do: the
	// device was heard for the first time (a deadline to watch), or it was
	// silent and is back (texts to send).
	Wake bool
}

const insertEventSQL = `INSERT INTO clinic_events(device_id, log_id, seq, id, patient_id, time, kind, dose_id, scheduled,
medication, compartment, detail, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(device_id, id) DO NOTHING`

const insertReadingSQL = `INSERT INTO clinic_readings(device_id, log_id, seq, id, patient_id, time, device_time, quantity,
value, unit, absent, extra, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(device_id, id) DO NOTHING`

// Ingest stores a device's batch in one transaction: its events and
// readings (each (device, id) once: a resent batch stores nothing twice),
// the heartbeat, and an audit entry. The principal must be the device the
// batch names; the data goes to that device's patient, whatever the batch
// says. A sequence number that already holds another event is ErrConflict
// and nothing of the batch is stored.
func (s *Store) Ingest(ctx context.Context, p Principal, b *uplink.Batch, remote string) (IngestResult, error) {
	a := p.Actor(remote)
	if !p.IsDevice() || b.Device != p.DeviceID {
		// A device writing as another device would write another
		// patient's record.
		if err := s.Audit(ctx, a, "sync.denied", "", "batch for "+b.Device, "denied"); err != nil {
			return IngestResult{}, err
		}
		return IngestResult{}, fmt.Errorf("%w: this token may not write for the device the batch names", ErrForbidden)
	}
	var res IngestResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var patient string
		var disabled bool
		var seen, silent sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT patient_id, disabled, last_seen, silent_since FROM clinic_devices WHERE id = ?`,
			p.DeviceID).Scan(&patient, &disabled, &seen, &silent)
		if errors.Is(err, sql.ErrNoRows) || disabled {
			return ErrUnauthenticated
		}
		if err != nil {
			return err
		}
		now := millis(s.now())
		var acked, ackedReadings int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO clinic_streams(device_id, log_id) VALUES (?, ?)
ON CONFLICT DO UPDATE SET log_id = log_id RETURNING acked_seq, acked_reading_seq`, p.DeviceID, b.Log).Scan(&acked, &ackedReadings); err != nil {
			return err
		}
		stored, dups, err := s.insertEvents(ctx, tx, p.DeviceID, patient, b, now)
		if err != nil {
			return err
		}
		rstored, rdups, err := s.insertReadings(ctx, tx, p.DeviceID, patient, b, now)
		if err != nil {
			return err
		}
		// The usual batch continues the stream without a gap and is all
		// new: the walk below then starts after it. (A resent one takes the
		// walk from the old ack, in case its ids sit at other seqs.)
		if n := len(b.Events); n > 0 && dups == 0 && b.Events[0].Seq <= acked+1 && b.Events[n-1].Seq-b.Events[0].Seq == int64(n-1) {
			acked = max(acked, b.Events[n-1].Seq)
		}
		if acked, err = contiguous(ctx, tx, "clinic_events", p.DeviceID, b.Log, acked); err != nil {
			return err
		}
		if ackedReadings, err = contiguous(ctx, tx, "clinic_readings", p.DeviceID, b.Log, ackedReadings); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE clinic_streams SET acked_seq = ?, acked_reading_seq = ? WHERE device_id = ? AND log_id = ?`,
			acked, ackedReadings, p.DeviceID, b.Log); err != nil {
			return err
		}
		hb, err := json.Marshal(b.Heartbeat)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE clinic_devices SET last_seen = ?, silent_since = NULL, heartbeat = ? WHERE id = ?`,
			now, string(hb), p.DeviceID); err != nil {
			return err
		}
		if silent.Valid {
			if err := s.queueTexts(ctx, tx, patient, p.DeviceID, reasonBack, 0); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, System, "device.back", patient, p.DeviceID, ""); err != nil {
				return err
			}
		}
		res.Wake = !seen.Valid || silent.Valid
		res.Ack = uplink.Ack{Version: uplink.Version, AckedSeq: acked, AckedReadingSeq: ackedReadings,
			Stored: stored + rstored, Duplicates: dups + rdups}
		return s.audit(ctx, tx, a, "sync.ingest", patient, fmt.Sprintf("log=%s events=%d readings=%d duplicates=%d acked=%d",
			b.Log, stored, rstored, dups+rdups, acked), "")
	})
	if err != nil {
		return IngestResult{}, wrap("ingest", err)
	}
	return res, nil
}

func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, device, patient string, b *uplink.Batch, now int64) (stored, dups int, err error) {
	if len(b.Events) == 0 {
		return 0, 0, nil
	}
	st, err := tx.PrepareContext(ctx, insertEventSQL)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	for i, e := range b.Events {
		res, err := st.ExecContext(ctx, device, b.Log, e.Seq, e.ID, patient, millis(e.Time), e.Kind, nullString(e.DoseID),
			nullMillis(e.Scheduled), nullString(e.Medication), e.Compartment, nullString(e.Detail), now)
		if err != nil {
			return 0, 0, seqConflict("events", i, e.Seq, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, 0, err
		}
		stored += int(n)
		dups += 1 - int(n)
	}
	return stored, dups, nil
}

// readingExtra is what clinic_readings keeps of a reading beyond its
// columns.
type readingExtra struct {
	Device     string            `json:"device,omitempty"`
	Original   string            `json:"original,omitempty"`
	Unreliable []string          `json:"unreliable,omitempty"`
	Context    map[string]string `json:"context,omitempty"`
}

func (s *Store) insertReadings(ctx context.Context, tx *sql.Tx, device, patient string, b *uplink.Batch, now int64) (stored, dups int, err error) {
	if len(b.Readings) == 0 {
		return 0, 0, nil
	}
	st, err := tx.PrepareContext(ctx, insertReadingSQL)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	for i, r := range b.Readings {
		value := sql.NullFloat64{Float64: r.Value, Valid: r.Absent == ""}
		var extra sql.NullString
		if x := (readingExtra{r.Device, r.Original, r.Unreliable, r.Context}); x.Device != "" || x.Original != "" ||
			len(x.Unreliable) > 0 || len(x.Context) > 0 {
			j, err := json.Marshal(x)
			if err != nil {
				return 0, 0, err
			}
			extra = sql.NullString{String: string(j), Valid: true}
		}
		res, err := st.ExecContext(ctx, device, b.Log, r.Seq, r.ID, patient, millis(r.Time), r.DeviceTime, r.Quantity,
			value, r.Unit, nullString(r.Absent), extra, now)
		if err != nil {
			return 0, 0, seqConflict("readings", i, r.Seq, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, 0, err
		}
		stored += int(n)
		dups += 1 - int(n)
	}
	return stored, dups, nil
}

// seqConflict turns the primary key's constraint error into ErrConflict.
func seqConflict(what string, i int, seq int64, err error) error {
	if strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return fmt.Errorf("%w: %s[%d]: seq %d already holds another %s", ErrConflict, what, i, seq, strings.TrimSuffix(what, "s"))
	}
	return fmt.Errorf("%s[%d]: %w", what, i, err)
}

// contiguous returns the highest seq reached from acked by consecutive
// rows of table for the stream.
func contiguous(ctx context.Context, tx *sql.Tx, table, device, log string, acked int64) (int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq FROM `+table+` WHERE device_id = ? AND log_id = ? AND seq > ? ORDER BY seq`,
		device, log, acked)
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
	return acked, rows.Err()
}
