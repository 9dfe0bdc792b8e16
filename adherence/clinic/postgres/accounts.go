package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pillbox/pillbox/adherence/clinic"
)

// Times are unix milliseconds; NULL is the zero time.

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func nullMS(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	v := t.UnixMilli()
	return &v
}

func fromNullMS(v *int64) time.Time {
	if v == nil {
		return time.Time{}
	}
	return fromMS(*v)
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

const insertAudit = `INSERT INTO clinic_audit(time, actor, action, patient_id, target, remote, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7)`

// audit appends entries in tx.
func audit(ctx context.Context, tx pgx.Tx, es ...clinic.Entry) error {
	for _, e := range es {
		if _, err := tx.Exec(ctx, insertAudit, ms(e.Time), e.Actor, e.Action, nullText(e.PatientID), e.Target, e.Remote, e.Outcome); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
}

// change runs f and appends the audit entries in one transaction.
func (s *Store) change(ctx context.Context, op string, f func(tx pgx.Tx) error, es ...clinic.Entry) error {
	return fail(op, s.tx(ctx, func(tx pgx.Tx) error {
		if err := f(tx); err != nil {
			return err
		}
		return audit(ctx, tx, es...)
	}))
}

// exists returns ErrNotFound unless table has a row with id. The
// references would refuse a missing row too, but only as the first of
// the statements that follow fails; checking first says which is missing.
func exists(ctx context.Context, tx pgx.Tx, table, id string) error {
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = $1)`, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return clinic.ErrNotFound
	}
	return nil
}

func (s *Store) CreateUser(ctx context.Context, u clinic.User, hash string, e clinic.Entry) error {
	return s.change(ctx, "create user", func(tx pgx.Tx) error {
		err := mustAffect(tx.Exec(ctx, `INSERT INTO clinic_users(id, username, display_name, role, password_hash, disabled, created)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`, u.ID, u.Username, u.DisplayName, string(u.Role), hash, u.Disabled, ms(u.Created)))
		if errors.Is(err, clinic.ErrNotFound) {
			return clinic.ErrConflict
		}
		return err
	}, e)
}

func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string, e clinic.Entry) error {
	return s.change(ctx, "set password", func(tx pgx.Tx) error {
		if err := mustAffect(tx.Exec(ctx, `UPDATE clinic_users SET password_hash = $1 WHERE id = $2`, hash, userID)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM clinic_sessions WHERE user_id = $1`, userID)
		return err
	}, e)
}

func (s *Store) SetUserDisabled(ctx context.Context, userID string, disabled bool, e clinic.Entry) error {
	return s.change(ctx, "disable user", func(tx pgx.Tx) error {
		if err := mustAffect(tx.Exec(ctx, `UPDATE clinic_users SET disabled = $1 WHERE id = $2`, disabled, userID)); err != nil {
			return err
		}
		if !disabled {
			return nil
		}
		_, err := tx.Exec(ctx, `DELETE FROM clinic_sessions WHERE user_id = $1`, userID)
		return err
	}, e)
}

const selectUser = `SELECT id, username, display_name, role, disabled, created FROM clinic_users `

func scanUser(sc pgx.Row) (clinic.User, error) {
	var u clinic.User
	var created int64
	err := sc.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.Disabled, &created)
	u.Created = fromMS(created)
	return u, err
}

// one maps a single row's absence to clinic.ErrNotFound.
func one[T any](v T, err error) (T, error) {
	if errors.Is(err, pgx.ErrNoRows) {
		var zero T
		return zero, clinic.ErrNotFound
	}
	return v, err
}

func (s *Store) Users(ctx context.Context) ([]clinic.User, error) {
	us, err := list(ctx, s.pool, scanUser, selectUser+`ORDER BY username`)
	return us, fail("users", err)
}

func (s *Store) UserByName(ctx context.Context, name string) (clinic.User, error) {
	u, err := one(scanUser(s.pool.QueryRow(ctx, selectUser+`WHERE username = $1 OR id = $1 ORDER BY username = $1 DESC LIMIT 1`, name)))
	return u, fail("user", err)
}

func (s *Store) PasswordHash(ctx context.Context, username string) (clinic.User, string, error) {
	var u clinic.User
	var hash string
	var created int64
	err := s.pool.QueryRow(ctx, `SELECT id, username, display_name, role, disabled, created, password_hash FROM clinic_users
WHERE username = $1`, username).Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.Disabled, &created, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return clinic.User{}, "", clinic.ErrNotFound
	}
	u.Created = fromMS(created)
	return u, hash, fail("password", err)
}

func (s *Store) CreatePatient(ctx context.Context, p clinic.Patient, e clinic.Entry) error {
	return s.change(ctx, "create patient", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO clinic_patients(id, display_name, first_name, created) VALUES ($1, $2, $3, $4)`,
			p.ID, p.DisplayName, p.FirstName, ms(p.Created))
		return err
	}, e)
}

func (s *Store) SetFirstName(ctx context.Context, patientID, firstName string, e clinic.Entry) error {
	return s.change(ctx, "set first name", func(tx pgx.Tx) error {
		return mustAffect(tx.Exec(ctx, `UPDATE clinic_patients SET first_name = $1 WHERE id = $2`, firstName, patientID))
	}, e)
}

const selectPatient = `SELECT id, display_name, first_name, created FROM clinic_patients `

func scanPatient(sc pgx.Row) (clinic.Patient, error) {
	var p clinic.Patient
	var created int64
	err := sc.Scan(&p.ID, &p.DisplayName, &p.FirstName, &created)
	p.Created = fromMS(created)
	return p, err
}

func (s *Store) Patient(ctx context.Context, id string) (clinic.Patient, error) {
	p, err := one(scanPatient(s.pool.QueryRow(ctx, selectPatient+`WHERE id = $1`, id)))
	return p, fail("patient", err)
}

func (s *Store) Patients(ctx context.Context) ([]clinic.Patient, error) {
	ps, err := list(ctx, s.pool, scanPatient, selectPatient+`ORDER BY display_name, id`)
	return ps, fail("patients", err)
}

// userAndPatient returns ErrNotFound unless both exist.
func userAndPatient(ctx context.Context, tx pgx.Tx, userID, patientID string) error {
	if err := exists(ctx, tx, "clinic_users", userID); err != nil {
		return err
	}
	return exists(ctx, tx, "clinic_patients", patientID)
}

func (s *Store) SetPanel(ctx context.Context, userID, patientID string, on bool, e clinic.Entry) error {
	q := `DELETE FROM clinic_panels WHERE user_id = $1 AND patient_id = $2`
	if on {
		q = `INSERT INTO clinic_panels(user_id, patient_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`
	}
	return fail("panel", s.tx(ctx, func(tx pgx.Tx) error {
		if err := userAndPatient(ctx, tx, userID, patientID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, q, userID, patientID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM clinic_panel_requests WHERE user_id = $1 AND patient_id = $2`, userID, patientID)
		if err != nil {
			return err
		}
		entry := e // a retried transaction starts from the caller's entry
		if tag.RowsAffected() > 0 && on {
			entry.Target += clinic.GrantedRequest
		}
		return audit(ctx, tx, entry)
	}))
}

func (s *Store) OnPanel(ctx context.Context, userID, patientID string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM clinic_panels WHERE user_id = $1 AND patient_id = $2)`, userID, patientID).Scan(&ok)
	return ok, fail("panel", err)
}

func (s *Store) PanelEntries(ctx context.Context, userID string) ([]clinic.PanelEntry, error) {
	es, err := list(ctx, s.pool, func(sc pgx.Row) (clinic.PanelEntry, error) {
		var e clinic.PanelEntry
		var created int64
		var seen *int64
		var silent int
		err := sc.Scan(&e.Patient.ID, &e.Patient.DisplayName, &e.Patient.FirstName, &created, &seen, &silent)
		e.Patient.Created, e.LastSeen, e.Silent = fromMS(created), fromNullMS(seen), silent > 0
		return e, err
	}, `SELECT p.id, p.display_name, p.first_name, p.created, max(d.last_seen), count(d.silent_since)
FROM clinic_panels l JOIN clinic_patients p ON p.id = l.patient_id LEFT JOIN clinic_devices d ON d.patient_id = p.id AND NOT d.disabled
WHERE l.user_id = $1 GROUP BY p.id ORDER BY p.display_name, p.id`, userID)
	return es, fail("panel", err)
}

func (s *Store) RequestPanel(ctx context.Context, r clinic.PanelRequest, e clinic.Entry) error {
	return s.change(ctx, "panel request", func(tx pgx.Tx) error {
		if err := userAndPatient(ctx, tx, r.UserID, r.PatientID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO clinic_panel_requests(user_id, patient_id, requested_at) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING`, r.UserID, r.PatientID, ms(r.RequestedAt))
		return err
	}, e)
}

func (s *Store) PanelRequests(ctx context.Context) ([]clinic.PanelRequest, error) {
	rs, err := list(ctx, s.pool, func(sc pgx.Row) (clinic.PanelRequest, error) {
		var r clinic.PanelRequest
		var at int64
		err := sc.Scan(&r.UserID, &r.PatientID, &at)
		r.RequestedAt = fromMS(at)
		return r, err
	}, `SELECT user_id, patient_id, requested_at FROM clinic_panel_requests ORDER BY requested_at, user_id`)
	return rs, fail("panel requests", err)
}

func (s *Store) AddCaregiver(ctx context.Context, patientID string, c clinic.Caregiver, e clinic.Entry) error {
	return s.change(ctx, "add caregiver", func(tx pgx.Tx) error {
		if err := exists(ctx, tx, "clinic_patients", patientID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO clinic_caregivers(patient_id, name, phone) VALUES ($1, $2, $3)
ON CONFLICT (patient_id, phone) DO UPDATE SET name = excluded.name`, patientID, c.Name, c.Phone)
		return err
	}, e)
}

func (s *Store) Caregivers(ctx context.Context, patientID string) ([]clinic.Caregiver, error) {
	cs, err := list(ctx, s.pool, func(sc pgx.Row) (clinic.Caregiver, error) {
		var c clinic.Caregiver
		return c, sc.Scan(&c.Name, &c.Phone)
	}, `SELECT name, phone FROM clinic_caregivers WHERE patient_id = $1 ORDER BY id`, patientID)
	return cs, fail("caregivers", err)
}

func (s *Store) CreateSession(ctx context.Context, ss clinic.Session, e clinic.Entry) error {
	return s.change(ctx, "new session", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO clinic_sessions(id_hash, user_id, csrf, created, last_seen) VALUES ($1, $2, $3, $4, $5)`,
			ss.IDHash, ss.UserID, ss.CSRF, ms(ss.Created), ms(ss.LastSeen))
		return err
	}, e)
}

func (s *Store) Session(ctx context.Context, idHash string) (clinic.Session, clinic.User, error) {
	ss := clinic.Session{IDHash: idHash}
	var created, seen, userCreated int64
	var u clinic.User
	err := s.pool.QueryRow(ctx, `SELECT s.user_id, s.csrf, s.created, s.last_seen, u.id, u.username, u.display_name, u.role,
u.disabled, u.created FROM clinic_sessions s JOIN clinic_users u ON u.id = s.user_id WHERE s.id_hash = $1`, idHash).
		Scan(&ss.UserID, &ss.CSRF, &created, &seen, &u.ID, &u.Username, &u.DisplayName, &u.Role, &u.Disabled, &userCreated)
	if errors.Is(err, pgx.ErrNoRows) {
		return clinic.Session{}, clinic.User{}, clinic.ErrNotFound
	}
	ss.Created, ss.LastSeen, u.Created = fromMS(created), fromMS(seen), fromMS(userCreated)
	return ss, u, fail("session", err)
}

func (s *Store) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE clinic_sessions SET last_seen = $1 WHERE id_hash = $2`, ms(at), idHash)
	return fail("session", err)
}

func (s *Store) DeleteSession(ctx context.Context, idHash string, es ...clinic.Entry) error {
	return s.change(ctx, "end session", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM clinic_sessions WHERE id_hash = $1`, idHash)
		return err
	}, es...)
}

func (s *Store) PruneSessions(ctx context.Context, idleBefore, createdBefore time.Time) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM clinic_sessions WHERE last_seen < $1 OR created < $2`, ms(idleBefore), ms(createdBefore))
	return fail("prune sessions", err)
}

func (s *Store) LoginWait(ctx context.Context, since time.Time, keys ...string) (time.Time, error) {
	var until *int64
	err := s.pool.QueryRow(ctx, `SELECT max(until) FROM clinic_login_failures WHERE key = ANY($1) AND last_failure >= $2`,
		keys, ms(since)).Scan(&until)
	return fromNullMS(until), fail("login wait", err)
}

func (s *Store) LoginFailed(ctx context.Context, at, forgetBefore time.Time, keys ...clinic.KeyDelay) (time.Time, error) {
	var until time.Time
	err := s.tx(ctx, func(tx pgx.Tx) error {
		until = time.Time{}
		if _, err := tx.Exec(ctx, `DELETE FROM clinic_login_failures WHERE last_failure < $1`, ms(forgetBefore)); err != nil {
			return err
		}
		for _, k := range keys {
			// ON CONFLICT DO UPDATE counts atomically: a failure counted
			// by another process at the same moment waits for this row.
			var n int
			if err := tx.QueryRow(ctx, `INSERT INTO clinic_login_failures AS f (key, failures, last_failure, until) VALUES ($1, 1, $2, $2)
ON CONFLICT (key) DO UPDATE SET failures = f.failures + 1, last_failure = excluded.last_failure RETURNING failures`, k.Key, ms(at)).Scan(&n); err != nil {
				return err
			}
			u := at.Add(k.Delay.Wait(n))
			if _, err := tx.Exec(ctx, `UPDATE clinic_login_failures SET until = $1 WHERE key = $2`, ms(u), k.Key); err != nil {
				return err
			}
			if u.After(until) {
				until = u
			}
		}
		return nil
	})
	return until, fail("login failed", err)
}

func (s *Store) LoginSucceeded(ctx context.Context, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM clinic_login_failures WHERE key = $1`, key)
	return fail("login succeeded", err)
}

func (s *Store) AppendAudit(ctx context.Context, es ...clinic.Entry) error {
	return fail("audit", s.tx(ctx, func(tx pgx.Tx) error { return audit(ctx, tx, es...) }))
}

func (s *Store) AuditLog(ctx context.Context, q clinic.AuditQuery) ([]clinic.Entry, error) {
	// Two texts rather than one with ($2 = '' OR ...): a generic plan of
	// that would not use the patient's index.
	query, args := `SELECT seq, time, actor, action, coalesce(patient_id, ''), target, remote, outcome FROM clinic_audit
WHERE seq > $1 ORDER BY seq LIMIT $2`, []any{q.After, q.Limit}
	if q.PatientID != "" {
		query = `SELECT seq, time, actor, action, patient_id, target, remote, outcome FROM clinic_audit
WHERE seq > $1 AND patient_id = $3 ORDER BY seq LIMIT $2`
		args = append(args, q.PatientID)
	}
	es, err := list(ctx, s.pool, func(sc pgx.Row) (clinic.Entry, error) {
		var e clinic.Entry
		var t int64
		err := sc.Scan(&e.Seq, &t, &e.Actor, &e.Action, &e.PatientID, &e.Target, &e.Remote, &e.Outcome)
		e.Time = fromMS(t)
		return e, err
	}, query, args...)
	return es, fail("audit log", err)
}
