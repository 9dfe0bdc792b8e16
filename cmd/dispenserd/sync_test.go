package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/sqlite"
	"github.com/pillbox/pillbox/adherence/clinic/web"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/schedule"
)

// TestSyncComponent runs the daemon in sim mode with a sync: section
// against a clinic service on a real socket, and waits until the clinic
// acknowledges the daemon's log.
func TestSyncComponent(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlite.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := schedule.NewRealClock()
	cs := clinic.New(st, clock)
	p, err := cs.CreatePatient(ctx, clinic.CLI("test"), "Margaret")
	if err != nil {
		t.Fatal(err)
	}
	dev, tok, err := cs.RegisterDevice(ctx, clinic.CLI("test"), p.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{Clinic: cs, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	acks := make(chan uplink.Ack, 100)
	h := srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var a uplink.Ack
		if json.Unmarshal(rec.Body.Bytes(), &a) == nil && rec.Code == 200 {
			acks <- a
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	defer ts.Close()

	dir := t.TempDir()
	cfg := syncConfig(t, dir, ts.URL, dev.ID, tok)
	r, err := start(ctx, options{config: cfg, sim: true, data: filepath.Join(dir, "data"), listen: "127.0.0.1:0"},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	done := make(chan error, 1)
	go func() { done <- r.serve(ctx) }()

	timeout := time.After(30 * time.Second)
	for {
		select {
		case a := <-acks:
			if a.AckedSeq == 0 {
				continue // the heartbeat that learns where to resume
			}
			evs, err := cs.PatientEvents(ctx, p.ID, time.Time{}, time.Now().Add(time.Hour), 100)
			if err != nil || len(evs) == 0 || evs[0].Kind != "boot" {
				t.Errorf("clinic events = %+v, %v; want the daemon's boot event first", evs, err)
			}
			// The pusher records the ack just after the clinic answered.
			var s uplink.Status
			poll := time.NewTicker(10 * time.Millisecond)
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); <-poll.C {
				resp, err := http.Get("http://" + r.listener.Addr().String() + "/api/sync")
				if err != nil {
					t.Fatal(err)
				}
				json.NewDecoder(resp.Body).Decode(&s)
				resp.Body.Close()
				if s.AckedSeq >= 1 {
					break
				}
			}
			poll.Stop()
			if s.Device != dev.ID || s.AckedSeq < 1 {
				t.Errorf("GET /api/sync = %+v, want device %s and a positive ack", s, dev.ID)
			}
			resp, err := http.Get("http://" + r.listener.Addr().String() + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			m := samples(t, body)
			if lag, ok := m["pillbox_dispenser_sync_lag_seconds"]; !ok || lag < 0 || lag > 30 {
				t.Errorf("sync lag = %v (present %v) just after an ack, want a few seconds", lag, ok)
			}
			if n, ok := m["pillbox_dispenser_sync_unacked_events"]; !ok || n < 0 || n != float64(int(n)) {
				t.Errorf("unacked events = %v (present %v) after an ack, want a count", n, ok)
			}
			readingReachesClinic(t, "http://"+r.listener.Addr().String(), acks)
			cancel()
			<-done
			return
		case <-timeout:
			t.Fatal("the clinic acknowledged nothing within 30 s")
		}
	}
}

// readingReachesClinic stores an ordinary reading (no alert, so no event
// commit nudges the sync) and waits for the clinic to acknowledge it: a
// stored reading is pushed at once, not at the next heartbeat minutes
// later.
func readingReachesClinic(t *testing.T, base string, acks <-chan uplink.Ack) {
	t.Helper()
	resp, err := http.Post(base+"/api/sim/reading", "application/json",
		strings.NewReader(`{"quantity": "glucose", "value": 105, "unit": "mg/dL"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/sim/reading = %d, want 200", resp.StatusCode)
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case a := <-acks:
			if a.AckedReadingSeq >= 1 {
				return
			}
		case <-timeout:
			t.Fatal("the clinic did not acknowledge the stored reading within 20 s")
		}
	}
}

// syncConfig is the example config with a sync: section for device at
// url, its token in a file in dir.
func syncConfig(t testing.TB, dir, url, device, token string) string {
	t.Helper()
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return exampleWith(t, "#sync:\n#  url: https://clinic.example.org\n#  device: dv_0123456789abcdef0123\n#  token_file: /etc/pillbox/device-token",
		"sync:\n  url: "+url+"\n  device: "+device+"\n  token_file: "+tokFile+"\n#")
}
