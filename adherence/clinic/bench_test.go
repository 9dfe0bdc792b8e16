package clinic

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/schedule"
)

// benchBatch is the size of a batch in the ingest benchmark: what a
// dispenser sends when it catches up after an outage.
const benchBatch = 500

// benchEvents are events of realistic size: every field a dose event has.
func benchEvents(from int64) []uplink.Event {
	evs := make([]uplink.Event, benchBatch)
	for i := range evs {
		seq := from + int64(i)
		sched := t0.Add(time.Duration(seq/5) * 12 * time.Hour)
		evs[i] = uplink.Event{Seq: seq, ID: fmt.Sprintf("%032x", seq), Time: sched.Add(time.Duration(seq%5) * time.Minute),
			Kind: "dispensed", DoseID: "metformin@" + sched.Format(time.RFC3339), Scheduled: sched, Medication: "metformin",
			Compartment: 2, Detail: "attempt=1 left=27"}
	}
	return evs
}

func openBenchStore(b *testing.B, name string) *adherence.Store {
	st, err := adherence.Open(context.Background(), filepath.Join(b.TempDir(), name))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// rawRate is the baseline's events per second, measured earlier in the
// same run (BenchmarkIngest/raw), for BenchmarkIngest/handler's ratio.
var rawRate float64

// BenchmarkIngest measures events per second stored through the whole
// ingest path (HTTP handler, device token, strict decoding, idempotent
// insert, acknowledgement, heartbeat, audit entry) against a raw batched
// insert of the same rows into the same table, in one transaction with a
// prepared statement, on the same kind of file database (WAL,
// synchronous=FULL). The ratio is reported by the handler sub-benchmark.
func BenchmarkIngest(b *testing.B) {
	b.Run("raw", func(b *testing.B) {
		st := openBenchStore(b, "raw.db")
		w, _ := st.Pools()
		ctx := context.Background()
		var seq int64 = 1
		b.ResetTimer()
		for b.Loop() {
			evs := benchEvents(seq)
			seq += benchBatch
			tx, err := w.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			st, err := tx.PrepareContext(ctx, `INSERT INTO clinic_events(device_id, log_id, seq, id, patient_id, time, kind,
dose_id, scheduled, medication, compartment, detail, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now().UnixMilli()
			for _, e := range evs {
				if _, err := st.ExecContext(ctx, "dv_1", "log", e.Seq, e.ID, "pt_1", e.Time.UnixMilli(), e.Kind, e.DoseID,
					e.Scheduled.UnixMilli(), e.Medication, e.Compartment, e.Detail, now); err != nil {
					b.Fatal(err)
				}
			}
			st.Close()
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		rawRate = float64(b.N*benchBatch) / b.Elapsed().Seconds()
		b.ReportMetric(rawRate, "events/s")
	})
	b.Run("handler", func(b *testing.B) {
		ctx := context.Background()
		st := openBenchStore(b, "clinic.db")
		clock := schedule.NewRealClock()
		cs, err := Open(ctx, st, clock)
		if err != nil {
			b.Fatal(err)
		}
		p, err := cs.CreatePatient(ctx, CLI("bench"), "Ann")
		if err != nil {
			b.Fatal(err)
		}
		dev, tok, err := cs.RegisterDevice(ctx, CLI("bench"), p.ID, "")
		if err != nil {
			b.Fatal(err)
		}
		srv, err := NewServer(ServerConfig{Store: cs, Clock: clock, PerToken: Rate{Burst: -1}})
		if err != nil {
			b.Fatal(err)
		}
		h := srv.Handler()
		var seq int64 = 1
		b.ResetTimer()
		for b.Loop() {
			b.StopTimer() // the device's encoding is not the server's work
			body, err := json.Marshal(uplink.Batch{Version: uplink.Version, Device: dev.ID, Log: "log",
				Heartbeat: uplink.Heartbeat{Time: t0, LastSeq: seq + benchBatch - 1}, Events: benchEvents(seq)})
			if err != nil {
				b.Fatal(err)
			}
			seq += benchBatch
			r := httptest.NewRequest("POST", uplink.Path, strings.NewReader(string(body)))
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			b.StartTimer()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("ingest = %d %s", w.Code, w.Body)
			}
		}
		rate := float64(b.N*benchBatch) / b.Elapsed().Seconds()
		b.ReportMetric(rate, "events/s")
		if rawRate > 0 {
			b.ReportMetric(rate/rawRate, "x_raw")
		}
	})
}
