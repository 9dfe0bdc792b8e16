package clinic

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/dispenser"
)

// The clinic's side of the reports: what a report is built from (the
// patient's synced events and readings, the profile their dispenser sends
// with its heartbeat) and the false misses clinicians record.

// fillLookback is how far before a report's period events are read, so
// that supply loaded before the period counts for PDC (a 90-day fill).
const fillLookback = 120 * 24 * time.Hour

// noLimit reads every row of a period.
const noLimit = 1 << 30

// PatientSetup returns the setup of the patient's dispensers (the profile
// of the most recently heard one that sent a readable profile) and the
// dispensers themselves. Without a profile the setup is empty: reports
// then count doses in UTC, without windows and PDC.
func (s *Store) PatientSetup(ctx context.Context, patientID string) (report.Setup, []report.DispenserInfo, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, label, coalesce(heartbeat, '') FROM clinic_devices
WHERE patient_id = ? ORDER BY last_seen IS NULL, last_seen DESC, id`, patientID)
	if err != nil {
		return report.Setup{}, nil, fmt.Errorf("clinic: patient setup: %w", err)
	}
	defer rows.Close()
	var setup report.Setup
	var infos []report.DispenserInfo
	found := false
	for rows.Next() {
		var info report.DispenserInfo
		var hb string
		if err := rows.Scan(&info.ID, &info.Label, &hb); err != nil {
			return report.Setup{}, nil, fmt.Errorf("clinic: patient setup: %w", err)
		}
		var h uplink.Heartbeat
		if hb != "" && json.Unmarshal([]byte(hb), &h) == nil {
			info.Software = h.Software
			if h.Profile != nil && !found {
				// A profile that does not read (another version, an
				// unknown zone) is skipped, not an error: the report
				// still has the log.
				if loc, meds, regs, meters, err := h.Profile.Domain(); err == nil {
					setup, found = report.Setup{Location: loc, Medications: meds, Regimens: regs, Meters: report.MetersOf(meters),
						Thresholds: thresholdsOf(h.Profile.Thresholds)}, true
				}
			}
		}
		infos = append(infos, info)
	}
	if err := rows.Err(); err != nil {
		return report.Setup{}, nil, fmt.Errorf("clinic: patient setup: %w", err)
	}
	return setup, infos, nil
}

// thresholdsOf returns the patient's alert thresholds of a profile; nil
// when it has none or none the clinic can use (another version, values
// the dispenser itself would refuse: Domain says which), and the reports
// then use the default ranges and say so.
func thresholdsOf(p *uplink.ProfileThresholds) *report.VitalThresholds {
	if p == nil {
		return nil
	}
	t, err := p.Domain()
	if err != nil {
		return nil
	}
	return report.FromVitals(t)
}

// FalseMisses returns the misses marked false for a patient, by dose id.
func (s *Store) FalseMisses(ctx context.Context, patientID string) (map[string]report.FalseMiss, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT dose_id, reason, source, marked_by, marked_at FROM clinic_false_misses
WHERE patient_id = ?`, patientID)
	if err != nil {
		return nil, fmt.Errorf("clinic: false misses: %w", err)
	}
	defer rows.Close()
	out := map[string]report.FalseMiss{}
	for rows.Next() {
		var id string
		var f report.FalseMiss
		var at int64
		if err := rows.Scan(&id, &f.Reason, &f.Source, &f.By, &at); err != nil {
			return nil, fmt.Errorf("clinic: false misses: %w", err)
		}
		f.At = fromMillis(at)
		out[id] = f
	}
	return out, rows.Err()
}

// Sources of a false-miss mark.
const (
	SourceClinician = "clinician" // the clinician knows the dose was taken
	SourceCaregiver = "caregiver" // a caregiver told the clinician
)

const maxReason = 200

// Why a false-miss mark was not saved. The patient page names them by id
// (notices), so they stay fixed texts.
var (
	errNoReason      = fmt.Errorf("%w: say why the miss is false (e.g. taken from a blister pack)", ErrInvalid)
	errLongReason    = fmt.Errorf("%w: the reason must be at most %d characters", ErrInvalid, maxReason)
	errReasonNotLine = fmt.Errorf("%w: the reason must be one line of printable text", ErrInvalid)
	errBadSource     = fmt.Errorf("%w: source must be clinician or caregiver", ErrInvalid)
	errNoMiss        = fmt.Errorf("%w: no recorded miss with this dose id", ErrNotFound)
)

func checkReason(r string) error {
	switch {
	case strings.TrimSpace(r) == "":
		return errNoReason
	case utf8.RuneCountInString(r) > maxReason || !utf8.ValidString(r):
		return errLongReason
	case strings.IndexFunc(r, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0:
		return errReasonNotLine
	}
	return nil
}

// MarkFalseMiss records that a recorded miss (missed, or left in the
// cup) of the patient's was in fact taken, with a reason; marking again
// replaces the reason. It is audited as a; the audit entry names the
// source, not the dose (dose ids carry medication names).
func (s *Store) MarkFalseMiss(ctx context.Context, a Actor, patientID, doseID, reason, source string) error {
	if source != SourceClinician && source != SourceCaregiver {
		return fmt.Errorf("clinic: mark false miss: %w", errBadSource)
	}
	if err := checkReason(reason); err != nil {
		return fmt.Errorf("clinic: mark false miss: %w", err)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM clinic_events WHERE patient_id = ? AND dose_id = ?
AND kind IN ('missed', 'not_taken')`, patientID, doseID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return errNoMiss
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO clinic_false_misses(patient_id, dose_id, reason, source, marked_by, marked_at)
VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET reason = excluded.reason, source = excluded.source,
marked_by = excluded.marked_by, marked_at = excluded.marked_at`, patientID, doseID, strings.TrimSpace(reason), source,
			a.ID, millis(s.now())); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "dose.false_miss", patientID, "source="+source, "")
	})
	return wrap("mark false miss", err)
}

// UnmarkFalseMiss removes a false-miss mark (audited).
func (s *Store) UnmarkFalseMiss(ctx context.Context, a Actor, patientID, doseID string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM clinic_false_misses WHERE patient_id = ? AND dose_id = ?`, patientID, doseID)
		if err := mustAffect(res, err); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "dose.false_miss_removed", patientID, "", "")
	})
	return wrap("unmark false miss", err)
}

// ReportInput gathers what a report of the patient over [from, to) is
// built from, at the store's clock.
func (s *Store) ReportInput(ctx context.Context, p Patient, from, to time.Time) (report.Input, error) {
	in := report.Input{Subject: report.Subject{ID: p.ID, Name: p.DisplayName}, From: from, To: to, Generated: s.now()}
	var err error
	if in.Setup, in.Dispensers, err = s.PatientSetup(ctx, p.ID); err != nil {
		return in, err
	}
	// Events and readings are read side by side on two connections of
	// the read pool: together they are most of a page's time.
	var rerr error
	var wg sync.WaitGroup
	wg.Go(func() { in.Readings, rerr = s.PatientReadings(ctx, p.ID, from, to, noLimit) })
	in.Events, err = s.PatientEvents(ctx, p.ID, from.Add(-fillLookback), to, noLimit)
	wg.Wait()
	if err = cmp.Or(err, rerr); err != nil {
		return in, err
	}
	if in.Marks, err = s.FalseMisses(ctx, p.ID); err != nil {
		return in, err
	}
	return in, nil
}

// errNoProfile is shown when a patient's dispenser has sent no profile.
var errNoProfile = errors.New("the dispenser has not sent its medication profile yet")

// recentEvents returns the patient's events from since on, for the panel.
func (s *Store) recentEvents(ctx context.Context, patientID string, since, now time.Time) ([]dispenser.Event, error) {
	return s.PatientEvents(ctx, patientID, since, now.Add(time.Millisecond), noLimit)
}

// ReportNow is the instant a patient's default report period ends at:
// now, or the patient's latest synced event when a device clock runs a
// little ahead (at most MaxClockSkew). A device's time never moves it
// further: an event dated in 2199, a wrong clock's or a forged batch's, is
// suspect (ClockAhead), not the clinic's "now".
func (s *Store) ReportNow(ctx context.Context, patientID string, now time.Time) (time.Time, error) {
	var latest sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT max(time) FROM clinic_events WHERE patient_id = ? AND time <= ? AND clock IS NULL`,
		patientID, millis(now.Add(MaxClockSkew))).Scan(&latest); err != nil {
		return now, fmt.Errorf("clinic: report time: %w", err)
	}
	if t := fromNullMillis(latest); t.After(now) {
		return t, nil
	}
	return now, nil
}
