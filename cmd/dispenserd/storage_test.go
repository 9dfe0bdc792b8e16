package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/dispenser"
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
			if o.damaged.Complete != tt.complete || o.damaged.Recovered != want {
				t.Errorf("damage report = %+v, want complete %t, %d recovered", o.damaged, tt.complete, want)
			}
			aside := filepath.Join(filepath.Dir(path), o.damaged.Aside)
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
