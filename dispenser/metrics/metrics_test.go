package metrics

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/dispenser/metrics/metricstest"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

// scrape returns the samples of one scrape, by series, and the TYPE of
// each family.
func scrape(t *testing.T, h http.Handler) (map[string]float64, map[string]string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics = %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	return metricstest.Parse(t, w.Body.Bytes())
}

// fake is the sources, as fields a test sets.
type fake struct {
	trusted bool
	outbox  int
	alerts  map[notify.Priority]int
	sync    Sync
	err     error
}

func (f *fake) sources(clock *schedule.SimClock, withSync bool) Sources {
	s := Sources{
		ClockTrusted: func(context.Context) (bool, error) { return f.trusted, f.err },
		Outbox:       func(context.Context) (int, error) { return f.outbox, f.err },
		OpenAlerts:   func() map[notify.Priority]int { return f.alerts },
		Clock:        clock, Logger: slog.New(slog.DiscardHandler),
	}
	if withSync {
		s.Sync = func(context.Context) (Sync, error) { return f.sync, f.err }
	}
	return s
}

func TestMetricsMove(t *testing.T) {
	start := time.Date(2027, 1, 12, 8, 0, 0, 0, time.UTC)
	clock := schedule.NewSimClock(start)
	f := &fake{sync: Sync{Unacked: -1}}
	m := New(f.sources(clock, true))

	got, types := scrape(t, m)
	for series, want := range map[string]float64{
		"pillbox_dispenser_doses_due_total": 0, "pillbox_dispenser_doses_taken_total": 0, "pillbox_dispenser_doses_missed_total": 0,
		"pillbox_dispenser_texts_sent_total": 0, "pillbox_dispenser_texts_failed_total": 0,
		"pillbox_dispenser_clock_trusted": 0, "pillbox_dispenser_outbox_depth": 0,
		`pillbox_dispenser_open_alerts{priority="high"}`: 0, `pillbox_dispenser_open_alerts{priority="low"}`: 0,
		"pillbox_dispenser_sync_lag_seconds": 0, "pillbox_dispenser_store_commit_seconds_count": 0,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("before anything: %s = %v (present %v), want %v", series, v, ok, want)
		}
	}
	if v := got["pillbox_dispenser_sync_unacked_events"]; !math.IsNaN(v) {
		t.Errorf("unacked events before the clinic answered = %v, want NaN", v)
	}
	for family, want := range map[string]string{"pillbox_dispenser_doses_due_total": "counter",
		"pillbox_dispenser_store_commit_seconds": "histogram", "pillbox_dispenser_outbox_depth": "gauge"} {
		if types[family] != want {
			t.Errorf("TYPE of %s = %q, want %q", family, types[family], want)
		}
	}

	// Each kind counted appears a different number of times, and the
	// kinds not counted (button, queued) once: a counter wired to the
	// wrong kind shows.
	m.Observe([]dispenser.Event{{Kind: dispenser.KindDoseDue}, {Kind: dispenser.KindDoseDue}, {Kind: dispenser.KindDoseDue},
		{Kind: dispenser.KindTaken}, {Kind: dispenser.KindTaken}, {Kind: dispenser.KindButton}})
	m.Observe([]dispenser.Event{{Kind: dispenser.KindMissed}, {Kind: notify.KindSMSSent}, {Kind: notify.KindSMSSent},
		{Kind: notify.KindSMSFailed}, {Kind: notify.KindSMSQueued}})
	m.Committed(300 * time.Microsecond)
	m.Committed(40 * time.Millisecond)
	f.trusted, f.outbox = true, 3
	f.alerts = map[notify.Priority]int{notify.High: 2, notify.Medium: 1}
	clock.Advance(90 * time.Second)
	f.sync = Sync{LastAck: start.Add(30 * time.Second), Unacked: 7}

	got, _ = scrape(t, m)
	for series, want := range map[string]float64{
		"pillbox_dispenser_doses_due_total": 3, "pillbox_dispenser_doses_taken_total": 2, "pillbox_dispenser_doses_missed_total": 1,
		"pillbox_dispenser_texts_sent_total": 2, "pillbox_dispenser_texts_failed_total": 1,
		"pillbox_dispenser_clock_trusted": 1, "pillbox_dispenser_outbox_depth": 3,
		`pillbox_dispenser_open_alerts{priority="high"}`: 2, `pillbox_dispenser_open_alerts{priority="medium"}`: 1,
		`pillbox_dispenser_open_alerts{priority="low"}`: 0,
		"pillbox_dispenser_sync_lag_seconds":            60, "pillbox_dispenser_sync_unacked_events": 7,
		"pillbox_dispenser_store_commit_seconds_count":                2,
		`pillbox_dispenser_store_commit_seconds_bucket{le="0.00025"}`: 0,
		`pillbox_dispenser_store_commit_seconds_bucket{le="0.0005"}`:  1,
		`pillbox_dispenser_store_commit_seconds_bucket{le="0.05"}`:    2,
		`pillbox_dispenser_store_commit_seconds_bucket{le="+Inf"}`:    2,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("after the moves: %s = %v (present %v), want %v", series, v, ok, want)
		}
	}
	if v := got["pillbox_dispenser_store_commit_seconds_sum"]; math.Abs(v-0.0403) > 1e-9 {
		t.Errorf("commit seconds sum = %v, want 0.0403", v)
	}
}

// What a scrape cannot read is NaN, and the sync's metrics exist only
// with a sync: section.
func TestMetricsUnreadable(t *testing.T) {
	clock := schedule.NewSimClock(time.Date(2027, 1, 12, 8, 0, 0, 0, time.UTC))
	f := &fake{err: errors.New("database is locked")}
	got, _ := scrape(t, New(f.sources(clock, false)))
	for _, series := range []string{"pillbox_dispenser_clock_trusted", "pillbox_dispenser_outbox_depth"} {
		if v, ok := got[series]; !ok || !math.IsNaN(v) {
			t.Errorf("%s = %v (present %v) when its source fails, want NaN", series, v, ok)
		}
	}
	for series := range got {
		if strings.HasPrefix(series, "pillbox_dispenser_sync_") {
			t.Errorf("%s is served without a sync: section", series)
		}
	}
	got, _ = scrape(t, New(f.sources(clock, true)))
	if v, ok := got["pillbox_dispenser_sync_lag_seconds"]; !ok || !math.IsNaN(v) {
		t.Errorf("sync lag = %v (present %v) when the sync state cannot be read, want NaN", v, ok)
	}
}
