package clinic

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrBadLogin is a wrong username or password; which of the two is not
// said.
var ErrBadLogin = errors.New("clinic: wrong username or password")

// dummyHash is verified when the username is unknown, so that a wrong
// username costs as much time as a wrong password. It is made on first use
// with the store's current cost, and again if that failed (a busy store):
// an empty dummy would answer unknown usernames at once.
func (s *Store) dummyHash(ctx context.Context) (string, error) {
	s.dummyMu.Lock()
	defer s.dummyMu.Unlock()
	if s.dummy == "" {
		h, err := s.hashPassword(ctx, NewPassword(), s.Password)
		if err != nil {
			return "", err
		}
		s.dummy = h
	}
	return s.dummy, nil
}

// CheckPassword returns the enabled account with this username and
// password, or ErrBadLogin; ErrBusy when no hash was free in time. It
// writes nothing: the caller audits.
func (s *Store) CheckPassword(ctx context.Context, username, password string) (User, error) {
	var u User
	var hash string
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, username, display_name, role, disabled, created, password_hash FROM clinic_users WHERE username = ?`,
		username).Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.Disabled, &created, &hash)
	if errors.Is(err, sql.ErrNoRows) || len(password) > maxPassword {
		dummy, err := s.dummyHash(ctx)
		if err == nil {
			_, err = s.verifyPassword(ctx, dummy, password)
		}
		if err != nil {
			return User{}, fmt.Errorf("clinic: login: %w", err)
		}
		return User{}, ErrBadLogin
	}
	if err != nil {
		return User{}, fmt.Errorf("clinic: login: %w", err)
	}
	u.Created = fromMillis(created)
	ok, err := s.verifyPassword(ctx, hash, password)
	if err != nil && !errors.Is(err, errBadHash) {
		return User{}, fmt.Errorf("clinic: login: %w", err)
	}
	if !ok || u.Disabled {
		return u, ErrBadLogin
	}
	return u, nil
}

// SessionLimits bound a web session.
type SessionLimits struct {
	Idle   time.Duration // logged out after this long without a request
	MaxAge time.Duration // and after this long in any case
}

// DefaultSessionLimits: 30 minutes idle, 12 hours at most.
var DefaultSessionLimits = SessionLimits{Idle: 30 * time.Minute, MaxAge: 12 * time.Hour}

// touchEvery limits how often a session's last_seen is written: a page
// with several requests costs one write, not one each.
const touchEvery = time.Minute

// NewSession starts a session for a user and returns its cookie value and
// its CSRF token.
func (s *Store) NewSession(ctx context.Context, a Actor, userID string) (cookie, csrf string, err error) {
	cookie, csrf = newSecret(sessionPrefix), newSecret("")
	now := millis(s.now())
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO clinic_sessions(id_hash, user_id, csrf, created, last_seen) VALUES (?, ?, ?, ?, ?)`,
			hashSecret(cookie), userID, csrf, now, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "login.success", "", userID, "")
	})
	if err != nil {
		return "", "", fmt.Errorf("clinic: new session: %w", err)
	}
	return cookie, csrf, nil
}

// Session returns the principal of a session cookie, or
// ErrUnauthenticated when it is unknown, idle or too old (then it is
// deleted) or its account is disabled.
func (s *Store) Session(ctx context.Context, cookie string, lim SessionLimits) (Principal, error) {
	if !strings.HasPrefix(cookie, sessionPrefix) || len(cookie) > 100 {
		return Principal{}, ErrUnauthenticated
	}
	h := hashSecret(cookie)
	var p Principal
	var created, seen int64
	var disabled bool
	err := s.r.QueryRowContext(ctx, `SELECT s.csrf, s.created, s.last_seen, u.id, u.username, u.role, u.disabled
FROM clinic_sessions s JOIN clinic_users u ON u.id = s.user_id WHERE s.id_hash = ?`, h).
		Scan(&p.CSRF, &created, &seen, &p.UserID, &p.Username, &p.Role, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("clinic: session: %w", err)
	}
	now := s.now()
	if disabled || now.Sub(fromMillis(seen)) > lim.Idle || now.Sub(fromMillis(created)) > lim.MaxAge {
		if _, err := s.w.ExecContext(ctx, `DELETE FROM clinic_sessions WHERE id_hash = ?`, h); err != nil {
			return Principal{}, fmt.Errorf("clinic: session: %w", err)
		}
		return Principal{}, ErrUnauthenticated
	}
	if now.Sub(fromMillis(seen)) >= touchEvery {
		if _, err := s.w.ExecContext(ctx, `UPDATE clinic_sessions SET last_seen = ? WHERE id_hash = ?`, millis(now), h); err != nil {
			return Principal{}, fmt.Errorf("clinic: session: %w", err)
		}
	}
	p.sessionHash = h
	return p, nil
}

// PruneSessions deletes the sessions that lim has ended but whose cookie
// never came back to be refused (the browser was closed).
func (s *Store) PruneSessions(ctx context.Context, lim SessionLimits) error {
	now := s.now()
	_, err := s.w.ExecContext(ctx, `DELETE FROM clinic_sessions WHERE last_seen < ? OR created < ?`,
		millis(now.Add(-lim.Idle)), millis(now.Add(-lim.MaxAge)))
	if err != nil {
		return fmt.Errorf("clinic: prune sessions: %w", err)
	}
	return nil
}

// EndSession logs a session out.
func (s *Store) EndSession(ctx context.Context, a Actor, p Principal) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM clinic_sessions WHERE id_hash = ?`, p.sessionHash); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "logout", "", p.UserID, "")
	})
	if err != nil {
		return fmt.Errorf("clinic: end session: %w", err)
	}
	return nil
}
