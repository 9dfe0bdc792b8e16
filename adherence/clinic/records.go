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

// SyncedEvent is an event as the clinic holds it: the device's event,
// what the clinic made of its time when it arrived, and when that was.
type SyncedEvent struct {
	dispenser.Event
	// Clock is "" for a plausible time, else ClockUntrusted, ClockAhead
	// or ClockBefore2000: a time to show as unreliable.
	Clock    string    `json:"clock,omitempty"`
	Received time.Time `json:"received"`
	Device   string    `json:"device"`
}

const selectSyncedEvents = `SELECT seq, id, time, kind, coalesce(dose_id, ''), scheduled, coalesce(medication, ''),
compartment, coalesce(detail, ''), coalesce(clock, ''), received, device_id FROM clinic_events `

func (s *Store) syncedEvents(ctx context.Context, query string, args ...any) ([]SyncedEvent, error) {
	rows, err := s.r.QueryContext(ctx, selectSyncedEvents+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SyncedEvent
	for rows.Next() {
		var e SyncedEvent
		var t, recv int64
		var sched sql.NullInt64
		if err := rows.Scan(&e.Seq, &e.ID, &t, &e.Kind, &e.DoseID, &sched, &e.Medication, &e.Compartment, &e.Detail,
			&e.Clock, &recv, &e.Device); err != nil {
			return nil, err
		}
		e.Time, e.Scheduled, e.Received = fromMillis(t), fromNullMillis(sched), fromMillis(recv)
		e.ClockUntrusted = e.Clock == ClockUntrusted
		out = append(out, e)
	}
	return out, rows.Err()
}

// PatientSyncedEvents returns the patient's synced events with a time in
// [from, to), in time order (then by device and seq), whatever the clinic
// made of their times. Seq is the device's own sequence number. It checks
// no access: handlers check the panel.
func (s *Store) PatientSyncedEvents(ctx context.Context, patientID string, from, to time.Time, limit int) ([]SyncedEvent, error) {
	evs, err := s.syncedEvents(ctx, `WHERE patient_id = ? AND time >= ? AND time < ?
ORDER BY time, device_id, log_id, seq LIMIT ?`, patientID, millis(from), millis(to), limit)
	if err != nil {
		return nil, fmt.Errorf("clinic: patient events: %w", err)
	}
	return evs, nil
}

// PatientEvents returns what the reports are built from: the patient's
// synced events with a time in [from, to) that the clinic can place in
// time, in time order. An event whose time is unreliable (ClockFlagged
// lists them) is left out: a dose placed by a wrong clock would count on
// the wrong day. It checks no access: handlers check the panel.
func (s *Store) PatientEvents(ctx context.Context, patientID string, from, to time.Time, limit int) ([]dispenser.Event, error) {
	evs, err := s.syncedEvents(ctx, `WHERE patient_id = ? AND time >= ? AND time < ? AND clock IS NULL
ORDER BY time, device_id, log_id, seq LIMIT ?`, patientID, millis(from), millis(to), limit)
	if err != nil {
		return nil, fmt.Errorf("clinic: patient events: %w", err)
	}
	out := make([]dispenser.Event, len(evs))
	for i, e := range evs {
		out[i] = e.Event
	}
	return out, nil
}

// ClockFlagged returns the patient's latest events (by arrival) whose
// time the clinic holds unreliable, newest first: what the patient page
// lists apart.
func (s *Store) ClockFlagged(ctx context.Context, patientID string, limit int) ([]SyncedEvent, error) {
	evs, err := s.syncedEvents(ctx, `WHERE patient_id = ? AND clock IS NOT NULL ORDER BY received DESC, seq DESC LIMIT ?`,
		patientID, limit)
	if err != nil {
		return nil, fmt.Errorf("clinic: clock-flagged events: %w", err)
	}
	return evs, nil
}

// SetAsideItem is a part of a batch the clinic kept apart (uplink.SetAside).
type SetAsideItem struct {
	Device   string    `json:"device"`
	What     string    `json:"what"` // "event", "reading" or "profile"
	Seq      int64     `json:"seq,omitempty"`
	ID       string    `json:"id,omitempty"`
	Reason   string    `json:"reason"`
	Received time.Time `json:"received"`
}

// SetAsideItems returns the latest items set aside from the patient's
// devices, newest first. The items themselves stay in the database.
func (s *Store) SetAsideItems(ctx context.Context, patientID string, limit int) ([]SetAsideItem, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT device_id, what, seq, item_id, reason, received FROM clinic_set_aside
WHERE patient_id = ? ORDER BY id DESC LIMIT ?`, patientID, limit)
	if err != nil {
		return nil, fmt.Errorf("clinic: set aside: %w", err)
	}
	defer rows.Close()
	var out []SetAsideItem
	for rows.Next() {
		var it SetAsideItem
		var recv int64
		if err := rows.Scan(&it.Device, &it.What, &it.Seq, &it.ID, &it.Reason, &recv); err != nil {
			return nil, fmt.Errorf("clinic: set aside: %w", err)
		}
		it.Received = fromMillis(recv)
		out = append(out, it)
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
