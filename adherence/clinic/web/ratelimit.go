package web

import (
	"sync"
	"time"

	"github.com/pillbox/pillbox/schedule"
)

// Rate is a token bucket's size: Burst requests at once, then one every
// Every.
type Rate struct {
	Burst int
	Every time.Duration
}

// limiter holds one token bucket per key (a network, a token id). It
// forgets full buckets when it grows; when it is full of busy ones, new
// keys share one overflow bucket. So a flood of new keys costs bounded
// memory and never resets a busy key's bucket.
type limiter struct {
	rate  Rate
	clock schedule.Clock

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

const maxBuckets = 10000

// overflowKey is the bucket new keys share while the limiter is full of
// busy ones (no real key is empty).
const overflowKey = ""

func newLimiter(r Rate, clock schedule.Clock) *limiter {
	return &limiter{rate: r, clock: clock, buckets: map[string]*bucket{}}
}

// allow takes one token from key's bucket; when there is none it returns
// false and how long until there is.
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l == nil || l.rate.Burst <= 0 {
		return true, 0
	}
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.pruneLocked(now)
		}
		if len(l.buckets) >= maxBuckets {
			key = overflowKey
		}
		if b, ok = l.buckets[key]; !ok {
			b = &bucket{tokens: float64(l.rate.Burst), at: now}
			l.buckets[key] = b
		}
	}
	l.refillLocked(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.rate.Every))
}

func (l *limiter) refillLocked(b *bucket, now time.Time) {
	if l.rate.Every > 0 && now.After(b.at) {
		b.tokens = min(float64(l.rate.Burst), b.tokens+float64(now.Sub(b.at))/float64(l.rate.Every))
	}
	b.at = now
}

func (l *limiter) pruneLocked(now time.Time) {
	for k, b := range l.buckets {
		l.refillLocked(b, now)
		if b.tokens >= float64(l.rate.Burst) {
			delete(l.buckets, k)
		}
	}
}
