package clinic

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence/uplink"
)

// IngestResult is what Ingest did.
type IngestResult struct {
	Ack uplink.Ack
	// Wake is true when the silent watcher has something new to do: the
	// device was heard for the first time (a deadline to watch), or it was
	// silent and is back (texts to send).
	Wake bool
	// ClockNote says what was wrong with the device's clock in this batch
	// ("" when nothing): an event dated ahead of the clinic's time, a
	// heartbeat whose clock is off.
	ClockNote string
	// Software is the version the device reports, and SoftwareWas the one
	// it reported before when it changed ("" otherwise).
	Software, SoftwareWas string
}

// MaxClockSkew is how far a device's clock may be from the clinic's
// before the clinic calls it wrong. A time further ahead is suspect: it is
// stored and shown as such, and it never moves the clinic's "now".
const MaxClockSkew = 5 * time.Minute

// What the clinic made of a synced event's time when it arrived
// (SyncedEvent.Clock); "" is a plausible time.
const (
	// ClockUntrusted: the device logged it before it trusted its clock
	// (uplink.Event.ClockUntrusted); the time is what an unset clock read.
	ClockUntrusted = "untrusted"
	// ClockAhead: dated more than MaxClockSkew after the clinic's time
	// when it arrived: a wrong clock, or a forged batch.
	ClockAhead = "ahead"
	// ClockBefore2000: dated before 2000 without the device saying its
	// clock was untrusted (a dispenser older than the mark).
	ClockBefore2000 = "before_2000"
)

var year2000 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// clockOf judges an event's time against the clinic's clock at arrival.
func clockOf(e uplink.Event, now time.Time) string {
	switch {
	case e.ClockUntrusted:
		return ClockUntrusted
	case e.Time.After(now.Add(MaxClockSkew)):
		return ClockAhead
	case e.Time.Before(year2000):
		return ClockBefore2000
	}
	return ""
}

// clockNote says what the batch shows of a wrong device clock, or "".
// Times only: they are not patient data.
func clockNote(b *uplink.Batch, now time.Time) string {
	var notes []string
	var ahead time.Time
	for _, e := range b.Events {
		if clockOf(e, now) == ClockAhead && e.Time.After(ahead) {
			ahead = e.Time
		}
	}
	if !ahead.IsZero() {
		notes = append(notes, "an event dated "+ahead.UTC().Format(time.RFC3339))
	}
	if t := b.Heartbeat.Time; !t.IsZero() && (t.Sub(now) > MaxClockSkew || now.Sub(t) > MaxClockSkew) {
		notes = append(notes, "its clock read "+t.UTC().Format(time.RFC3339))
	}
	return strings.Join(notes, "; ")
}

// mergeHeartbeat is the device's state after a heartbeat: each part the
// heartbeat carries replaces the stored one, and a part it lacks leaves the
// stored one as it was. A dispenser older than the profile sends none, a
// profile from older software has no thresholds, a client that sends only
// events may send no time or software: none of that erases what the clinic
// knows of the patient's setup.
func mergeHeartbeat(old, hb uplink.Heartbeat) uplink.Heartbeat {
	out := hb
	if hb.Time.IsZero() {
		out.Time = old.Time
	}
	if hb.Software == "" {
		out.Software = old.Software
	}
	switch {
	case hb.Profile == nil:
		out.Profile = old.Profile
	case hb.Profile.Thresholds == nil && old.Profile != nil && old.Profile.Thresholds != nil:
		p := *hb.Profile
		p.Thresholds = old.Profile.Thresholds
		out.Profile = &p
	}
	return out
}

const insertEventSQL = `INSERT INTO clinic_events(device_id, log_id, seq, id, patient_id, time, kind, dose_id, scheduled,
medication, compartment, detail, received, clock) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(device_id, id) DO NOTHING`

const insertSetAsideSQL = `INSERT INTO clinic_set_aside(device_id, log_id, patient_id, what, seq, item_id, reason, raw, received)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`

const insertReadingSQL = `INSERT INTO clinic_readings(device_id, log_id, seq, id, patient_id, time, device_time, quantity,
value, unit, absent, extra, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(device_id, id) DO NOTHING`

// Ingest stores a device's batch in one transaction: its events and
// readings (each (device, id) once: a resent batch stores nothing twice),
// the items DecodeBatch set aside (apart, with their reasons; an event's
// place counts as received), the device's state from the heartbeat (part
// by part: mergeHeartbeat), what the batch shows of its clock, and an audit
// entry. Each event's time is judged against the clinic's clock (clockOf).
// The principal must be the device the batch names; the data goes to that
// device's patient, whatever the batch says. A sequence number that already
// holds another event is ErrConflict and nothing of the batch is stored.
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
		var stored sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT patient_id, disabled, last_seen, silent_since, heartbeat FROM clinic_devices WHERE id = ?`,
			p.DeviceID).Scan(&patient, &disabled, &seen, &silent, &stored)
		if errors.Is(err, sql.ErrNoRows) || disabled {
			return ErrUnauthenticated
		}
		if err != nil {
			return err
		}
		at := s.now()
		now := millis(at)
		var acked, ackedReadings int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO clinic_streams(device_id, log_id) VALUES (?, ?)
ON CONFLICT DO UPDATE SET log_id = log_id RETURNING acked_seq, acked_reading_seq`, p.DeviceID, b.Log).Scan(&acked, &ackedReadings); err != nil {
			return err
		}
		nstored, dups, flagged, err := s.insertEvents(ctx, tx, p.DeviceID, patient, b, at)
		if err != nil {
			return err
		}
		rstored, rdups, err := s.insertReadings(ctx, tx, p.DeviceID, patient, b, now)
		if err != nil {
			return err
		}
		if err := s.insertSetAside(ctx, tx, p.DeviceID, patient, b, now); err != nil {
			return err
		}
		// The usual batch continues the stream without a gap and is all
		// new: the walk below then starts after it. (A resent one takes the
		// walk from the old ack, in case its ids sit at other seqs; one
		// with items set aside, to count their places.)
		if n := len(b.Events); n > 0 && dups == 0 && len(b.SetAside) == 0 && b.Events[0].Seq <= acked+1 &&
			b.Events[n-1].Seq-b.Events[0].Seq == int64(n-1) {
			acked = max(acked, b.Events[n-1].Seq)
		}
		if acked, err = contiguous(ctx, tx, "clinic_events", "event", p.DeviceID, b.Log, acked); err != nil {
			return err
		}
		if ackedReadings, err = contiguous(ctx, tx, "clinic_readings", "reading", p.DeviceID, b.Log, ackedReadings); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE clinic_streams SET acked_seq = ?, acked_reading_seq = ? WHERE device_id = ? AND log_id = ?`,
			acked, ackedReadings, p.DeviceID, b.Log); err != nil {
			return err
		}
		var old uplink.Heartbeat
		if stored.Valid {
			// A stored heartbeat that no longer reads is replaced whole.
			json.Unmarshal([]byte(stored.String), &old)
		}
		merged := mergeHeartbeat(old, b.Heartbeat)
		hb, err := json.Marshal(merged)
		if err != nil {
			return err
		}
		res.Software = merged.Software
		if old.Software != merged.Software {
			res.SoftwareWas = cmp.Or(old.Software, "(none)")
		}
		var offset sql.NullInt64
		if t := b.Heartbeat.Time; !t.IsZero() {
			offset = sql.NullInt64{Int64: t.Sub(at).Milliseconds(), Valid: true}
		}
		res.ClockNote = clockNote(b, at)
		if _, err := tx.ExecContext(ctx, `UPDATE clinic_devices SET last_seen = ?1, silent_since = NULL, heartbeat = ?2,
clock_offset = coalesce(?3, clock_offset),
clock_suspect = CASE WHEN ?5 != '' THEN ?1 ELSE clock_suspect END,
clock_note = CASE WHEN ?5 != '' THEN ?5 ELSE clock_note END WHERE id = ?4`,
			now, string(hb), offset, p.DeviceID, res.ClockNote); err != nil {
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
			Stored: nstored + rstored, Duplicates: dups + rdups, TokenExpires: p.Expires}
		target := fmt.Sprintf("log=%s events=%d readings=%d duplicates=%d acked=%d", b.Log, nstored, rstored, dups+rdups, acked)
		if n := len(b.SetAside); n > 0 {
			target += fmt.Sprintf(" set_aside=%d", n)
		}
		if flagged > 0 {
			target += fmt.Sprintf(" clock_flagged=%d", flagged)
		}
		return s.audit(ctx, tx, a, "sync.ingest", patient, target, "")
	})
	if err != nil {
		return IngestResult{}, wrap("ingest", err)
	}
	return res, nil
}

func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, device, patient string, b *uplink.Batch, at time.Time) (stored, dups, flagged int, err error) {
	if len(b.Events) == 0 {
		return 0, 0, 0, nil
	}
	st, err := tx.PrepareContext(ctx, insertEventSQL)
	if err != nil {
		return 0, 0, 0, err
	}
	defer st.Close()
	now := millis(at)
	for i, e := range b.Events {
		clock := clockOf(e, at)
		res, err := st.ExecContext(ctx, device, b.Log, e.Seq, e.ID, patient, millis(e.Time), e.Kind, nullString(e.DoseID),
			nullMillis(e.Scheduled), nullString(e.Medication), e.Compartment, nullString(e.Detail), now, nullString(clock))
		if err != nil {
			return 0, 0, 0, seqConflict("events", i, e.Seq, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, 0, 0, err
		}
		stored += int(n)
		dups += 1 - int(n)
		if clock != "" {
			flagged += int(n)
		}
	}
	return stored, dups, flagged, nil
}

// insertSetAside keeps what DecodeBatch set aside. An item already kept at
// its place (a resend) is kept once.
func (s *Store) insertSetAside(ctx context.Context, tx *sql.Tx, device, patient string, b *uplink.Batch, now int64) error {
	for _, sa := range b.SetAside {
		if _, err := tx.ExecContext(ctx, insertSetAsideSQL, device, b.Log, patient, sa.What, sa.Seq, sa.ID,
			sa.Reason, sa.Raw, now); err != nil {
			return fmt.Errorf("set aside %s %d: %w", sa.What, sa.Index, err)
		}
	}
	return nil
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
// rows of table for the stream, counting the places of the items of kind
// what that were set aside.
func contiguous(ctx context.Context, tx *sql.Tx, table, what, device, log string, acked int64) (int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq FROM `+table+` WHERE device_id = ?1 AND log_id = ?2 AND seq > ?3
UNION SELECT seq FROM clinic_set_aside WHERE device_id = ?1 AND log_id = ?2 AND what = ?4 AND seq > 0 AND seq > ?3 ORDER BY seq`,
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
	return acked, rows.Err()
}
