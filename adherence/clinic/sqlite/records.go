package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/hw/vital"
)

const selectSyncedEvents = `SELECT seq, id, time, kind, coalesce(dose_id, ''), scheduled, coalesce(medication, ''),
compartment, coalesce(detail, ''), coalesce(clock, ''), received, device_id FROM clinic_events `

func scanSyncedEvent(sc scanner) (clinic.SyncedEvent, error) {
	var e clinic.SyncedEvent
	var t, recv int64
	var sched sql.NullInt64
	err := sc.Scan(&e.Seq, &e.ID, &t, &e.Kind, &e.DoseID, &sched, &e.Medication, &e.Compartment, &e.Detail, &e.Clock, &recv, &e.Device)
	e.Time, e.Scheduled, e.Received = fromMS(t), fromNullMS(sched), fromMS(recv)
	e.ClockUntrusted = e.Clock == clinic.ClockUntrusted
	return e, err
}

func (s *Store) SyncedEvents(ctx context.Context, q clinic.EventQuery) ([]clinic.SyncedEvent, error) {
	reliable := ""
	if q.Reliable {
		reliable = "AND clock IS NULL "
	}
	evs, err := list(ctx, s.r, scanSyncedEvent, selectSyncedEvents+`WHERE patient_id = ? AND time >= ? AND time < ? `+reliable+
		`ORDER BY time, device_id, log_id, seq LIMIT ?`, q.PatientID, ms(q.From), ms(q.To), q.Limit)
	return evs, fail("patient events", err)
}

func (s *Store) ClockFlagged(ctx context.Context, patientID string, limit int) ([]clinic.SyncedEvent, error) {
	evs, err := list(ctx, s.r, scanSyncedEvent, selectSyncedEvents+`WHERE patient_id = ? AND clock IS NOT NULL
ORDER BY received DESC, seq DESC LIMIT ?`, patientID, limit)
	return evs, fail("clock-flagged events", err)
}

func (s *Store) LatestEventTime(ctx context.Context, patientID string, notAfter time.Time) (time.Time, error) {
	var latest sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT max(time) FROM clinic_events WHERE patient_id = ? AND time <= ? AND clock IS NULL`,
		patientID, ms(notAfter)).Scan(&latest)
	return fromNullMS(latest), fail("latest event", err)
}

func (s *Store) EventCount(ctx context.Context, patientID string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM clinic_events WHERE patient_id = ?`, patientID).Scan(&n)
	return n, fail("event count", err)
}

func (s *Store) PatientReadings(ctx context.Context, patientID string, from, to time.Time, limit int) ([]vital.Reading, error) {
	rs, err := list(ctx, s.r, func(sc scanner) (vital.Reading, error) {
		var r vital.Reading
		var t int64
		var value sql.NullFloat64
		var extra sql.NullString
		if err := sc.Scan(&r.Seq, &r.ID, &t, &r.DeviceTime, &r.Quantity, &value, &r.Unit, &r.Absent, &extra); err != nil {
			return r, err
		}
		r.Time, r.Value = fromMS(t), value.Float64
		if extra.Valid {
			var x readingExtra
			if err := json.Unmarshal([]byte(extra.String), &x); err != nil {
				return r, err
			}
			r.Device, r.Original, r.Unreliable, r.Context = x.Device, x.Original, x.Unreliable, x.Context
		}
		return r, nil
	}, `SELECT seq, id, time, device_time, quantity, value, unit, coalesce(absent, ''), extra
FROM clinic_readings WHERE patient_id = ? AND time >= ? AND time < ? ORDER BY time, device_id, log_id, seq LIMIT ?`,
		patientID, ms(from), ms(to), limit)
	return rs, fail("patient readings", err)
}

func (s *Store) SetAsideItems(ctx context.Context, patientID string, limit int) ([]clinic.SetAsideItem, error) {
	items, err := list(ctx, s.r, func(sc scanner) (clinic.SetAsideItem, error) {
		var it clinic.SetAsideItem
		var recv int64
		err := sc.Scan(&it.Device, &it.What, &it.Seq, &it.ID, &it.Reason, &it.Raw, &recv)
		it.Received = fromMS(recv)
		return it, err
	}, `SELECT device_id, what, seq, item_id, reason, raw, received FROM clinic_set_aside
WHERE patient_id = ? ORDER BY id DESC LIMIT ?`, patientID, limit)
	return items, fail("set aside", err)
}

func (s *Store) MarkFalseMiss(ctx context.Context, patientID, doseID string, fm report.FalseMiss, e clinic.Entry) error {
	return s.change(ctx, "mark false miss", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM clinic_events WHERE patient_id = ? AND dose_id = ?
AND kind IN ('missed', 'not_taken')`, patientID, doseID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return clinic.ErrNoMiss
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO clinic_false_misses(patient_id, dose_id, reason, source, marked_by, marked_at)
VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET reason = excluded.reason, source = excluded.source,
marked_by = excluded.marked_by, marked_at = excluded.marked_at`, patientID, doseID, fm.Reason, fm.Source, fm.By, ms(fm.At))
		return err
	}, e)
}

func (s *Store) UnmarkFalseMiss(ctx context.Context, patientID, doseID string, e clinic.Entry) error {
	return s.change(ctx, "unmark false miss", func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `DELETE FROM clinic_false_misses WHERE patient_id = ? AND dose_id = ?`, patientID, doseID))
	}, e)
}

func (s *Store) FalseMisses(ctx context.Context, patientID string) (map[string]report.FalseMiss, error) {
	out := map[string]report.FalseMiss{}
	err := query(ctx, s.r, func(sc scanner) error {
		var id string
		var f report.FalseMiss
		var at int64
		if err := sc.Scan(&id, &f.Reason, &f.Source, &f.By, &at); err != nil {
			return err
		}
		f.At = fromMS(at)
		out[id] = f
		return nil
	}, `SELECT dose_id, reason, source, marked_by, marked_at FROM clinic_false_misses WHERE patient_id = ?`, patientID)
	return out, fail("false misses", err)
}
