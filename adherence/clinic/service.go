package clinic

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pillbox/pillbox/schedule"
)

// Service is the clinic's logic over a Store: it checks arguments, hashes
// passwords, makes the secrets of tokens and sessions, judges device
// clocks, words texts and decides what is audited. The Store's reads pass
// through unchanged (Service embeds it); its changes go through Service's
// methods of the same names. It is safe for concurrent use.
type Service struct {
	Store
	clock schedule.Clock
	// Password is the argon2id cost of new password hashes; existing hashes
	// keep the cost they were made with.
	Password PasswordParams
	// TokenTTL is how long the tokens this service issues stay valid; a
	// zero field takes DefaultTokenTTL's, and one over MaxTokenTTL's is
	// refused with ErrInvalid.
	TokenTTL TokenTTL
	// HashWait is how long a password check waits for a free hash before
	// ErrBusy; 0: DefaultHashWait.
	HashWait time.Duration
	hashing  chan struct{} // bounds concurrent argon2id runs (memory)

	returnMu    sync.Mutex
	returnTimer schedule.Timer // gives idle hashes' memory back (release)

	dummyMu sync.Mutex
	dummy   string
}

// New returns the clinic over st, with times from clock.
func New(st Store, clock schedule.Clock) *Service {
	return &Service{Store: st, clock: clock, Password: DefaultPasswordParams, hashing: make(chan struct{}, concurrentHashes)}
}

// Now is the service's clock, in UTC.
func (s *Service) Now() time.Time { return s.clock.Now().UTC() }

// entry is an audit entry of now; outcome "" is "ok".
func (s *Service) entry(a Actor, action, patientID, target, outcome string) Entry {
	if outcome == "" {
		outcome = "ok"
	}
	return Entry{Time: s.Now(), Actor: a.ID, Action: action, PatientID: patientID, Target: target, Remote: a.Remote, Outcome: outcome}
}

// newID returns prefix and 80 random bits in hex: ids are not secrets, but
// random ones do not tell how many patients or devices there are.
func newID(prefix string) string {
	var b [10]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// NewSecret returns prefix and 256 random bits, base64url: a token, a
// session id, a CSRF token.
func NewSecret(prefix string) string {
	var b [32]byte
	rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashSecret is how tokens and session ids are stored: SHA-256, hex.
// They are 256 random bits, so a fast hash is enough and lets a request
// find its token by index.
func HashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// wrap prefixes err unless it already is one of the package's sentinel
// errors with its own message.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	for _, e := range []error{ErrNotFound, ErrConflict, ErrInvalid, ErrForbidden, ErrUnauthenticated} {
		if errors.Is(err, e) {
			return err
		}
	}
	return fmt.Errorf("clinic: %s: %w", op, err)
}
