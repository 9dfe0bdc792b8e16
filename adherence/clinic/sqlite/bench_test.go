package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic/internal/ingestbench"
	"github.com/pillbox/pillbox/adherence/uplink"
)

func openBenchStore(b *testing.B, name string) *Store {
	st, err := Open(context.Background(), filepath.Join(b.TempDir(), name))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkIngest measures the whole ingest path on this backend against a
// raw batched insert of the same rows into the same table, in one
// transaction with a prepared statement, on the same kind of file
// database (WAL, synchronous=FULL): x_raw.
func BenchmarkIngest(b *testing.B) {
	raw := openBenchStore(b, "raw.db")
	st := openBenchStore(b, "clinic.db")
	ingestbench.Run(b, st, "raw", func(b *testing.B, evs []uplink.Event) { rawInsert(b, raw.w, evs) })
}

// rawInsert is the baseline: the rows alone, batched in one transaction.
func rawInsert(b *testing.B, w *sql.DB, evs []uplink.Event) {
	ctx := context.Background()
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO clinic_events(device_id, log_id, seq, id, patient_id, time, kind,
dose_id, scheduled, medication, compartment, detail, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UnixMilli()
	for _, e := range evs {
		if _, err := st.ExecContext(ctx, "dv_1", "log", e.Seq, e.ID, "pt_1", e.Time.UnixMilli(), e.Kind, e.DoseID,
			e.Scheduled.UnixMilli(), e.Medication, e.Compartment, e.Detail, now); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
