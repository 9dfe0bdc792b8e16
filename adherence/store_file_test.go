package adherence

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

func fileMode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestFileModes sets the process umask (so it does not run in parallel):
// with umask 0, SQLite left to itself would create 0644 files.
func TestFileModes(t *testing.T) {
	for _, umask := range []int{0, 0o022, 0o077} {
		t.Run(fmt.Sprintf("umask %04o", umask), func(t *testing.T) {
			old := syscall.Umask(umask)
			defer syscall.Umask(old)
			parent := filepath.Join(t.TempDir(), "new")
			path := filepath.Join(parent, "data", "pillbox.db")
			s, err := Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			mustAppend(t, s, dispenser.Event{Time: t0, Kind: dispenser.KindBoot})
			for _, dir := range []string{parent, filepath.Dir(path)} {
				if got := fileMode(t, dir); got != 0o700 {
					t.Errorf("mode of created dir %s = %04o, want 0700", dir, got)
				}
			}
			for _, suffix := range []string{"", "-wal", "-shm"} {
				if got := fileMode(t, path+suffix); got != 0o600 {
					t.Errorf("mode of db%s = %04o, want 0600", suffix, got)
				}
			}
		})
	}
}

func TestOpenTightensExistingFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	first, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	mustAppend(t, first, dispenser.Event{Time: t0, Kind: dispenser.KindBoot})
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Chmod(path+suffix, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	second, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if got := fileMode(t, path+suffix); got != 0o600 {
			t.Errorf("mode of db%s after Open = %04o, want 0600", suffix, got)
		}
	}
}

func TestOpenErrorsNameTheStep(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 500)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"parent is a file", filepath.Join(notDir, "sub", "p.db"), "adherence: create dir: "},
		{"path is a directory", dir, "adherence: create db file: "},
		{"not a database", garbage, "adherence: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), tc.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s) succeeded, want an error", tc.path)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Open(%s) error = %q, want prefix %q", tc.path, err, tc.want)
			}
		})
	}
}

func TestOpenPathNeedingEscapes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a?b#c%d", "p.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, dispenser.Event{Time: t0, Kind: dispenser.KindBoot})
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at %s: %v", path, err)
	}
}

const crashEnv = "ADHERENCE_CRASH_CHILD_DB"

// TestCrashKeepsCommitted kills, with SIGKILL, a process that is appending
// one event after another and never closes its store, then opens the file
// again: every event whose Append returned must be there, with its seq, id
// and the dose state it set. The child reports an event only after Append
// returned, which is the point where the dispenser tells the patient.
func TestCrashKeepsCommitted(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsCommitted$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]int64{} // id -> seq
	var deviceID string
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acked) < 100 {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "device":
			deviceID = f[1]
		case len(f) == 3 && f[0] == "committed":
			seq, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatalf("child said %q", sc.Text())
			}
			acked[f[2]] = seq
		}
	}
	// The child is still appending: the kill lands mid-transaction or
	// between two.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) < 100 || deviceID == "" {
		t.Fatalf("child acknowledged %d events and device %q before dying; want 100 and an id", len(acked), deviceID)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Fatalf("no WAL left behind by the killed process (%v): the test would not test recovery", err)
	}

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open after crash: %v", err)
	}
	defer s.Close()
	if s.DeviceID() != deviceID {
		t.Errorf("DeviceID after crash = %s, want %s", s.DeviceID(), deviceID)
	}
	if err := s.IntegrityCheck(t.Context()); err != nil {
		t.Errorf("IntegrityCheck after crash: %v", err)
	}
	evs, err := s.Since(t.Context(), 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int64{}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("after crash, event %d has seq %d, want %d", i, ev.Seq, i+1)
		}
		stored[ev.ID] = ev.Seq
	}
	for id, seq := range acked {
		if stored[id] != seq {
			t.Errorf("acknowledged event %s (seq %d) after crash: stored seq %d", id, seq, stored[id])
		}
		d, ok, err := s.Dose(t.Context(), fmt.Sprintf("d%d", seq))
		if err != nil || !ok || d.LastSeq != seq || d.State != dispenser.StateDispensing {
			t.Errorf("dose of acknowledged event %d after crash = %+v, %v, %v; want dispensing at seq %d", seq, d, ok, err, seq)
		}
	}
	// The recovered store goes on from where the log ends.
	next := mustAppend(t, s, dispenser.Event{Time: t0, Kind: dispenser.KindBoot})
	if want := int64(len(evs) + 1); next[0].Seq != want {
		t.Errorf("first seq after crash = %d, want %d", next[0].Seq, want)
	}
}

// crashChild appends until it is killed (or its parent goes away and the
// write to stdout fails).
func crashChild(path string) {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("device %s\n", s.DeviceID())
	for i := 1; i < 1_000_000; i++ {
		// seq == i in a fresh database, so the dose id names the seq.
		evs, err := s.Append(ctx, dispenser.Event{Time: t0.Add(time.Duration(i) * time.Second),
			Kind: dispenser.KindDispenseStarted, DoseID: fmt.Sprintf("d%d", i), Scheduled: t0, Medication: "med-a"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if _, err := fmt.Printf("committed %d %s\n", evs[0].Seq, evs[0].ID); err != nil {
			os.Exit(3)
		}
	}
	os.Exit(4)
}

// The read pool must never take the write lock, or a report could stall a
// dose commit.
func TestReadPoolIsReadOnly(t *testing.T) {
	s, _ := newFileStore(t)
	_, err := s.r.ExecContext(t.Context(), `INSERT INTO meta(key, value) VALUES ('x', 'y')`)
	if err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Errorf("write through the read pool: error = %v, want readonly", err)
	}
}

// Between bursts of commits the background checkpointer copies the WAL back,
// so it starts over small instead of growing until SQLite's own threshold.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "d.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev := dispenser.Event{Time: time.Now(), Kind: dispenser.KindButton}
	const burst = 64
	for range 20 {
		for range burst {
			if _, err := s.Append(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		s.ckpt.flush() // as the idle timer does when the device pauses
	}
	// Without checkpoints the WAL would hold every commit's pages; with
	// them it starts over after each, so it stays far smaller.
	st, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if max := int64(4 * burst * 4096 * 3); st.Size() > max {
		t.Errorf("WAL size after %d commits = %d bytes, want at most %d", 20*burst, st.Size(), max)
	}
}
