package clinic

import (
	"context"
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
// with the service's current cost, and again if that failed (a busy
// service): an empty dummy would answer unknown usernames at once.
func (s *Service) dummyHash(ctx context.Context) (string, error) {
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
func (s *Service) CheckPassword(ctx context.Context, username, password string) (User, error) {
	u, hash, err := s.Store.PasswordHash(ctx, username)
	if errors.Is(err, ErrNotFound) || len(password) > maxPassword {
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

// touchEvery limits how often a session's last request is written: a page
// with several requests costs one write, not one each.
const touchEvery = time.Minute

// NewSession starts a session for a user and returns its cookie value and
// its CSRF token.
func (s *Service) NewSession(ctx context.Context, a Actor, userID string) (cookie, csrf string, err error) {
	cookie, csrf = NewSecret(sessionPrefix), NewSecret("")
	now := s.Now()
	err = s.Store.CreateSession(ctx, Session{IDHash: HashSecret(cookie), UserID: userID, CSRF: csrf, Created: now, LastSeen: now},
		s.entry(a, "login.success", "", userID, ""))
	if err != nil {
		return "", "", fmt.Errorf("clinic: new session: %w", err)
	}
	return cookie, csrf, nil
}

// Session returns the principal of a session cookie, or
// ErrUnauthenticated when it is unknown, idle or too old (then it is
// deleted) or its account is disabled.
func (s *Service) Session(ctx context.Context, cookie string, lim SessionLimits) (Principal, error) {
	if !strings.HasPrefix(cookie, sessionPrefix) || len(cookie) > 100 {
		return Principal{}, ErrUnauthenticated
	}
	h := HashSecret(cookie)
	ss, u, err := s.Store.Session(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("clinic: session: %w", err)
	}
	now := s.Now()
	if u.Disabled || now.Sub(ss.LastSeen) > lim.Idle || now.Sub(ss.Created) > lim.MaxAge {
		if err := s.Store.DeleteSession(ctx, h); err != nil {
			return Principal{}, fmt.Errorf("clinic: session: %w", err)
		}
		return Principal{}, ErrUnauthenticated
	}
	if now.Sub(ss.LastSeen) >= touchEvery {
		if err := s.Store.TouchSession(ctx, h, now); err != nil {
			return Principal{}, fmt.Errorf("clinic: session: %w", err)
		}
	}
	return Principal{UserID: u.ID, Username: u.Username, Role: u.Role, CSRF: ss.CSRF, sessionHash: h}, nil
}

// PruneSessions deletes the sessions that lim has ended but whose cookie
// never came back to be refused (the browser was closed).
func (s *Service) PruneSessions(ctx context.Context, lim SessionLimits) error {
	now := s.Now()
	if err := s.Store.PruneSessions(ctx, now.Add(-lim.Idle), now.Add(-lim.MaxAge)); err != nil {
		return fmt.Errorf("clinic: prune sessions: %w", err)
	}
	return nil
}

// EndSession logs a session out.
func (s *Service) EndSession(ctx context.Context, a Actor, p Principal) error {
	if err := s.Store.DeleteSession(ctx, p.sessionHash, s.entry(a, "logout", "", p.UserID, "")); err != nil {
		return fmt.Errorf("clinic: end session: %w", err)
	}
	return nil
}
