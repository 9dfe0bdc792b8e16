package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/web"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/schedule"
)

// benchBatch is the size of a batch in the ingest benchmark: what a
// dispenser sends when it catches up after an outage (as the SQLite
// backend's benchmark).
const benchBatch = 500

var benchStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

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

// BenchmarkIngest measures events per second stored through the whole
// ingest path on PostgreSQL (HTTP handler, device token, strict decoding,
// the device's row lock, the idempotent insert, acknowledgement,
// heartbeat, audit entry) against raw COPY of the same rows into the same
// table of another database of the same server, in one transaction. Each
// iteration ingests one batch both ways, so that both see the same load
// and tables of the same size; x_copy is the ratio of the two rates. The
// cluster is durable here (fsync and synchronous_commit on: TestMain).
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	raw := connect(b, schema.New(b))
	st, _ := newStore(b)
	b.Cleanup(func() { st.Close() })
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
	var copyTime, handlerTime time.Duration
	for b.Loop() {
		evs := benchEvents(seq)
		body, err := json.Marshal(uplink.Batch{Version: uplink.Version, Device: dev.ID, Log: "log",
			Heartbeat: uplink.Heartbeat{Time: benchStart, LastSeq: seq + benchBatch - 1}, Events: evs})
		if err != nil {
			b.Fatal(err)
		}
		seq += benchBatch

		start := time.Now()
		rawCopy(b, raw, evs)
		copyTime += time.Since(start)

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
	b.ReportMetric(n/copyTime.Seconds(), "copy_events/s")
	b.ReportMetric(copyTime.Seconds()/handlerTime.Seconds(), "x_copy")
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
