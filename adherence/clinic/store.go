package clinic

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/schedule"
)

// Errors the handlers map to HTTP statuses.
var (
	// ErrNotFound: no such object, or one the caller may not see; the two
	// are deliberately the same answer.
	ErrNotFound = errors.New("clinic: not found")
	// ErrUnauthenticated: no valid credential (unknown, revoked, expired,
	// disabled account).
	ErrUnauthenticated = errors.New("clinic: not authenticated")
	// ErrForbidden: a valid credential that may not do this.
	ErrForbidden = errors.New("clinic: forbidden")
	// ErrConflict: the request contradicts what is stored (a username
	// taken, a sequence number that already holds another event).
	ErrConflict = errors.New("clinic: conflict")
	// ErrInvalid: a malformed argument.
	ErrInvalid = errors.New("clinic: invalid")
)

// Store is the clinic's data in the adherence database. It is safe for
// concurrent use.
type Store struct {
	w, r  *sql.DB
	clock schedule.Clock
	// Password is the argon2id cost of new password hashes; existing hashes
	// keep the cost they were made with.
	Password PasswordParams
	// TokenTTL is how long the tokens this store issues stay valid; a
	// zero field takes DefaultTokenTTL's, and one over MaxTokenTTL's is
	// refused with ErrInvalid.
	TokenTTL TokenTTL
	// HashWait is how long a password check waits for a free hash before
	// ErrBusy; 0: DefaultHashWait.
	HashWait time.Duration
	hashing  chan struct{} // bounds concurrent argon2id runs (memory)

	dummyMu sync.Mutex
	dummy   string
}

// Open returns the clinic's view of st, whose schema must include the
// clinic tables (migration 0004). Times come from clock.
func Open(ctx context.Context, st *adherence.Store, clock schedule.Clock) (*Store, error) {
	w, r := st.Pools()
	var n int
	if err := r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'clinic_users'`).Scan(&n); err != nil {
		return nil, fmt.Errorf("clinic: open: %w", err)
	}
	if n == 0 {
		return nil, errors.New("clinic: open: the database has no clinic tables (migration 0004 missing)")
	}
	return &Store{w: w, r: r, clock: clock, Password: DefaultPasswordParams, hashing: make(chan struct{}, concurrentHashes)}, nil
}

func (s *Store) now() time.Time { return s.clock.Now().UTC() }

// newID returns prefix and 80 random bits in hex: ids are not secrets, but
// random ones do not tell how many patients or devices there are.
func newID(prefix string) string {
	var b [10]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newSecret returns prefix and 256 random bits, base64url.
func newSecret(prefix string) string {
	var b [32]byte
	rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// hashSecret is how tokens and session ids are stored.
func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func fromNullMillis(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMillis(v.Int64)
}

// tx runs f in one write transaction.
func (s *Store) tx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func nullMillis(t time.Time) sql.NullInt64 {
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: !t.IsZero()}
}
