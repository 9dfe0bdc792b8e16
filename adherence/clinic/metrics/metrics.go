// Package metrics owns the clinic service's Prometheus metrics, served at
// GET /metrics to an administrator's API token (docs/clinic.md#metrics):
// counters of the syncs the web server answers and refuses, the latency
// of Service.Ingest, the silent watcher's texts, gauges of the clinic's
// silence read at each scrape, and the process's own metrics. It writes
// them with github.com/VictoriaMetrics/metrics, as dispenserd does, for
// its small memory and allocation cost.
//
// Nothing here is per patient or per device: a series per device would
// grow with the clinic (tens of thousands) and would name devices to
// whoever reads the metrics.
package metrics

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/pillbox/pillbox/adherence/clinic"
)

// Silence is the read a scrape makes (clinic.Store.DeviceSilence).
type Silence interface {
	DeviceSilence(ctx context.Context) (clinic.DeviceSilence, error)
}

// Config configures Metrics.
type Config struct {
	Silence Silence
	// Clock measures the age of the oldest last-seen time.
	Clock interface{ Now() time.Time }
	// Refusals are the reasons a batch may be refused for
	// (web.Refusals): each gets its series at zero from the start, so
	// that a rate over the first refusal is not lost.
	Refusals []string
	Logger   *slog.Logger // nil: discard
}

// IngestBuckets are the upper bounds of the ingest latency histogram, in
// seconds: one batch of a few events into SQLite (WAL, synchronous=FULL)
// takes about a millisecond, into PostgreSQL over a socket a few; a
// second or more is a database in trouble.
var IngestBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics are the clinic service's metrics. Its methods are safe for
// concurrent use.
type Metrics struct {
	c   Config
	set *vm.Set

	events, readings, syncs *vm.Counter
	refused                 map[string]*vm.Counter
	ingest                  *vm.PrometheusHistogram
	textsSent, textsFailed  *vm.Counter
	textRetries             *vm.Counter

	// scrape serialises scrapes: each sets the gauges, then writes them.
	scrape                sync.Mutex
	silent, oldest, queue *vm.Gauge
}

// New returns the metrics, all at zero.
func New(c Config) *Metrics {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	// TYPE lines, so that a scraper reads the histogram as one.
	vm.ExposeMetadata(true)
	s := vm.NewSet()
	m := &Metrics{c: c, set: s,
		events:      s.NewCounter("pillbox_clinic_events_stored_total"),
		readings:    s.NewCounter("pillbox_clinic_readings_stored_total"),
		syncs:       s.NewCounter("pillbox_clinic_syncs_answered_total"),
		refused:     map[string]*vm.Counter{},
		ingest:      s.NewPrometheusHistogramExt("pillbox_clinic_ingest_seconds", IngestBuckets),
		textsSent:   s.NewCounter("pillbox_clinic_texts_sent_total"),
		textsFailed: s.NewCounter("pillbox_clinic_texts_failed_total"),
		textRetries: s.NewCounter("pillbox_clinic_text_retries_total"),
		silent:      s.NewGauge("pillbox_clinic_devices_silent", nil),
		oldest:      s.NewGauge("pillbox_clinic_oldest_last_seen_seconds", nil),
		queue:       s.NewGauge("pillbox_clinic_texts_queued", nil),
	}
	for _, r := range c.Refusals {
		m.refused[r] = s.NewCounter(`pillbox_clinic_batches_refused_total{reason="` + r + `"}`)
	}
	return m
}

// Synced counts a batch answered 200 and what it stored.
func (m *Metrics) Synced(events, readings int) {
	m.syncs.Inc()
	m.events.Add(events)
	m.readings.Add(readings)
}

// Refused counts a batch refused. A reason outside Config.Refusals is
// counted under "other": the label's values stay a fixed, small set.
func (m *Metrics) Refused(reason string) {
	c, ok := m.refused[reason]
	if !ok {
		c = m.set.GetOrCreateCounter(`pillbox_clinic_batches_refused_total{reason="other"}`)
	}
	c.Inc()
}

// Ingested records how long one Service.Ingest took, stored or not.
func (m *Metrics) Ingested(took time.Duration) { m.ingest.Update(took.Seconds()) }

// TextSent counts a text the provider accepted.
func (m *Metrics) TextSent() { m.textsSent.Inc() }

// TextFailed counts a failed attempt to send a text: final when it will
// not be tried again (the provider said so, or the attempts ran out).
func (m *Metrics) TextFailed(final bool) {
	if final {
		m.textsFailed.Inc()
		return
	}
	m.textRetries.Inc()
}

// ServeHTTP answers a scrape in the Prometheus text format.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.scrape.Lock()
	defer m.scrape.Unlock()
	m.read(r.Context())
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	m.set.WritePrometheus(w)
	vm.WriteProcessMetrics(w)
}

// read sets the gauges; a value it cannot read is NaN, and the log says
// why (the scraper is not told).
func (m *Metrics) read(ctx context.Context) {
	ds, err := m.c.Silence.DeviceSilence(ctx)
	if err != nil {
		m.c.Logger.Warn("metrics: could not read the devices' silence", "err", err)
		for _, g := range []*vm.Gauge{m.silent, m.oldest, m.queue} {
			g.Set(math.NaN())
		}
		return
	}
	m.silent.Set(float64(ds.Silent))
	m.queue.Set(float64(ds.TextsQueued))
	if ds.OldestSeen.IsZero() {
		m.oldest.Set(0) // no device heard yet: nothing is overdue
	} else {
		m.oldest.Set(max(m.c.Clock.Now().Sub(ds.OldestSeen).Seconds(), 0))
	}
}
