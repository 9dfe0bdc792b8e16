package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
)

// Times are unix milliseconds; NULL is the zero time.

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func nullMS(t time.Time) sql.NullInt64 {
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: !t.IsZero()}
}

func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

func nullText(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

const insertAudit = `INSERT INTO clinic_audit(time, actor, action, patient_id, target, remote, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)`

// audit appends entries in tx.
func audit(ctx context.Context, tx *sql.Tx, es ...clinic.Entry) error {
	for _, e := range es {
		if _, err := tx.ExecContext(ctx, insertAudit, ms(e.Time), e.Actor, e.Action, nullText(e.PatientID), e.Target, e.Remote, e.Outcome); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
}

// change runs f and appends the audit entries in one transaction.
func (s *Store) change(ctx context.Context, op string, f func(tx *sql.Tx) error, es ...clinic.Entry) error {
	return fail(op, s.tx(ctx, func(tx *sql.Tx) error {
		if err := f(tx); err != nil {
			return err
		}
		return audit(ctx, tx, es...)
	}))
}

// exists returns ErrNotFound unless table has a row with id. SQLite does
// not enforce REFERENCES without PRAGMA foreign_keys, which the
// connections leave off (deleting a patient is not a thing the clinic
// does): the methods check by hand.
func exists(ctx context.Context, tx *sql.Tx, table, id string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return clinic.ErrNotFound
	}
	return nil
}

func (s *Store) CreateUser(ctx context.Context, u clinic.User, hash string, e clinic.Entry) error {
	return s.change(ctx, "create user", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO clinic_users(id, username, display_name, role, password_hash, disabled, created)
VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, u.ID, u.Username, u.DisplayName, string(u.Role), hash, u.Disabled, ms(u.Created))
		if err := mustAffect(res, err); errors.Is(err, clinic.ErrNotFound) {
			return clinic.ErrConflict
		} else if err != nil {
			return err
		}
		return nil
	}, e)
}

func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string, e clinic.Entry) error {
	return s.change(ctx, "set password", func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, `UPDATE clinic_users SET password_hash = ? WHERE id = ?`, hash, userID)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM clinic_sessions WHERE user_id = ?`, userID)
		return err
	}, e)
}

func (s *Store) SetUserDisabled(ctx context.Context, userID string, disabled bool, e clinic.Entry) error {
	return s.change(ctx, "disable user", func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, `UPDATE clinic_users SET disabled = ? WHERE id = ?`, disabled, userID)); err != nil {
			return err
		}
		if !disabled {
			return nil
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM clinic_sessions WHERE user_id = ?`, userID)
		return err
	}, e)
}

const selectUser = `SELECT id, username, display_name, role, disabled, created FROM clinic_users `

func scanUser(sc scanner) (clinic.User, error) {
	var u clinic.User
	var created int64
	err := sc.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.Disabled, &created)
	u.Created = fromMS(created)
	return u, err
}

func (s *Store) Users(ctx context.Context) ([]clinic.User, error) {
	us, err := list(ctx, s.r, scanUser, selectUser+`ORDER BY username`)
	return us, fail("users", err)
}

func (s *Store) UserByName(ctx context.Context, name string) (clinic.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, selectUser+`WHERE username = ? OR id = ? ORDER BY username = ? DESC LIMIT 1`, name, name, name))
	if errors.Is(err, sql.ErrNoRows) {
		return clinic.User{}, clinic.ErrNotFound
	}
	return u, fail("user", err)
}

func (s *Store) PasswordHash(ctx context.Context, username string) (clinic.User, string, error) {
	var u clinic.User
	var hash string
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, username, display_name, role, disabled, created, password_hash FROM clinic_users
WHERE username = ?`, username).Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.Disabled, &created, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return clinic.User{}, "", clinic.ErrNotFound
	}
	u.Created = fromMS(created)
	return u, hash, fail("password", err)
}

func (s *Store) CreatePatient(ctx context.Context, p clinic.Patient, e clinic.Entry) error {
	return s.change(ctx, "create patient", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO clinic_patients(id, display_name, first_name, created) VALUES (?, ?, ?, ?)`,
			p.ID, p.DisplayName, p.FirstName, ms(p.Created))
		return err
	}, e)
}

func (s *Store) SetFirstName(ctx context.Context, patientID, firstName string, e clinic.Entry) error {
	return s.change(ctx, "set first name", func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `UPDATE clinic_patients SET first_name = ? WHERE id = ?`, firstName, patientID))
	}, e)
}

const selectPatient = `SELECT id, display_name, first_name, created FROM clinic_patients `

func scanPatient(sc scanner) (clinic.Patient, error) {
	var p clinic.Patient
	var created int64
	err := sc.Scan(&p.ID, &p.DisplayName, &p.FirstName, &created)
	p.Created = fromMS(created)
	return p, err
}

func (s *Store) Patient(ctx context.Context, id string) (clinic.Patient, error) {
	p, err := scanPatient(s.r.QueryRowContext(ctx, selectPatient+`WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return clinic.Patient{}, clinic.ErrNotFound
	}
	return p, fail("patient", err)
}

func (s *Store) Patients(ctx context.Context) ([]clinic.Patient, error) {
	ps, err := list(ctx, s.r, scanPatient, selectPatient+`ORDER BY display_name, id`)
	return ps, fail("patients", err)
}

// userAndPatient returns ErrNotFound unless both exist.
func userAndPatient(ctx context.Context, tx *sql.Tx, userID, patientID string) error {
	if err := exists(ctx, tx, "clinic_users", userID); err != nil {
		return err
	}
	return exists(ctx, tx, "clinic_patients", patientID)
}

func (s *Store) SetPanel(ctx context.Context, userID, patientID string, on bool, e clinic.Entry) error {
	q := `DELETE FROM clinic_panels WHERE user_id = ? AND patient_id = ?`
	if on {
		q = `INSERT INTO clinic_panels(user_id, patient_id) VALUES (?, ?) ON CONFLICT DO NOTHING`
	}
	return fail("panel", s.tx(ctx, func(tx *sql.Tx) error {
		if err := userAndPatient(ctx, tx, userID, patientID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, q, userID, patientID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM clinic_panel_requests WHERE user_id = ? AND patient_id = ?`, userID, patientID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 && on {
			e.Target += clinic.GrantedRequest
		}
		return audit(ctx, tx, e)
	}))
}

func (s *Store) OnPanel(ctx context.Context, userID, patientID string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM clinic_panels WHERE user_id = ? AND patient_id = ?`, userID, patientID).Scan(&n)
	return n > 0, fail("panel", err)
}

func (s *Store) PanelEntries(ctx context.Context, userID string) ([]clinic.PanelEntry, error) {
	es, err := list(ctx, s.r, func(sc scanner) (clinic.PanelEntry, error) {
		var e clinic.PanelEntry
		var created int64
		var seen sql.NullInt64
		var silent int
		err := sc.Scan(&e.Patient.ID, &e.Patient.DisplayName, &e.Patient.FirstName, &created, &seen, &silent)
		e.Patient.Created, e.LastSeen, e.Silent = fromMS(created), fromNullMS(seen), silent > 0
		return e, err
	}, `SELECT p.id, p.display_name, p.first_name, p.created, max(d.last_seen), count(d.silent_since)
FROM clinic_patients p JOIN clinic_panels l ON l.patient_id = p.id LEFT JOIN clinic_devices d ON d.patient_id = p.id AND d.disabled = 0
WHERE l.user_id = ? GROUP BY p.id ORDER BY p.display_name, p.id`, userID)
	return es, fail("panel", err)
}

func (s *Store) RequestPanel(ctx context.Context, r clinic.PanelRequest, e clinic.Entry) error {
	return s.change(ctx, "panel request", func(tx *sql.Tx) error {
		if err := userAndPatient(ctx, tx, r.UserID, r.PatientID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO clinic_panel_requests(user_id, patient_id, requested_at) VALUES (?, ?, ?)
ON CONFLICT DO NOTHING`, r.UserID, r.PatientID, ms(r.RequestedAt))
		return err
	}, e)
}

func (s *Store) PanelRequests(ctx context.Context) ([]clinic.PanelRequest, error) {
	rs, err := list(ctx, s.r, func(sc scanner) (clinic.PanelRequest, error) {
		var r clinic.PanelRequest
		var at int64
		err := sc.Scan(&r.UserID, &r.PatientID, &at)
		r.RequestedAt = fromMS(at)
		return r, err
	}, `SELECT user_id, patient_id, requested_at FROM clinic_panel_requests ORDER BY requested_at, user_id`)
	return rs, fail("panel requests", err)
}

func (s *Store) AddCaregiver(ctx context.Context, patientID string, c clinic.Caregiver, e clinic.Entry) error {
	return s.change(ctx, "add caregiver", func(tx *sql.Tx) error {
		if err := exists(ctx, tx, "clinic_patients", patientID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO clinic_caregivers(patient_id, name, phone) VALUES (?, ?, ?)
ON CONFLICT(patient_id, phone) DO UPDATE SET name = excluded.name`, patientID, c.Name, c.Phone)
		return err
	}, e)
}

func (s *Store) Caregivers(ctx context.Context, patientID string) ([]clinic.Caregiver, error) {
	cs, err := list(ctx, s.r, func(sc scanner) (clinic.Caregiver, error) {
		var c clinic.Caregiver
		return c, sc.Scan(&c.Name, &c.Phone)
	}, `SELECT name, phone FROM clinic_caregivers WHERE patient_id = ? ORDER BY id`, patientID)
	return cs, fail("caregivers", err)
}
