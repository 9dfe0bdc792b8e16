package clinic

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Entry is one line of the audit log. It names who did what to which
// patient, when and from where; it never holds a token, a password, a
// reading or any other patient data beyond the patient's id.
type Entry struct {
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`  // "user:ID", "device:ID", "cli:NAME", "anonymous", "system"
	Action    string    `json:"action"` // "patient.read", "login.failure", "sync.ingest", ...
	PatientID string    `json:"patient_id,omitempty"`
	Target    string    `json:"target,omitempty"` // the object acted on, or counts
	Remote    string    `json:"remote,omitempty"` // client address
	Outcome   string    `json:"outcome"`          // "ok", "denied", "failed", "throttled"
}

// Actor is who acts on the store, for the audit log.
type Actor struct {
	ID     string // as Entry.Actor
	Remote string // client address, "" from the command line
}

// CLI is the actor for changes made with pillctl by the operating-system
// user name.
func CLI(user string) Actor { return Actor{ID: "cli:" + user} }

// System is the service itself (the silent watcher).
var System = Actor{ID: "system"}

const insertAudit = `INSERT INTO clinic_audit(time, actor, action, patient_id, target, remote, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)`

func (s *Store) audit(ctx context.Context, tx *sql.Tx, a Actor, action, patientID, target, outcome string) error {
	if outcome == "" {
		outcome = "ok"
	}
	_, err := tx.ExecContext(ctx, insertAudit, millis(s.now()), a.ID, action, nullString(patientID), target, a.Remote, outcome)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// Audit records one entry in its own transaction.
func (s *Store) Audit(ctx context.Context, a Actor, action, patientID, target, outcome string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error { return s.audit(ctx, tx, a, action, patientID, target, outcome) })
	if err != nil {
		return fmt.Errorf("clinic: %w", err)
	}
	return nil
}

// AuditReads records that a reads patients' data: one entry per patient,
// in one transaction. Callers write it before they answer, and answer with
// an error if it fails: an unaudited read must not happen.
func (s *Store) AuditReads(ctx context.Context, a Actor, action string, patientIDs []string, target string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range patientIDs {
			if err := s.audit(ctx, tx, a, action, id, target, "ok"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("clinic: %w", err)
	}
	return nil
}

// AuditQuery selects audit entries.
type AuditQuery struct {
	PatientID string // "" for all
	After     int64  // entries with Seq > After
	Limit     int    // 0: 100; at most 1000
}

// AuditLog returns entries in Seq order.
func (s *Store) AuditLog(ctx context.Context, q AuditQuery) ([]Entry, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, 1000)
	query := `SELECT seq, time, actor, action, coalesce(patient_id, ''), target, remote, outcome FROM clinic_audit WHERE seq > ?`
	args := []any{q.After}
	if q.PatientID != "" {
		query += ` AND patient_id = ?`
		args = append(args, q.PatientID)
	}
	query += ` ORDER BY seq LIMIT ?`
	args = append(args, q.Limit)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("clinic: audit log: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var ms int64
		if err := rows.Scan(&e.Seq, &ms, &e.Actor, &e.Action, &e.PatientID, &e.Target, &e.Remote, &e.Outcome); err != nil {
			return nil, fmt.Errorf("clinic: audit log: %w", err)
		}
		e.Time = fromMillis(ms)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clinic: audit log: %w", err)
	}
	return out, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
