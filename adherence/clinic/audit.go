package clinic

import (
	"context"
	"fmt"
)

// Audit records one entry.
func (s *Service) Audit(ctx context.Context, a Actor, action, patientID, target, outcome string) error {
	if err := s.Store.AppendAudit(ctx, s.entry(a, action, patientID, target, outcome)); err != nil {
		return fmt.Errorf("clinic: audit: %w", err)
	}
	return nil
}

// AuditReads records that a reads patients' data: one entry per patient,
// in one transaction. Callers write it before they answer, and answer with
// an error if it fails: an unaudited read must not happen.
func (s *Service) AuditReads(ctx context.Context, a Actor, action string, patientIDs []string, target string) error {
	es := make([]Entry, len(patientIDs))
	for i, id := range patientIDs {
		es[i] = s.entry(a, action, id, target, "ok")
	}
	if err := s.Store.AppendAudit(ctx, es...); err != nil {
		return fmt.Errorf("clinic: audit: %w", err)
	}
	return nil
}

// AuditLog returns entries in Seq order: 100 unless q says how many, at
// most 1000.
func (s *Service) AuditLog(ctx context.Context, q AuditQuery) ([]Entry, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, 1000)
	es, err := s.Store.AuditLog(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("clinic: audit log: %w", err)
	}
	return es, nil
}
