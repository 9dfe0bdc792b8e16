package main

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/pillbox/pillbox/dispenser/metrics/metricstest"
	"github.com/pillbox/pillbox/notify"
)

// samples reads a scrape: value by series.
func samples(t *testing.T, body []byte) map[string]float64 {
	t.Helper()
	s, _ := metricstest.Parse(t, body)
	return s
}

// GET /metrics follows a morning: a dose falls due, a caregiver is
// texted, the doses are given and taken, and each commit is timed.
func TestMetricsFollowTheLog(t *testing.T) {
	d := runDaemon(t, "../../examples/dispenser.yaml", filepath.Join(t.TempDir(), "data"), "127.0.0.1:0", "2026-03-10T06:50:00-04:00")
	before := samples(t, d.do("GET", "/metrics", nil, http.StatusOK))
	for series, want := range map[string]float64{
		"pillbox_dispenser_doses_due_total": 0, "pillbox_dispenser_doses_taken_total": 0, "pillbox_dispenser_texts_sent_total": 0,
		"pillbox_dispenser_clock_trusted": 1, "pillbox_dispenser_outbox_depth": 0, `pillbox_dispenser_open_alerts{priority="medium"}`: 0,
	} {
		if got, ok := before[series]; !ok || got != want {
			t.Errorf("at 06:50: %s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	if _, ok := before["pillbox_dispenser_sync_lag_seconds"]; ok {
		t.Error("sync metrics without a sync: section")
	}

	since := d.lastSeq()
	d.advance("1h40m") // 08:30: metformin due since 07:00, lisinopril from 08:30, caregiver 1 texted
	d.waitFor(notify.KindSMSSent, since, to("caregiver1"))
	mid := samples(t, d.do("GET", "/metrics", nil, http.StatusOK))
	d.do("POST", "/api/sim/button?wait=1", nil, http.StatusOK)
	d.do("POST", "/api/sim/cup?wait=1", map[string]bool{"present": false}, http.StatusOK)
	after := samples(t, d.do("GET", "/metrics", nil, http.StatusOK))
	const medium = `pillbox_dispenser_open_alerts{priority="medium"}`
	for _, c := range []struct {
		what string
		ok   bool
	}{
		{"metformin and lisinopril due at 08:30", mid["pillbox_dispenser_doses_due_total"] == 2},
		{"texts sent at 08:30", mid["pillbox_dispenser_texts_sent_total"] >= 1},
		{"the dose's alert open at 08:30", mid[medium] >= 1},
		{"commits timed", mid["pillbox_dispenser_store_commit_seconds_count"] > before["pillbox_dispenser_store_commit_seconds_count"]},
		{"both doses due taken", after["pillbox_dispenser_doses_taken_total"] == 2},
		{"their alerts closed", mid[medium] >= 1 && after[medium] == 0},
		{"no text failed", after["pillbox_dispenser_texts_failed_total"] == 0},
	} {
		if !c.ok {
			t.Errorf("%s: no (08:30 %v; after the dose %v)", c.what, mid, after)
		}
	}
}
