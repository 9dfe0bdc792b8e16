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
	Expires  time.Time `json:"expires"`
	Revoked  time.Time `json:"revoked,omitzero"`
}

// TokenTTL is how long new tokens stay valid, per kind.
type TokenTTL struct {
	API, Device time.Duration
}

// Token lifetimes. An API token (a script's) lasts 90 days unless issued
// for longer, at most a year. A device token lasts a year, at most two:
// rotating one means changing the dispenser's token file, in the
// patient's home, and the patient page warns a month ahead.
var (
	DefaultTokenTTL = TokenTTL{API: 90 * 24 * time.Hour, Device: 365 * 24 * time.Hour}
	MaxTokenTTL     = TokenTTL{API: 365 * 24 * time.Hour, Device: 730 * 24 * time.Hour}
)

// TokenWarning is how long before a device token expires the clinic
// warns about it.
const TokenWarning = 30 * 24 * time.Hour

// ttl returns the lifetime of a new token of kind, checked against the
// maximum.
func (s *Store) ttl(kind string) (time.Duration, error) {
	ttl, def, most := s.TokenTTL.API, DefaultTokenTTL.API, MaxTokenTTL.API
	if kind == "device" {
		ttl, def, most = s.TokenTTL.Device, DefaultTokenTTL.Device, MaxTokenTTL.Device
	}
	switch {
	case ttl == 0:
		return def, nil
	case ttl < 0 || ttl > most:
		return 0, fmt.Errorf("%w: a %s token lasts at most %d days", ErrInvalid, kind, int(most.Hours()/24))
	}
	return ttl, nil
}

func (s *Store) issueToken(ctx context.Context, tx *sql.Tx, kind, userID, deviceID, label string) (string, error) {
	prefix := apiTokenPrefix
	if kind == "device" {
		prefix = deviceTokenPrefix
	}
	ttl, err := s.ttl(kind)
	if err != nil {
		return "", err
	}
	tok := newSecret(prefix)
	now := s.now()
	_, err = tx.ExecContext(ctx, `INSERT INTO clinic_tokens(id, hash, kind, user_id, device_id, label, created, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		newID("tk_"), hashSecret(tok), kind, nullString(userID), nullString(deviceID), label, millis(now), millis(now.Add(ttl)))
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
	rows, err := s.r.QueryContext(ctx, `SELECT id, kind, coalesce(user_id, ''), coalesce(device_id, ''), label, created,
coalesce(expires, 0), revoked FROM clinic_tokens ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("clinic: tokens: %w", err)
	}
	defer rows.Close()
	var out []TokenInfo
	for rows.Next() {
		var t TokenInfo
		var created, expires int64
		var revoked sql.NullInt64
		if err := rows.Scan(&t.ID, &t.Kind, &t.UserID, &t.DeviceID, &t.Label, &created, &expires, &revoked); err != nil {
			return nil, fmt.Errorf("clinic: tokens: %w", err)
		}
		t.Created, t.Expires, t.Revoked = fromMillis(created), fromMillis(expires), fromNullMillis(revoked)
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
	CSRF string
	// Expires is when the token used ends; zero for a session.
	Expires     time.Time
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

// RefusedToken is why Authenticate refused a token. It is
// ErrUnauthenticated (errors.Is); TokenID names the token when it was
// found, for the audit log.
type RefusedToken struct {
	TokenID string
	Why     string // "unknown", "revoked", "expired", "disabled account", "disabled device"
}

func (e *RefusedToken) Error() string { return "clinic: " + e.Why + " token" }
func (e *RefusedToken) Unwrap() error { return ErrUnauthenticated }

// Authenticate finds the principal of a bearer token: an API token's user
// or a device token's device. Unknown, revoked and expired tokens, and
// those of disabled accounts and devices, give a *RefusedToken.
func (s *Store) Authenticate(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, apiTokenPrefix) && !strings.HasPrefix(token, deviceTokenPrefix) || len(token) > 100 {
		return Principal{}, &RefusedToken{Why: "unknown"}
	}
	var p Principal
	var kind string
	var revoked, expires sql.NullInt64
	var userID, username, role, deviceID, patientID sql.NullString
	var userOff, deviceOff sql.NullBool
	err := s.r.QueryRowContext(ctx, `SELECT t.id, t.kind, t.revoked, t.expires, u.id, u.username, u.role, u.disabled, d.id, d.patient_id, d.disabled
FROM clinic_tokens t LEFT JOIN clinic_users u ON u.id = t.user_id LEFT JOIN clinic_devices d ON d.id = t.device_id
WHERE t.hash = ?`, hashSecret(token)).Scan(&p.TokenID, &kind, &revoked, &expires, &userID, &username, &role, &userOff,
		&deviceID, &patientID, &deviceOff)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, &RefusedToken{Why: "unknown"}
	}
	if err != nil {
		return Principal{}, fmt.Errorf("clinic: authenticate: %w", err)
	}
	refused := func(why string) (Principal, error) { return Principal{}, &RefusedToken{TokenID: p.TokenID, Why: why} }
	switch {
	case revoked.Valid:
		return refused("revoked")
	case !expires.Valid || !s.now().Before(fromMillis(expires.Int64)):
		return refused("expired")
	case kind == "api" && userID.Valid && !userOff.Bool:
		p.UserID, p.Username, p.Role = userID.String, username.String, Role(role.String)
	case kind == "device" && deviceID.Valid && !deviceOff.Bool:
		p.DeviceID, p.PatientID = deviceID.String, patientID.String
	case kind == "api":
		return refused("disabled account")
	default:
		return refused("disabled device")
	}
	p.Expires = fromMillis(expires.Int64)
	return p, nil
}
