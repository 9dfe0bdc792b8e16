// Package ingestbench is the ingest benchmark every clinic backend runs:
// the whole ingest path against that backend's cheapest way of storing the
// same rows, measured in the same run.
package ingestbench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/web"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/schedule"
)

// Batch is the size of a batch: what a dispenser sends when it catches up
// after an outage.
const Batch = 500

// Start is when the events begin.
var Start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Events are Batch events of realistic size from seq from: every field a
// dose event has.
func Events(from int64) []uplink.Event {
	evs := make([]uplink.Event, Batch)
	for i := range evs {
		seq := from + int64(i)
		sched := Start.Add(time.Duration(seq/5) * 12 * time.Hour)
		evs[i] = uplink.Event{Seq: seq, ID: fmt.Sprintf("%032x", seq), Time: sched.Add(time.Duration(seq%5) * time.Minute),
			Kind: "dispensed", DoseID: "metformin@" + sched.Format(time.RFC3339), Scheduled: sched, Medication: "metformin",
			Compartment: 2, Detail: "attempt=1 left=27"}
	}
	return evs
}

// Run measures events per second stored through the whole ingest path on
// st (HTTP handler, device token, strict decoding, idempotent insert,
// acknowledgement, heartbeat, audit entry) against baseline, which stores
// the same rows as a raw batch (its rows into clinic_events of another
// database of the same kind, as device "dv_1" of patient "pt_1"). Each
// iteration stores one batch both ways, so that both see the same load on
// a shared machine and tables of the same size. It reports events/s,
// NAME_events/s and x_NAME, the ratio of the two rates.
func Run(b *testing.B, st clinic.Store, name string, baseline func(b *testing.B, evs []uplink.Event)) {
	ctx := context.Background()
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
	var baseTime, handlerTime time.Duration
	for b.Loop() {
		evs := Events(seq)
		body, err := json.Marshal(uplink.Batch{Version: uplink.Version, Device: dev.ID, Log: "log",
			Heartbeat: uplink.Heartbeat{Time: Start, LastSeq: seq + Batch - 1}, Events: evs})
		if err != nil {
			b.Fatal(err)
		}
		seq += Batch

		start := time.Now()
		baseline(b, evs)
		baseTime += time.Since(start)

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
	n := float64(b.N * Batch)
	b.ReportMetric(n/handlerTime.Seconds(), "events/s")
	b.ReportMetric(n/baseTime.Seconds(), name+"_events/s")
	b.ReportMetric(baseTime.Seconds()/handlerTime.Seconds(), "x_"+name)
}
