package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/cmd/internal/config"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

// dbWithDoses makes a closed database holding the events of one taken dose
// and many older ones, and returns its path and events.
func dbWithDoses(t *testing.T) (string, []dispenser.Event) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dispenser.db")
	s, err := adherence.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2027, 1, 12, 13, 0, 0, 0, time.UTC)
	var evs []dispenser.Event
	for i := range 200 {
		evs = append(evs, dispenser.Event{Time: at.Add(time.Duration(i-200) * time.Minute), Kind: dispenser.KindButton,
			Detail: strings.Repeat("x", 100)})
	}
	for _, k := range []dispenser.Kind{dispenser.KindDoseDue, dispenser.KindDispenseStarted, dispenser.KindDispensed, dispenser.KindTaken} {
		evs = append(evs, dispenser.Event{Time: at, Kind: k, DoseID: "metformin@2027-01-12T08:00", Medication: "metformin",
			Compartment: 1, Scheduled: at})
	}
	stored, err := s.Append(t.Context(), evs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path, stored
}

func TestOpenStore(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name      string
		damage    func(t *testing.T, path string)
		damaged   bool
		complete  bool
		recovered int // -1: all
	}{
		{"sound", func(*testing.T, string) {}, false, true, -1},
		{"garbage", func(t *testing.T, path string) {
			os.WriteFile(path, bytes.Repeat([]byte("garbage!"), 4096), 0o600)
		}, true, false, 0},
		{"the newest page", func(t *testing.T, path string) {
			// The last page holds the newest rows: the dose's four events.
			b, _ := os.ReadFile(path)
			copy(b[len(b)-4096:], bytes.Repeat([]byte{0xee}, 4096))
			os.WriteFile(path, b, 0o600)
		}, true, false, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, evs := dbWithDoses(t)
			tt.damage(t, path)
			damagedBytes, _ := os.ReadFile(path)
			o, err := openStore(t.Context(), path, log)
			if err != nil {
				t.Fatal(err)
			}
			defer o.store.Close()
			if o.unwritable != nil {
				t.Fatalf("openStore: unwritable %v, want a writable store", o.unwritable)
			}
			if (o.damaged != nil) != tt.damaged {
				t.Fatalf("openStore: damaged %+v, want %t", o.damaged, tt.damaged)
			}
			got, err := o.store.Since(t.Context(), 0, 10000)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.recovered
			if want < 0 {
				want = len(evs)
			}
			if len(got) != want {
				t.Errorf("events in the store = %d, want %d", len(got), want)
			}
			for i, ev := range got {
				if ev.ID != evs[i].ID {
					t.Fatalf("event %d has id %s, want the original %s", i, ev.ID, evs[i].ID)
				}
			}
			if !tt.damaged {
				return
			}
			if o.damaged.complete != tt.complete || o.damaged.recovered != want {
				t.Errorf("damage report = %+v, want complete %t, %d recovered", o.damaged, tt.complete, want)
			}
			aside := filepath.Join(filepath.Dir(path), o.damaged.aside)
			if b, err := os.ReadFile(aside); err != nil || !bytes.Equal(b, damagedBytes) {
				t.Errorf("the damaged file was not kept aside unchanged at %s (%v)", aside, err)
			}
			snap, err := o.store.LoadNotifier(t.Context())
			if err != nil || snap.Cursor != int64(want) {
				t.Errorf("notifier cursor = %d, %v; want %d: the carried-over events were handled in the old log", snap.Cursor, err, want)
			}
		})
	}
}

// A damaged log that lost events makes every dose whose window is open
// uncertain unless what was read settles it.
func TestDamageBootEvents(t *testing.T) {
	f, _, err := config.Load("../../examples/dispenser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation(f.Patient.Timezone)
	plan, err := schedule.NewPlan(f.Regimens, ny)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2027, 1, 12, 8, 30, 0, 0, ny) // metformin 08:00 and lisinopril 09:00 windows open
	tests := []struct {
		name      string
		d         damageReport
		uncertain []string
	}{
		{"complete", damageReport{complete: true}, nil},
		{"nothing read", damageReport{}, []string{"metformin@2027-01-12T08:00", "lisinopril@2027-01-12T09:00"}},
		{"one settled", damageReport{lastDoses: map[string]dispenser.Kind{"metformin@2027-01-12T08:00": dispenser.KindTaken,
			"lisinopril@2027-01-12T09:00": dispenser.KindDoseDue}}, []string{"lisinopril@2027-01-12T09:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := tt.d.bootEvents(now, plan, f.Medications)
			if evs[0].Kind != dispenser.KindFault || !strings.HasPrefix(evs[0].Detail, "storage damaged") {
				t.Errorf("first boot event = %+v, want the storage fault", evs[0])
			}
			var got []string
			for _, ev := range evs[1:] {
				if ev.Kind != dispenser.KindUncertain || ev.Compartment == 0 {
					t.Errorf("boot event %+v, want an uncertain dose with its compartment", ev)
				}
				got = append(got, ev.DoseID)
			}
			if strings.Join(got, ",") != strings.Join(tt.uncertain, ",") {
				t.Errorf("uncertain doses = %v, want %v", got, tt.uncertain)
			}
		})
	}
}

// fakeSender records texts and fails while told to.
type fakeSender struct {
	mu   sync.Mutex
	sent []string
	fail error
}

var _ notify.Sender = (*fakeSender)(nil)

func (s *fakeSender) Send(_ context.Context, to, body string) (notify.Sent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return notify.Sent{}, s.fail
	}
	s.sent = append(s.sent, to)
	return notify.Sent{SID: "SM1"}, nil
}

func (s *fakeSender) texts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sent...)
}

// The storage alarm texts each caregiver once per outage, retries a failed
// send, and repeats a long outage.
func TestStorageAlarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := schedule.NewSimClock(time.Date(2027, 1, 12, 8, 0, 0, 0, time.UTC))
		snd := &fakeSender{}
		r := &running{clock: clock, sender: snd}
		a := &storageAlarm{r: r, phones: []string{"+15555550101", "+15555550102"}, body: "b",
			log: slog.New(slog.DiscardHandler), kick: make(chan struct{}, 1), sent: map[string]time.Time{}}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- a.run(ctx) }()
		want := func(step string, n int) {
			t.Helper()
			synctest.Wait() // the alarm has done all it will until the clock moves
			if got := snd.texts(); len(got) != n {
				t.Fatalf("%s: %d texts (%v), want %d", step, len(got), got, n)
			}
		}
		a.failed(errors.New("disk full"))
		want("first failure", 2)
		a.failed(errors.New("disk full"))
		clock.Advance(time.Hour)
		want("same outage", 2)
		a.saved()
		snd.mu.Lock()
		snd.fail = errors.New("network down")
		snd.mu.Unlock()
		a.failed(errors.New("disk full"))
		want("send failing", 2)
		snd.mu.Lock()
		snd.fail = nil
		snd.mu.Unlock()
		clock.Advance(alarmRetry)
		want("retried", 4)
		clock.Advance(alarmRepeat)
		want("long outage", 6)
		cancel()
		<-done
	})
}
