// Package silent is the clinic's "dispenser silent" watcher: it texts a
// patient's caregivers once when their dispenser stops checking in and
// once when it is heard again, and sends the texts the clinic queued
// (retrying a provider that fails). The texts' words and the state they
// come from are the clinic's (clinic.Service.MarkSilent, Ingest); this
// package decides when.
package silent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

// DefaultAfter is how long a device may go unheard before its patient's
// caregivers are texted.
const DefaultAfter = 30 * time.Minute

// sendTimeout bounds one send; claimFor is how long a claimed text is
// another process's to send (a send, and its record, take less).
const (
	sendTimeout = 30 * time.Second
	claimFor    = 2 * sendTimeout
)

// Config configures a Watcher.
type Config struct {
	Clinic *clinic.Service
	Clock  schedule.Clock
	// Texter sends the texts: notify/twilio's Sender, or a stand-in. Its
	// errors that say notify.Permanent are not retried.
	Texter notify.Sender
	Logger *slog.Logger // nil: discard
	// Meter counts the sends (adherence/clinic/metrics); nil: none.
	Meter Meter
	// After is how long without a request makes a device silent;
	// 0: DefaultAfter.
	After time.Duration
	// Texts are retried after MinRetry, doubling up to MaxRetry (0: 30s and
	// 30m), at most MaxAttempts times in all (0: 30).
	MinRetry, MaxRetry time.Duration
	MaxAttempts        int
	Rand               func() float64
}

// Meter counts the watcher's sends: each text the provider accepted, and
// each failed attempt, final when the text will not be tried again.
type Meter interface {
	TextSent()
	TextFailed(final bool)
}

// noMeter counts nothing.
type noMeter struct{}

func (noMeter) TextSent()       {}
func (noMeter) TextFailed(bool) {}

// Watcher runs on one goroutine with one timer, armed for the earliest of
// the next silence deadline and the next text to retry; the sync handler
// wakes it through Kick.
//
// A device's deadline counts from its last request or from the watcher's
// start, whichever is later: after the clinic service itself was down,
// every device gets a full period to come back before anyone is texted
// about it. Several watchers may share one database (several adherenced):
// a device goes silent once, and a text is claimed by one of them.
type Watcher struct {
	c       Config
	started time.Time
	kick    chan struct{}
}

// New returns a watcher; call Run.
func New(c Config) (*Watcher, error) {
	if c.Clinic == nil || c.Clock == nil || c.Texter == nil {
		return nil, errors.New("silent: watcher: Clinic, Clock and Texter are required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Meter == nil {
		c.Meter = noMeter{}
	}
	if c.After <= 0 {
		c.After = DefaultAfter
	}
	if c.MinRetry <= 0 {
		c.MinRetry = 30 * time.Second
	}
	if c.MaxRetry < c.MinRetry {
		c.MaxRetry = max(30*time.Minute, c.MinRetry)
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 30
	}
	return &Watcher{c: c, started: c.Clock.Now().UTC(), kick: make(chan struct{}, 1)}, nil
}

// Kick makes the watcher look again now. It never blocks.
func (w *Watcher) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run watches until ctx ends, then returns nil.
func (w *Watcher) Run(ctx context.Context) error {
	tick := make(chan struct{}, 1)
	var timer schedule.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		next, err := w.step(ctx)
		if ctx.Err() != nil {
			return nil
		}
		now := w.c.Clock.Now()
		if err != nil {
			w.c.Logger.Error("silent: watcher", "err", err)
			next = now.Add(w.c.MinRetry)
		}
		if timer != nil {
			timer.Stop()
			timer = nil
		}
		if !next.IsZero() {
			timer = w.c.Clock.AfterFunc(max(next.Sub(now), 0), func() {
				select {
				case tick <- struct{}{}:
				default:
				}
			})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
		case <-w.kick:
		}
	}
}

// step marks the devices whose deadline passed as silent, sends the texts
// that are due, and returns when there is next something to do (zero:
// nothing until a kick).
func (w *Watcher) step(ctx context.Context) (time.Time, error) {
	if err := w.markSilent(ctx); err != nil {
		return time.Time{}, err
	}
	if err := w.sendDue(ctx); err != nil {
		return time.Time{}, err
	}
	return w.next(ctx)
}

func (w *Watcher) markSilent(ctx context.Context) error {
	cutoff := w.c.Clinic.Now().Add(-w.c.After)
	if cutoff.Before(w.started) {
		return nil // every deadline counts from the start at the earliest
	}
	n, err := w.c.Clinic.MarkSilent(ctx, cutoff)
	if err != nil {
		return err
	}
	if n > 0 {
		w.c.Logger.Warn("silent: dispensers went silent; caregivers will be texted", "devices", n)
	}
	return nil
}

func (w *Watcher) sendDue(ctx context.Context) error {
	now := w.c.Clinic.Now()
	due, err := w.c.Clinic.ClaimTexts(ctx, now, now.Add(claimFor), 100)
	if err != nil {
		return fmt.Errorf("silent: texts: %w", err)
	}
	for _, t := range due {
		if err := w.send(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// send sends one claimed text and records the outcome. The text may go
// out twice if the process dies between the two (its claim then runs
// out); for an alert that beats not at all.
func (w *Watcher) send(ctx context.Context, t clinic.Text) error {
	sendCtx, cancel := context.WithTimeout(ctx, sendTimeout)
	_, err := w.c.Texter.Send(sendCtx, t.To, t.Body)
	cancel()
	if ctx.Err() != nil {
		return nil // shutting down; it is sent again once its claim ends
	}
	now := w.c.Clinic.Now()
	var a clinic.TextAttempt
	switch {
	case err == nil:
		a.Sent = now
		w.c.Meter.TextSent()
		w.c.Logger.Info("silent: text sent", "sms", t.ID)
	case permanent(err) || t.Attempts+1 >= w.c.MaxAttempts:
		w.c.Logger.Error("silent: text failed for good", "sms", t.ID, "attempts", t.Attempts+1, "err", err)
		a.Failed, a.Error = now, err.Error()
		w.c.Meter.TextFailed(true)
	default:
		wait := max(notify.Backoff(t.Attempts, w.c.MinRetry, w.c.MaxRetry, w.c.Rand), w.c.MinRetry/2)
		var f notify.Failed
		if errors.As(err, &f) {
			wait = max(wait, f.Failure().RetryAfter)
		}
		w.c.Logger.Warn("silent: text failed; will retry", "sms", t.ID, "attempts", t.Attempts+1, "err", err)
		a.NextTry, a.Error = now.Add(wait), err.Error()
		w.c.Meter.TextFailed(false)
	}
	if err := w.c.Clinic.TextAttempted(ctx, t.ID, a); err != nil {
		return fmt.Errorf("silent: texts: %w", err)
	}
	return nil
}

// permanent reports whether a Sender's error says retrying cannot help.
func permanent(err error) bool {
	var f notify.Failed
	return errors.As(err, &f) && f.Failure().Class == notify.Permanent
}

// next returns the earliest of the next silence deadline and the next
// retry, or zero.
func (w *Watcher) next(ctx context.Context) (time.Time, error) {
	seen, retry, err := w.c.Clinic.SilenceWatch(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("silent: watcher: %w", err)
	}
	var next time.Time
	if !seen.IsZero() {
		if seen.Before(w.started) {
			seen = w.started
		}
		next = seen.Add(w.c.After)
	}
	if !retry.IsZero() && (next.IsZero() || retry.Before(next)) {
		next = retry
	}
	return next, nil
}
