package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pillbox/pillbox/adherence/clinic/internal/ingestbench"
	"github.com/pillbox/pillbox/adherence/uplink"
)

// BenchmarkIngest measures the whole ingest path on PostgreSQL (the
// device's row lock and the insert over arrays included) against raw COPY
// of the same rows into the same table of another database of the same
// server, in one transaction (x_copy). The cluster is durable here (fsync
// and synchronous_commit on: TestMain).
func BenchmarkIngest(b *testing.B) {
	raw := connect(b, schema.New(b))
	st, _ := newStore(b)
	b.Cleanup(func() { st.Close() })
	ingestbench.Run(b, st, "copy", func(b *testing.B, evs []uplink.Event) { rawCopy(b, raw, evs) })
}

// rawCopy is the baseline: the rows alone, by COPY, in one transaction.
func rawCopy(b *testing.B, conn *pgx.Conn, evs []uplink.Event) {
	ctx := context.Background()
	now := time.Now().UnixMilli()
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"clinic_events"}, []string{"device_id", "log_id", "seq", "id", "patient_id", "time", "kind",
			"dose_id", "scheduled", "medication", "compartment", "detail", "received"}, pgx.CopyFromSlice(len(evs), func(i int) ([]any, error) {
			e := evs[i]
			return []any{"dv_1", "log", e.Seq, e.ID, "pt_1", e.Time.UnixMilli(), e.Kind, e.DoseID, e.Scheduled.UnixMilli(), e.Medication,
				int32(e.Compartment), e.Detail, now}, nil
		}))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}
