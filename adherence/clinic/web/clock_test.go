package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/uplink"
)

// postBatch sends a raw batch as device tokA would and returns the answer.
func (e *env) postBatch(token, body string) (int, uplink.Ack, string) {
	e.t.Helper()
	w := e.do("POST", uplink.Path, "Bearer "+token, body, "Content-Type", "application/json")
	var a uplink.Ack
	json.Unmarshal(w.Body.Bytes(), &a)
	return w.Code, a, w.Body.String()
}

// rawBatch is a batch of device at log with events given as raw JSON, and
// a heartbeat at hb.
func rawBatch(device, log string, hb time.Time, events ...string) string {
	return fmt.Sprintf(`{"version":1,"device":%q,"log":%q,"heartbeat":{"time":%q,"uptime_s":1,"last_seq":0,"last_reading_seq":0,"software":"test"},"events":[%s],"readings":[]}`,
		device, log, hb.Format(time.RFC3339), strings.Join(events, ","))
}

func rawEvent(seq int, at string, extra string) string {
	return fmt.Sprintf(`{"seq":%d,"id":"ev%d","time":%q,"kind":"button"%s}`, seq, seq, at, extra)
}

// TestIngestClockTimes: a dispenser that booted at the untrusted 1970
// time, or whose clock (or a forger) dates an event in 2199, still syncs:
// each event is stored and flagged, acked_seq reaches the last event, the
// clinic's "now" stays its own, the reports leave the flagged events out,
// the API and the patient page show them as such, and the device's clock
// is flagged.
func TestIngestClockTimes(t *testing.T) {
	e := newEnv(t)
	boot := rawBatch(e.DevA.ID, "log1", time.Unix(360, 0).UTC(),
		rawEvent(1, "1970-01-01T00:05:00Z", `,"clock_untrusted":true`),
		rawEvent(2, "1970-01-01T00:05:30Z", `,"clock_untrusted":true`),
		rawEvent(3, "1970-01-01T00:06:00Z", ``), // an older dispenser: no mark
		rawEvent(4, t0.Add(-time.Minute).Format(time.RFC3339), ``),
		rawEvent(5, "2199-12-31T00:00:00Z", ``))
	code, ack, body := e.postBatch(e.TokA, boot)
	if code != http.StatusOK || ack.AckedSeq != 5 || ack.Stored != 5 {
		t.Fatalf("POST batch from a 1970 boot = %d %s, want 200 with acked_seq 5 and 5 stored", code, body)
	}
	evs, err := e.Clinic.PatientSyncedEvents(e.Ctx, e.PatA.ID, time.Unix(0, 0), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{clinic.ClockUntrusted, clinic.ClockUntrusted, clinic.ClockBefore2000, "", clinic.ClockAhead}
	if len(evs) != len(want) {
		t.Fatalf("stored events = %+v, want %d", evs, len(want))
	}
	for i, ev := range evs {
		if ev.Clock != want[i] || ev.ClockUntrusted != (want[i] == clinic.ClockUntrusted) || !ev.Received.Equal(t0) {
			t.Errorf("event %d: clock %q, untrusted %v, received %v; want %q, received %v", ev.Seq, ev.Clock, ev.ClockUntrusted, ev.Received, want[i], t0)
		}
	}

	// The clinic's now is its own: not 2199, not 1970.
	if now, err := e.Clinic.ReportNow(e.Ctx, e.PatA.ID, t0); err != nil || !now.Equal(t0) {
		t.Errorf("ReportNow = %v, %v; want the clinic's %v", now, err, t0)
	}
	// An event a little ahead (a fast clock within the skew) still ends
	// the period, so that it is in view.
	code, _, body = e.postBatch(e.TokA, rawBatch(e.DevA.ID, "log1", t0, rawEvent(6, t0.Add(2*time.Minute).Format(time.RFC3339), ``)))
	if code != http.StatusOK {
		t.Fatalf("POST = %d %s", code, body)
	}
	if now, _ := e.Clinic.ReportNow(e.Ctx, e.PatA.ID, t0); !now.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("ReportNow with an event 2 minutes ahead = %v, want %v", now, t0.Add(2*time.Minute))
	}
	rep, err := e.Clinic.PatientEvents(e.Ctx, e.PatA.ID, time.Unix(0, 0), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), 100)
	if err != nil || len(rep) != 2 || rep[0].Seq != 4 || rep[1].Seq != 6 {
		t.Errorf("PatientEvents (what reports read) = %+v, %v; want seqs 4 and 6 only", rep, err)
	}

	devs, err := e.Clinic.Devices(e.Ctx, e.PatA.ID)
	if err != nil || len(devs) != 1 {
		t.Fatal(devs, err)
	}
	if d := devs[0]; d.ClockSuspect.IsZero() || !strings.Contains(d.ClockNote, "2199-12-31T00:00:00Z") || d.ClockWrong() {
		t.Errorf("device after a 2199 event = %+v, want its clock suspect with the 2199 date noted, its last heartbeat in time", d)
	}

	// The API shows each event's clock; the page lists them apart.
	w := e.do("GET", "/api/v1/patients/"+e.PatA.ID+"/events?from=1970-01-01T00:00:00Z&to=2199-12-31T23:00:00Z", "Bearer "+e.APIAlice, "")
	var got struct{ Events []clinic.SyncedEvent }
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got.Events) != 6 || got.Events[0].Clock != clinic.ClockUntrusted ||
		!got.Events[0].ClockUntrusted || got.Events[5].Clock != clinic.ClockAhead {
		t.Errorf("GET events = %d %s, want 6 with their clocks", w.Code, w.Body)
	}
	cookie, _ := e.login("alice", testPassword)
	page := e.do("GET", "/patients/"+e.PatA.ID, cookie, "").Body.String()
	for _, s := range []string{"Sync and clock", "logged before the dispenser&#39;s clock was set", "1970-01-01 00:05",
		"dated ahead of the clinic&#39;s clock: suspect", "2199-12-31 00:00", "All times are in UTC", "clock suspect: an event dated 2199-12-31T00:00:00Z"} {
		if !strings.Contains(page, s) {
			t.Errorf("patient page lacks %q", s)
		}
	}
	// A heartbeat from a clock still at 1970 flags the device's clock too.
	if code, _, body := e.postBatch(e.TokA, rawBatch(e.DevA.ID, "log1", time.Unix(400, 0).UTC())); code != http.StatusOK {
		t.Fatalf("POST heartbeat at 1970 = %d %s", code, body)
	}
	devs, _ = e.Clinic.Devices(e.Ctx, e.PatA.ID)
	if d := devs[0]; !d.ClockWrong() || !strings.Contains(d.ClockNote, "its clock read 1970-01-01T00:06:40Z") {
		t.Errorf("device after a 1970 heartbeat = %+v, want its clock off and noted", d)
	}
}

// TestIngestSetsAside: a malformed event is set aside with its reason and
// the rest of the batch is stored; its place counts, so acked_seq moves
// past it and the device does not send it for ever. A resend keeps it
// once.
func TestIngestSetsAside(t *testing.T) {
	e := newEnv(t)
	at := func(seq int) string { return t0.Add(time.Duration(seq-10) * time.Minute).Format(time.RFC3339) }
	batch := rawBatch(e.DevA.ID, "log1", t0,
		rawEvent(1, at(1), ``), rawEvent(2, at(2), ``),
		`{"seq":3,"id":"ev3","time":"`+at(3)+`","kind":"Not A Kind"}`,
		rawEvent(4, at(4), `,"detail":"`+strings.Repeat("x", 3000)+`"`),
		`{"seq":2,"id":"again","time":"`+at(5)+`","kind":"button"}`, // no place: seq goes back
		rawEvent(5, at(5), ``))
	for i, want := range []uplink.Ack{{AckedSeq: 5, Stored: 3}, {AckedSeq: 5, Duplicates: 3}} {
		code, ack, body := e.postBatch(e.TokA, batch)
		if code != http.StatusOK || ack.AckedSeq != want.AckedSeq || ack.Stored != want.Stored || ack.Duplicates != want.Duplicates {
			t.Fatalf("POST %d = %d %s, want 200 with acked_seq %d, stored %d, duplicates %d", i+1, code, body, want.AckedSeq, want.Stored, want.Duplicates)
		}
	}
	items, err := e.Clinic.SetAsideItems(e.Ctx, e.PatA.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	// Newest first; the one without a place comes again with the resend.
	var got []string
	for _, it := range items {
		got = append(got, fmt.Sprintf("%s %d %s: %s", it.What, it.Seq, it.ID, it.Reason))
	}
	wantItems := []string{
		"event 0 again: seq: 2 after 4; sequence numbers must be at least 1 and increase",
		"event 0 again: seq: 2 after 4; sequence numbers must be at least 1 and increase",
		"event 4 ev4: detail: longer than 2000 bytes",
		"event 3 ev3: kind: want lower-case letters, digits and _, starting with a letter",
	}
	if strings.Join(got, "\n") != strings.Join(wantItems, "\n") {
		t.Errorf("set aside:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantItems, "\n"))
	}
	devs, _ := e.Clinic.Devices(e.Ctx, e.PatA.ID)
	if devs[0].SetAside != 4 {
		t.Errorf("device's set-aside count = %d, want 4", devs[0].SetAside)
	}
	// The next event continues from the acknowledgement.
	if code, ack, body := e.postBatch(e.TokA, rawBatch(e.DevA.ID, "log1", t0, rawEvent(6, at(6), ``))); code != http.StatusOK || ack.AckedSeq != 6 {
		t.Errorf("POST seq 6 = %d %s, want acked_seq 6", code, body)
	}
	es, _ := e.Clinic.AuditLog(e.Ctx, clinic.AuditQuery{PatientID: e.PatA.ID, Limit: 1000})
	found := false
	for _, en := range es {
		found = found || en.Action == "sync.ingest" && strings.Contains(en.Target, "set_aside=3")
	}
	if !found {
		t.Errorf("audit log lacks a sync.ingest naming set_aside=3: %+v", es)
	}
}
