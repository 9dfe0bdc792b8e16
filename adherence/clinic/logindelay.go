package clinic

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Delay is how sign-in failures slow the next attempts of one account or
// one network: after Free failures, each further attempt must wait First,
// doubling with each failure up to Max. It never locks anyone out: the
// right password after the wait signs in, and a success clears the
// account's failures. Failures are forgotten a day after the last one.
type Delay struct {
	Free  int           // failures without a wait; negative: no delays (benchmarks)
	First time.Duration // the wait after the first failure past Free
	Max   time.Duration // the longest wait
}

// Default delays. An account waits at most a minute, so that someone
// guessing at a clinician's password from many places can slow the
// clinician by a minute at worst, never lock them out. A network (an
// address, an IPv6 /64) may guess more before it waits, as a clinic's
// staff may share one address, and waits up to 5 minutes.
var (
	DefaultAccountDelay = Delay{Free: 5, First: time.Second, Max: time.Minute}
	DefaultNetworkDelay = Delay{Free: 20, First: time.Second, Max: 5 * time.Minute}
)

// forgetFailures is how long after its last failure a key's count starts
// again from nothing.
const forgetFailures = 24 * time.Hour

// Wait is the delay after n failures.
func (d Delay) Wait(n int) time.Duration {
	if d.Free < 0 || n <= d.Free {
		return 0
	}
	w := d.First
	for i := d.Free + 1; i < n && w < d.Max; i++ {
		w *= 2
	}
	return min(w, d.Max)
}

// AccountKey and NetworkKey name what a sign-in's failures count against:
// the username tried (known or not, so that the answer says nothing of
// which exist), and the client's network.
func AccountKey(username string) string {
	return "user:" + truncate(strings.ToLower(strings.TrimSpace(username)), 64)
}

// NetworkKey is the client's address, or its /64 for IPv6: one IPv6
// host usually holds a whole /64 and could change address at every try.
func NetworkKey(remote string) string {
	a, err := netip.ParseAddr(remote)
	if err != nil {
		return "net:" + truncate(remote, 64)
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "net:" + p.String()
	}
	return "net:" + a.String()
}

// LoginWait returns how long the keys must still wait before another
// sign-in attempt (0: none).
func (s *Service) LoginWait(ctx context.Context, keys ...string) (time.Duration, error) {
	now := s.Now()
	until, err := s.Store.LoginWait(ctx, now.Add(-forgetFailures), keys...)
	if err != nil {
		return 0, fmt.Errorf("clinic: login wait: %w", err)
	}
	return max(until.Sub(now), 0), nil
}

// LoginFailed counts a failed sign-in against each key and returns the
// longest wait it earned. The store forgets keys whose last failure is a
// day old in the same step: only those, so that a flood of new keys never
// pushes out a busy one.
func (s *Service) LoginFailed(ctx context.Context, keys ...KeyDelay) (time.Duration, error) {
	now := s.Now()
	until, err := s.Store.LoginFailed(ctx, now, now.Add(-forgetFailures), keys...)
	if err != nil {
		return 0, fmt.Errorf("clinic: login failed: %w", err)
	}
	return max(until.Sub(now), 0), nil
}

// LoginSucceeded clears an account's failures. A network's stay: someone
// with one account of their own must not clear their network's count
// between guesses at others.
func (s *Service) LoginSucceeded(ctx context.Context, accountKey string) error {
	if err := s.Store.LoginSucceeded(ctx, accountKey); err != nil {
		return fmt.Errorf("clinic: login succeeded: %w", err)
	}
	return nil
}
