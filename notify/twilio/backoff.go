package twilio

import (
	"math/rand/v2"
	"time"
)

// Backoff returns how long to wait before retry number attempt (0 for the
// first retry): exponential backoff with full jitter, a uniformly random
// duration between 0 and min(max, base*2^attempt). Full jitter spreads the
// retries of many senders that failed together (one Twilio outage) instead
// of having them return in lockstep. rnd returns values in [0, 1); nil
// means math/rand/v2. When the error carries a RetryAfter, wait at least
// that long.
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
