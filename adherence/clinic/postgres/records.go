package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/hw/vital"
)

const selectSyncedEvents = `SELECT seq, id, time, kind, coalesce(dose_id, ''), scheduled, coalesce(medication, ''),
compartment, coalesce(detail, ''), coalesce(clock, ''), received, device_id FROM clinic_events `

func scanSyncedEvent(sc pgx.Row) (clinic.SyncedEvent, error) {
	var e clinic.SyncedEvent
	var t, recv int64
	var sched *int64
	var comp int32
	err := sc.Scan(&e.Seq, &e.ID, &t, &e.Kind, &e.DoseID, &sched, &e.Medication, &comp, &e.Detail, &e.Clock, &recv, &e.Device)
	e.Time, e.Scheduled, e.Received, e.Compartment = fromMS(t), fromNullMS(sched), fromMS(recv), int(comp)
	e.ClockUntrusted = e.Clock == clinic.ClockUntrusted
	return e, err
}

func (s *Store) SyncedEvents(ctx context.Context, q clinic.EventQuery) ([]clinic.SyncedEvent, error) {
	reliable := ""
	if q.Reliable {
		reliable = "AND clock IS NULL "
	}
	evs, err := list(ctx, s.pool, scanSyncedEvent, selectSyncedEvents+`WHERE patient_id = $1 AND time >= $2 AND time < $3 `+reliable+
		`ORDER BY time, device_id, log_id, seq LIMIT $4`, q.PatientID, ms(q.From), ms(q.To), q.Limit)
	return evs, fail("patient events", err)
}

func (s *Store) ClockFlagged(ctx context.Context, patientID string, limit int) ([]clinic.SyncedEvent, error) {
	evs, err := list(ctx, s.pool, scanSyncedEvent, selectSyncedEvents+`WHERE patient_id = $1 AND clock IS NOT NULL
ORDER BY received DESC, seq DESC LIMIT $2`, patientID, limit)
	return evs, fail("clock-flagged events", err)
}

func (s *Store) LatestEventTime(ctx context.Context, patientID string, notAfter time.Time) (time.Time, error) {
	var latest *int64
	err := s.pool.QueryRow(ctx, `SELECT max(time) FROM clinic_events WHERE patient_id = $1 AND time <= $2 AND clock IS NULL`,
		patientID, ms(notAfter)).Scan(&latest)
	return fromNullMS(latest), fail("latest event", err)
}

func (s *Store) EventCount(ctx context.Context, patientID string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM clinic_events WHERE patient_id = $1`, patientID).Scan(&n)
	return n, fail("event count", err)
}

func (s *Store) PatientReadings(ctx context.Context, patientID string, from, to time.Time, limit int) ([]vital.Reading, error) {
	rs, err := list(ctx, s.pool, func(sc pgx.Row) (vital.Reading, error) {
		var r vital.Reading
		var t int64
		var value *float64
		var extra *string
		if err := sc.Scan(&r.Seq, &r.ID, &t, &r.DeviceTime, &r.Quantity, &value, &r.Unit, &r.Absent, &extra); err != nil {
			return r, err
		}
		r.Time = fromMS(t)
		if value != nil {
			r.Value = *value
		}
		if extra != nil {
			var x readingExtra
			if err := json.Unmarshal([]byte(*extra), &x); err != nil {
				return r, err
			}
			r.Device, r.Original, r.Unreliable, r.Context = x.Device, x.Original, x.Unreliable, x.Context
		}
		return r, nil
	}, `SELECT seq, id, time, device_time, quantity, value, unit, coalesce(absent, ''), extra
FROM clinic_readings WHERE patient_id = $1 AND time >= $2 AND time < $3 ORDER BY time, device_id, log_id, seq LIMIT $4`,
		patientID, ms(from), ms(to), limit)
	return rs, fail("patient readings", err)
}

func (s *Store) SetAsideItems(ctx context.Context, patientID string, limit int) ([]clinic.SetAsideItem, error) {
	items, err := list(ctx, s.pool, func(sc pgx.Row) (clinic.SetAsideItem, error) {
		var it clinic.SetAsideItem
		var recv int64
		err := sc.Scan(&it.Device, &it.What, &it.Seq, &it.ID, &it.Reason, &it.Raw, &recv)
		it.Received = fromMS(recv)
		return it, err
	}, `SELECT device_id, what, seq, item_id, reason, raw, received FROM clinic_set_aside
WHERE patient_id = $1 ORDER BY id DESC LIMIT $2`, patientID, limit)
	return items, fail("set aside", err)
}

func (s *Store) MarkFalseMiss(ctx context.Context, patientID, doseID string, fm report.FalseMiss, e clinic.Entry) error {
	return s.change(ctx, "mark false miss", func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM clinic_events WHERE patient_id = $1 AND dose_id = $2
AND kind IN ('missed', 'not_taken'))`, patientID, doseID).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return clinic.ErrNoMiss
		}
		_, err := tx.Exec(ctx, `INSERT INTO clinic_false_misses(patient_id, dose_id, reason, source, marked_by, marked_at)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (patient_id, dose_id) DO UPDATE SET reason = excluded.reason, source = excluded.source,
marked_by = excluded.marked_by, marked_at = excluded.marked_at`, patientID, doseID, fm.Reason, fm.Source, fm.By, ms(fm.At))
		return err
	}, e)
}

func (s *Store) UnmarkFalseMiss(ctx context.Context, patientID, doseID string, e clinic.Entry) error {
	return s.change(ctx, "unmark false miss", func(tx pgx.Tx) error {
		return mustAffect(tx.Exec(ctx, `DELETE FROM clinic_false_misses WHERE patient_id = $1 AND dose_id = $2`, patientID, doseID))
	}, e)
}

func (s *Store) FalseMisses(ctx context.Context, patientID string) (map[string]report.FalseMiss, error) {
	out := map[string]report.FalseMiss{}
	rows, err := s.pool.Query(ctx, `SELECT dose_id, reason, source, marked_by, marked_at FROM clinic_false_misses WHERE patient_id = $1`, patientID)
	if err != nil {
		return nil, fail("false misses", err)
	}
	var id string
	var f report.FalseMiss
	var at int64
	_, err = pgx.ForEachRow(rows, []any{&id, &f.Reason, &f.Source, &f.By, &at}, func() error {
		f.At = fromMS(at)
		out[id] = f
		return nil
	})
	return out, fail("false misses", err)
}
