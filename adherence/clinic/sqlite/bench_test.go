package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/web"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/schedule"
)

// benchStart is when the benchmark's events begin.
var benchStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// benchBatch is the size of a batch in the ingest benchmark: what a
// dispenser sends when it catches up after an outage.
const benchBatch = 500

// benchEvents are events of realistic size: every field a dose event has.
func benchEvents(from int64) []uplink.Event {
	evs := make([]uplink.Event, benchBatch)
	for i := range evs {
		seq := from + int64(i)
		sched := benchStart.Add(time.Duration(seq/5) * 12 * time.Hour)
		evs[i] = uplink.Event{Seq: seq, ID: fmt.Sprintf("%032x", seq), Time: sched.Add(time.Duration(seq%5) * time.Minute),
			Kind: "dispensed", DoseID: "metformin@" + sched.Format(time.RFC3339), Scheduled: sched, Medication: "metformin",
			Compartment: 2, Detail: "attempt=1 left=27"}
	}
	return evs
}

func openBenchStore(b *testing.B, name string) *Store {
	st, err := Open(context.Background(), filepath.Join(b.TempDir(), name))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkIngest measures events per second stored through the whole
// ingest path on this backend (HTTP handler, device token, strict decoding, idempotent
// insert, acknowledgement, heartbeat, audit entry) against a raw batched
// insert of the same rows into the same table, in one transaction with a
// prepared statement, on the same kind of file database (WAL,
// synchronous=FULL). Each iteration ingests one batch both ways, so that
// both see the same load on a shared machine and tables of the same size;
// x_raw is the ratio of the two rates.
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	raw := openBenchStore(b, "raw.db")
	st := openBenchStore(b, "clinic.db")
	clock := schedule.NewRealClock()
	cs := clinic.New(st, clock)
	p, err := cs.CreatePatient(ctx, clinic.CLI("bench"), "Ann")
	if err != nil {
		b.Fatal(err)
	}
	dev, tok, err := cs.RegisterDevice(ctx, clinic.CLI("bench"), p.ID, "")
	if err != nil {
		b.Fatal(err)
	}
	srv, err := web.New(web.Config{Clinic: cs, Clock: clock, PerToken: web.Rate{Burst: -1}})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	var seq int64 = 1
	var rawTime, handlerTime time.Duration
	for b.Loop() {
		evs := benchEvents(seq)
		body, err := json.Marshal(uplink.Batch{Version: uplink.Version, Device: dev.ID, Log: "log",
			Heartbeat: uplink.Heartbeat{Time: benchStart, LastSeq: seq + benchBatch - 1}, Events: evs})
		if err != nil {
			b.Fatal(err)
		}
		seq += benchBatch

		start := time.Now()
		rawInsert(b, raw.w, evs)
		rawTime += time.Since(start)

		r := httptest.NewRequest("POST", uplink.Path, strings.NewReader(string(body)))
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		start = time.Now()
		h.ServeHTTP(w, r)
		handlerTime += time.Since(start)
		if w.Code != http.StatusOK {
			b.Fatalf("ingest = %d %s", w.Code, w.Body)
		}
	}
	n := float64(b.N * benchBatch)
	b.ReportMetric(n/handlerTime.Seconds(), "events/s")
	b.ReportMetric(n/rawTime.Seconds(), "raw_events/s")
	b.ReportMetric(rawTime.Seconds()/handlerTime.Seconds(), "x_raw")
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
