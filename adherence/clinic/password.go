package clinic

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// PasswordParams is the cost of an argon2id hash.
type PasswordParams struct {
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8
}

// DefaultPasswordParams is RFC 9106's second recommended option (64 MiB,
// 3 passes, 4 lanes): about 0.1 s on a small server. Service.hashing lets
// two run at once, so a login flood costs at most 128 MiB of hash memory.
var DefaultPasswordParams = PasswordParams{Time: 3, MemoryKiB: 64 << 10, Threads: 4}

// Hashes run at once, and how long a sign-in waits for one of them before
// it is refused with ErrBusy (Service.HashWait): a flood of sign-ins queues
// briefly, then is told to come back, and never holds more memory.
const (
	concurrentHashes = 2
	DefaultHashWait  = 10 * time.Second
)

// ErrBusy is a sign-in refused because the password hashes are all in use
// and stayed so for Service.HashWait: try again in a few seconds.
var ErrBusy = errors.New("clinic: busy: too many sign-ins at once")

const (
	saltLen       = 16
	keyLen        = 32
	minPassword   = 12
	maxPassword   = 256
	phcPrefix     = "$argon2id$v=19$"
	maxPHCMemory  = 1 << 22 // 4 GiB in KiB: a stored hash asking for more is corrupt
	maxPHCTime    = 100
	maxPHCThreads = 64
)

// CheckPasswordRules says what is wrong with a new password, or nil.
// Length is what counts (NIST SP 800-63B); no composition rules.
func CheckPasswordRules(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return fmt.Errorf("%w: password is not valid UTF-8", ErrInvalid)
	case n < minPassword:
		return fmt.Errorf("%w: password must have at least %d characters", ErrInvalid, minPassword)
	case len(pw) > maxPassword:
		return fmt.Errorf("%w: password must have at most %d bytes", ErrInvalid, maxPassword)
	}
	return nil
}

// hashPassword returns the PHC string of pw: $argon2id$v=19$m=..,t=..,p=..$salt$key.
func (s *Service) hashPassword(ctx context.Context, pw string, p PasswordParams) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release(p)
	salt := make([]byte, saltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("%sm=%d,t=%d,p=%d$%s$%s", phcPrefix, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// acquire takes one of the hashes, waiting at most HashWait for it.
func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.hashing <- struct{}{}:
		return nil
	default:
	}
	wait := time.NewTimer(cmp.Or(s.HashWait, DefaultHashWait))
	defer wait.Stop()
	select {
	case s.hashing <- struct{}{}:
		return nil
	case <-wait.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Hashes of returnMemoryKiB or more give their memory back to the OS once
// no hash has run for returnAfter; cheaper hashes (tests) are left to the
// GC.
const (
	returnMemoryKiB = 1 << 10
	returnAfter     = 2 * time.Second
)

// release gives a hash back. The hash's memory (64 MiB by default) is
// garbage once argon2 returns, but an idle service runs no GC to find that
// out, and the runtime gives freed pages back to the OS only gradually:
// every hash stayed in the RSS for minutes (83.8 MB idle after the demo's
// one hash, 150.8 MB after one sign-in, against 16.5 MB with no hash). So
// once the hashes have been idle for returnAfter, a GC of the small heap
// and one madvise return it (tens of ms, off any request's path). A burst
// of sign-ins reuses the memory instead: giving it back after each hash
// made the next one fault in 64 MiB of fresh pages again.
func (s *Service) release(p PasswordParams) {
	<-s.hashing
	if p.MemoryKiB < returnMemoryKiB {
		return
	}
	s.returnMu.Lock()
	defer s.returnMu.Unlock()
	if s.returnTimer != nil {
		s.returnTimer.Stop()
	}
	s.returnTimer = s.clock.AfterFunc(returnAfter, func() {
		if len(s.hashing) == 0 { // else the running hash's release sets a new timer
			freeOSMemory()
		}
	})
}

// freeOSMemory is debug.FreeOSMemory; tests count its calls.
var freeOSMemory = debug.FreeOSMemory

// verifyPassword reports whether pw matches the PHC string phc, using the
// cost written in phc.
func (s *Service) verifyPassword(ctx context.Context, phc, pw string) (bool, error) {
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.release(p)
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

var errBadHash = errors.New("clinic: stored password hash is not an argon2id PHC string")

func parsePHC(phc string) (p PasswordParams, salt, key []byte, err error) {
	rest, ok := strings.CutPrefix(phc, phcPrefix)
	if !ok {
		return p, nil, nil, errBadHash
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return p, nil, nil, errBadHash
	}
	var m, t, th uint32
	if _, err := fmt.Sscanf(parts[0], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil ||
		m == 0 || m > maxPHCMemory || t == 0 || t > maxPHCTime || th == 0 || th > maxPHCThreads || m < 8*th {
		return p, nil, nil, errBadHash
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[1]); err != nil || len(salt) < 8 {
		return p, nil, nil, errBadHash
	}
	if key, err = b64.DecodeString(parts[2]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errBadHash
	}
	return PasswordParams{Time: t, MemoryKiB: m, Threads: uint8(th)}, salt, key, nil
}

// NewPassword returns a random password of 26 characters (128 bits), for
// pillctl and the demo.
func NewPassword() string { return rand.Text() }
