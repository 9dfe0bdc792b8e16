package adherence

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

var hexID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func newMemStore(t testing.TB) *Store {
	t.Helper()
	s, err := OpenMemory(t.Context())
	if err != nil {
		t.Fatalf("OpenMemory: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newFileStore(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "pillbox.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// bothStores runs f against an in-memory store and a file-backed one: the
// memory store shares one connection for reads and writes, the file store
// reads through a separate pool, and both paths must behave the same.
func bothStores(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Run("memory", func(t *testing.T) { f(t, newMemStore(t)) })
	t.Run("file", func(t *testing.T) {
		s, _ := newFileStore(t)
		f(t, s)
	})
}

func doseEv(kind dispenser.Kind, dose string, at time.Time) dispenser.Event {
	return dispenser.Event{Time: at, Kind: kind, DoseID: dose, Scheduled: t0, Medication: "med-a", Compartment: 1}
}

func mustAppend(t testing.TB, s *Store, evs ...dispenser.Event) []dispenser.Event {
	t.Helper()
	got, err := s.Append(t.Context(), evs...)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return got
}

func seqs(evs []dispenser.Event) []int64 {
	out := make([]int64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Seq
	}
	return out
}

func TestAppendRoundTrip(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []dispenser.Event
		want []dispenser.Event // Seq and ID are checked separately
	}{
		{
			name: "event not about a dose",
			in:   []dispenser.Event{{Time: t0, Kind: dispenser.KindBoot}},
			want: []dispenser.Event{{Seq: 1, Time: t0, Kind: dispenser.KindBoot}},
		},
		{
			name: "every field",
			in: []dispenser.Event{{Time: t0.Add(time.Minute), Kind: dispenser.KindJam, DoseID: "d1",
				Scheduled: t0, Medication: "med-a", Compartment: 3, Detail: "attempt=2"}},
			want: []dispenser.Event{{Seq: 1, Time: t0.Add(time.Minute), Kind: dispenser.KindJam, DoseID: "d1",
				Scheduled: t0, Medication: "med-a", Compartment: 3, Detail: "attempt=2"}},
		},
		{
			name: "local time with nanoseconds becomes UTC milliseconds",
			in: []dispenser.Event{{Time: time.Date(2026, 3, 1, 3, 0, 0, 123456789, ny), Kind: dispenser.KindButton,
				Scheduled: time.Date(2026, 3, 1, 3, 0, 0, 999999, ny), DoseID: "d1"}},
			want: []dispenser.Event{{Seq: 1, Time: time.Date(2026, 3, 1, 8, 0, 0, 123000000, time.UTC),
				Kind: dispenser.KindButton, Scheduled: t0, DoseID: "d1"}},
		},
		{
			name: "logged before the clock was trusted",
			in:   []dispenser.Event{{Time: time.Unix(300, 0), Kind: dispenser.KindBoot, ClockUntrusted: true}},
			want: []dispenser.Event{{Seq: 1, Time: time.Unix(300, 0).UTC(), Kind: dispenser.KindBoot, ClockUntrusted: true}},
		},
		{
			name: "time before 1970",
			in:   []dispenser.Event{{Time: time.Date(1969, 12, 31, 23, 59, 59, 500e6, time.UTC), Kind: dispenser.KindClockJump}},
			want: []dispenser.Event{{Seq: 1, Time: time.Date(1969, 12, 31, 23, 59, 59, 500e6, time.UTC), Kind: dispenser.KindClockJump}},
		},
		{
			name: "batch keeps order",
			in: []dispenser.Event{
				doseEv(dispenser.KindDoseDue, "d1", t0),
				{Time: t0, Kind: dispenser.KindLidOpened},
				doseEv(dispenser.KindMissed, "d1", t0.Add(time.Hour)),
			},
			want: []dispenser.Event{
				{Seq: 1, Time: t0, Kind: dispenser.KindDoseDue, DoseID: "d1", Scheduled: t0, Medication: "med-a", Compartment: 1},
				{Seq: 2, Time: t0, Kind: dispenser.KindLidOpened},
				{Seq: 3, Time: t0.Add(time.Hour), Kind: dispenser.KindMissed, DoseID: "d1", Scheduled: t0, Medication: "med-a", Compartment: 1},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bothStores(t, func(t *testing.T, s *Store) {
				got := mustAppend(t, s, tc.in...)
				for i := range got {
					if !hexID.MatchString(got[i].ID) {
						t.Errorf("Append: event %d ID = %q, want 32 hex digits", i, got[i].ID)
					}
					if got[i].Time.Location() != time.UTC {
						t.Errorf("Append: event %d Time location = %v, want UTC", i, got[i].Time.Location())
					}
				}
				want := slicesWithIDs(tc.want, got)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Append = %+v, want %+v", got, want)
				}
				since, err := s.Since(t.Context(), 0, 100)
				if err != nil {
					t.Fatalf("Since: %v", err)
				}
				if !reflect.DeepEqual(since, want) {
					t.Errorf("Since(0, 100) = %+v, want %+v", since, want)
				}
				byTime, err := s.SinceTime(t.Context(), time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC))
				if err != nil {
					t.Fatalf("SinceTime: %v", err)
				}
				if !reflect.DeepEqual(byTime, want) {
					t.Errorf("SinceTime(1900) = %+v, want %+v", byTime, want)
				}
			})
		})
	}
}

// slicesWithIDs copies want with the IDs of got, which are random.
func slicesWithIDs(want, got []dispenser.Event) []dispenser.Event {
	out := append([]dispenser.Event(nil), want...)
	for i := range out {
		if i < len(got) {
			out[i].ID = got[i].ID
		}
	}
	return out
}

func TestAppendRejectsIncompleteEvents(t *testing.T) {
	tests := []struct {
		name string
		evs  []dispenser.Event
	}{
		{"no time", []dispenser.Event{{Kind: dispenser.KindBoot}}},
		{"no kind", []dispenser.Event{{Time: t0}}},
		{"one bad in a batch", []dispenser.Event{{Time: t0, Kind: dispenser.KindBoot}, {Kind: dispenser.KindButton}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newMemStore(t)
			if got, err := s.Append(t.Context(), tc.evs...); err == nil {
				t.Errorf("Append(%+v) = %+v, nil; want an error", tc.evs, got)
			}
			if got, _ := s.Since(t.Context(), 0, 10); len(got) != 0 {
				t.Errorf("after a rejected Append, Since = %+v, want nothing stored", got)
			}
		})
	}
}

func TestAppendNothing(t *testing.T) {
	s := newMemStore(t)
	got, err := s.Append(t.Context())
	if err != nil || len(got) != 0 {
		t.Errorf("Append() = %v, %v; want nothing, nil", got, err)
	}
}

func TestSince(t *testing.T) {
	s := newMemStore(t)
	for i := range 10 {
		mustAppend(t, s, dispenser.Event{Time: t0.Add(time.Duration(i) * time.Minute), Kind: dispenser.KindButton})
	}
	tests := []struct {
		seq   int64
		limit int
		want  []int64
	}{
		{0, 3, []int64{1, 2, 3}},
		{3, 3, []int64{4, 5, 6}},
		{8, 5, []int64{9, 10}},
		{10, 5, []int64{}},
		{-5, 1, []int64{1}},
		{0, 100, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d,%d", tc.seq, tc.limit), func(t *testing.T) {
			got, err := s.Since(t.Context(), tc.seq, tc.limit)
			if err != nil {
				t.Fatalf("Since(%d, %d): %v", tc.seq, tc.limit, err)
			}
			if g := seqs(got); !reflect.DeepEqual(g, tc.want) {
				t.Errorf("Since(%d, %d) seqs = %v, want %v", tc.seq, tc.limit, g, tc.want)
			}
		})
	}
	for _, limit := range []int{0, -1} {
		if _, err := s.Since(t.Context(), 0, limit); err == nil {
			t.Errorf("Since(0, %d) error = nil, want an error", limit)
		}
	}
}

func TestSinceTime(t *testing.T) {
	s := newMemStore(t)
	// Stored out of time order on purpose: results come in Seq order.
	offsets := []time.Duration{0, 2 * time.Second, time.Second, 1500 * time.Millisecond}
	for _, d := range offsets {
		mustAppend(t, s, dispenser.Event{Time: t0.Add(d), Kind: dispenser.KindButton})
	}
	tests := []struct {
		name string
		t    time.Time
		want []int64
	}{
		{"before all", t0.Add(-time.Hour), []int64{1, 2, 3, 4}},
		{"exactly the first", t0, []int64{1, 2, 3, 4}},
		{"a nanosecond after the first", t0.Add(time.Nanosecond), []int64{2, 3, 4}},
		{"exactly 1s", t0.Add(time.Second), []int64{2, 3, 4}},
		{"between", t0.Add(1200 * time.Millisecond), []int64{2, 4}},
		{"exactly the last", t0.Add(2 * time.Second), []int64{2}},
		{"after all", t0.Add(time.Hour), []int64{}},
		{"other zone, same instant", t0.Add(time.Second).In(time.FixedZone("X", 5*3600)), []int64{2, 3, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.SinceTime(t.Context(), tc.t)
			if err != nil {
				t.Fatalf("SinceTime(%v): %v", tc.t, err)
			}
			if g := seqs(got); !reflect.DeepEqual(g, tc.want) {
				t.Errorf("SinceTime(%v) seqs = %v, want %v", tc.t, g, tc.want)
			}
		})
	}
}

func TestSeqMonotonicGapFree(t *testing.T) {
	bothStores(t, func(t *testing.T, s *Store) {
		var all []int64
		for _, n := range []int{1, 7, 1, 50, 3, 200} {
			evs := make([]dispenser.Event, n)
			for i := range evs {
				evs[i] = dispenser.Event{Time: t0, Kind: dispenser.KindButton}
			}
			all = append(all, seqs(mustAppend(t, s, evs...))...)
		}
		// A failed Append in between must not burn a seq.
		if _, err := s.Append(t.Context(), dispenser.Event{Time: t0, Kind: dispenser.KindButton}, dispenser.Event{}); err == nil {
			t.Fatal("Append with an empty event succeeded, want an error")
		}
		all = append(all, seqs(mustAppend(t, s, dispenser.Event{Time: t0, Kind: dispenser.KindButton}))...)
		for i, seq := range all {
			if seq != int64(i+1) {
				t.Fatalf("seq of event %d = %d, want %d", i, seq, i+1)
			}
		}
		stored, err := s.Since(t.Context(), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if g := seqs(stored); !reflect.DeepEqual(g, all) {
			t.Errorf("Since(0) seqs = %v, want %v", g, all)
		}
	})
}

func TestIDsUnique(t *testing.T) {
	const n, batch = 10000, 500
	seen := make(map[string]string, 2*n)
	for _, db := range []string{"first", "second"} {
		s := newMemStore(t)
		for range n / batch {
			evs := make([]dispenser.Event, batch)
			for i := range evs {
				evs[i] = dispenser.Event{Time: t0, Kind: dispenser.KindButton}
			}
			for _, ev := range mustAppend(t, s, evs...) {
				if prev, dup := seen[ev.ID]; dup {
					t.Fatalf("ID %s of %s database seq %d already used in %s database", ev.ID, db, ev.Seq, prev)
				}
				seen[ev.ID] = db
			}
		}
		if prev, dup := seen[s.DeviceID()]; dup {
			t.Fatalf("device id %s of %s database already seen in %s", s.DeviceID(), db, prev)
		}
		seen[s.DeviceID()] = db
	}
	if len(seen) != 2*n+2 {
		t.Errorf("distinct ids = %d, want %d", len(seen), 2*n+2)
	}
}

func TestDosesFollowKinds(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name string
		evs  []dispenser.Event
		want dispenser.State
		seq  int64 // LastSeq
		upd  time.Time
	}{
		{"due", []dispenser.Event{doseEv(dispenser.KindDoseDue, "d", at(0))}, dispenser.StateDue, 1, at(0)},
		{"reminder", []dispenser.Event{doseEv(dispenser.KindDoseDue, "d", at(0)), doseEv(dispenser.KindReminder, "d", at(1))}, dispenser.StateReminding, 2, at(1)},
		{"dispense started", []dispenser.Event{doseEv(dispenser.KindDispenseStarted, "d", at(2))}, dispenser.StateDispensing, 1, at(2)},
		{"dispensed", []dispenser.Event{doseEv(dispenser.KindDispenseStarted, "d", at(2)), doseEv(dispenser.KindDispensed, "d", at(3))}, dispenser.StateDispensed, 2, at(3)},
		{"taken", []dispenser.Event{doseEv(dispenser.KindDispensed, "d", at(3)), doseEv(dispenser.KindTaken, "d", at(4))}, dispenser.StateTaken, 2, at(4)},
		{"not taken", []dispenser.Event{doseEv(dispenser.KindNotTaken, "d", at(40))}, dispenser.StateNotTaken, 1, at(40)},
		{"missed", []dispenser.Event{doseEv(dispenser.KindMissed, "d", at(60))}, dispenser.StateMissed, 1, at(60)},
		{"skipped", []dispenser.Event{doseEv(dispenser.KindSkipped, "d", at(5))}, dispenser.StateSkipped, 1, at(5)},
		{"jam", []dispenser.Event{doseEv(dispenser.KindJam, "d", at(5))}, dispenser.StateJammed, 1, at(5)},
		{"uncertain", []dispenser.Event{doseEv(dispenser.KindUncertain, "d", at(5))}, dispenser.StateUncertain, 1, at(5)},
		{"non-dose kinds leave it alone", []dispenser.Event{
			doseEv(dispenser.KindDispensed, "d", at(3)),
			doseEv(dispenser.KindLidOpened, "d", at(4)),
			doseEv(dispenser.KindCupLifted, "d", at(4)),
			doseEv(dispenser.KindButton, "d", at(5)),
		}, dispenser.StateDispensed, 1, at(3)},
		{"latest in log order wins, whatever its time", []dispenser.Event{
			doseEv(dispenser.KindMissed, "d", at(60)),
			doseEv(dispenser.KindSkipped, "d", at(30)),
		}, dispenser.StateSkipped, 2, at(30)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bothStores(t, func(t *testing.T, s *Store) {
				for _, ev := range tc.evs {
					mustAppend(t, s, ev)
				}
				got, ok, err := s.Dose(t.Context(), "d")
				if err != nil || !ok {
					t.Fatalf("Dose(d) = %+v, %v, %v; want a record", got, ok, err)
				}
				want := DoseRecord{DoseID: "d", Medication: "med-a", Scheduled: t0, State: tc.want, Updated: tc.upd, LastSeq: tc.seq}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Dose(d) = %+v, want %+v", got, want)
				}
			})
		})
	}
}

func TestDosesBatchMatchesSingles(t *testing.T) {
	evs := []dispenser.Event{
		doseEv(dispenser.KindDoseDue, "a", t0),
		doseEv(dispenser.KindDoseDue, "b", t0),
		doseEv(dispenser.KindDispenseStarted, "a", t0.Add(time.Minute)),
		doseEv(dispenser.KindMissed, "b", t0.Add(time.Hour)),
		doseEv(dispenser.KindDispensed, "a", t0.Add(2*time.Minute)),
	}
	single, batch := newMemStore(t), newMemStore(t)
	for _, ev := range evs {
		mustAppend(t, single, ev)
	}
	mustAppend(t, batch, evs...)
	from, to := t0.Add(-time.Hour), t0.Add(time.Hour)
	a, err := single.Doses(t.Context(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	b, err := batch.Doses(t.Context(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 2 || a[0].State != dispenser.StateDispensed || a[1].State != dispenser.StateMissed {
		t.Errorf("Doses after single appends = %+v, want a dispensed, b missed", a)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("Doses after one batch = %+v, want %+v (as after single appends)", b, a)
	}
}

func TestDoseDetailsStick(t *testing.T) {
	s := newMemStore(t)
	mustAppend(t, s, doseEv(dispenser.KindDoseDue, "d", t0))
	// A later event without medication or scheduled must not erase them,
	// nor one with another scheduled instant move the dose.
	mustAppend(t, s, dispenser.Event{Time: t0.Add(time.Minute), Kind: dispenser.KindReminder, DoseID: "d", Scheduled: t0.Add(time.Hour)})
	mustAppend(t, s, dispenser.Event{Time: t0.Add(time.Hour), Kind: dispenser.KindMissed, DoseID: "d"})
	got, ok, err := s.Dose(t.Context(), "d")
	if err != nil || !ok {
		t.Fatalf("Dose(d) = %+v, %v, %v", got, ok, err)
	}
	want := DoseRecord{DoseID: "d", Medication: "med-a", Scheduled: t0, State: dispenser.StateMissed, Updated: t0.Add(time.Hour), LastSeq: 3}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Dose(d) = %+v, want %+v", got, want)
	}
}

func TestDoseKindWithoutDoseID(t *testing.T) {
	s := newMemStore(t)
	mustAppend(t, s, dispenser.Event{Time: t0, Kind: dispenser.KindJam, Compartment: 2})
	ds, err := s.Doses(t.Context(), time.Time{}, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 0 {
		t.Errorf("Doses = %+v, want none (the event named no dose)", ds)
	}
	if got, ok, err := s.Dose(t.Context(), ""); ok || err != nil {
		t.Errorf(`Dose("") = %+v, %v, %v; want not found`, got, ok, err)
	}
}

func TestDosesRange(t *testing.T) {
	s := newMemStore(t)
	for i, id := range []string{"d0", "d1", "d2", "d3"} {
		ev := doseEv(dispenser.KindDoseDue, id, t0)
		ev.Scheduled = t0.Add(time.Duration(i) * time.Hour)
		mustAppend(t, s, ev)
	}
	unscheduled := dispenser.Event{Time: t0, Kind: dispenser.KindDoseDue, DoseID: "prn"}
	mustAppend(t, s, unscheduled)
	tests := []struct {
		name     string
		from, to time.Time
		want     []string
	}{
		{"all", t0.Add(-time.Hour), t0.Add(10 * time.Hour), []string{"d0", "d1", "d2", "d3"}},
		{"from inclusive, to exclusive", t0.Add(time.Hour), t0.Add(3 * time.Hour), []string{"d1", "d2"}},
		{"empty", t0.Add(10 * time.Hour), t0.Add(20 * time.Hour), nil},
		{"from a nanosecond late", t0.Add(time.Nanosecond), t0.Add(2 * time.Hour), []string{"d1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := s.Doses(t.Context(), tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range ds {
				got = append(got, d.DoseID)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Doses(%v, %v) = %v, want %v", tc.from, tc.to, got, tc.want)
			}
		})
	}
	if d, ok, err := s.Dose(t.Context(), "prn"); err != nil || !ok || !d.Scheduled.IsZero() {
		t.Errorf("Dose(prn) = %+v, %v, %v; want a record with zero Scheduled", d, ok, err)
	}
}

func TestEventsAreAppendOnly(t *testing.T) {
	s := newMemStore(t)
	mustAppend(t, s, dispenser.Event{Time: t0, Kind: dispenser.KindButton, Detail: "x"})
	for _, q := range []string{`UPDATE events SET detail = 'y'`, `DELETE FROM events`} {
		if _, err := s.w.ExecContext(t.Context(), q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: error = %v, want append-only", q, err)
		}
	}
}

func TestLastTrusted(t *testing.T) {
	bothStores(t, func(t *testing.T, s *Store) {
		got, err := s.LastTrusted(t.Context())
		if err != nil || !got.IsZero() {
			t.Fatalf("LastTrusted on a new store = %v, %v; want zero, nil", got, err)
		}
		for _, set := range []time.Time{
			t0.Add(1500 * time.Microsecond).In(time.FixedZone("X", -7*3600)),
			t0.Add(-24 * time.Hour), // going back is the schedule package's call
		} {
			if err := s.SetLastTrusted(t.Context(), set); err != nil {
				t.Fatalf("SetLastTrusted(%v): %v", set, err)
			}
			want := set.UTC().Truncate(time.Millisecond)
			got, err := s.LastTrusted(t.Context())
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("LastTrusted after SetLastTrusted(%v) = %v, %v; want %v", set, got, err, want)
			}
		}
	})
}

func TestDeviceID(t *testing.T) {
	a, b := newMemStore(t), newMemStore(t)
	if !hexID.MatchString(a.DeviceID()) {
		t.Errorf("DeviceID() = %q, want 32 hex digits", a.DeviceID())
	}
	if a.DeviceID() == b.DeviceID() {
		t.Errorf("two databases share device id %s", a.DeviceID())
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	stored := mustAppend(t, s, doseEv(dispenser.KindDoseDue, "d", t0), doseEv(dispenser.KindTaken, "d", t0.Add(time.Minute)))
	if err := s.SetLastTrusted(t.Context(), t0); err != nil {
		t.Fatal(err)
	}
	id := s.DeviceID()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if s.DeviceID() != id {
		t.Errorf("DeviceID after reopen = %s, want %s", s.DeviceID(), id)
	}
	got, err := s.Since(t.Context(), 0, 10)
	if err != nil || !reflect.DeepEqual(got, stored) {
		t.Errorf("Since after reopen = %+v, %v; want %+v", got, err, stored)
	}
	if lt, err := s.LastTrusted(t.Context()); err != nil || !lt.Equal(t0) {
		t.Errorf("LastTrusted after reopen = %v, %v; want %v", lt, err, t0)
	}
	if d, ok, err := s.Dose(t.Context(), "d"); err != nil || !ok || d.State != dispenser.StateTaken {
		t.Errorf("Dose(d) after reopen = %+v, %v, %v; want taken", d, ok, err)
	}
	next := mustAppend(t, s, dispenser.Event{Time: t0, Kind: dispenser.KindBoot})
	if next[0].Seq != 3 {
		t.Errorf("first seq after reopen = %d, want 3", next[0].Seq)
	}
}

func TestAppendCancelledContext(t *testing.T) {
	bothStores(t, func(t *testing.T, s *Store) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		got, err := s.Append(ctx, doseEv(dispenser.KindDoseDue, "d", t0))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Append with a cancelled context = %+v, %v; want context.Canceled", got, err)
		}
		evs, err := s.Since(t.Context(), 0, 10)
		if err != nil || len(evs) != 0 {
			t.Errorf("Since after cancelled Append = %+v, %v; want nothing", evs, err)
		}
		if d, ok, err := s.Dose(t.Context(), "d"); ok || err != nil {
			t.Errorf("Dose(d) after cancelled Append = %+v, %v, %v; want not found", d, ok, err)
		}
		// The store still works afterwards.
		if got := mustAppend(t, s, doseEv(dispenser.KindDoseDue, "d", t0)); got[0].Seq != 1 {
			t.Errorf("seq after cancelled Append = %d, want 1", got[0].Seq)
		}
	})
}

// TestConcurrentReadersWhileWriting checks, under -race, that readers see
// whole transactions only: a gap-free prefix of the log that never shrinks,
// and a doses table that agrees with it.
func TestConcurrentReadersWhileWriting(t *testing.T) {
	bothStores(t, func(t *testing.T, s *Store) {
		const batches = 60
		ctx := t.Context()
		done := make(chan struct{})
		errs := make(chan error, 8)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done)
			for i := range batches {
				dose := fmt.Sprintf("d%d", i)
				// Two events per transaction: a reader must never see one without the other.
				if _, err := s.Append(ctx, doseEv(dispenser.KindDoseDue, dose, t0), doseEv(dispenser.KindMissed, dose, t0)); err != nil {
					errs <- err
					return
				}
			}
		}()
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var last int
				for {
					select {
					case <-done:
						return
					default:
					}
					evs, err := s.Since(ctx, 0, 2*batches)
					if err != nil {
						errs <- err
						return
					}
					if len(evs)%2 != 0 || len(evs) < last {
						errs <- fmt.Errorf("reader saw %d events after %d, want an even, growing count", len(evs), last)
						return
					}
					for i, ev := range evs {
						if ev.Seq != int64(i+1) {
							errs <- fmt.Errorf("reader saw seq %d at %d, want %d", ev.Seq, i, i+1)
							return
						}
					}
					last = len(evs)
					ds, err := s.Doses(ctx, t0, t0.Add(time.Second))
					if err != nil {
						errs <- err
						return
					}
					for _, d := range ds {
						if d.State != dispenser.StateMissed {
							errs <- fmt.Errorf("reader saw dose %s in state %s, want missed (both events commit together)", d.DoseID, d.State)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if evs, err := s.Since(ctx, 0, 10*batches); err != nil || len(evs) != 2*batches {
			t.Errorf("after the writer finished: %d events, %v; want %d", len(evs), err, 2*batches)
		}
	})
}

func TestQuickCheck(t *testing.T) {
	s, path := newFileStore(t)
	evs := make([]dispenser.Event, 1000)
	for i := range evs {
		evs[i] = doseEv(dispenser.KindDoseDue, fmt.Sprintf("dose-%d", i), t0.Add(time.Duration(i)*time.Second))
	}
	mustAppend(t, s, evs...)
	if err := s.QuickCheck(t.Context()); err != nil {
		t.Errorf("QuickCheck on a sound database: %v", err)
	}
	if err := s.IntegrityCheck(t.Context()); err != nil {
		t.Errorf("IntegrityCheck on a sound database: %v", err)
	}
	var root, pageSize int64
	if err := s.r.QueryRowContext(t.Context(), `SELECT rootpage FROM sqlite_schema WHERE name = 'events_time'`).Scan(&root); err != nil {
		t.Fatal(err)
	}
	if err := s.r.QueryRowContext(t.Context(), `PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // checkpoints the WAL into the file
		t.Fatal(err)
	}

	// Overwrite the root page of an index that opening the store never reads.
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := []byte(strings.Repeat("\xff", int(pageSize)))
	if _, err := f.WriteAt(junk, (root-1)*pageSize); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	// Open checks the file and refuses it; a read-only store opens it.
	if s, err := Open(t.Context(), path); !errors.Is(err, ErrDamaged) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open after corrupting an index = %v, want ErrDamaged", err)
	}
	s, history, err := OpenUnwritable(t.Context(), path)
	if err != nil || !history {
		t.Fatalf("OpenUnwritable after corrupting an index = history %t, %v; want the file", history, err)
	}
	defer s.Close()
	for name, check := range map[string]func(context.Context) error{"QuickCheck": s.QuickCheck, "IntegrityCheck": s.IntegrityCheck} {
		err := check(t.Context())
		if err == nil || !strings.HasPrefix(err.Error(), "adherence: ") {
			t.Errorf("%s on a corrupted database = %v, want an adherence: error", name, err)
		}
	}
}

func TestLastOfKinds(t *testing.T) {
	s := newMemStore(t)
	ev := func(kind dispenser.Kind, comp int, detail string) dispenser.Event {
		return dispenser.Event{Time: t0, Kind: kind, Compartment: comp, Detail: detail}
	}
	mustAppend(t, s,
		ev(dispenser.KindRefill, 1, "left=30"),    // seq 1
		ev(dispenser.KindDispensed, 1, "left=29"), // seq 2
		ev(dispenser.KindRefill, 2, "left=10"),    // seq 3
		ev(dispenser.KindLidOpened, 1, ""),        // seq 4
		ev(dispenser.KindJam, 1, "left=29 try=1"), // seq 5
	)
	tests := []struct {
		name    string
		comp    int
		kinds   []dispenser.Kind
		wantSeq int64 // 0: none
	}{
		{"latest of several kinds", 1, []dispenser.Kind{dispenser.KindRefill, dispenser.KindDispensed, dispenser.KindJam}, 5},
		{"one kind", 1, []dispenser.Kind{dispenser.KindDispensed}, 2},
		{"other compartment", 2, []dispenser.Kind{dispenser.KindRefill, dispenser.KindDispensed}, 3},
		{"no such kind", 2, []dispenser.Kind{dispenser.KindJam}, 0},
		{"no such compartment", 9, []dispenser.Kind{dispenser.KindRefill}, 0},
		{"no kinds", 1, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := s.LastOfKinds(t.Context(), tc.comp, tc.kinds...)
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tc.wantSeq != 0) || got.Seq != tc.wantSeq {
				t.Errorf("LastOfKinds(%d, %v) = seq %d, %v; want seq %d", tc.comp, tc.kinds, got.Seq, ok, tc.wantSeq)
			}
		})
	}
}

func TestLastEventTime(t *testing.T) {
	s := newMemStore(t)
	if got, err := s.LastEventTime(t.Context()); err != nil || !got.IsZero() {
		t.Errorf("LastEventTime on an empty log = %v, %v; want zero, nil", got, err)
	}
	// Appended out of time order: the latest time wins, not the latest seq.
	mustAppend(t, s,
		dispenser.Event{Time: t0.Add(time.Hour), Kind: dispenser.KindBoot},
		dispenser.Event{Time: t0, Kind: dispenser.KindClockJump})
	if got, err := s.LastEventTime(t.Context()); err != nil || !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("LastEventTime = %v, %v; want %v", got, err, t0.Add(time.Hour))
	}
}
