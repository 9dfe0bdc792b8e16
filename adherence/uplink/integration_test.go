package uplink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/silent"
	"github.com/pillbox/pillbox/adherence/clinic/sqlite"
	"github.com/pillbox/pillbox/adherence/clinic/web"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// network is the line between the dispenser and the clinic: it serves
// requests with the clinic's handler in memory, or fails them all while
// down, as a dead server or a cut uplink would.
type network struct {
	h    http.Handler
	down atomic.Bool
	sent atomic.Int64 // requests that reached the server
}

var _ http.RoundTripper = (*network)(nil)

func (n *network) RoundTrip(req *http.Request) (*http.Response, error) {
	if n.down.Load() {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errors.New("dial tcp: connection refused")
	}
	n.sent.Add(1)
	w := httptest.NewRecorder()
	n.h.ServeHTTP(w, req)
	return w.Result(), nil
}

// texts records what the clinic texted.
type texts struct {
	mu   sync.Mutex
	sent []string // "to: body"
}

var _ notify.Sender = (*texts)(nil)

func (x *texts) Send(_ context.Context, to, body string) (notify.Sent, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.sent = append(x.sent, to+": "+body)
	return notify.Sent{SID: fmt.Sprintf("SM%d", len(x.sent)), Status: "queued"}, nil
}

func (x *texts) list() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.sent...)
}

// clinicSide is a clinic service in memory with one patient, two
// caregivers and a registered dispenser, and a second patient's device.
type clinicSide struct {
	store          *clinic.Service
	handler        http.Handler
	watcher        *silent.Watcher
	patient, other clinic.Patient
	device, devB   clinic.Device
	token, tokB    string
}

func newClinic(t *testing.T, ctx context.Context, clock schedule.Clock, tx *texts) *clinicSide {
	t.Helper()
	st, err := sqlite.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clinicSide{store: clinic.New(st, clock)}
	cli := clinic.CLI("test")
	if c.patient, err = c.store.CreatePatient(ctx, cli, "Ann"); err != nil {
		t.Fatal(err)
	}
	if c.other, err = c.store.CreatePatient(ctx, cli, "Ben"); err != nil {
		t.Fatal(err)
	}
	for _, cg := range []clinic.Caregiver{{Name: "Carol", Phone: "+15555550101"}, {Name: "Dan", Phone: "+15555550102"}} {
		if err := c.store.AddCaregiver(ctx, cli, c.patient.ID, cg); err != nil {
			t.Fatal(err)
		}
	}
	if c.device, c.token, err = c.store.RegisterDevice(ctx, cli, c.patient.ID, ""); err != nil {
		t.Fatal(err)
	}
	if c.devB, c.tokB, err = c.store.RegisterDevice(ctx, cli, c.other.ID, ""); err != nil {
		t.Fatal(err)
	}
	c.watcher, err = silent.New(silent.Config{Clinic: c.store, Clock: clock, Texter: tx,
		After: 30 * time.Minute, Rand: func() float64 { return 0.5 }})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{Clinic: c.store, Clock: clock, Watcher: c.watcher})
	if err != nil {
		t.Fatal(err)
	}
	c.handler = srv.Handler()
	return c
}

// post sends a raw batch as a device would.
func (c *clinicSide) post(t *testing.T, token string, b uplink.Batch) (int, string) {
	t.Helper()
	var body bytes.Buffer
	if err := json.NewEncoder(&body).Encode(b); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", uplink.Path, &body)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	c.handler.ServeHTTP(w, r)
	out, _ := io.ReadAll(w.Body)
	return w.Code, string(out)
}

// TestSyncThroughOutage runs a dispenser's log and pusher against a clinic
// service: the dispenser keeps logging through a 45-minute server outage
// without waiting on it, the clinic texts each caregiver once when the
// device goes silent and once when it is back, and afterwards the clinic
// holds exactly the device's events, none lost and none twice. Replays
// store nothing and cross-patient writes are refused.
func TestSyncThroughOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		clock := schedule.NewSimClock(t0)
		tx := &texts{}
		c := newClinic(t, ctx, clock, tx)
		dev, err := adherence.OpenMemory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer dev.Close()
		net := &network{h: c.handler}
		p, err := uplink.NewPusher(uplink.Options{BaseURL: "https://clinic.test", Device: c.device.ID, Token: c.token,
			Source: dev, Readings: dev, Clock: clock, Client: &http.Client{Transport: net}, Interval: 5 * time.Minute,
			MinBackoff: 10 * time.Second, MaxBackoff: 2 * time.Minute, Batch: 7, Rand: func() float64 { return 0.5 }})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{}, 2)
		go func() { c.watcher.Run(ctx); done <- struct{}{} }()
		go func() { p.Run(ctx); done <- struct{}{} }()

		n := 0
		logEvents := func(k int) {
			t.Helper()
			for range k {
				n++
				ev := dispenser.Event{Time: clock.Now(), Kind: dispenser.KindButton, Detail: fmt.Sprint(n)}
				if _, err := dev.Append(ctx, ev); err != nil {
					t.Fatalf("Append during sync: %v", err)
				}
				p.Nudge()
			}
		}
		minute := func(k int, perMinute int) {
			for range k {
				logEvents(perMinute)
				clock.Advance(time.Minute)
				synctest.Wait()
			}
		}

		minute(10, 3)
		if got := p.Status().AckedSeq; got != 30 {
			t.Fatalf("acked after 10 minutes online = %d, want 30", got)
		}

		net.down.Store(true)
		minute(29, 3) // 29 minutes without the server: not yet silent
		if got := tx.list(); len(got) != 0 {
			t.Fatalf("texts after 29 minutes of outage = %q, want none", got)
		}
		if _, err := dev.AppendReadings(ctx, vital.Reading{Device: "aa:bb", Quantity: vital.Pulse, Value: 70, Unit: "/min", Time: clock.Now()},
			vital.Reading{Device: "aa:bb", Quantity: vital.SpO2, Value: 97, Unit: "%", Time: clock.Now()}); err != nil {
			t.Fatal(err)
		}
		minute(16, 3) // silent at 30 minutes after the last request; then more outage
		got := tx.list()
		if len(got) != 2 || !strings.Contains(got[0], "+15555550101: Pillbox: Ann's dispenser has not checked in") ||
			!strings.HasPrefix(got[1], "+15555550102: ") {
			t.Fatalf("texts after 45 minutes of outage = %q, want one 'not checked in' text to each caregiver", got)
		}
		if st := p.Status(); st.Failures == 0 || st.AckedSeq != 30 {
			t.Errorf("pusher status during outage = %+v, want failures and acked 30", st)
		}

		net.down.Store(false)
		minute(3, 1) // the next retry (at most 2 minutes away) catches up
		got = tx.list()
		if len(got) != 4 || !strings.Contains(got[2], "Ann's dispenser is back online") || !strings.Contains(got[3], "back online") {
			t.Fatalf("texts after the server came back = %q, want one 'back online' text to each caregiver", got)
		}
		want, err := dev.Since(ctx, 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != n {
			t.Fatalf("device log has %d events, want %d", len(want), n)
		}
		if st := p.Status(); st.AckedSeq != int64(n) || st.Failures != 0 {
			t.Errorf("pusher status after catching up = %+v, want acked %d and no failures", st, n)
		}
		rds, err := c.store.PatientReadings(ctx, c.patient.ID, t0, t0.Add(24*time.Hour), 100)
		if err != nil || len(rds) != 2 || rds[0].Value != 70 || p.Status().AckedReadingSeq != 2 {
			t.Errorf("clinic readings = %+v, %v, acked %d; want the pulse and the SpO2, acked 2", rds, err, p.Status().AckedReadingSeq)
		}
		stored, err := c.store.PatientEvents(ctx, c.patient.ID, t0.Add(-time.Hour), t0.Add(24*time.Hour), 100000)
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != len(want) {
			t.Fatalf("clinic holds %d events, want the device's %d", len(stored), len(want))
		}
		seen := map[string]bool{}
		for i, ev := range stored {
			if seen[ev.ID] {
				t.Errorf("clinic holds event %s twice", ev.ID)
			}
			seen[ev.ID] = true
			if ev != want[i] {
				t.Errorf("clinic event %d = %+v, want %+v", i, ev, want[i])
			}
		}

		// A long quiet stretch: heartbeats keep the device from going
		// silent again, so no text follows.
		minute(120, 0)
		if got := tx.list(); len(got) != 4 {
			t.Errorf("texts after two quiet hours online = %d, want still 4: %q", len(got), got[4:])
		}

		// A replay of a batch already stored stores nothing.
		replay := uplink.Batch{Version: uplink.Version, Device: c.device.ID, Log: dev.DeviceID()}
		for _, ev := range want[:5] {
			replay.Events = append(replay.Events, uplink.FromEvent(ev))
		}
		code, body := c.post(t, c.token, replay)
		if code != http.StatusOK || !strings.Contains(body, `"stored": 0`) || !strings.Contains(body, `"duplicates": 5`) {
			t.Errorf("replayed batch = %d %s, want 200 with stored 0 and duplicates 5", code, body)
		}
		// A replayed seq carrying another event is refused whole.
		forged := replay
		forged.Events = []uplink.Event{replay.Events[0]}
		forged.Events[0].ID = "forged"
		if code, body := c.post(t, c.token, forged); code != http.StatusConflict {
			t.Errorf("batch reusing seq 1 for another event = %d %s, want 409", code, body)
		}
		// Device B's token cannot write as device A, i.e. into Ann's record.
		cross := replay
		cross.Events = []uplink.Event{{Seq: int64(n + 1), ID: "intruder", Time: t0, Kind: "taken"}}
		if code, body := c.post(t, c.tokB, cross); code != http.StatusForbidden {
			t.Errorf("device B writing as device A = %d %s, want 403", code, body)
		}
		after, err := c.store.PatientEvents(ctx, c.patient.ID, t0.Add(-time.Hour), t0.Add(24*time.Hour), 100000)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(want) {
			t.Errorf("clinic holds %d events of Ann after replay, forgery and cross-patient write, want %d", len(after), len(want))
		}

		cancel()
		<-done
		<-done
	})
}
