package adherence

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/internal/sqlitefile"
)

// fileWithEvents makes a closed database file holding n dose events.
func fileWithEvents(t *testing.T, n int) (string, []dispenser.Event) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "d.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	var evs []dispenser.Event
	for i := range n {
		evs = append(evs, mustAppend(t, s, dispenser.Event{Time: t0.Add(time.Duration(i) * time.Minute),
			Kind: dispenser.KindDoseDue, DoseID: fmt.Sprintf("m@%d", i), Medication: "m", Scheduled: t0,
			Detail: strings.Repeat("x", 200)})...)
	}
	if err := s.SetLastTrusted(t.Context(), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // checkpoints the WAL into the file
		t.Fatal(err)
	}
	return path, evs
}

// overwrite puts junk over the pages [from, to) of the file.
func overwrite(t *testing.T, path string, from, to int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for p := from; p < to && (p+1)*4096 <= len(b); p++ {
		copy(b[p*4096:(p+1)*4096], bytes.Repeat([]byte{0xa5}, 4096))
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOpenFindsDamage(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"pages in the middle", func(t *testing.T, path string) {
			st, _ := os.Stat(path)
			mid := int(st.Size()/4096) / 2
			overwrite(t, path, mid, mid+1)
		}},
		{"the header", func(t *testing.T, path string) { overwrite(t, path, 0, 1) }},
		{"the whole file", func(t *testing.T, path string) {
			st, _ := os.Stat(path)
			overwrite(t, path, 0, int(st.Size()/4096))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, _ := fileWithEvents(t, 300)
			tt.damage(t, path)
			s, err := Open(t.Context(), path)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, ErrDamaged) || !strings.HasPrefix(err.Error(), "adherence: ") {
				t.Errorf("Open of a file with damaged %s = %v, want an adherence: error wrapping ErrDamaged", tt.name, err)
			}
		})
	}
}

// A damaged file moves aside whole, with its WAL; a new database can start
// at its path.
func TestMoveAside(t *testing.T) {
	path, _ := fileWithEvents(t, 3)
	if err := os.WriteFile(path+"-wal", []byte("wal"), 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	aside, err := MoveAside(path, time.Date(2027, 1, 12, 13, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if want := path + ".damaged-20270112T130000.000Z"; aside != want {
		t.Errorf("MoveAside = %s, want %s", aside, want)
	}
	if b, err := os.ReadFile(aside); err != nil || !bytes.Equal(b, before) {
		t.Errorf("moved file differs from the original (%v)", err)
	}
	if b, err := os.ReadFile(aside + "-wal"); err != nil || string(b) != "wal" {
		t.Errorf("moved WAL = %q, %v; want the original", b, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the original path still exists (%v)", err)
	}
}

// Salvage reads around damaged pages: every row on a sound page comes back
// with its id, and the read says it was not complete.
func TestSalvage(t *testing.T) {
	path, evs := fileWithEvents(t, 300)
	// The page holding the middle event's row: its id followed by its
	// kind (an index entry holds the id alone).
	b, _ := os.ReadFile(path)
	at := -1
	for from := 0; at < 0; {
		i := bytes.Index(b[from:], []byte(evs[150].ID))
		if i < 0 {
			t.Fatal("the middle event's row is not in the file")
		}
		from += i + 1
		if end := from - 1 + len(evs[150].ID); bytes.Contains(b[end:min(end+16, len(b))], []byte("dose_due")) {
			at = from - 1
		}
	}
	mid := at / 4096
	tests := []struct {
		name     string
		damage   func()
		complete bool
		atLeast  int
	}{
		{"sound file", func() {}, true, len(evs)},
		{"a page of the event log", func() { overwrite(t, path, mid, mid+1) }, false, len(evs) / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.damage()
			got, err := Salvage(t.Context(), path)
			if got.Complete != tt.complete || (err == nil) != tt.complete {
				t.Errorf("Salvage = complete %t, err %v; want complete %t", got.Complete, err, tt.complete)
			}
			if len(got.Events) < tt.atLeast || len(got.Events) > len(evs) {
				t.Errorf("Salvage read %d events, want %d to %d", len(got.Events), tt.atLeast, len(evs))
			}
			byID := map[string]dispenser.Event{}
			for _, ev := range evs {
				byID[ev.ID] = ev
			}
			for i, ev := range got.Events {
				if want, ok := byID[ev.ID]; !ok || want != ev {
					t.Fatalf("salvaged event %d = %+v, want one of the logged events", i, ev)
				}
				if i > 0 && ev.Seq <= got.Events[i-1].Seq {
					t.Fatalf("salvaged events out of order at %d", i)
				}
			}
			if !got.LastTrusted.Equal(t0) {
				t.Errorf("LastTrusted = %v, want %v", got.LastTrusted, t0)
			}
		})
	}
	if got, err := Salvage(t.Context(), filepath.Join(t.TempDir(), "none.db")); err == nil || len(got.Events) > 0 {
		t.Errorf("Salvage of a missing file = %d events, %v; want none and an error", len(got.Events), err)
	}
}

// Import keeps ids, times and details, and the doses table follows.
func TestImport(t *testing.T) {
	_, evs := fileWithEvents(t, 3)
	s := newMemStore(t)
	mustAppend(t, s, dispenser.Event{Time: t0, Kind: dispenser.KindBoot})
	last, err := s.Import(t.Context(), evs)
	if err != nil {
		t.Fatal(err)
	}
	if last.ID != evs[2].ID || last.Seq != 4 {
		t.Errorf("Import returned %+v, want the last event at seq 4", last)
	}
	got, err := s.Since(t.Context(), 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range got {
		want := evs[i]
		want.Seq = int64(i + 2)
		if ev != want {
			t.Errorf("imported event %d = %+v, want %+v", i, ev, want)
		}
	}
	if d, ok, err := s.Dose(t.Context(), "m@1"); err != nil || !ok || d.State != dispenser.StateDue {
		t.Errorf("dose of an imported event = %+v, %v, %v; want due", d, ok, err)
	}
	if _, err := s.Import(t.Context(), []dispenser.Event{{Time: t0, Kind: dispenser.KindBoot}}); err == nil {
		t.Errorf("Import of an event without id: err = nil, want an error")
	}
}

// An unwritable store reads its history and fails every write.
func TestOpenUnwritable(t *testing.T) {
	path, evs := fileWithEvents(t, 3)
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a database "), 500), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		history bool
		events  int
	}{
		{"readable file", path, true, len(evs)},
		{"garbage", garbage, false, 0},
		{"missing", filepath.Join(t.TempDir(), "missing", "d.db"), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, history, err := OpenUnwritable(t.Context(), tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if history != tt.history {
				t.Errorf("history = %t, want %t", history, tt.history)
			}
			got, err := s.Since(t.Context(), 0, 100)
			if err != nil || len(got) != tt.events {
				t.Errorf("Since = %d events, %v; want %d", len(got), err, tt.events)
			}
			if _, err := s.Append(t.Context(), dispenser.Event{Time: t0, Kind: dispenser.KindBoot}); err == nil {
				t.Errorf("Append to an unwritable store: err = nil, want an error")
			}
		})
	}
	if b, _ := os.ReadFile(path); len(b) == 0 {
		t.Errorf("the readable file was emptied")
	}
}

// TestSalvageBeforeMigration6: Salvage reads a log written before events
// carried the clock-trust mark (it migrates nothing), as unmarked events.
func TestSalvageBeforeMigration6(t *testing.T) {
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.db")
	oldSchema(t, path, ms[:5], `INSERT INTO events(id, time, kind) VALUES ('e1', 300000, 'boot')`)
	got, err := Salvage(t.Context(), path)
	if err != nil || len(got.Events) != 1 || got.Events[0].ID != "e1" || got.Events[0].ClockUntrusted {
		t.Errorf("Salvage(version 5 log) = %+v, %v; want its one unmarked event", got.Events, err)
	}
}

// oldSchema makes a database at path with only the migrations ms (this
// program's statements would not prepare on it) and runs the statements
// of what the older program wrote.
func oldSchema(t *testing.T, path string, ms []migration, stmts ...string) {
	t.Helper()
	db, err := openPool(t.Context(), sqlitefile.URI(path)+sqlitefile.WriteDSN, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := migrate(t.Context(), db, ms); err != nil {
		t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
}
