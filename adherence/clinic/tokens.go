package clinic

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Token prefixes say what a token is for, so that one pasted in the wrong
// place is recognised (and secret scanners can find them).
const (
	apiTokenPrefix    = "pba_"
	deviceTokenPrefix = "pbd_"
	sessionPrefix     = "pbs_"
)

// TokenInfo describes a token without the token itself.
type TokenInfo struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"` // "api" or "device"
	UserID   string    `json:"user_id,omitempty"`
	DeviceID string    `json:"device_id,omitempty"`
	Label    string    `json:"label,omitempty"`
	Created  time.Time `json:"created"`
	Revoked  time.Time `json:"revoked,omitzero"`
}

func (s *Store) issueToken(ctx context.Context, tx *sql.Tx, kind, userID, deviceID, label string) (string, error) {
	prefix := apiTokenPrefix
	if kind == "device" {
		prefix = deviceTokenPrefix
	}
	tok := newSecret(prefix)
	_, err := tx.ExecContext(ctx, `INSERT INTO clinic_tokens(id, hash, kind, user_id, device_id, label, created) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		newID("tk_"), hashSecret(tok), kind, nullString(userID), nullString(deviceID), label, millis(s.now()))
	return tok, err
}

// IssueAPIToken gives a user a token for scripts. It acts as the user
// (same panel, same role) and needs no CSRF token. Shown once.
func (s *Store) IssueAPIToken(ctx context.Context, a Actor, userID, label string) (string, error) {
	var tok string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM clinic_users WHERE id = ?`, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		var err error
		if tok, err = s.issueToken(ctx, tx, "api", userID, "", label); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "token.issue", "", "api for "+userID, "")
	})
	if err != nil {
		return "", wrap("issue token", err)
	}
	return tok, nil
}

// RotateDeviceToken revokes a device's tokens and issues a new one, shown
// once.
func (s *Store) RotateDeviceToken(ctx context.Context, a Actor, deviceID string) (string, error) {
	var tok string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var patient string
		err := tx.QueryRowContext(ctx, `SELECT patient_id FROM clinic_devices WHERE id = ?`, deviceID).Scan(&patient)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE clinic_tokens SET revoked = ? WHERE device_id = ? AND revoked IS NULL`,
			millis(s.now()), deviceID); err != nil {
			return err
		}
		if tok, err = s.issueToken(ctx, tx, "device", "", deviceID, ""); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "token.rotate", patient, deviceID, "")
	})
	if err != nil {
		return "", wrap("rotate token", err)
	}
	return tok, nil
}

// RevokeToken revokes one token by its id (see Tokens).
func (s *Store) RevokeToken(ctx context.Context, a Actor, tokenID string) error {
	return wrap("revoke token", s.tx(ctx, func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, `UPDATE clinic_tokens SET revoked = ? WHERE id = ? AND revoked IS NULL`,
			millis(s.now()), tokenID)); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "token.revoke", "", tokenID, "")
	}))
}

// Tokens lists every token (never the token itself), oldest first.
func (s *Store) Tokens(ctx context.Context) ([]TokenInfo, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, kind, coalesce(user_id, ''), coalesce(device_id, ''), label, created, revoked
FROM clinic_tokens ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("clinic: tokens: %w", err)
	}
	defer rows.Close()
	var out []TokenInfo
	for rows.Next() {
		var t TokenInfo
		var created int64
		var revoked sql.NullInt64
		if err := rows.Scan(&t.ID, &t.Kind, &t.UserID, &t.DeviceID, &t.Label, &created, &revoked); err != nil {
			return nil, fmt.Errorf("clinic: tokens: %w", err)
		}
		t.Created, t.Revoked = fromMillis(created), fromNullMillis(revoked)
		out = append(out, t)
	}
	return out, rows.Err()
}

// Principal is an authenticated caller: a user (by session or API token)
// or a device (by device token).
type Principal struct {
	UserID    string
	Username  string
	Role      Role
	DeviceID  string
	PatientID string // the device's patient
	TokenID   string // the token used; "" for a session
	// CSRF is the session's CSRF token; "" for token callers, who need
	// none (a browser never sends a bearer token by itself).
	CSRF        string
	sessionHash string
}

// IsDevice reports whether the caller is a device.
func (p Principal) IsDevice() bool { return p.DeviceID != "" }

// Actor returns the audit log's name of the caller at remote.
func (p Principal) Actor(remote string) Actor {
	if p.IsDevice() {
		return Actor{ID: "device:" + p.DeviceID, Remote: remote}
	}
	return Actor{ID: "user:" + p.UserID, Remote: remote}
}

// Authenticate finds the principal of a bearer token: an API token's user
// or a device token's device. Revoked tokens, disabled accounts and
// disabled devices give ErrUnauthenticated.
func (s *Store) Authenticate(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, apiTokenPrefix) && !strings.HasPrefix(token, deviceTokenPrefix) || len(token) > 100 {
		return Principal{}, ErrUnauthenticated
	}
	var p Principal
	var kind string
	var revoked sql.NullInt64
	var userID, username, role, deviceID, patientID sql.NullString
	var userOff, deviceOff sql.NullBool
	err := s.r.QueryRowContext(ctx, `SELECT t.id, t.kind, t.revoked, u.id, u.username, u.role, u.disabled, d.id, d.patient_id, d.disabled
FROM clinic_tokens t LEFT JOIN clinic_users u ON u.id = t.user_id LEFT JOIN clinic_devices d ON d.id = t.device_id
WHERE t.hash = ?`, hashSecret(token)).Scan(&p.TokenID, &kind, &revoked, &userID, &username, &role, &userOff,
		&deviceID, &patientID, &deviceOff)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("clinic: authenticate: %w", err)
	}
	switch {
	case revoked.Valid:
		return Principal{}, ErrUnauthenticated
	case kind == "api" && userID.Valid && !userOff.Bool:
		p.UserID, p.Username, p.Role = userID.String, username.String, Role(role.String)
	case kind == "device" && deviceID.Valid && !deviceOff.Bool:
		p.DeviceID, p.PatientID = deviceID.String, patientID.String
	default:
		return Principal{}, ErrUnauthenticated
	}
	return p, nil
}
