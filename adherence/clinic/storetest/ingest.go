package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
)

func testIngest(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	recv := at(time.Hour)
	e1 := ev(1, at(-2*time.Hour), "missed", "metformin@1")
	e1.Scheduled, e1.Medication, e1.Compartment, e1.Detail = at(-3*time.Hour), "metformin", 2, "reconciled"
	e2 := ev(2, time.Unix(300, 0).UTC(), "button", "")
	e2.Clock = clinic.ClockUntrusted
	e3 := ev(3, at(99*365*24*time.Hour), "button", "")
	e3.Clock = clinic.ClockAhead
	b1 := batch(w.d.ID, "log1", recv, e1, e2, e3)
	b1.Readings = readings()
	b1.SetAside = []clinic.SetAsideItem{{What: "event", Seq: 4, ID: "ev4", Reason: "compartment: must be between 0 and 1000", Raw: []byte(`{"seq":4}`)},
		{What: "profile", Reason: "profile: unknown zone", Raw: []byte(`{"timezone":"Mars"}`)}}
	offset := -90 * time.Second
	before := len(log(t, s))
	st := ingest(t, s, b1, &clinic.SyncUpdate{Heartbeat: json.RawMessage(`{"software":"v1"}`), Software: "v1", ClockOffset: &offset,
		ClockNote: "an event dated 2125", Audit: []clinic.Entry{entry("sync.ingest", w.p.ID, "log=log1")}})
	want := clinic.SyncState{PatientID: w.p.ID, FirstName: "Pat", Stored: 3, Flagged: 2, ReadingsStored: 2, AckedSeq: 4, AckedReadingSeq: 2}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("first batch: decide got %+v, want %+v (never seen, not silent, no heartbeat; acked through the set-aside seq 4)", st, want)
	}
	d := w.device(t, w.d.ID)
	if !same(d.LastSeen, recv) || !d.SilentSince.IsZero() || string(d.Heartbeat) != `{"software":"v1"}` || d.Software != "v1" ||
		d.ClockOffset != -90 || !same(d.ClockSuspect, recv) || d.ClockNote != "an event dated 2125" || d.SetAside != 2 {
		t.Errorf("device after the batch = %+v, want seen at %v with the update written and 2 items set aside", d, recv)
	}
	if got := actions(t, s)[before:]; !slices.Equal(got, []string{"sync.ingest pt_p log=log1"}) {
		t.Errorf("audit = %q, want decide's entry", got)
	}
	evs, err := s.SyncedEvents(ctx, clinic.EventQuery{PatientID: w.p.ID, From: time.Unix(0, 0), To: at(100 * 365 * 24 * time.Hour), Limit: 10})
	must(t, err)
	if len(evs) != 3 {
		t.Fatalf("SyncedEvents = %+v, want 3", evs)
	}
	got := evs[1] // by time: e2 (1970), e1, e3
	if got.ID != "ev1" || got.Seq != 1 || got.Kind != "missed" || got.DoseID != "metformin@1" || !same(got.Time, e1.Time) ||
		!same(got.Scheduled, e1.Scheduled) || got.Medication != "metformin" || got.Compartment != 2 || got.Detail != "reconciled" ||
		got.Clock != "" || got.ClockUntrusted || !same(got.Received, recv) || got.Device != w.d.ID {
		t.Errorf("stored event = %+v, want %+v received %v from %s", got, e1, recv, w.d.ID)
	}
	if evs[0].ID != "ev2" || evs[0].Clock != clinic.ClockUntrusted || !evs[0].ClockUntrusted || evs[2].Clock != clinic.ClockAhead || evs[2].ClockUntrusted {
		t.Errorf("stored clocks = %q (untrusted %v), %q (untrusted %v); want untrusted (marked) and ahead", evs[0].Clock, evs[0].ClockUntrusted,
			evs[2].Clock, evs[2].ClockUntrusted)
	}
	rs, err := s.PatientReadings(ctx, w.p.ID, at(-24*time.Hour), at(24*time.Hour), 10)
	must(t, err)
	wantRs := readings()
	for i := range wantRs {
		if i < len(rs) {
			if !same(rs[i].Time, wantRs[i].Time) {
				t.Errorf("reading %d time = %v, want %v", i, rs[i].Time, wantRs[i].Time)
			}
			rs[i].Time = wantRs[i].Time
		}
	}
	if !reflect.DeepEqual(rs, wantRs) {
		t.Errorf("PatientReadings = %+v, want %+v", rs, wantRs)
	}
	if rs[1].HasValue() {
		t.Error("the absent reading has a value")
	}
	items, err := s.SetAsideItems(ctx, w.p.ID, 10)
	must(t, err)
	if len(items) != 2 || items[0].What != "profile" || items[1].What != "event" || items[1].Seq != 4 || items[1].ID != "ev4" ||
		string(items[1].Raw) != `{"seq":4}` || items[1].Device != w.d.ID || !same(items[1].Received, recv) || items[1].Reason == "" {
		t.Errorf("SetAsideItems = %+v, want the profile (newest first) then event 4 as kept", items)
	}

	// A nil offset and an empty note keep what is stored; the heartbeat and
	// last seen follow every batch.
	st = ingest(t, s, batch(w.d.ID, "log1", at(2*time.Hour)), &clinic.SyncUpdate{Heartbeat: json.RawMessage(`{"software":"v2"}`), Software: "v2"})
	if !same(st.LastSeen, recv) || string(st.Heartbeat) != `{"software":"v1"}` || st.AckedSeq != 4 || st.Stored != 0 {
		t.Errorf("second batch: decide got %+v, want last seen %v and the stored heartbeat", st, recv)
	}
	d = w.device(t, w.d.ID)
	if !same(d.LastSeen, at(2*time.Hour)) || d.Software != "v2" || d.ClockOffset != -90 || !same(d.ClockSuspect, recv) || d.ClockNote != "an event dated 2125" {
		t.Errorf("device after a batch without clock news = %+v, want the offset and suspicion kept", d)
	}
	// A silent device is back: decide sees since when; texts go to each
	// caregiver in the order they were added.
	n, err := s.MarkSilent(ctx, at(2*time.Hour), at(3*time.Hour), silentText)
	if err != nil || n != 1 {
		t.Fatalf("MarkSilent = %d, %v; want 1", n, err)
	}
	back := clinic.CaregiverText{Reason: clinic.ReasonBack, Body: "Pat is back", At: at(4 * time.Hour)}
	st = ingest(t, s, batch(w.d.ID, "log1", at(4*time.Hour)), &clinic.SyncUpdate{Heartbeat: json.RawMessage(`{}`), Texts: []clinic.CaregiverText{back}})
	if !same(st.SilentSince, at(3*time.Hour)) {
		t.Errorf("decide got silent since %v, want %v", st.SilentSince, at(3*time.Hour))
	}
	if d := w.device(t, w.d.ID); !d.SilentSince.IsZero() {
		t.Errorf("device silent since %v after a batch, want not silent", d.SilentSince)
	}
	texts, err := s.Texts(ctx)
	must(t, err)
	var got2 []string
	for _, tx := range texts {
		got2 = append(got2, fmt.Sprintf("%s %s %s %s %s", tx.Reason, tx.To, tx.PatientID, tx.DeviceID, tx.Body))
	}
	wantTexts := []string{"silent +15555550101 pt_p dv_d Pat silent since 2026-03-02T11:00:00Z", "silent +15555550102 pt_p dv_d Pat silent since 2026-03-02T11:00:00Z",
		"back +15555550101 pt_p dv_d Pat is back", "back +15555550102 pt_p dv_d Pat is back"}
	if !slices.Equal(got2, wantTexts) {
		t.Errorf("Texts = %q, want %q", got2, wantTexts)
	}
	if tx := texts[3]; !same(tx.Created, back.At) || tx.Attempts != 0 || !tx.Sent.IsZero() || !tx.Failed.IsZero() {
		t.Errorf("queued text = %+v, want created at %v, not tried", tx, back.At)
	}
}

func testIngestAcks(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	evs := func(log string, from, n int64) []clinic.SyncedEvent {
		var out []clinic.SyncedEvent
		for seq := from; seq < from+n; seq++ {
			e := ev(seq, at(time.Duration(seq)*time.Minute), "button", "")
			e.ID = fmt.Sprintf("%s-%d", log, seq)
			out = append(out, e)
		}
		return out
	}
	tests := []struct {
		name                string
		log                 string
		from, n             int64
		wantAck, wantStored int64
	}{
		{"first batch", "log1", 1, 3, 3, 3},
		{"a gap: stored, not acknowledged", "log1", 6, 2, 3, 2},
		{"the gap filled", "log1", 4, 2, 7, 2},
		{"resent", "log1", 1, 7, 7, 0},
		{"heartbeat only", "log1", 1, 0, 7, 0},
		{"another log of the device starts at 0", "log2", 1, 2, 2, 2},
		{"out of order within the batch", "log3", 2, 1, 0, 1},
		{"then its first", "log3", 1, 1, 2, 1},
	}
	for _, tc := range tests {
		st := ingest(t, s, batch(w.d.ID, tc.log, t0, evs(tc.log, tc.from, tc.n)...), nil)
		if st.AckedSeq != tc.wantAck || int64(st.Stored) != tc.wantStored || int64(st.Duplicates) != tc.n-tc.wantStored {
			t.Errorf("%s: acked %d, stored %d, duplicates %d; want %d, %d, %d", tc.name, st.AckedSeq, st.Stored, st.Duplicates,
				tc.wantAck, tc.wantStored, tc.n-tc.wantStored)
		}
	}
	if n, err := s.EventCount(ctx, w.p.ID); err != nil || n != 11 {
		t.Errorf("EventCount = %d, %v; want 11", n, err)
	}
	// Readings are acknowledged apart, set-aside readings counting.
	rb := batch(w.d.ID, "log1", t0)
	rb.Readings = readings()[1:] // seq 2
	rb.SetAside = []clinic.SetAsideItem{{What: "reading", Seq: 1, Reason: "value: not a number", Raw: []byte(`{}`)}}
	if st := ingest(t, s, rb, nil); st.AckedReadingSeq != 2 || st.ReadingsStored != 1 || st.AckedSeq != 7 {
		t.Errorf("readings batch: %+v, want readings acked 2 (seq 1 set aside), 1 stored, events still acked 7", st)
	}
	// A set-aside item sent again with its place is kept once.
	if st := ingest(t, s, rb, nil); st.ReadingDuplicates != 1 || st.ReadingsStored != 0 {
		t.Errorf("the same readings again: %+v, want a duplicate", st)
	}
	if items, _ := s.SetAsideItems(ctx, w.p.ID, 10); len(items) != 1 {
		t.Errorf("set-aside items after a resend = %d, want 1", len(items))
	}
	// The same event id in another device's log is another event.
	dq := clinic.Device{ID: "dv_q", PatientID: w.q.ID, Created: t0}
	must(t, s.RegisterDevice(ctx, dq, clinic.TokenInfo{ID: "tk_q", Kind: clinic.KindDevice, DeviceID: dq.ID, Created: t0, Expires: at(time.Hour)},
		clinic.HashSecret("pbd_q"), entry("device.register", w.q.ID, dq.ID)))
	if st := ingest(t, s, batch(dq.ID, "log1", t0, evs("log1", 1, 3)...), nil); st.Stored != 3 || st.PatientID != w.q.ID {
		t.Errorf("device Q's batch with the same ids: %+v, want 3 stored for Q", st)
	}
}

func testIngestRefused(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	ingest(t, s, batch(w.d.ID, "log1", t0, ev(1, t0, "button", ""), ev(2, t0, "button", "")), nil)
	count := func() int {
		n, err := s.EventCount(ctx, w.p.ID)
		must(t, err)
		return n
	}
	before, audits := count(), len(log(t, s))
	called := false
	decide := func(clinic.SyncState) (clinic.SyncUpdate, error) {
		called = true
		return clinic.SyncUpdate{Heartbeat: json.RawMessage(`{}`)}, nil
	}
	clash := ev(2, t0, "button", "")
	clash.ID = "another"
	errDecide := errors.New("decide refuses")
	tests := []struct {
		name       string
		b          clinic.SyncBatch
		decide     func(clinic.SyncState) (clinic.SyncUpdate, error)
		want       error
		wantCalled bool
	}{
		{"unknown device", batch("dv_none", "log1", t0, ev(3, t0, "button", "")), decide, clinic.ErrUnauthenticated, false},
		{"a seq that holds another event", batch(w.d.ID, "log1", t0, ev(3, t0, "button", ""), clash), decide, clinic.ErrConflict, false},
		{"decide fails", batch(w.d.ID, "log1", t0, ev(3, t0, "button", "")), func(clinic.SyncState) (clinic.SyncUpdate, error) {
			called = true
			return clinic.SyncUpdate{}, errDecide
		}, errDecide, true},
	}
	for _, tc := range tests {
		called = false
		if err := s.Ingest(ctx, tc.b, tc.decide); !errors.Is(err, tc.want) {
			t.Errorf("%s: Ingest = %v, want %v", tc.name, err, tc.want)
		}
		if called != tc.wantCalled {
			t.Errorf("%s: decide called %v, want %v", tc.name, called, tc.wantCalled)
		}
	}
	must(t, s.SetDeviceDisabled(ctx, w.d.ID, true, entry("device.disable", "", w.d.ID)))
	audits++
	called = false
	if err := s.Ingest(ctx, batch(w.d.ID, "log1", t0, ev(3, t0, "button", "")), decide); !errors.Is(err, clinic.ErrUnauthenticated) || called {
		t.Errorf("disabled device: Ingest = %v (decide called %v), want ErrUnauthenticated before decide", err, called)
	}
	if n := count(); n != before {
		t.Errorf("events after refused batches = %d, want %d: a refused batch stores nothing", n, before)
	}
	if n := len(log(t, s)); n != audits {
		t.Errorf("audit entries after refused batches = %d, want %d", n, audits)
	}
	if d := w.device(t, w.d.ID); !same(d.LastSeen, t0) {
		t.Errorf("last seen after refused batches = %v, want %v", d.LastSeen, t0)
	}
}

// testIngestConcurrentRetries: a device that retries a batch while the
// first try is still in flight, to the same process or another, gets each
// event stored once; every answer counts the whole batch.
func testIngestConcurrentRetries(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	s2 := again(t, b, s)
	const n, tries = 50, 8
	var evs []clinic.SyncedEvent
	for seq := int64(1); seq <= n; seq++ {
		evs = append(evs, ev(seq, at(time.Duration(seq)*time.Second), "button", ""))
	}
	bt := batch(w.d.ID, "log1", t0, evs...)
	bt.Readings = readings()
	type result struct {
		st  clinic.SyncState
		err error
	}
	results := make(chan result, tries)
	var start sync.WaitGroup
	start.Add(1)
	for i := range tries {
		st := []clinic.Store{s, s2}[i%2]
		go func() {
			start.Wait()
			got, err := ingestErr(st, bt, nil)
			results <- result{got, err}
		}()
	}
	start.Done()
	stored, readingsStored := 0, 0
	for range tries {
		r := <-results
		if r.err != nil {
			t.Errorf("a concurrent retry failed: %v", r.err)
			continue
		}
		if r.st.Stored+r.st.Duplicates != n || r.st.ReadingsStored+r.st.ReadingDuplicates != 2 || r.st.AckedSeq != n {
			t.Errorf("a retry's count = %+v, want %d events and 2 readings in all, acked %d", r.st, n, n)
		}
		stored += r.st.Stored
		readingsStored += r.st.ReadingsStored
	}
	if stored != n || readingsStored != 2 {
		t.Errorf("stored over %d concurrent tries = %d events, %d readings; want %d and 2 (each once)", tries, stored, readingsStored, n)
	}
	if c, err := s2.EventCount(w.ctx, w.p.ID); err != nil || c != n {
		t.Errorf("EventCount = %d, %v; want %d", c, err, n)
	}
	if rs, _ := s.PatientReadings(w.ctx, w.p.ID, at(-24*time.Hour), at(24*time.Hour), 10); len(rs) != 2 {
		t.Errorf("readings = %d, want 2", len(rs))
	}
}

// testIngestConcurrentDevice: two batches of one silent device at once,
// on two stores: exactly one of them finds it silent (and texts that it
// is back).
func testIngestConcurrentDevice(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	s2 := again(t, b, s)
	ingest(t, s, batch(w.d.ID, "log1", t0), nil)
	if n, err := s.MarkSilent(w.ctx, at(time.Hour), at(time.Hour), silentText); err != nil || n != 1 {
		t.Fatalf("MarkSilent = %d, %v", n, err)
	}
	var mu sync.Mutex
	sawSilent := 0
	var wg sync.WaitGroup
	for i, st := range []clinic.Store{s, s2, s, s2} {
		wg.Go(func() {
			err := st.Ingest(w.ctx, batch(w.d.ID, "log1", at(2*time.Hour+time.Duration(i)*time.Second)), func(got clinic.SyncState) (clinic.SyncUpdate, error) {
				u := clinic.SyncUpdate{Heartbeat: json.RawMessage(`{}`)}
				if !got.SilentSince.IsZero() {
					u.Texts = []clinic.CaregiverText{{Reason: clinic.ReasonBack, Body: "back", At: at(2 * time.Hour)}}
					mu.Lock()
					sawSilent++ // counted per call; a retried call counts again, but only its last try commits
					mu.Unlock()
				}
				return u, nil
			})
			if err != nil {
				t.Errorf("Ingest = %v", err)
			}
		})
	}
	wg.Wait()
	texts, err := s.Texts(w.ctx)
	must(t, err)
	back := 0
	for _, tx := range texts {
		if tx.Reason == clinic.ReasonBack {
			back++
		}
	}
	if back != 2 {
		t.Errorf("back texts after 4 concurrent batches of a silent device = %d, want 2 (one per caregiver, once)", back)
	}
	if sawSilent < 1 {
		t.Error("no batch saw the device silent")
	}
}

func testSyncedReads(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	flagged := ev(3, at(30*time.Minute), "button", "")
	flagged.Clock = clinic.ClockBefore2000
	ingest(t, s, batch(w.d.ID, "log1", at(time.Hour), ev(1, at(10*time.Minute), "button", ""), ev(2, at(20*time.Minute), "button", ""), flagged), nil)
	late := ev(4, at(40*time.Minute+time.Millisecond), "button", "")
	late.Clock = clinic.ClockAhead
	ingest(t, s, batch(w.d.ID, "log1", at(2*time.Hour), late), nil)
	ids := func(evs []clinic.SyncedEvent) []string {
		var out []string
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}
	for _, tc := range []struct {
		q    clinic.EventQuery
		want []string
	}{
		{clinic.EventQuery{PatientID: w.p.ID, From: t0, To: at(time.Hour), Limit: 10}, []string{"ev1", "ev2", "ev3", "ev4"}},
		{clinic.EventQuery{PatientID: w.p.ID, From: t0, To: at(time.Hour), Limit: 10, Reliable: true}, []string{"ev1", "ev2"}},
		{clinic.EventQuery{PatientID: w.p.ID, From: at(10 * time.Minute), To: at(20 * time.Minute), Limit: 10}, []string{"ev1"}},
		{clinic.EventQuery{PatientID: w.p.ID, From: t0, To: at(40*time.Minute + time.Millisecond), Limit: 10}, []string{"ev1", "ev2", "ev3"}},
		{clinic.EventQuery{PatientID: w.p.ID, From: t0, To: at(time.Hour), Limit: 2}, []string{"ev1", "ev2"}},
		{clinic.EventQuery{PatientID: w.q.ID, From: t0, To: at(time.Hour), Limit: 10}, nil},
	} {
		evs, err := s.SyncedEvents(ctx, tc.q)
		must(t, err)
		if got := ids(evs); !slices.Equal(got, tc.want) {
			t.Errorf("SyncedEvents(%v to %v, limit %d, reliable %v) = %v, want %v", tc.q.From.Sub(t0), tc.q.To.Sub(t0), tc.q.Limit, tc.q.Reliable, got, tc.want)
		}
	}
	evs, err := s.ClockFlagged(ctx, w.p.ID, 10)
	must(t, err)
	if got := ids(evs); !slices.Equal(got, []string{"ev4", "ev3"}) {
		t.Errorf("ClockFlagged = %v, want ev4, ev3 (newest arrival first)", got)
	}
	if evs, _ := s.ClockFlagged(ctx, w.p.ID, 1); len(evs) != 1 {
		t.Errorf("ClockFlagged(limit 1) = %d, want 1", len(evs))
	}
	for _, tc := range []struct {
		notAfter time.Time
		want     time.Time
	}{
		{at(time.Hour), at(20 * time.Minute)}, // flagged events never count
		{at(15 * time.Minute), at(10 * time.Minute)},
		{at(5 * time.Minute), time.Time{}},
	} {
		if got, err := s.LatestEventTime(ctx, w.p.ID, tc.notAfter); err != nil || !same(got, tc.want) {
			t.Errorf("LatestEventTime(%v) = %v, %v; want %v", tc.notAfter.Sub(t0), got, err, tc.want)
		}
	}
	if n, _ := s.EventCount(ctx, w.q.ID); n != 0 {
		t.Errorf("EventCount(Q) = %d, want 0", n)
	}
	// Readings: [from, to), by time, limited.
	rb := batch(w.d.ID, "log1", at(3*time.Hour))
	rb.Readings = readings()
	ingest(t, s, rb, nil)
	if rs, _ := s.PatientReadings(ctx, w.p.ID, at(-time.Hour), at(-30*time.Minute), 10); len(rs) != 1 || rs[0].ID != "r1" {
		t.Errorf("PatientReadings([-1h, -30m)) = %+v, want r1 only", rs)
	}
	if rs, _ := s.PatientReadings(ctx, w.p.ID, at(-24*time.Hour), t0, 1); len(rs) != 1 || rs[0].ID != "r1" {
		t.Errorf("PatientReadings(limit 1) = %+v, want r1", rs)
	}
}

func testFalseMisses(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	ingest(t, s, batch(w.d.ID, "log1", t0, ev(1, t0, "missed", "d1"), ev(2, t0, "not_taken", "d2"), ev(3, t0, "taken", "d3")), nil)
	for _, dose := range []string{"d3", "d9"} {
		if err := s.MarkFalseMiss(ctx, w.p.ID, dose, falseMiss, entry("dose.false_miss", w.p.ID, "")); !errors.Is(err, clinic.ErrNoMiss) {
			t.Errorf("MarkFalseMiss(%s, not a recorded miss) = %v, want ErrNoMiss", dose, err)
		}
	}
	if err := s.MarkFalseMiss(ctx, w.q.ID, "d1", falseMiss, entry("dose.false_miss", w.q.ID, "")); !errors.Is(err, clinic.ErrNoMiss) {
		t.Errorf("MarkFalseMiss(another patient's dose) = %v, want ErrNoMiss", err)
	}
	must(t, s.MarkFalseMiss(ctx, w.p.ID, "d1", falseMiss, entry("dose.false_miss", w.p.ID, "")))
	must(t, s.MarkFalseMiss(ctx, w.p.ID, "d2", falseMiss, entry("dose.false_miss", w.p.ID, "")))
	again := falseMiss
	again.Reason, again.Source, again.At = "the caregiver saw it", "caregiver", at(time.Hour)
	must(t, s.MarkFalseMiss(ctx, w.p.ID, "d1", again, entry("dose.false_miss", w.p.ID, "")))
	fms, err := s.FalseMisses(ctx, w.p.ID)
	must(t, err)
	if len(fms) != 2 || fms["d1"].Reason != again.Reason || fms["d1"].Source != "caregiver" || fms["d1"].By != again.By ||
		!same(fms["d1"].At, again.At) || fms["d2"].Reason != falseMiss.Reason {
		t.Errorf("FalseMisses = %+v, want d1 replaced and d2", fms)
	}
	must(t, s.UnmarkFalseMiss(ctx, w.p.ID, "d2", entry("dose.false_miss_removed", w.p.ID, "")))
	if err := s.UnmarkFalseMiss(ctx, w.p.ID, "d2", entry("dose.false_miss_removed", w.p.ID, "")); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("UnmarkFalseMiss(no mark) = %v, want ErrNotFound", err)
	}
	if fms, _ := s.FalseMisses(ctx, w.p.ID); len(fms) != 1 {
		t.Errorf("FalseMisses after unmarking = %+v, want d1 only", fms)
	}
	if fms, _ := s.FalseMisses(ctx, w.q.ID); len(fms) != 0 {
		t.Errorf("FalseMisses(Q) = %+v, want none", fms)
	}
}

func testSilence(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	if seen, next, err := s.SilenceWatch(ctx); err != nil || !seen.IsZero() || !next.IsZero() {
		t.Errorf("SilenceWatch with no device heard = %v, %v, %v; want zeros", seen, next, err)
	}
	silence := func(when string, want clinic.DeviceSilence) {
		t.Helper()
		got, err := s.DeviceSilence(ctx)
		if err != nil || got.Silent != want.Silent || !same(got.OldestSeen, want.OldestSeen) || got.TextsQueued != want.TextsQueued {
			t.Errorf("DeviceSilence %s = %+v, %v; want %+v", when, got, err, want)
		}
	}
	silence("with no device heard", clinic.DeviceSilence{})
	// D heard at t0; E (Q's) at +20m; F disabled; G never heard.
	dev := func(id, patient string) {
		must(t, s.RegisterDevice(ctx, clinic.Device{ID: id, PatientID: patient, Created: t0},
			clinic.TokenInfo{ID: "tk_" + id, Kind: clinic.KindDevice, DeviceID: id, Created: t0, Expires: at(time.Hour)},
			clinic.HashSecret("pbd_"+id), entry("device.register", patient, id)))
	}
	dev("dv_e", w.q.ID)
	dev("dv_f", w.p.ID)
	dev("dv_g", w.p.ID)
	ingest(t, s, batch(w.d.ID, "l", t0), nil)
	ingest(t, s, batch("dv_e", "l", at(20*time.Minute)), nil)
	ingest(t, s, batch("dv_f", "l", at(-time.Hour)), nil)
	must(t, s.SetDeviceDisabled(ctx, "dv_f", true, entry("device.disable", "", "dv_f")))
	if seen, _, _ := s.SilenceWatch(ctx); !same(seen, t0) {
		t.Errorf("SilenceWatch oldest seen = %v, want D's %v (the disabled device left out)", seen, t0)
	}
	silence("before any is silent", clinic.DeviceSilence{OldestSeen: t0}) // F, seen earlier, is disabled
	var composed []clinic.SilentDevice
	compose := func(d clinic.SilentDevice) (clinic.CaregiverText, clinic.Entry) {
		composed = append(composed, d)
		return silentText(d)
	}
	before := len(log(t, s))
	n, err := s.MarkSilent(ctx, at(10*time.Minute), at(40*time.Minute), compose)
	if err != nil || n != 1 || len(composed) != 1 {
		t.Fatalf("MarkSilent(cutoff +10m) = %d, %v, composed %+v; want D alone", n, err, composed)
	}
	if c := composed[0]; c.ID != w.d.ID || c.PatientID != w.p.ID || c.FirstName != "Pat" || !same(c.LastSeen, t0) {
		t.Errorf("compose got %+v, want D of Pat, last seen %v", c, t0)
	}
	if d := w.device(t, w.d.ID); !same(d.SilentSince, at(40*time.Minute)) {
		t.Errorf("D silent since %v, want %v", d.SilentSince, at(40*time.Minute))
	}
	if got := actions(t, s)[before:]; !slices.Equal(got, []string{"device.silent pt_p dv_d"}) {
		t.Errorf("audit = %q, want compose's entry", got)
	}
	if texts, _ := s.Texts(ctx); len(texts) != 2 || texts[0].Reason != clinic.ReasonSilent || texts[0].To != "+15555550101" || texts[1].To != "+15555550102" {
		t.Errorf("Texts = %+v, want one silent text per caregiver of P", texts)
	}
	silence("with D silent", clinic.DeviceSilence{Silent: 1, OldestSeen: t0, TextsQueued: 2})
	// Again: nothing more (D is silent, E within its time).
	composed = nil
	if n, err := s.MarkSilent(ctx, at(10*time.Minute), at(45*time.Minute), compose); err != nil || n != 0 || len(composed) != 0 {
		t.Errorf("MarkSilent again = %d, %v, composed %d; want nothing", n, err, len(composed))
	}
	seen, next, err := s.SilenceWatch(ctx)
	if err != nil || !same(seen, at(20*time.Minute)) || !same(next, t0) {
		t.Errorf("SilenceWatch = %v, %v, %v; want E's %v and the texts' first try %v", seen, next, err, at(20*time.Minute), t0)
	}
	// Q has no caregiver: E goes silent with nothing to text.
	if n, err := s.MarkSilent(ctx, at(20*time.Minute), at(50*time.Minute), compose); err != nil || n != 1 {
		t.Errorf("MarkSilent(E) = %d, %v; want 1", n, err)
	}
	if texts, _ := s.Texts(ctx); len(texts) != 2 {
		t.Errorf("Texts after E went silent = %d, want still 2", len(texts))
	}
	silence("with D and E silent", clinic.DeviceSilence{Silent: 2, OldestSeen: t0, TextsQueued: 2})
	texts, err := s.Texts(ctx)
	must(t, err)
	must(t, s.TextAttempted(ctx, texts[0].ID, clinic.TextAttempt{Sent: at(51 * time.Minute)}))
	must(t, s.TextAttempted(ctx, texts[1].ID, clinic.TextAttempt{NextTry: at(52 * time.Minute), Error: "provider down"}))
	silence("with one text sent, one to retry", clinic.DeviceSilence{Silent: 2, OldestSeen: t0, TextsQueued: 1})
}

// testSilenceShared: two watchers (two processes) marking at once mark a
// device silent once.
func testSilenceShared(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	s2 := again(t, b, s)
	ingest(t, s, batch(w.d.ID, "l", t0), nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for i, st := range []clinic.Store{s, s2, s, s2, s, s2} {
		wg.Go(func() {
			n, err := st.MarkSilent(w.ctx, at(time.Hour), at(time.Hour+time.Duration(i)*time.Millisecond), silentText)
			if err != nil {
				t.Errorf("MarkSilent = %v", err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	texts, err := s2.Texts(w.ctx)
	must(t, err)
	if total != 1 || len(texts) != 2 {
		t.Errorf("6 concurrent MarkSilent on two stores: %d devices marked, %d texts; want 1 and 2", total, len(texts))
	}
}

// queueTwo makes D silent: two texts due at t0.
func queueTwo(t *testing.T, s clinic.Store, w *world) {
	t.Helper()
	ingest(t, s, batch(w.d.ID, "l", at(-time.Hour)), nil)
	if n, err := s.MarkSilent(w.ctx, t0, t0, silentText); err != nil || n != 1 {
		t.Fatalf("MarkSilent = %d, %v", n, err)
	}
}

func testTexts(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	queueTwo(t, s, w)
	if ts, err := s.ClaimTexts(ctx, at(-time.Second), at(time.Minute), 10); err != nil || len(ts) != 0 {
		t.Errorf("ClaimTexts before they are due = %+v, %v; want none", ts, err)
	}
	ts, err := s.ClaimTexts(ctx, t0, at(time.Minute), 1)
	if err != nil || len(ts) != 1 || ts[0].To != "+15555550101" {
		t.Fatalf("ClaimTexts(limit 1) = %+v, %v; want the oldest", ts, err)
	}
	first := ts[0]
	ts, err = s.ClaimTexts(ctx, t0, at(time.Minute), 10)
	if err != nil || len(ts) != 1 || ts[0].ID == first.ID {
		t.Fatalf("ClaimTexts again = %+v, %v; want the other one only (the first is claimed)", ts, err)
	}
	second := ts[0]
	if _, next, _ := s.SilenceWatch(ctx); !same(next, at(time.Minute)) {
		t.Errorf("next try after claiming = %v, want the claim's end %v", next, at(time.Minute))
	}
	// A claim that ran out (its process died) is claimed again.
	if ts, _ := s.ClaimTexts(ctx, at(time.Minute), at(2*time.Minute), 10); len(ts) != 2 {
		t.Errorf("ClaimTexts after the claims ran out = %d, want 2", len(ts))
	}
	must(t, s.TextAttempted(ctx, first.ID, clinic.TextAttempt{Sent: at(2 * time.Minute)}))
	must(t, s.TextAttempted(ctx, second.ID, clinic.TextAttempt{NextTry: at(5 * time.Minute), Error: "provider down"}))
	if _, next, _ := s.SilenceWatch(ctx); !same(next, at(5*time.Minute)) {
		t.Errorf("next try = %v, want the retry's %v", next, at(5*time.Minute))
	}
	if ts, _ := s.ClaimTexts(ctx, at(4*time.Minute), at(6*time.Minute), 10); len(ts) != 0 {
		t.Errorf("ClaimTexts before the retry = %+v, want none (the sent one never again)", ts)
	}
	if ts, _ := s.ClaimTexts(ctx, at(5*time.Minute), at(6*time.Minute), 10); len(ts) != 1 || ts[0].ID != second.ID || ts[0].Attempts != 1 {
		t.Errorf("ClaimTexts at the retry = %+v, want the second text after 1 attempt", ts)
	}
	must(t, s.TextAttempted(ctx, second.ID, clinic.TextAttempt{Failed: at(6 * time.Minute), Error: "unreachable number"}))
	texts, err := s.Texts(ctx)
	must(t, err)
	want := []clinic.Text{
		{ID: first.ID, PatientID: w.p.ID, DeviceID: w.d.ID, Reason: clinic.ReasonSilent, To: "+15555550101", Attempts: 1, Sent: at(2 * time.Minute)},
		{ID: second.ID, PatientID: w.p.ID, DeviceID: w.d.ID, Reason: clinic.ReasonSilent, To: "+15555550102", Attempts: 2, Failed: at(6 * time.Minute), LastError: "unreachable number"},
	}
	for i := range texts {
		texts[i].Body, texts[i].Created = "", time.Time{}
		if i < len(want) && !same(texts[i].Sent, want[i].Sent) || i < len(want) && !same(texts[i].Failed, want[i].Failed) {
			t.Errorf("text %d sent %v failed %v, want %v, %v", i, texts[i].Sent, texts[i].Failed, want[i].Sent, want[i].Failed)
		}
		texts[i].Sent, texts[i].Failed = time.Time{}, time.Time{}
		if i < len(want) {
			want[i].Sent, want[i].Failed = time.Time{}, time.Time{}
		}
	}
	if !reflect.DeepEqual(texts, want) {
		t.Errorf("Texts = %+v, want %+v", texts, want)
	}
	if _, next, _ := s.SilenceWatch(ctx); !next.IsZero() {
		t.Errorf("next try with every text sent or failed = %v, want none", next)
	}
}

// testTextsClaimedOnce: watchers of two processes claiming at once each
// get a text nobody else got.
func testTextsClaimedOnce(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	s2 := again(t, b, s)
	for i := range 5 { // 5 more caregivers: 7 texts
		must(t, s.AddCaregiver(w.ctx, w.p.ID, clinic.Caregiver{Name: "C", Phone: fmt.Sprintf("+1555555020%d", i)}, entry("caregiver.add", w.p.ID, "")))
	}
	queueTwo(t, s, w)
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for _, st := range []clinic.Store{s, s2, s, s2} {
		wg.Go(func() {
			// 7 texts in claims of 2: a store that never moves a claimed
			// text's next try would hand it out for ever.
			for range 10 {
				ts, err := st.ClaimTexts(context.Background(), t0, at(time.Hour), 2)
				if err != nil {
					t.Errorf("ClaimTexts = %v", err)
					return
				}
				if len(ts) == 0 {
					return
				}
				mu.Lock()
				for _, tx := range ts {
					claimed[tx.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != 7 {
		t.Errorf("texts claimed = %d, want 7", len(claimed))
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("text %d claimed %d times, want once", id, n)
		}
	}
}
