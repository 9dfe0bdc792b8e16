// Package metrics owns the dispenser's Prometheus metrics, served at GET
// /metrics behind the local API's door (docs/api.md): counters kept from
// the event log as it commits, the store's commit latency, and gauges
// read at each scrape from the parts that know them. It writes them with
// github.com/VictoriaMetrics/metrics, chosen over prometheus/client_golang
// for the device's memory.
package metrics

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
)

// Sources are the parts a scrape reads. Every field but Sync is needed.
type Sources struct {
	// ClockTrusted reports whether the dose loop trusts the wall clock.
	ClockTrusted func(ctx context.Context) (bool, error)
	// Outbox counts the texts queued or being sent.
	Outbox func(ctx context.Context) (int, error)
	// OpenAlerts counts the alerts not closed, by priority.
	OpenAlerts func() map[notify.Priority]int
	// Sync, with a sync: section, says how far the clinic has
	// acknowledged; nil without one, and the sync metrics are left out.
	Sync func(ctx context.Context) (Sync, error)
	// Clock measures the sync lag; it is the real clock, as the sync's.
	Clock interface{ Now() time.Time }
	// Logger gets what a scrape could not read; the scraper sees NaN.
	Logger *slog.Logger
}

// Sync is how far the clinic has acknowledged the log.
type Sync struct {
	// LastAck is when the clinic last acknowledged a push; zero when it
	// has not since the daemon started.
	LastAck time.Time
	// Unacked counts the events after the last one acknowledged; -1
	// while unknown (no answer since the daemon started).
	Unacked int
}

// CommitBuckets are the upper bounds of the commit latency histogram, in
// seconds: one SQLite commit (WAL, synchronous=FULL) takes about 0.13 ms
// on a fast disk and tens of ms on an SD card.
var CommitBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// Metrics are the dispenser's metrics.
type Metrics struct {
	src     Sources
	started time.Time
	set     *vm.Set
	// counted are the counters kept from the log, by the event kind that
	// counts.
	counted map[dispenser.Kind]*vm.Counter
	commit  *vm.PrometheusHistogram

	// scrape serialises scrapes: each sets the gauges, then writes them.
	scrape          sync.Mutex
	trusted, outbox *vm.Gauge
	alerts          map[notify.Priority]*vm.Gauge
	lag, unacked    *vm.Gauge
}

// New returns the metrics, all at zero.
func New(src Sources) *Metrics {
	if src.Logger == nil {
		src.Logger = slog.Default()
	}
	// TYPE lines, so that a scraper reads the histogram as one.
	vm.ExposeMetadata(true)
	s := vm.NewSet()
	m := &Metrics{src: src, started: src.Clock.Now(), set: s,
		counted: map[dispenser.Kind]*vm.Counter{
			dispenser.KindDoseDue: s.NewCounter("pillbox_dispenser_doses_due_total"),
			dispenser.KindTaken:   s.NewCounter("pillbox_dispenser_doses_taken_total"),
			dispenser.KindMissed:  s.NewCounter("pillbox_dispenser_doses_missed_total"),
			notify.KindSMSSent:    s.NewCounter("pillbox_dispenser_texts_sent_total"),
			notify.KindSMSFailed:  s.NewCounter("pillbox_dispenser_texts_failed_total"),
		},
		commit:  s.NewPrometheusHistogramExt("pillbox_dispenser_store_commit_seconds", CommitBuckets),
		trusted: s.NewGauge("pillbox_dispenser_clock_trusted", nil),
		outbox:  s.NewGauge("pillbox_dispenser_outbox_depth", nil),
		alerts:  map[notify.Priority]*vm.Gauge{},
	}
	for _, p := range []notify.Priority{notify.Low, notify.Medium, notify.High} {
		m.alerts[p] = s.NewGauge(`pillbox_dispenser_open_alerts{priority="`+p.String()+`"}`, nil)
	}
	if src.Sync != nil {
		m.lag = s.NewGauge("pillbox_dispenser_sync_lag_seconds", nil)
		m.unacked = s.NewGauge("pillbox_dispenser_sync_unacked_events", nil)
	}
	return m
}

// Observe counts a committed batch; subscribe it to the log.
func (m *Metrics) Observe(evs []dispenser.Event) {
	for _, ev := range evs {
		if c := m.counted[ev.Kind]; c != nil {
			c.Inc()
		}
	}
}

// Committed records how long one commit to the store took.
func (m *Metrics) Committed(d time.Duration) { m.commit.Update(d.Seconds()) }

// ServeHTTP answers a scrape in the Prometheus text format.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.scrape.Lock()
	defer m.scrape.Unlock()
	m.read(r.Context())
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	m.set.WritePrometheus(w)
}

// read sets the gauges from the sources.
func (m *Metrics) read(ctx context.Context) {
	nan := math.NaN()
	if ok, err := m.src.ClockTrusted(ctx); err != nil {
		m.failed("clock trust", err)
		m.trusted.Set(nan)
	} else {
		m.trusted.Set(b2f(ok))
	}
	if n, err := m.src.Outbox(ctx); err != nil {
		m.failed("outbox", err)
		m.outbox.Set(nan)
	} else {
		m.outbox.Set(float64(n))
	}
	open := m.src.OpenAlerts()
	for p, g := range m.alerts {
		g.Set(float64(open[p]))
	}
	if m.src.Sync == nil {
		return
	}
	st, err := m.src.Sync(ctx)
	if err != nil {
		m.failed("sync", err)
		m.lag.Set(nan)
		m.unacked.Set(nan)
		return
	}
	since := st.LastAck
	if since.IsZero() {
		since = m.started // a lower bound: nothing acknowledged since the start
	}
	m.lag.Set(max(m.src.Clock.Now().Sub(since).Seconds(), 0))
	if st.Unacked < 0 {
		m.unacked.Set(nan)
	} else {
		m.unacked.Set(float64(st.Unacked))
	}
}

func (m *Metrics) failed(what string, err error) {
	m.src.Logger.Warn("metrics: could not read "+what, "err", err)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
