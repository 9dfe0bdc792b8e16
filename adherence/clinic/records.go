package clinic

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
)

// PanelEntry is one patient on a panel with their dispensers' state.
type PanelEntry struct {
	Patient  Patient   `json:"patient"`
	LastSeen time.Time `json:"last_seen,omitzero"` // latest of their devices
	Silent   bool      `json:"silent"`             // one of their devices is silent
}

// PanelEntries returns the user's panel with each patient's device state.
func (s *Store) PanelEntries(ctx context.Context, userID string) ([]PanelEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT p.id, p.display_name, p.created, max(d.last_seen), count(d.silent_since)
FROM clinic_patients p JOIN clinic_panels l ON l.patient_id = p.id LEFT JOIN clinic_devices d ON d.patient_id = p.id AND d.disabled = 0
WHERE l.user_id = ? GROUP BY p.id ORDER BY p.display_name, p.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("clinic: panel: %w", err)
	}
	defer rows.Close()
	var out []PanelEntry
	for rows.Next() {
		var e PanelEntry
		var created int64
		var seen sql.NullInt64
		var silent int
		if err := rows.Scan(&e.Patient.ID, &e.Patient.DisplayName, &created, &seen, &silent); err != nil {
			return nil, fmt.Errorf("clinic: panel: %w", err)
		}
		e.Patient.Created, e.LastSeen, e.Silent = fromMillis(created), fromNullMillis(seen), silent > 0
		out = append(out, e)
	}
	return out, rows.Err()
}

// PatientEvents returns the patient's synced events with a time in
// [from, to), in time order (then by device and seq). Seq is the device's
// own sequence number. It checks no access: handlers check the panel.
func (s *Store) PatientEvents(ctx context.Context, patientID string, from, to time.Time, limit int) ([]dispenser.Event, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, id, time, kind, coalesce(dose_id, ''), scheduled, coalesce(medication, ''),
compartment, coalesce(detail, '') FROM clinic_events WHERE patient_id = ? AND time >= ? AND time < ?
ORDER BY time, device_id, log_id, seq LIMIT ?`, patientID, millis(from), millis(to), limit)
	if err != nil {
		return nil, fmt.Errorf("clinic: patient events: %w", err)
	}
	defer rows.Close()
	var out []dispenser.Event
	for rows.Next() {
		var e dispenser.Event
		var t int64
		var sched sql.NullInt64
		if err := rows.Scan(&e.Seq, &e.ID, &t, &e.Kind, &e.DoseID, &sched, &e.Medication, &e.Compartment, &e.Detail); err != nil {
			return nil, fmt.Errorf("clinic: patient events: %w", err)
		}
		e.Time, e.Scheduled = fromMillis(t), fromNullMillis(sched)
		out = append(out, e)
	}
	return out, rows.Err()
}

// PatientReadings returns the patient's synced readings with a time in
// [from, to), in time order. It checks no access: handlers check the
// panel.
func (s *Store) PatientReadings(ctx context.Context, patientID string, from, to time.Time, limit int) ([]vital.Reading, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, id, time, device_time, quantity, value, unit, coalesce(absent, ''), extra
FROM clinic_readings WHERE patient_id = ? AND time >= ? AND time < ? ORDER BY time, device_id, log_id, seq LIMIT ?`,
		patientID, millis(from), millis(to), limit)
	if err != nil {
		return nil, fmt.Errorf("clinic: patient readings: %w", err)
	}
	defer rows.Close()
	var out []vital.Reading
	for rows.Next() {
		var r vital.Reading
		var t int64
		var value sql.NullFloat64
		var extra sql.NullString
		if err := rows.Scan(&r.Seq, &r.ID, &t, &r.DeviceTime, &r.Quantity, &value, &r.Unit, &r.Absent, &extra); err != nil {
			return nil, fmt.Errorf("clinic: patient readings: %w", err)
		}
		r.Time, r.Value = fromMillis(t), value.Float64
		if extra.Valid {
			var x readingExtra
			if err := json.Unmarshal([]byte(extra.String), &x); err != nil {
				return nil, fmt.Errorf("clinic: patient readings: %w", err)
			}
			r.Device, r.Original, r.Unreliable, r.Context = x.Device, x.Original, x.Unreliable, x.Context
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// EventCount returns how many events the clinic holds for a patient.
func (s *Store) EventCount(ctx context.Context, patientID string) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM clinic_events WHERE patient_id = ?`, patientID).Scan(&n); err != nil {
		return 0, fmt.Errorf("clinic: event count: %w", err)
	}
	return n, nil
}
