package clinic

import (
	"context"
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
func (s *Service) ttl(kind string) (time.Duration, error) {
	ttl, def, most := s.TokenTTL.API, DefaultTokenTTL.API, MaxTokenTTL.API
	if kind == KindDevice {
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

// newToken makes a token of kind and what the store keeps of it.
func (s *Service) newToken(kind, userID, deviceID, label string) (TokenInfo, string, error) {
	prefix := apiTokenPrefix
	if kind == KindDevice {
		prefix = deviceTokenPrefix
	}
	ttl, err := s.ttl(kind)
	if err != nil {
		return TokenInfo{}, "", err
	}
	now := s.Now()
	t := TokenInfo{ID: newID("tk_"), Kind: kind, UserID: userID, DeviceID: deviceID, Label: label, Created: now, Expires: now.Add(ttl)}
	return t, NewSecret(prefix), nil
}

// IssueAPIToken gives a user a token for scripts. It acts as the user
// (same panel, same role) and needs no CSRF token. Shown once.
func (s *Service) IssueAPIToken(ctx context.Context, a Actor, userID, label string) (string, error) {
	t, tok, err := s.newToken(KindAPI, userID, "", label)
	if err != nil {
		return "", err
	}
	if err := s.Store.IssueToken(ctx, t, HashSecret(tok), s.entry(a, "token.issue", "", "api for "+userID, "")); err != nil {
		return "", wrap("issue token", err)
	}
	return tok, nil
}

// RotateDeviceToken revokes a device's tokens and issues a new one, shown
// once.
func (s *Service) RotateDeviceToken(ctx context.Context, a Actor, deviceID string) (string, error) {
	t, tok, err := s.newToken(KindDevice, "", deviceID, "")
	if err != nil {
		return "", err
	}
	if err := s.Store.RotateDeviceToken(ctx, t, HashSecret(tok), s.entry(a, "token.rotate", "", deviceID, "")); err != nil {
		return "", wrap("rotate token", err)
	}
	return tok, nil
}

// RevokeToken revokes one token by its id (see Tokens).
func (s *Service) RevokeToken(ctx context.Context, a Actor, tokenID string) error {
	return wrap("revoke token", s.Store.RevokeToken(ctx, tokenID, s.Now(), s.entry(a, "token.revoke", "", tokenID, "")))
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
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, apiTokenPrefix) && !strings.HasPrefix(token, deviceTokenPrefix) || len(token) > 100 {
		return Principal{}, &RefusedToken{Why: "unknown"}
	}
	c, err := s.Store.Credential(ctx, HashSecret(token))
	if errors.Is(err, ErrNotFound) {
		return Principal{}, &RefusedToken{Why: "unknown"}
	}
	if err != nil {
		return Principal{}, fmt.Errorf("clinic: authenticate: %w", err)
	}
	p := Principal{TokenID: c.ID}
	refused := func(why string) (Principal, error) { return Principal{}, &RefusedToken{TokenID: c.ID, Why: why} }
	switch {
	case !c.Revoked.IsZero():
		return refused("revoked")
	case c.Expires.IsZero() || !s.Now().Before(c.Expires):
		return refused("expired")
	case c.Kind == KindAPI && c.User.ID != "" && !c.User.Disabled:
		p.UserID, p.Username, p.Role = c.User.ID, c.User.Username, c.User.Role
	case c.Kind == KindDevice && c.PatientID != "" && !c.DeviceDisabled:
		p.DeviceID, p.PatientID = c.DeviceID, c.PatientID
	case c.Kind == KindAPI:
		return refused("disabled account")
	default:
		return refused("disabled device")
	}
	p.Expires = c.Expires
	return p, nil
}
