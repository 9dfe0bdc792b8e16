package clinic

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

// Why the clinic texts.
const (
	reasonSilent = "silent"
	reasonBack   = "back"
)

// DefaultSilentAfter is how long a device may go unheard before its
// patient's caregivers are texted.
const DefaultSilentAfter = 30 * time.Minute

// WatcherConfig configures a Watcher.
type WatcherConfig struct {
	Store *Store
	Clock schedule.Clock
	// Texter sends the texts: notify/twilio's Sender, or a stand-in. Its
	// errors that say notify.Permanent are not retried.
	Texter notify.Sender
	Logger *slog.Logger // nil: discard
	// SilentAfter is how long without a request makes a device silent;
	// 0: DefaultSilentAfter.
	SilentAfter time.Duration
	// Texts are retried after MinRetry, doubling up to MaxRetry (0: 30s and
	// 30m), at most MaxAttempts times in all (0: 30).
	MinRetry, MaxRetry time.Duration
	MaxAttempts        int
	Rand               func() float64
}

// Watcher texts a patient's caregivers once when their dispenser goes
// silent and once when it is heard again, and sends the clinic's queued
// texts. It runs on one goroutine with one timer, armed for the earliest
// of the next silence deadline and the next text to retry; Ingest wakes
// it through Kick.
//
// A device's deadline counts from its last request or from the watcher's
// start, whichever is later: after the clinic service itself was down,
// every device gets a full period to come back before anyone is texted
// about it.
type Watcher struct {
	c       WatcherConfig
	started time.Time
	kick    chan struct{}
}

// NewWatcher returns a watcher; call Run.
func NewWatcher(c WatcherConfig) (*Watcher, error) {
	if c.Store == nil || c.Clock == nil || c.Texter == nil {
		return nil, errors.New("clinic: watcher: Store, Clock and Texter are required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.SilentAfter <= 0 {
		c.SilentAfter = DefaultSilentAfter
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
			w.c.Logger.Error("clinic: silent watcher", "err", err)
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

func (w *Watcher) deadlineBase() int64 { return millis(w.started) }

func (w *Watcher) markSilent(ctx context.Context) error {
	s := w.c.Store
	now := s.now()
	cutoff := millis(now) - w.c.SilentAfter.Milliseconds()
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, patient_id FROM clinic_devices
WHERE disabled = 0 AND silent_since IS NULL AND last_seen IS NOT NULL AND max(last_seen, ?) <= ?`, w.deadlineBase(), cutoff)
		if err != nil {
			return err
		}
		type dev struct{ id, patient string }
		var due []dev
		for rows.Next() {
			var d dev
			if err := rows.Scan(&d.id, &d.patient); err != nil {
				rows.Close()
				return err
			}
			due = append(due, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range due {
			var seen int64
			if err := tx.QueryRowContext(ctx, `UPDATE clinic_devices SET silent_since = ? WHERE id = ? RETURNING last_seen`,
				millis(now), d.id).Scan(&seen); err != nil {
				return err
			}
			if err := s.queueTexts(ctx, tx, d.patient, d.id, reasonSilent, seen); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, System, "device.silent", d.patient, d.id, ""); err != nil {
				return err
			}
		}
		n = len(due)
		return nil
	})
	if err != nil {
		return fmt.Errorf("clinic: mark silent: %w", err)
	}
	if n > 0 {
		w.c.Logger.Warn("clinic: dispensers went silent; caregivers will be texted", "devices", n)
	}
	return nil
}

// queueTexts queues one text per caregiver of the patient about device.
// A text crosses carriers and lands on lock screens: it names the patient
// by first name only, as the dispenser's own texts do, and never a
// medication.
func (s *Store) queueTexts(ctx context.Context, tx *sql.Tx, patient, device, reason string, lastSeen int64) error {
	var name string
	err := tx.QueryRowContext(ctx, `SELECT first_name FROM clinic_patients WHERE id = ?`, patient).Scan(&name)
	if err != nil {
		return err
	}
	body := fmt.Sprintf("Pillbox: %s's dispenser is back online.", name)
	if reason == reasonSilent {
		body = fmt.Sprintf("Pillbox: %s's dispenser has not checked in since %s UTC. Please check that it is powered and online.",
			name, fromMillis(lastSeen).Format("Jan 2 15:04"))
	}
	now := millis(s.now())
	_, err = tx.ExecContext(ctx, `INSERT INTO clinic_sms(created, patient_id, device_id, reason, to_phone, body, next_try)
SELECT ?, ?, ?, ?, phone, ?, ? FROM clinic_caregivers WHERE patient_id = ? ORDER BY id`, now, patient, device, reason, body, now, patient)
	return err
}

type queuedText struct {
	id       int64
	to, body string
	attempts int
}

func (w *Watcher) sendDue(ctx context.Context) error {
	s := w.c.Store
	rows, err := s.r.QueryContext(ctx, `SELECT id, to_phone, body, attempts FROM clinic_sms
WHERE sent IS NULL AND failed IS NULL AND next_try <= ? ORDER BY id LIMIT 100`, millis(s.now()))
	if err != nil {
		return fmt.Errorf("clinic: texts: %w", err)
	}
	var due []queuedText
	for rows.Next() {
		var q queuedText
		if err := rows.Scan(&q.id, &q.to, &q.body, &q.attempts); err != nil {
			rows.Close()
			return fmt.Errorf("clinic: texts: %w", err)
		}
		due = append(due, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("clinic: texts: %w", err)
	}
	for _, q := range due {
		if err := w.send(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// send sends one queued text and records the outcome. The text may go out
// twice if the process dies between the two; for an alert that beats not
// at all.
func (w *Watcher) send(ctx context.Context, q queuedText) error {
	s := w.c.Store
	sendCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err := w.c.Texter.Send(sendCtx, q.to, q.body)
	cancel()
	if ctx.Err() != nil {
		return nil // shutting down; it stays queued
	}
	now := s.now()
	switch {
	case err == nil:
		_, err = s.w.ExecContext(ctx, `UPDATE clinic_sms SET sent = ?, attempts = attempts + 1, last_error = '' WHERE id = ?`, millis(now), q.id)
		w.c.Logger.Info("clinic: text sent", "sms", q.id)
	case permanent(err) || q.attempts+1 >= w.c.MaxAttempts:
		w.c.Logger.Error("clinic: text failed for good", "sms", q.id, "attempts", q.attempts+1, "err", err)
		_, err = s.w.ExecContext(ctx, `UPDATE clinic_sms SET failed = ?, attempts = attempts + 1, last_error = ? WHERE id = ?`,
			millis(now), err.Error(), q.id)
	default:
		wait := max(notify.Backoff(q.attempts, w.c.MinRetry, w.c.MaxRetry, w.c.Rand), w.c.MinRetry/2)
		var f notify.Failed
		if errors.As(err, &f) {
			wait = max(wait, f.Failure().RetryAfter)
		}
		next := now.Add(wait)
		w.c.Logger.Warn("clinic: text failed; will retry", "sms", q.id, "attempts", q.attempts+1, "err", err)
		_, err = s.w.ExecContext(ctx, `UPDATE clinic_sms SET attempts = attempts + 1, next_try = ?, last_error = ? WHERE id = ?`,
			millis(next), err.Error(), q.id)
	}
	if err != nil {
		return fmt.Errorf("clinic: texts: %w", err)
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
	s := w.c.Store
	var dl, retry sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT
(SELECT min(max(last_seen, ?)) FROM clinic_devices WHERE disabled = 0 AND silent_since IS NULL AND last_seen IS NOT NULL),
(SELECT min(next_try) FROM clinic_sms WHERE sent IS NULL AND failed IS NULL)`, w.deadlineBase()).Scan(&dl, &retry)
	if err != nil {
		return time.Time{}, fmt.Errorf("clinic: watcher: %w", err)
	}
	var next time.Time
	if dl.Valid {
		next = fromMillis(dl.Int64).Add(w.c.SilentAfter)
	}
	if retry.Valid && (next.IsZero() || fromMillis(retry.Int64).Before(next)) {
		next = fromMillis(retry.Int64)
	}
	return next, nil
}

// Text is one text the clinic queued, for pillctl and tests.
type Text struct {
	ID        int64     `json:"id"`
	Created   time.Time `json:"created"`
	PatientID string    `json:"patient_id"`
	DeviceID  string    `json:"device_id"`
	Reason    string    `json:"reason"` // "silent" or "back"
	To        string    `json:"to"`
	Body      string    `json:"body"`
	Attempts  int       `json:"attempts"`
	Sent      time.Time `json:"sent,omitzero"`
	Failed    time.Time `json:"failed,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// Texts returns the clinic's queued and sent texts, oldest first.
func (s *Store) Texts(ctx context.Context) ([]Text, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, created, patient_id, device_id, reason, to_phone, body, attempts, sent, failed, last_error
FROM clinic_sms ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("clinic: texts: %w", err)
	}
	defer rows.Close()
	var out []Text
	for rows.Next() {
		var t Text
		var created int64
		var sent, failed sql.NullInt64
		if err := rows.Scan(&t.ID, &created, &t.PatientID, &t.DeviceID, &t.Reason, &t.To, &t.Body, &t.Attempts, &sent, &failed, &t.LastError); err != nil {
			return nil, fmt.Errorf("clinic: texts: %w", err)
		}
		t.Created, t.Sent, t.Failed = fromMillis(created), fromNullMillis(sent), fromNullMillis(failed)
		out = append(out, t)
	}
	return out, rows.Err()
}
