package sim

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestStateFileSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "world.json")
		w, err := New(testBoard(""), testCompartments(), WithStateFile(path))
		if err != nil {
			t.Fatal(err)
		}
		b := w.Board()
		for _, id := range []int{1, 1, 3} {
			if err := b.Compartments[id-1].Motor.DispenseOne(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		settle(time.Second)
		w.SetCup(false) // takes the three pills
		w.SetCup(true)
		if err := b.Compartments[1].Motor.DispenseOne(context.Background()); err != nil {
			t.Fatal(err)
		}
		w.SetLid(true)
		if err := w.InjectJam(2, 2); err != nil {
			t.Fatal(err)
		}
		if err := w.Refill(3, 25); err != nil {
			t.Fatal(err)
		}
		settle(time.Second)
		before := w.Snapshot()
		if before.SaveError != "" {
			t.Fatalf("save_error = %q", before.SaveError)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}

		// The daemon is killed here: nothing but the file carries over.
		w2, err := New(testBoard(""), testCompartments(), WithStateFile(path))
		if err != nil {
			t.Fatalf("New after restart: %v", err)
		}
		defer w2.Board().Close()
		after := w2.Snapshot()
		if after.LidOpen != true || after.CupPresent != true || after.PillsInCup != 1 {
			t.Errorf("after restart lid_open %t, cup_present %t, pills_in_cup %d; want true, true, 1",
				after.LidOpen, after.CupPresent, after.PillsInCup)
		}
		for i, want := range before.Compartments {
			got := after.Compartments[i]
			// Only the physical state is kept; fault counters start again.
			want.Jammed, want.EmptyTurns, want.MotorFaults = 0, 0, 0
			if got != want {
				t.Errorf("compartment %d after restart = %+v, want %+v", want.ID, got, want)
			}
		}
		if c := after.Compartments[0]; c.Count != 8 || c.Taken != 2 || c.Dispensed != 2 {
			t.Errorf("compartment 1 = %+v, want count 8, taken 2, dispensed 2", c)
		}
		// The restored jam still holds.
		if err := w2.Board().Compartments[1].Motor.DispenseOne(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := w2.Snapshot().Compartments[1]; got.Count != 9 || got.JamsPending != 1 {
			t.Errorf("compartment 2 after a jammed dispense = %+v, want count 9, jams pending 1", got)
		}
	})
}

// The world's clock outlives the daemon like its pills do.
func TestClockSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "world.json")
		w, err := New(testBoard(""), testCompartments(), WithStateFile(path))
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Clock(); !got.IsZero() {
			t.Errorf("Clock of a new world = %v, want zero", got)
		}
		at := time.Date(2027, 3, 14, 1, 59, 30, 0, time.FixedZone("EST", -5*3600))
		w.SetClock(at)
		w.Board().Close()
		w2, err := New(testBoard(""), testCompartments(), WithStateFile(path))
		if err != nil {
			t.Fatal(err)
		}
		defer w2.Board().Close()
		if got := w2.Clock(); !got.Equal(at) {
			t.Errorf("Clock after restart = %v, want %v", got, at)
		}
	})
}

func TestSave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "")
		path := filepath.Join(t.TempDir(), "snap.json")
		if err := r.w.Save(path); err != nil {
			t.Fatalf("Save: %v", err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := parseState(b)
		if err != nil {
			t.Fatalf("parseState(Save output): %v", err)
		}
		if len(s.Compartments) != 3 || s.Compartments[2].Count != 10 || !s.CupPresent {
			t.Errorf("saved state = %+v, want 3 compartments, compartment 3 count 10, cup present", s)
		}
		entries, _ := os.ReadDir(filepath.Dir(path))
		if len(entries) != 1 {
			t.Errorf("folder has %d entries after Save, want 1 (no temporary file left)", len(entries))
		}
		if err := r.w.Save(filepath.Join(path, "not-a-folder", "x.json")); err == nil {
			t.Errorf("Save into a missing folder: err = nil, want an error")
		}
	})
}

func TestParseStateRejects(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not JSON", `{`, "decode"},
		{"wrong version", `{"version":2,"compartments":[]}`, "version 2"},
		{"unknown field", `{"version":1,"compartments":[],"pills":3}`, "unknown field"},
		{"negative count", `{"version":1,"compartments":[{"id":1,"count":-1}]}`, "compartments[0].count"},
		{"duplicate id", `{"version":1,"compartments":[{"id":1},{"id":1}]}`, "appears twice"},
		{"trailing data", `{"version":1,"compartments":[]} {}`, "after the state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseState([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseState(%s) = %v, want an error containing %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestCorruptStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "world.json")
	if err := os.WriteFile(path, []byte("{\"version\":1,"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(testBoard(""), testCompartments(), WithStateFile(path))
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("New with a corrupt state file: err = %v, want an error naming %s", err, path)
	}
}

func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"version":1,"compartments":[{"id":1,"count":3,"dispensed":2,"in_cup":1,"taken":1,"spilled":0,"jams":0}],"lid_open":false,"cup_present":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseState(b)
		if err != nil {
			return
		}
		for _, c := range s.Compartments {
			if c.Count < 0 || c.Dispensed < 0 || c.InCup < 0 || c.Taken < 0 || c.Spilled < 0 || c.Jams < 0 {
				t.Errorf("parseState accepted negative numbers: %+v", c)
			}
		}
	})
}
