package adherence

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
)

// The notifier's tables (migration 0002): alerts, the SMS outbox and per-
// number SMS state, with the notifier's cursor in meta; and the webhooks
// it acted on (0007). The store only
// persists what the notifier decided; the decisions are notify's.

var _ notify.Store = (*Store)(nil)

const notifyCursorKey = "notify_cursor"

// LoadNotifier returns the notifier's cursor, open alerts and numbers.
func (s *Store) LoadNotifier(ctx context.Context) (notify.Snapshot, error) {
	var snap notify.Snapshot
	err := func() error {
		var v string
		switch err := s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, notifyCursorKey).Scan(&v); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("cursor: %w", err)
			}
			snap.Cursor = n
		}
		if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM alerts`).Scan(&snap.MaxAlertID); err != nil {
			return err
		}
		if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM outbox`).Scan(&snap.MaxMessageID); err != nil {
			return err
		}
		var err error
		if snap.Alerts, err = s.queryAlerts(ctx, selectAlerts+`WHERE closed IS NULL ORDER BY id`); err != nil {
			return err
		}
		rows, err := s.r.QueryContext(ctx, `SELECT phone, opted_out, helped FROM sms_numbers ORDER BY phone`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n notify.Number
			var out, helped sql.NullInt64
			if err := rows.Scan(&n.Phone, &out, &helped); err != nil {
				return err
			}
			n.OptedOut, n.Helped = fromNullMillis(out), fromNullMillis(helped)
			snap.Numbers = append(snap.Numbers, n)
		}
		return rows.Err()
	}()
	if err != nil {
		return notify.Snapshot{}, fmt.Errorf("adherence: load notifier: %w", err)
	}
	return snap, nil
}

const selectAlerts = `SELECT id, key, code, what, priority, opened, base, step, sent_step, step_at, notified, repeats,
coalesce(acked_by, ''), acked_at, closed, coalesce(reason, ''), facts FROM alerts `

func (s *Store) queryAlerts(ctx context.Context, query string, args ...any) ([]notify.Alert, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var as []notify.Alert
	for rows.Next() {
		var a notify.Alert
		var opened, base int64
		var stepAt, notified, ackedAt, closed sql.NullInt64
		var facts string
		if err := rows.Scan(&a.ID, &a.Key, &a.Code, &a.What, &a.Priority, &opened, &base, &a.Step, &a.SentStep,
			&stepAt, &notified, &a.Repeats, &a.AckedBy, &ackedAt, &closed, &a.Reason, &facts); err != nil {
			return nil, err
		}
		a.Opened, a.Base = time.UnixMilli(opened).UTC(), time.UnixMilli(base).UTC()
		a.StepAt, a.Notified = fromNullMillis(stepAt), fromNullMillis(notified)
		a.AckedAt, a.Closed = fromNullMillis(ackedAt), fromNullMillis(closed)
		if err := json.Unmarshal([]byte(facts), &a.Facts); err != nil {
			return nil, fmt.Errorf("alert %d: facts: %w", a.ID, err)
		}
		as = append(as, a)
	}
	return as, rows.Err()
}

const (
	upsertAlertSQL = `INSERT INTO alerts(id, key, code, what, priority, opened, base, step, sent_step, step_at,
	notified, repeats, acked_by, acked_at, closed, reason, facts)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET key = excluded.key, code = excluded.code, what = excluded.what,
	priority = excluded.priority, opened = excluded.opened, base = excluded.base, step = excluded.step,
	sent_step = excluded.sent_step, step_at = excluded.step_at, notified = excluded.notified, repeats = excluded.repeats,
	acked_by = excluded.acked_by, acked_at = excluded.acked_at, closed = excluded.closed,
	reason = excluded.reason, facts = excluded.facts`

	insertMessageSQL = `INSERT INTO outbox(id, created, recipient, phone, body, priority, alerts, codes, why,
	state, attempts, next_try, sid, status, error, updated, channel)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

	// An outcome names only what changed: the sender owns state, attempts,
	// next try, sid and error; status callbacks own status. Neither
	// overwrites the other's columns with a stale copy.
	updateSendSQL = `UPDATE outbox SET state = ?, attempts = ?, next_try = ?, sid = coalesce(?, sid),
	error = ?, updated = ? WHERE id = ?`
	updateStatusSQL = `UPDATE outbox SET status = ?, updated = max(updated, ?) WHERE id = ?`

	upsertNumberSQL = `INSERT INTO sms_numbers(phone, opted_out, helped) VALUES (?, ?, ?)
ON CONFLICT(phone) DO UPDATE SET opted_out = excluded.opted_out, helped = excluded.helped`
)

// ApplyNotifier commits b in one transaction: the cursor, alerts, messages
// and numbers, and b.Events appended to the log. It returns the events as
// stored. The events must not be about a dose's state (the doses table is
// Append's to keep).
func (s *Store) ApplyNotifier(ctx context.Context, b notify.Batch) ([]dispenser.Event, error) {
	evs, err := stampEvents(b.Events)
	if err != nil {
		return nil, fmt.Errorf("adherence: apply notifier: %w", err)
	}
	if err := s.applyNotifier(ctx, b, evs); err != nil {
		return nil, fmt.Errorf("adherence: apply notifier: %w", err)
	}
	return evs, nil
}

func (s *Store) applyNotifier(ctx context.Context, b notify.Batch, evs []dispenser.Event) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if b.Cursor != 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES(?, ?)
ON CONFLICT(key) DO UPDATE SET value = excluded.value`, notifyCursorKey, strconv.FormatInt(b.Cursor, 10)); err != nil {
			return fmt.Errorf("cursor: %w", err)
		}
	}
	for _, a := range b.Alerts {
		facts, err := json.Marshal(a.Facts)
		if err != nil {
			return fmt.Errorf("alert %d: %w", a.ID, err)
		}
		if _, err := tx.ExecContext(ctx, upsertAlertSQL, a.ID, a.Key, a.Code, string(a.What), int(a.Priority),
			a.Opened.UnixMilli(), a.Base.UnixMilli(), a.Step, a.SentStep, nullMillis(a.StepAt), nullMillis(a.Notified), a.Repeats,
			nullString(a.AckedBy), nullMillis(a.AckedAt), nullMillis(a.Closed), nullString(a.Reason), string(facts)); err != nil {
			return fmt.Errorf("alert %d: %w", a.ID, err)
		}
	}
	for _, m := range b.Messages {
		if _, err := tx.ExecContext(ctx, insertMessageSQL, m.ID, m.Created.UnixMilli(), m.To, m.Phone, m.Body,
			int(m.Priority), joinIDs(m.Alerts), strings.Join(m.Codes, ","), m.Why, string(m.State), m.Attempts,
			m.NextTry.UnixMilli(), nullString(m.SID), m.Status, m.Error, m.Updated.UnixMilli(), string(m.Channel)); err != nil {
			return fmt.Errorf("message %d: %w", m.ID, err)
		}
	}
	for _, o := range b.Outcomes {
		if o.State != "" {
			if _, err := tx.ExecContext(ctx, updateSendSQL, string(o.State), o.Attempts, o.NextTry.UnixMilli(),
				nullString(o.SID), o.Error, o.Updated.UnixMilli(), o.ID); err != nil {
				return fmt.Errorf("message %d: %w", o.ID, err)
			}
		}
		if o.Status != "" {
			if _, err := tx.ExecContext(ctx, updateStatusSQL, o.Status, o.Updated.UnixMilli(), o.ID); err != nil {
				return fmt.Errorf("message %d: %w", o.ID, err)
			}
		}
	}
	for _, n := range b.Numbers {
		if _, err := tx.ExecContext(ctx, upsertNumberSQL, n.Phone, nullMillis(n.OptedOut), nullMillis(n.Helped)); err != nil {
			return fmt.Errorf("number: %w", err)
		}
	}
	for _, h := range b.Webhooks {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_seen(id, seen) VALUES (?, ?)
ON CONFLICT(id) DO UPDATE SET seen = excluded.seen`, h.ID, h.At.UnixMilli()); err != nil {
			return fmt.Errorf("webhook: %w", err)
		}
	}
	if !b.ForgetWebhooks.IsZero() {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_seen WHERE seen < ?`, b.ForgetWebhooks.UnixMilli()); err != nil {
			return fmt.Errorf("webhooks: %w", err)
		}
	}
	ins := tx.StmtContext(ctx, s.insertEvent)
	for i := range evs {
		ev := &evs[i]
		res, err := ins.ExecContext(ctx, ev.ID, ev.Time.UnixMilli(), string(ev.Kind), nullString(ev.DoseID),
			nullMillis(ev.Scheduled), nullString(ev.Medication), ev.Compartment, nullString(ev.Detail), ev.ClockUntrusted)
		if err != nil {
			return fmt.Errorf("event %d (%s): %w", i, ev.Kind, err)
		}
		if ev.Seq, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("event %d (%s): %w", i, ev.Kind, err)
		}
	}
	return tx.Commit()
}

// stampEvents gives events their ID and stored time precision, as Append
// does, and refuses events that would move a dose (only Append keeps the
// doses table).
func stampEvents(in []dispenser.Event) ([]dispenser.Event, error) {
	out := make([]dispenser.Event, len(in))
	for i, ev := range in {
		if ev.Kind == "" || ev.Time.IsZero() {
			return nil, fmt.Errorf("event %d (%q) has no kind or no time", i, ev.Kind)
		}
		if _, moves := dispenser.StateForKind(ev.Kind); moves && ev.DoseID != "" {
			return nil, fmt.Errorf("event %d (%s) changes a dose: use Append", i, ev.Kind)
		}
		ev.ID = newID()
		ev.Time = time.UnixMilli(ev.Time.UnixMilli()).UTC()
		if !ev.Scheduled.IsZero() {
			ev.Scheduled = time.UnixMilli(ev.Scheduled.UnixMilli()).UTC()
		}
		out[i] = ev
	}
	return out, nil
}

const selectMessages = `SELECT id, created, recipient, phone, body, priority, alerts, codes, why, state, attempts,
next_try, coalesce(sid, ''), status, error, updated, channel FROM outbox `

// PendingMessages returns the queued and sending messages, highest
// priority first, then oldest first.
func (s *Store) PendingMessages(ctx context.Context) ([]notify.Message, error) {
	ms, err := s.queryMessages(ctx, selectMessages+`WHERE state IN ('queued', 'sending') ORDER BY priority DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("adherence: pending messages: %w", err)
	}
	return ms, nil
}

// MessagesSince returns the messages created at or after t, oldest first.
func (s *Store) MessagesSince(ctx context.Context, t time.Time) ([]notify.Message, error) {
	ms, err := s.queryMessages(ctx, selectMessages+`WHERE created >= ? ORDER BY id`, ceilMillis(t))
	if err != nil {
		return nil, fmt.Errorf("adherence: messages since: %w", err)
	}
	return ms, nil
}

// AcksSince returns, by alert ID, the role that acknowledged each alert
// acknowledged at or after t.
func (s *Store) AcksSince(ctx context.Context, t time.Time) (map[int64]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, acked_by FROM alerts WHERE acked_at >= ? AND acked_by IS NOT NULL`, ceilMillis(t))
	if err != nil {
		return nil, fmt.Errorf("adherence: acks since: %w", err)
	}
	defer rows.Close()
	acks := map[int64]string{}
	for rows.Next() {
		var id int64
		var by string
		if err := rows.Scan(&id, &by); err != nil {
			return nil, fmt.Errorf("adherence: acks since: %w", err)
		}
		acks[id] = by
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("adherence: acks since: %w", err)
	}
	return acks, nil
}

// MessageBySID returns the message the provider knows as sid.
func (s *Store) MessageBySID(ctx context.Context, sid string) (notify.Message, bool, error) {
	ms, err := s.queryMessages(ctx, selectMessages+`WHERE sid = ?`, sid)
	if err != nil {
		return notify.Message{}, false, fmt.Errorf("adherence: message by sid: %w", err)
	}
	if len(ms) == 0 {
		return notify.Message{}, false, nil
	}
	return ms[0], true, nil
}

// WebhookSeen reports whether the webhook id was remembered at or after
// since.
func (s *Store) WebhookSeen(ctx context.Context, id string, since time.Time) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM webhook_seen WHERE id = ? AND seen >= ?`, id, since.UnixMilli()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("adherence: webhook seen: %w", err)
	}
	return n > 0, nil
}

func (s *Store) queryMessages(ctx context.Context, query string, args ...any) ([]notify.Message, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ms []notify.Message
	for rows.Next() {
		var m notify.Message
		var created, next, updated int64
		var alerts, codes string
		if err := rows.Scan(&m.ID, &created, &m.To, &m.Phone, &m.Body, &m.Priority, &alerts, &codes, &m.Why,
			&m.State, &m.Attempts, &next, &m.SID, &m.Status, &m.Error, &updated, &m.Channel); err != nil {
			return nil, err
		}
		m.Created, m.NextTry, m.Updated = time.UnixMilli(created).UTC(), time.UnixMilli(next).UTC(), time.UnixMilli(updated).UTC()
		var err error
		if m.Alerts, err = splitIDs(alerts); err != nil {
			return nil, fmt.Errorf("message %d: %w", m.ID, err)
		}
		if codes != "" {
			m.Codes = strings.Split(codes, ",")
		}
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

func splitIDs(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	var ids []int64
	for _, f := range strings.Split(s, ",") {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("alert ids %q: %w", s, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
