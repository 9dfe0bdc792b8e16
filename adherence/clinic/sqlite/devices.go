package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
)

func insertToken(ctx context.Context, tx *sql.Tx, t clinic.TokenInfo, hash string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO clinic_tokens(id, hash, kind, user_id, device_id, label, created, expires, revoked)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, t.ID, hash, t.Kind, nullText(t.UserID), nullText(t.DeviceID), t.Label, ms(t.Created),
		nullMS(t.Expires), nullMS(t.Revoked))
	return err
}

func (s *Store) RegisterDevice(ctx context.Context, d clinic.Device, t clinic.TokenInfo, hash string, e clinic.Entry) error {
	return s.change(ctx, "register device", func(tx *sql.Tx) error {
		if err := exists(ctx, tx, "clinic_patients", d.PatientID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO clinic_devices(id, patient_id, label, created) VALUES (?, ?, ?, ?)
ON CONFLICT DO NOTHING`, d.ID, d.PatientID, d.Label, ms(d.Created))
		if err := mustAffect(res, err); errors.Is(err, clinic.ErrNotFound) {
			return clinic.ErrConflict
		} else if err != nil {
			return err
		}
		return insertToken(ctx, tx, t, hash)
	}, e)
}

const selectDevice = `SELECT id, patient_id, label, created, disabled, last_seen, silent_since, software,
coalesce(clock_offset, 0), clock_suspect, clock_note, heartbeat,
(SELECT count(*) FROM clinic_set_aside a WHERE a.device_id = d.id),
(SELECT max(expires) FROM clinic_tokens t WHERE t.device_id = d.id AND t.revoked IS NULL) FROM clinic_devices d `

func scanDevice(sc scanner) (clinic.Device, error) {
	var d clinic.Device
	var created, offset int64
	var seen, silent, suspect, expires sql.NullInt64
	var hb sql.NullString
	err := sc.Scan(&d.ID, &d.PatientID, &d.Label, &created, &d.Disabled, &seen, &silent, &d.Software, &offset, &suspect,
		&d.ClockNote, &hb, &d.SetAside, &expires)
	d.Created, d.LastSeen, d.SilentSince, d.ClockSuspect = fromMS(created), fromNullMS(seen), fromNullMS(silent), fromNullMS(suspect)
	d.ClockOffset, d.TokenExpires = offset/1000, fromNullMS(expires)
	if hb.Valid {
		d.Heartbeat = []byte(hb.String)
	}
	return d, err
}

func (s *Store) Devices(ctx context.Context, patientID string) ([]clinic.Device, error) {
	q, args := selectDevice+`ORDER BY created, id`, []any{}
	if patientID != "" {
		q, args = selectDevice+`WHERE patient_id = ? ORDER BY created, id`, []any{patientID}
	}
	ds, err := list(ctx, s.r, scanDevice, q, args...)
	return ds, fail("devices", err)
}

// devicePatient returns the device's patient, ErrNotFound for none.
func devicePatient(ctx context.Context, tx *sql.Tx, deviceID string) (string, error) {
	var patient string
	err := tx.QueryRowContext(ctx, `SELECT patient_id FROM clinic_devices WHERE id = ?`, deviceID).Scan(&patient)
	if errors.Is(err, sql.ErrNoRows) {
		return "", clinic.ErrNotFound
	}
	return patient, err
}

func (s *Store) SetDeviceDisabled(ctx context.Context, deviceID string, disabled bool, e clinic.Entry) error {
	return fail("disable device", s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if e.PatientID, err = devicePatient(ctx, tx, deviceID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE clinic_devices SET disabled = ?, silent_since = NULL WHERE id = ?`, disabled, deviceID); err != nil {
			return err
		}
		return audit(ctx, tx, e)
	}))
}

func (s *Store) IssueToken(ctx context.Context, t clinic.TokenInfo, hash string, e clinic.Entry) error {
	return s.change(ctx, "issue token", func(tx *sql.Tx) error {
		if err := exists(ctx, tx, "clinic_users", t.UserID); err != nil {
			return err
		}
		return insertToken(ctx, tx, t, hash)
	}, e)
}

func (s *Store) RotateDeviceToken(ctx context.Context, t clinic.TokenInfo, hash string, e clinic.Entry) error {
	return fail("rotate token", s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if e.PatientID, err = devicePatient(ctx, tx, t.DeviceID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE clinic_tokens SET revoked = ? WHERE device_id = ? AND revoked IS NULL`,
			ms(t.Created), t.DeviceID); err != nil {
			return err
		}
		if err := insertToken(ctx, tx, t, hash); err != nil {
			return err
		}
		return audit(ctx, tx, e)
	}))
}

func (s *Store) RevokeToken(ctx context.Context, tokenID string, at time.Time, e clinic.Entry) error {
	return s.change(ctx, "revoke token", func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `UPDATE clinic_tokens SET revoked = ? WHERE id = ? AND revoked IS NULL`, ms(at), tokenID))
	}, e)
}

const selectToken = `SELECT t.id, t.kind, coalesce(t.user_id, ''), coalesce(t.device_id, ''), t.label, t.created, t.expires, t.revoked `

func scanToken(sc scanner, more ...any) (clinic.TokenInfo, error) {
	var t clinic.TokenInfo
	var created int64
	var expires, revoked sql.NullInt64
	err := sc.Scan(append([]any{&t.ID, &t.Kind, &t.UserID, &t.DeviceID, &t.Label, &created, &expires, &revoked}, more...)...)
	t.Created, t.Expires, t.Revoked = fromMS(created), fromNullMS(expires), fromNullMS(revoked)
	return t, err
}

func (s *Store) Tokens(ctx context.Context) ([]clinic.TokenInfo, error) {
	ts, err := list(ctx, s.r, func(sc scanner) (clinic.TokenInfo, error) { return scanToken(sc) },
		selectToken+`FROM clinic_tokens t ORDER BY t.created, t.id`)
	return ts, fail("tokens", err)
}

func (s *Store) Credential(ctx context.Context, hash string) (clinic.Credential, error) {
	var c clinic.Credential
	var userID, username, role, patientID sql.NullString
	var userCreated sql.NullInt64
	var userOff, deviceOff sql.NullBool
	var err error
	c.TokenInfo, err = scanToken(s.r.QueryRowContext(ctx, selectToken+`, u.id, u.username, u.role, u.disabled, u.created,
d.patient_id, d.disabled FROM clinic_tokens t LEFT JOIN clinic_users u ON u.id = t.user_id
LEFT JOIN clinic_devices d ON d.id = t.device_id WHERE t.hash = ?`, hash),
		&userID, &username, &role, &userOff, &userCreated, &patientID, &deviceOff)
	if errors.Is(err, sql.ErrNoRows) {
		return clinic.Credential{}, clinic.ErrNotFound
	}
	if err != nil {
		return clinic.Credential{}, fail("credential", err)
	}
	if userID.Valid {
		c.User = clinic.User{ID: userID.String, Username: username.String, Role: clinic.Role(role.String), Disabled: userOff.Bool,
			Created: fromNullMS(userCreated)}
	}
	c.PatientID, c.DeviceDisabled = patientID.String, deviceOff.Bool
	return c, nil
}

func (s *Store) CreateSession(ctx context.Context, ss clinic.Session, e clinic.Entry) error {
	return s.change(ctx, "new session", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO clinic_sessions(id_hash, user_id, csrf, created, last_seen) VALUES (?, ?, ?, ?, ?)`,
			ss.IDHash, ss.UserID, ss.CSRF, ms(ss.Created), ms(ss.LastSeen))
		return err
	}, e)
}

func (s *Store) Session(ctx context.Context, idHash string) (clinic.Session, clinic.User, error) {
	ss := clinic.Session{IDHash: idHash}
	var created, seen, userCreated int64
	var u clinic.User
	err := s.r.QueryRowContext(ctx, `SELECT s.user_id, s.csrf, s.created, s.last_seen, u.id, u.username, u.display_name, u.role,
u.disabled, u.created FROM clinic_sessions s JOIN clinic_users u ON u.id = s.user_id WHERE s.id_hash = ?`, idHash).
		Scan(&ss.UserID, &ss.CSRF, &created, &seen, &u.ID, &u.Username, &u.DisplayName, &u.Role, &u.Disabled, &userCreated)
	if errors.Is(err, sql.ErrNoRows) {
		return clinic.Session{}, clinic.User{}, clinic.ErrNotFound
	}
	ss.Created, ss.LastSeen, u.Created = fromMS(created), fromMS(seen), fromMS(userCreated)
	return ss, u, fail("session", err)
}

func (s *Store) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE clinic_sessions SET last_seen = ? WHERE id_hash = ?`, ms(at), idHash)
	return fail("session", err)
}

func (s *Store) DeleteSession(ctx context.Context, idHash string, es ...clinic.Entry) error {
	return s.change(ctx, "end session", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM clinic_sessions WHERE id_hash = ?`, idHash)
		return err
	}, es...)
}

func (s *Store) PruneSessions(ctx context.Context, idleBefore, createdBefore time.Time) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM clinic_sessions WHERE last_seen < ? OR created < ?`, ms(idleBefore), ms(createdBefore))
	return fail("prune sessions", err)
}

func (s *Store) LoginWait(ctx context.Context, since time.Time, keys ...string) (time.Time, error) {
	var until time.Time
	for _, k := range keys {
		var u int64
		err := s.r.QueryRowContext(ctx, `SELECT until FROM clinic_login_failures WHERE key = ? AND last_failure >= ?`, k, ms(since)).Scan(&u)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return time.Time{}, fail("login wait", err)
		}
		if t := fromMS(u); t.After(until) {
			until = t
		}
	}
	return until, nil
}

func (s *Store) LoginFailed(ctx context.Context, at, forgetBefore time.Time, keys ...clinic.KeyDelay) (time.Time, error) {
	var until time.Time
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM clinic_login_failures WHERE last_failure < ?`, ms(forgetBefore)); err != nil {
			return err
		}
		for _, k := range keys {
			var n int
			if err := tx.QueryRowContext(ctx, `INSERT INTO clinic_login_failures(key, failures, last_failure, until) VALUES (?1, 1, ?2, ?2)
ON CONFLICT(key) DO UPDATE SET failures = failures + 1, last_failure = ?2 RETURNING failures`, k.Key, ms(at)).Scan(&n); err != nil {
				return err
			}
			u := at.Add(k.Delay.Wait(n))
			if _, err := tx.ExecContext(ctx, `UPDATE clinic_login_failures SET until = ? WHERE key = ?`, ms(u), k.Key); err != nil {
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
	_, err := s.w.ExecContext(ctx, `DELETE FROM clinic_login_failures WHERE key = ?`, key)
	return fail("login succeeded", err)
}

func (s *Store) AppendAudit(ctx context.Context, es ...clinic.Entry) error {
	return fail("audit", s.tx(ctx, func(tx *sql.Tx) error { return audit(ctx, tx, es...) }))
}

func (s *Store) AuditLog(ctx context.Context, q clinic.AuditQuery) ([]clinic.Entry, error) {
	query := `SELECT seq, time, actor, action, coalesce(patient_id, ''), target, remote, outcome FROM clinic_audit WHERE seq > ?`
	args := []any{q.After}
	if q.PatientID != "" {
		query += ` AND patient_id = ?`
		args = append(args, q.PatientID)
	}
	query += ` ORDER BY seq LIMIT ?`
	args = append(args, q.Limit)
	es, err := list(ctx, s.r, func(sc scanner) (clinic.Entry, error) {
		var e clinic.Entry
		var t int64
		err := sc.Scan(&e.Seq, &t, &e.Actor, &e.Action, &e.PatientID, &e.Target, &e.Remote, &e.Outcome)
		e.Time = fromMS(t)
		return e, err
	}, query, args...)
	return es, fail("audit log", err)
}
