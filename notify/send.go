package notify

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"
)

// Sender hands one SMS to a provider. The outbox calls it from one
// goroutine at a time, after the message is durably queued.
type Sender interface {
	// Send returns once the provider accepted the message or refused it.
	// An error that implements Failed says whether to retry; any other
	// error is treated as Retryable.
	Send(ctx context.Context, to, body string) (Sent, error)
}

// Sent is a provider's answer to an accepted message.
type Sent struct {
	SID    string // the provider's message id, the key of later status callbacks
	Status string // its first status, e.g. "queued"
}

// Class says what to do with a message whose send failed.
type Class int

const (
	// Retryable: try again later, after RetryAfter if it is set, else with
	// Backoff.
	Retryable Class = iota + 1
	// Permanent: this message will never go through as it is; retrying
	// only repeats the failure.
	Permanent
)

func (c Class) String() string {
	switch c {
	case Retryable:
		return "retryable"
	case Permanent:
		return "permanent"
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// Failure is what the outbox needs to know about a failed send.
type Failure struct {
	Class Class
	// Config is true when the fault is in the deployment (credentials,
	// sender number), not in this message: every message will fail the same
	// way until an operator fixes it.
	Config bool
	// Code is the provider's error code, 0 when there was none.
	Code int
	// RetryAfter is the wait the provider asked for, 0 when it asked none.
	RetryAfter time.Duration
}

// Failed is implemented by the errors a Sender returns, so that the outbox
// can act on them without importing the provider's package.
type Failed interface {
	error
	Failure() Failure
}

// Backoff returns how long to wait before retry number attempt (0 for the
// first retry): exponential backoff with full jitter, a uniformly random
// duration between 0 and min(max, base*2^attempt). Full jitter spreads the
// retries of many senders that failed together (one provider outage)
// instead of having them return in lockstep. rnd returns values in [0, 1);
// nil means math/rand/v2. When the error carries a RetryAfter, wait at
// least that long.
func Backoff(attempt int, base, max time.Duration, rnd func() float64) time.Duration {
	if base <= 0 || max <= 0 {
		return 0
	}
	ceil := max
	// base<<attempt <= max exactly when base <= max>>attempt, and the right
	// side cannot overflow (it is 0 for attempt >= 63).
	if attempt < 0 {
		attempt = 0
	}
	if base <= max>>attempt {
		ceil = base << attempt
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	r := rnd()
	if !(r > 0) { // also NaN
		return 0
	}
	if r >= 1 {
		return ceil
	}
	return time.Duration(r * float64(ceil))
}
