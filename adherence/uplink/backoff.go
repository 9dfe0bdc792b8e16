package uplink

import (
	"math/rand/v2"
	"time"
)

// Backoff returns how long to wait before retry number attempt (0 for the
// first): a duration drawn uniformly from [ceil/2, ceil], where ceil is
// min(limit, base*2^attempt). The jitter keeps the dispensers of a whole
// clinic, cut off together by one server outage, from returning in
// lockstep; the floor of ceil/2 keeps a failing device from retrying at
// once. rnd returns values in [0, 1); nil means math/rand/v2.
func Backoff(attempt int, base, limit time.Duration, rnd func() float64) time.Duration {
	if base <= 0 || limit <= 0 {
		return 0
	}
	ceil := limit
	attempt = min(max(attempt, 0), 62)
	// base<<attempt <= limit exactly when base <= limit>>attempt, which
	// cannot overflow.
	if base <= limit>>attempt {
		ceil = base << attempt
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	r := rnd()
	if !(r > 0) { // also NaN
		r = 0
	}
	r = min(r, 1)
	return ceil/2 + time.Duration(r*float64(ceil-ceil/2))
}
