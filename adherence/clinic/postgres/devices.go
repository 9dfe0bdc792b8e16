package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pillbox/pillbox/adherence/clinic"
)

func insertToken(ctx context.Context, tx pgx.Tx, t clinic.TokenInfo, hash string) error {
	_, err := tx.Exec(ctx, `INSERT INTO clinic_tokens(id, hash, kind, user_id, device_id, label, created, expires, revoked)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, t.ID, hash, t.Kind, nullText(t.UserID), nullText(t.DeviceID), t.Label, ms(t.Created),
		nullMS(t.Expires), nullMS(t.Revoked))
	return err
}

func (s *Store) RegisterDevice(ctx context.Context, d clinic.Device, t clinic.TokenInfo, hash string, e clinic.Entry) error {
	return s.change(ctx, "register device", func(tx pgx.Tx) error {
		if err := exists(ctx, tx, "clinic_patients", d.PatientID); err != nil {
			return err
		}
		err := mustAffect(tx.Exec(ctx, `INSERT INTO clinic_devices(id, patient_id, label, created) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING`, d.ID, d.PatientID, d.Label, ms(d.Created)))
		if errors.Is(err, clinic.ErrNotFound) {
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

func scanDevice(sc pgx.Row) (clinic.Device, error) {
	var d clinic.Device
	var created, offset int64
	var seen, silent, suspect, expires *int64
	var hb *string
	err := sc.Scan(&d.ID, &d.PatientID, &d.Label, &created, &d.Disabled, &seen, &silent, &d.Software, &offset, &suspect,
		&d.ClockNote, &hb, &d.SetAside, &expires)
	d.Created, d.LastSeen, d.SilentSince, d.ClockSuspect = fromMS(created), fromNullMS(seen), fromNullMS(silent), fromNullMS(suspect)
	d.ClockOffset, d.TokenExpires = offset/1000, fromNullMS(expires)
	if hb != nil {
		d.Heartbeat = []byte(*hb)
	}
	return d, err
}

func (s *Store) Devices(ctx context.Context, patientID string) ([]clinic.Device, error) {
	q, args := selectDevice+`ORDER BY created, id`, []any{}
	if patientID != "" {
		q, args = selectDevice+`WHERE patient_id = $1 ORDER BY created, id`, []any{patientID}
	}
	ds, err := list(ctx, s.pool, scanDevice, q, args...)
	return ds, fail("devices", err)
}

// devicePatient returns the device's patient, ErrNotFound for none.
func devicePatient(ctx context.Context, tx pgx.Tx, deviceID string) (string, error) {
	var patient string
	return one(patient, tx.QueryRow(ctx, `SELECT patient_id FROM clinic_devices WHERE id = $1`, deviceID).Scan(&patient))
}

func (s *Store) SetDeviceDisabled(ctx context.Context, deviceID string, disabled bool, e clinic.Entry) error {
	return fail("disable device", s.tx(ctx, func(tx pgx.Tx) error {
		patient, err := devicePatient(ctx, tx, deviceID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE clinic_devices SET disabled = $1, silent_since = NULL WHERE id = $2`, disabled, deviceID); err != nil {
			return err
		}
		entry := e
		entry.PatientID = patient
		return audit(ctx, tx, entry)
	}))
}

func (s *Store) IssueToken(ctx context.Context, t clinic.TokenInfo, hash string, e clinic.Entry) error {
	return s.change(ctx, "issue token", func(tx pgx.Tx) error {
		if err := exists(ctx, tx, "clinic_users", t.UserID); err != nil {
			return err
		}
		return insertToken(ctx, tx, t, hash)
	}, e)
}

func (s *Store) RotateDeviceToken(ctx context.Context, t clinic.TokenInfo, hash string, e clinic.Entry) error {
	return fail("rotate token", s.tx(ctx, func(tx pgx.Tx) error {
		patient, err := devicePatient(ctx, tx, t.DeviceID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE clinic_tokens SET revoked = $1 WHERE device_id = $2 AND revoked IS NULL`,
			ms(t.Created), t.DeviceID); err != nil {
			return err
		}
		if err := insertToken(ctx, tx, t, hash); err != nil {
			return err
		}
		entry := e
		entry.PatientID = patient
		return audit(ctx, tx, entry)
	}))
}

func (s *Store) RevokeToken(ctx context.Context, tokenID string, at time.Time, e clinic.Entry) error {
	return s.change(ctx, "revoke token", func(tx pgx.Tx) error {
		return mustAffect(tx.Exec(ctx, `UPDATE clinic_tokens SET revoked = $1 WHERE id = $2 AND revoked IS NULL`, ms(at), tokenID))
	}, e)
}

const selectToken = `SELECT t.id, t.kind, coalesce(t.user_id, ''), coalesce(t.device_id, ''), t.label, t.created, t.expires, t.revoked `

func scanToken(sc pgx.Row, more ...any) (clinic.TokenInfo, error) {
	var t clinic.TokenInfo
	var created int64
	var expires, revoked *int64
	err := sc.Scan(append([]any{&t.ID, &t.Kind, &t.UserID, &t.DeviceID, &t.Label, &created, &expires, &revoked}, more...)...)
	t.Created, t.Expires, t.Revoked = fromMS(created), fromNullMS(expires), fromNullMS(revoked)
	return t, err
}

func (s *Store) Tokens(ctx context.Context) ([]clinic.TokenInfo, error) {
	ts, err := list(ctx, s.pool, func(sc pgx.Row) (clinic.TokenInfo, error) { return scanToken(sc) },
		selectToken+`FROM clinic_tokens t ORDER BY t.created, t.id`)
	return ts, fail("tokens", err)
}

func (s *Store) Credential(ctx context.Context, hash string) (clinic.Credential, error) {
	var c clinic.Credential
	var userID, username, role, patientID *string
	var userCreated *int64
	var userOff, deviceOff *bool
	var err error
	c.TokenInfo, err = one(scanToken(s.pool.QueryRow(ctx, selectToken+`, u.id, u.username, u.role, u.disabled, u.created,
d.patient_id, d.disabled FROM clinic_tokens t LEFT JOIN clinic_users u ON u.id = t.user_id
LEFT JOIN clinic_devices d ON d.id = t.device_id WHERE t.hash = $1`, hash),
		&userID, &username, &role, &userOff, &userCreated, &patientID, &deviceOff))
	if err != nil {
		return clinic.Credential{}, fail("credential", err)
	}
	if userID != nil {
		c.User = clinic.User{ID: *userID, Username: deref(username), Role: clinic.Role(deref(role)), Disabled: userOff != nil && *userOff,
			Created: fromNullMS(userCreated)}
	}
	c.PatientID, c.DeviceDisabled = deref(patientID), deviceOff != nil && *deviceOff
	return c, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
