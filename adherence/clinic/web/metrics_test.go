package web

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/internal/clinictest"
	"github.com/pillbox/pillbox/adherence/uplink"
)

// scrape reads GET /metrics as auth into series -> value (the name with
// its labels as written, e.g. `x_total{reason="conflict"}`).
func (e *env) scrape(t *testing.T, auth string) map[string]float64 {
	t.Helper()
	w := e.do("GET", "/metrics", auth, "")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200: %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("GET /metrics Content-Type = %q, want the Prometheus text format", ct)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("GET /metrics: line %q is not a series and a value", line)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetrics syncs batches through the router and checks that a scrape
// moved by exactly what they did: events and readings stored (repeats not
// counted), syncs answered, batches refused by reason, the ingest
// histogram, and the silence gauges. Only an admin may scrape, and the
// scrape names no patient or device.
func TestMetrics(t *testing.T) {
	e := newEnv(t)
	admin, err := e.Clinic.IssueAPIToken(e.Ctx, clinic.CLI("test"), e.Admin.ID, "prometheus")
	if err != nil {
		t.Fatal(err)
	}
	bearer := "Bearer " + admin
	before := e.scrape(t, bearer)

	withReadings := clinictest.Batch(t, e.DevA.ID, "log1", 4, 2)
	withReadings.Readings = []uplink.Reading{{Seq: 1, ID: "r1", Quantity: "pulse", Value: 72, Unit: "/min", Time: t0}}
	rj, err := json.Marshal(withReadings)
	if err != nil {
		t.Fatal(err)
	}
	syncs := []struct {
		name, auth, body string
		want             int
	}{
		{"3 events", "Bearer " + e.TokA, batchJSON(t, e.DevA.ID, "log1", 1, 3), http.StatusOK},
		{"the same again", "Bearer " + e.TokA, batchJSON(t, e.DevA.ID, "log1", 1, 3), http.StatusOK},
		{"2 events and a reading", "Bearer " + e.TokA, string(rj), http.StatusOK},
		{"another event at a taken seq", "Bearer " + e.TokA, strings.Replace(batchJSON(t, e.DevA.ID, "log1", 2, 1), "log1-ev2", "other", 1), http.StatusConflict},
		{"device B writing as A", "Bearer " + e.TokB, batchJSON(t, e.DevA.ID, "log1", 9, 1), http.StatusForbidden},
		{"no token", "", batchJSON(t, e.DevA.ID, "log1", 9, 1), http.StatusUnauthorized},
		{"a revoked token", "Bearer " + e.RevokedDevice, batchJSON(t, e.DevA.ID, "log1", 9, 1), http.StatusUnauthorized},
		{"not JSON", "Bearer " + e.TokA, "{", http.StatusBadRequest},
	}
	for _, s := range syncs {
		if w := e.do("POST", uplink.Path, s.auth, s.body); w.Code != s.want {
			t.Fatalf("sync %s = %d, want %d: %s", s.name, w.Code, s.want, w.Body)
		}
	}
	// Device A silent for an hour and a half; B never heard.
	e.Clock.Advance(90 * time.Minute)
	if n, err := e.Clinic.MarkSilent(e.Ctx, e.Clock.Now().Add(-30*time.Minute)); err != nil || n != 1 {
		t.Fatalf("MarkSilent = %d, %v; want device A", n, err)
	}

	after := e.scrape(t, bearer)
	moved := []struct {
		series string
		want   float64
	}{
		{"pillbox_clinic_events_stored_total", 5},
		{"pillbox_clinic_readings_stored_total", 1},
		{"pillbox_clinic_syncs_answered_total", 3},
		{`pillbox_clinic_batches_refused_total{reason="conflict"}`, 1},
		{`pillbox_clinic_batches_refused_total{reason="forbidden"}`, 1},
		{`pillbox_clinic_batches_refused_total{reason="unauthenticated"}`, 2},
		{`pillbox_clinic_batches_refused_total{reason="malformed"}`, 1},
		{`pillbox_clinic_batches_refused_total{reason="too_large"}`, 0},
		{`pillbox_clinic_batches_refused_total{reason="error"}`, 0},
		{"pillbox_clinic_ingest_seconds_count", 5}, // every Service.Ingest: 3 stored, the conflict, the forbidden
		{"pillbox_clinic_devices_silent", 1},
		{"pillbox_clinic_texts_queued", 2}, // one per caregiver of patient A
	}
	for _, m := range moved {
		t.Run(m.series, func(t *testing.T) {
			a, ok := after[m.series]
			if !ok {
				t.Fatalf("scrape has no %s", m.series)
			}
			if got := a - before[m.series]; got != m.want {
				t.Errorf("%s moved by %v, want %v", m.series, got, m.want)
			}
		})
	}
	// A's heartbeats are dated t0; the clinic heard it last at t0 (the
	// simulated clock's time of the syncs).
	if got, want := after["pillbox_clinic_oldest_last_seen_seconds"], (90 * time.Minute).Seconds(); got != want {
		t.Errorf("pillbox_clinic_oldest_last_seen_seconds = %v, want %v", got, want)
	}
	if _, ok := after["process_resident_memory_bytes"]; !ok {
		t.Errorf("scrape has no process_resident_memory_bytes: want the process metrics")
	}

	// Who may scrape: an admin; nobody else learns there is anything.
	adminCookie, _ := e.login("root", testPassword)
	aliceCookie, _ := e.login("alice", testPassword)
	callers := []struct {
		name, auth string
		want       int
	}{
		{"an admin's API token", bearer, http.StatusOK},
		{"an admin's session", adminCookie, http.StatusOK},
		{"nobody", "", http.StatusUnauthorized},
		{"a wrong token", "Bearer pba_not-a-token", http.StatusUnauthorized},
		{"a clinician's API token", "Bearer " + e.APIBob, http.StatusNotFound},
		{"a clinician's session", aliceCookie, http.StatusNotFound},
		{"a device token", "Bearer " + e.TokA, http.StatusForbidden},
	}
	for _, c := range callers {
		t.Run(c.name, func(t *testing.T) {
			w := e.do("GET", "/metrics", c.auth, "")
			if w.Code != c.want {
				t.Fatalf("GET /metrics as %s = %d, want %d: %.200s", c.name, w.Code, c.want, w.Body)
			}
			body := w.Body.String()
			for _, id := range []string{e.PatA.ID, e.PatA.DisplayName, e.DevA.ID, e.DevB.ID, "pulse"} {
				if strings.Contains(body, id) {
					t.Errorf("GET /metrics as %s shows %q", c.name, id)
				}
			}
		})
	}
}

// TestMetricsRoute: /metrics is in the route table, for admins only, so
// TestEveryRouteDenies walks it; without metrics there is no route.
func TestMetricsRoute(t *testing.T) {
	find := func(s *Server) (route, bool) {
		for _, rt := range s.routes {
			if rt.path == metricsPath {
				return rt, true
			}
		}
		return route{}, false
	}
	if rt, ok := find(newEnv(t).srv); !ok || rt.method != "GET" || rt.access != accessAdmin {
		t.Errorf("route %s = %+v, %v; want GET for admins", metricsPath, rt, ok)
	}
	if rt, ok := find(newEnv(t, func(c *Config) { c.Metrics = nil }).srv); ok {
		t.Errorf("without Metrics, route %s = %+v; want none", metricsPath, rt)
	}
}
