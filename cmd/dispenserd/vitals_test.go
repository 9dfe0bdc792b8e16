package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pillbox/pillbox/cmd/internal/config"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/ble"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/notify/vitals"
)

const (
	meterAddr = "A4:C1:38:00:00:01"
	cuffAddr  = "A4:C1:38:00:00:02"
)

// vitalsSection is appended to the example config in these tests.
const vitalsSection = `
vitals:
  devices:
    - address: "a4:c1:38:00:00:01"
      kind: glucose
      silent_after: 36h
    - address: "A4:C1:38:00:00:02"
      kind: blood_pressure
`

// lockedBuffer collects the daemon's log for a failing test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// vitalsDaemon is the daemon run in this process, sim mode, with a replay
// transport standing in for BlueZ.
type vitalsDaemon struct {
	t      *testing.T
	r      *running
	replay *ble.Replay
	base   string
}

// startVitalsDaemon starts the daemon at 07:40 in New York on 5 March 2026.
func startVitalsDaemon(t *testing.T) *vitalsDaemon {
	t.Helper()
	example, err := os.ReadFile("../../examples/dispenser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "dispenser.yaml")
	if err := os.WriteFile(cfg, append(example, vitalsSection...), 0o600); err != nil {
		t.Fatal(err)
	}
	replay := ble.NewReplay()
	saved := newTransport
	newTransport = func(*running) ble.Transport { return replay }
	t.Cleanup(func() { newTransport = saved })

	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	r, err := start(ctx, options{config: cfg, sim: true, data: t.TempDir(), listen: "127.0.0.1:0",
		simStart: "2026-03-05T07:40:00-05:00"}, log)
	if err != nil {
		cancel()
		t.Fatalf("start: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- r.serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		r.close()
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs) // String locks
		}
	})
	if _, err := r.ctrl.Status(ctx); err != nil {
		t.Fatalf("controller: %v", err)
	}
	return &vitalsDaemon{t: t, r: r, replay: replay, base: "http://" + r.listener.Addr().String()}
}

// send replays a device's value, as BlueZ would hand it over, and returns
// once it is stored and judged.
func (d *vitalsDaemon) send(dev string, char uint16, hexBytes string) {
	d.t.Helper()
	b, err := ble.ParseHex(hexBytes)
	if err != nil {
		d.t.Fatal(err)
	}
	if err := d.replay.Send(d.t.Context(), ble.Payload{Device: dev, Char: char, Data: b}); err != nil {
		d.t.Fatalf("replay: %v", err)
	}
}

func (d *vitalsDaemon) do(method, path, body string, want int) []byte {
	d.t.Helper()
	req, _ := http.NewRequestWithContext(d.t.Context(), method, d.base+path, strings.NewReader(body))
	if method != "GET" { // every other request is JSON, empty or not, as the API requires
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		d.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, out, want)
	}
	return out
}

// alerts returns the vital alert events after seq, as "priority rule" or
// "cleared rule", and the last seq seen.
func (d *vitalsDaemon) alerts(since int64) ([]string, int64) {
	d.t.Helper()
	evs, err := d.r.store.Since(d.t.Context(), since, 1000)
	if err != nil {
		d.t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		since = ev.Seq
		if ev.Kind != vitals.KindVitalAlert && ev.Kind != vitals.KindVitalAlertCleared {
			continue
		}
		a, err := vitals.ParseAlert(ev)
		if err != nil {
			d.t.Fatalf("alert event %d: %v", ev.Seq, err)
		}
		if a.Cleared {
			out = append(out, "cleared "+a.Rule)
		} else {
			out = append(out, a.Priority.String()+" "+a.Rule)
		}
	}
	return out, since
}

// texts lists the texts in the simulator's outbox, oldest first.
func (d *vitalsDaemon) texts() []struct{ Body, Priority string } {
	d.t.Helper()
	var texts []struct{ Body, Priority string }
	if err := json.Unmarshal(d.do("GET", "/api/sim/sms", "", 200), &texts); err != nil {
		d.t.Fatal(err)
	}
	return texts
}

// waitFor long-polls the log for an event of kind after since.
func (d *vitalsDaemon) waitFor(kind dispenser.Kind, since int64) dispenser.Event {
	d.t.Helper()
	return d.waitUntil(since, string(kind), func(ev dispenser.Event) bool { return ev.Kind == kind })
}

// waitUntil long-polls the log for an event after since that ok accepts.
func (d *vitalsDaemon) waitUntil(since int64, what string, ok func(dispenser.Event) bool) dispenser.Event {
	d.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var evs []dispenser.Event
		json.Unmarshal(d.do("GET", fmt.Sprintf("/api/events?since=%d&wait=5s", since), "", 200), &evs)
		for _, ev := range evs {
			if ok(ev) {
				return ev
			}
			since = ev.Seq
		}
	}
	d.t.Fatalf("no %s event within 30s", what)
	return dispenser.Event{}
}

// TestVitalsFromBytesToAlerts drives the whole path with a replay
// transport: characteristic bytes, decoded, stored, judged, alert events in
// the log, readings in the API.
func TestVitalsFromBytesToAlerts(t *testing.T) {
	d := startVitalsDaemon(t)
	_, seq := d.alerts(0)
	before := seq

	// A glucose of 50 mg/dL the meter took at 07:35: level 2 hypoglycaemia.
	d.send(meterAddr, 0x2A18, "02 01 00 EA 07 03 05 07 23 00 32 B0 11")
	got, seq := d.alerts(seq)
	if strings.Join(got, ";") != "high glucose_low" {
		t.Fatalf("after a 50 mg/dL glucose: alerts %q, want one high glucose_low", got)
	}

	// The notifier turns it into a text to a caregiver. It may already
	// have, before alerts read the log: look from before the reading.
	sms := d.waitFor(notify.KindSMSQueued, before)
	if !strings.Contains(sms.Detail, "priority=high") || !strings.Contains(sms.Detail, "to=caregiver1") {
		t.Errorf("text queued for the hypoglycaemia: %q, want a high priority one to caregiver1", sms.Detail)
	}
	texts := d.texts()
	if len(texts) != 1 || !strings.Contains(texts[0].Body, "Very low blood sugar") || texts[0].Priority != "high" {
		t.Errorf("GET /api/sim/sms = %+v, want one high priority text about very low blood sugar", texts)
	}
	_, seq = d.alerts(sms.Seq)

	// A crisis blood pressure alerts, and is texted, only on the
	// confirming reading.
	d.send(cuffAddr, 0x2A35, "00 BE 00 6E 00 89 00") // 190/110
	if got, _ := d.alerts(seq); len(got) != 0 {
		t.Fatalf("after one crisis reading: alerts %q, want none yet", got)
	}
	if n := len(d.texts()); n != 1 {
		t.Errorf("after one crisis reading: %d texts, want still 1", n)
	}
	d.r.simClock.Advance(3 * time.Minute)
	before = seq
	d.send(cuffAddr, 0x2A35, "00 B9 00 69 00 84 00") // 185/105, 3 minutes later
	got, seq = d.alerts(seq)
	if strings.Join(got, ";") != "high bp_crisis" {
		t.Fatalf("after the confirming crisis reading: alerts %q, want one high bp_crisis", got)
	}
	d.waitUntil(before, "text about the crisis", func(ev dispenser.Event) bool {
		return ev.Kind == notify.KindSMSQueued && strings.Contains(ev.Detail, "bp_crisis")
	})
	if texts := d.texts(); len(texts) != 2 || !strings.Contains(texts[1].Body, "crisis range") || texts[1].Priority != "high" {
		t.Errorf("texts after the confirming reading = %+v, want a second, high priority one about the crisis", texts)
	}
	_, seq = d.alerts(seq)
	d.r.simClock.Advance(3 * time.Minute)
	d.send(cuffAddr, 0x2A35, "00 BC 00 6E 00 89 00") // 188/110: still the same crisis
	if got, _ := d.alerts(seq); len(got) != 0 {
		t.Errorf("a third crisis reading: alerts %q, want none (latched)", got)
	}

	// GET /api/readings lists what was stored, in order, after since.
	var rs []vital.Reading
	if err := json.Unmarshal(d.do("GET", "/api/readings?since=0", "", 200), &rs); err != nil {
		t.Fatal(err)
	}
	var summary []string
	for _, r := range rs {
		summary = append(summary, fmt.Sprintf("%d %s %s %g", r.Seq, r.Device, r.Quantity, r.Value))
	}
	want := []string{
		"1 A4:C1:38:00:00:01 glucose 50",
		"2 A4:C1:38:00:00:02 systolic 190", "3 A4:C1:38:00:00:02 diastolic 110", "4 A4:C1:38:00:00:02 mean_arterial 137",
		"5 A4:C1:38:00:00:02 systolic 185", "6 A4:C1:38:00:00:02 diastolic 105", "7 A4:C1:38:00:00:02 mean_arterial 132",
		"8 A4:C1:38:00:00:02 systolic 188", "9 A4:C1:38:00:00:02 diastolic 110", "10 A4:C1:38:00:00:02 mean_arterial 137",
	}
	if strings.Join(summary, "\n") != strings.Join(want, "\n") {
		t.Errorf("GET /api/readings?since=0 =\n%s\nwant\n%s", strings.Join(summary, "\n"), strings.Join(want, "\n"))
	}
	json.Unmarshal(d.do("GET", "/api/readings?since=8&limit=1", "", 200), &rs)
	if len(rs) != 1 || rs[0].Seq != 9 {
		t.Errorf("GET /api/readings?since=8&limit=1 = %+v, want reading 9 only", rs)
	}
	if !rs[0].Time.Equal(time.Date(2026, 3, 5, 12, 46, 0, 0, time.UTC)) || rs[0].DeviceTime {
		t.Errorf("a cuff reading without a time stamp has time %s (device time %v), want the simulated clock's 12:46Z", rs[0].Time, rs[0].DeviceTime)
	}

	// The meter sends record 1 again (a reconnection): nothing new.
	d.send(meterAddr, 0x2A18, "02 01 00 EA 07 03 05 07 23 00 32 B0 11")
	json.Unmarshal(d.do("GET", "/api/readings?since=10", "", 200), &rs)
	if len(rs) != 0 {
		t.Errorf("after a repeat of record 1: %d new readings, want 0", len(rs))
	}
	if last, ok := (&ble.Decoder{Stored: d.r.store}).LastRecord(meterAddr); !ok || last != 1 {
		t.Errorf("LastRecord(meter) = %d, %v; want 1, true (where the next transfer resumes)", last, ok)
	}
}

// TestVitalsGlucoseContext: a measurement that announces a context waits
// for it, and a disconnection releases it without.
func TestVitalsGlucoseContext(t *testing.T) {
	d := startVitalsDaemon(t)
	d.send(meterAddr, 0x2A18, "12 02 00 EA 07 03 05 07 23 00 5F B0 11") // 95 mg/dL, context follows
	d.send(meterAddr, 0x2A34, "02 02 00 01")                            // before a meal
	d.send(meterAddr, 0x2A18, "12 03 00 EA 07 03 05 07 24 00 60 B0 11") // 96 mg/dL, context follows
	var rs []vital.Reading
	json.Unmarshal(d.do("GET", "/api/readings", "", 200), &rs)
	if len(rs) != 1 || rs[0].Context["meal"] != "preprandial" {
		t.Fatalf("readings = %+v, want record 2 with its meal, record 3 waiting", rs)
	}
	if err := d.replay.Disconnect(t.Context(), meterAddr); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(d.do("GET", "/api/readings", "", 200), &rs)
	if len(rs) != 2 || rs[1].Value != 96 {
		t.Errorf("after the meter disconnected: readings %+v, want record 3 stored without a context", rs)
	}
}

// simReadingResult is the answer of POST /api/sim/reading, as the tests
// read it.
type simReadingResult struct {
	Stored   []vital.Reading   `json:"stored"`
	Alerts   []dispenser.Event `json:"alerts"`
	Pending  bool              `json:"pending"`
	ClockSet bool              `json:"clock_set"`
}

// TestSimReadingEndpoint injects readings through POST /api/sim/reading,
// raw and decoded, into the same path.
func TestSimReadingEndpoint(t *testing.T) {
	d := startVitalsDaemon(t)
	var res simReadingResult
	json.Unmarshal(d.do("POST", "/api/sim/reading", `{"char":"2A18","hex":"02 01 00 EA 07 03 05 07 23 00 32 B0 11","device":"A4:C1:38:00:00:01"}`, 200), &res)
	if len(res.Stored) != 1 || len(res.Alerts) != 1 || !strings.Contains(res.Alerts[0].Detail, "key=glucose_low:") {
		t.Errorf("raw hypoglycaemic value: %+v, want one reading and one glucose_low alert", res)
	}
	json.Unmarshal(d.do("POST", "/api/sim/reading", `{"quantity":"glucose","value":110,"unit":"mg/dL"}`, 200), &res)
	if len(res.Stored) != 1 || res.Stored[0].Device != "sim" || len(res.Alerts) != 1 || res.Alerts[0].Kind != vitals.KindVitalAlertCleared {
		t.Errorf("decoded 110 mg/dL: %+v, want it stored from sim and the alert cleared", res)
	}
	json.Unmarshal(d.do("POST", "/api/sim/reading", `{"readings":[{"quantity":"spo2","value":90,"unit":"%"},{"quantity":"pulse","value":72,"unit":"bpm"}]}`, 200), &res)
	if len(res.Stored) != 2 || len(res.Alerts) != 1 || !strings.Contains(res.Alerts[0].Detail, "priority=medium key=news2:") {
		t.Errorf("SpO2 90%%: %+v, want two readings and a medium news2 alert", res)
	}
	json.Unmarshal(d.do("POST", "/api/sim/reading", `{"char":"2A18","hex":"12 09 00 EA 07 03 05 07 23 00 32 B0 11"}`, 200), &res)
	if !res.Pending || len(res.Stored) != 0 {
		t.Errorf("a glucose value that announces a context: %+v, want it pending", res)
	}
	for _, bad := range []struct{ body, want string }{
		{`{"char":"2A35","hex":"00 01"}`, "2A35"},
		{`{"quantity":"mood","value":1}`, "unknown quantity"},
		{`{"char":"2A35"`, "not a reading"},
	} {
		out := d.do("POST", "/api/sim/reading", bad.body, 400)
		if !strings.Contains(string(out), bad.want) {
			t.Errorf("POST %s = %s, want an error containing %q", bad.body, out, bad.want)
		}
	}
	d.do("GET", "/api/readings?since=-1", "", 400)
	d.do("GET", "/api/readings?limit=0", "", 400)
}

// TestExampleVitalsSection keeps the example's commented vitals section
// valid: uncommented, it must pass the checker.
func TestExampleVitalsSection(t *testing.T) {
	b, err := os.ReadFile("../../examples/dispenser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	in := false
	for i, l := range lines {
		if l == "#vitals:" {
			in = true
		}
		if in {
			lines[i] = strings.TrimPrefix(l, "#")
		}
	}
	if !in {
		t.Fatal("examples/dispenser.yaml has no #vitals: section")
	}
	f, probs := config.Parse([]byte(strings.Join(lines, "\n")))
	if len(probs) > 0 {
		t.Fatalf("the example's vitals section, uncommented, has problems:\n%v", probs)
	}
	if f.Vitals == nil || len(f.Vitals.Devices) != 3 {
		t.Errorf("uncommented vitals section = %+v, want 3 devices", f.Vitals)
	}
}

// TestVitalsCrossRuleInDaemon: the dose loop misses the ACE inhibitor two
// days running while the cuff's systolic readings climb; the missed dose,
// reaching the rules through the event log, raises one medium alert.
func TestVitalsCrossRuleInDaemon(t *testing.T) {
	d := startVitalsDaemon(t) // 07:40 on 5 March, New York
	advance := func(dur string) { d.do("POST", "/api/sim/clock", `{"advance":"`+dur+`"}`, 200) }
	missedLisinopril := func(since int64) dispenser.Event {
		return d.waitUntil(since, "missed lisinopril", func(ev dispenser.Event) bool {
			return ev.Kind == dispenser.KindMissed && ev.Medication == "lisinopril"
		})
	}
	d.send(cuffAddr, 0x2A35, "00 82 00 55 00 67 00") // 130/85
	advance("5h")                                    // 12:40: the 09:00 dose's window closed at 12:00
	first := missedLisinopril(0)
	advance("20h")                                   // 08:40 on 6 March
	d.send(cuffAddr, 0x2A35, "00 88 00 55 00 6B 00") // 136/85
	advance("1h30m")
	d.send(cuffAddr, 0x2A35, "00 8E 00 55 00 6F 00") // 142/85
	if got, _ := d.alerts(first.Seq); len(got) != 0 {
		t.Fatalf("systolic rising with one dose missed: alerts %q, want none", got)
	}
	advance("3h") // 13:10: the second dose missed
	missedLisinopril(first.Seq)
	ev := d.waitFor(vitals.KindVitalAlert, first.Seq)
	if a, err := vitals.ParseAlert(ev); err != nil || a.Rule != vitals.RuleBPMissedTrend || a.Priority != vitals.Medium {
		t.Errorf("alert after the second missed dose = %+v, %v; want a medium bp_missed_trend", a, err)
	}
}
