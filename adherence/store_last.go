package adherence

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// LastEventTime returns the latest event time in the log (zero when it is
// empty). The simulator starts its clock no earlier, so a restarted
// simulation never runs its world backwards.
func (s *Store) LastEventTime(ctx context.Context) (time.Time, error) {
	var ms sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT max(time) FROM events`).Scan(&ms); err != nil {
		return time.Time{}, fmt.Errorf("adherence: last event time: %w", err)
	}
	if !ms.Valid {
		return time.Time{}, nil
	}
	return time.UnixMilli(ms.Int64).UTC(), nil
}
