package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pillbox/pillbox/dispenser"
)

// The display the patient must see while the log cannot be written.
var cannotSave = []string{"Cannot save", "Pills held back", "Call caregiver"}

// storageFaults breaks the database's storage: the disk fills up during a
// commit (and, separately, while the motor turns), the database file is
// read-only when the daemon starts, and the file is damaged at boot (a few
// pages overwritten, or the whole file garbage). The policy it checks is
// docs/reliability.md's: no dispense without a durable intent; the patient
// sees plain instructions; a caregiver is told by a path that still works
// (a direct text when the outbox, being in the same database, cannot be
// written); the daemon keeps running; nothing recorded is lost, and a
// damaged file is kept aside, never deleted, with every event that can
// still be read carried over.
func storageFaults(ctx context.Context, h *harness, r *result) {
	// PILLSTRESS_UNPRIVILEGED runs the unprivileged variant as root too.
	root := os.Geteuid() == 0 && os.Getenv("PILLSTRESS_UNPRIVILEGED") == ""
	for _, c := range []struct {
		name string
		run  func(context.Context, *storageRun) error
	}{
		{"disk full at a press", diskFullAtPress},
		{"disk full while the motor turns", diskFullMidDispense},
		{"read-only database", readOnlyDatabase},
		{"damaged pages at boot", func(ctx context.Context, s *storageRun) error { return damagedAtBoot(ctx, s, false) }},
		{"garbage file at boot", func(ctx context.Context, s *storageRun) error { return damagedAtBoot(ctx, s, true) }},
	} {
		if ctx.Err() != nil {
			return
		}
		r.Runs++
		s, err := newStorageRun(ctx, h, r, c.name, root)
		if err != nil {
			r.fail("%s: %v", c.name, err)
			continue
		}
		if err := c.run(ctx, s); err != nil {
			r.fail("%s: %v", c.name, err)
		}
		s.close()
	}
	if root {
		r.set("disk_full_by_tmpfs", 1, "")
	} else {
		r.set("disk_full_by_rlimit", 1, "")
	}
}

// storageRun is one dispenser whose storage a case breaks. Its data folder
// is a small tmpfs when the harness runs as root (a real ENOSPC), else a
// plain folder whose process gets RLIMIT_FSIZE (EFBIG); the world's state
// file lives outside it, since the world is not the dispenser's disk.
type storageRun struct {
	h      *harness
	r      *result
	d      *daemon
	p      *provider
	chk    *checker
	name   string
	root   bool
	mounts []string
	filler string
}

func newStorageRun(ctx context.Context, h *harness, r *result, name string, root bool) (*storageRun, error) {
	s := &storageRun{h: h, r: r, name: name, root: root}
	var err error
	if s.d, s.p, err = h.newTextingDaemon("storage", fastMotors...); err != nil {
		return nil, err
	}
	world := s.d.data + "-world.json"
	s.d.data = filepath.Join(s.d.data, "db")
	if err := os.MkdirAll(s.d.data, 0o700); err != nil {
		return nil, err
	}
	if root {
		if err := unix.Mount("tmpfs", s.d.data, "tmpfs", 0, "size=4m,mode=0700"); err != nil {
			return nil, fmt.Errorf("mount tmpfs: %w", err)
		}
		s.mounts = append(s.mounts, s.d.data)
	}
	s.d.args = []string{"--sim-state", world}
	if s.chk, err = newChecker(r, s.d); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *storageRun) close() {
	s.d.kill()
	for i := len(s.mounts) - 1; i >= 0; i-- {
		unix.Unmount(s.mounts[i], unix.MNT_DETACH)
	}
	s.p.Close()
}

// start starts the daemon at the example's first dose time.
func (s *storageRun) start(ctx context.Context, extra ...string) error {
	if err := s.d.start(ctx, extra...); err != nil {
		return err
	}
	return s.chk.check(ctx)
}

// fill makes the disk full: a filler file takes the tmpfs's last byte, or
// the process may no longer write past the start of any file.
func (s *storageRun) fill() error {
	if s.root {
		s.filler = filepath.Join(s.d.data, "filler")
		f, err := os.Create(s.filler)
		if err != nil {
			return err
		}
		defer f.Close()
		buf := make([]byte, 64<<10)
		for {
			if _, err := f.Write(buf); err != nil {
				if errors.Is(err, syscall.ENOSPC) {
					return nil
				}
				return err
			}
		}
	}
	return unix.Prlimit(s.d.pid(), unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: 0, Max: unix.RLIM_INFINITY}, nil)
}

// free gives the space back.
func (s *storageRun) free() error {
	if s.root {
		return os.Remove(s.filler)
	}
	return unix.Prlimit(s.d.pid(), unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}, nil)
}

// dispensed is how many pills left the compartments in the world.
func (s *storageRun) dispensed(ctx context.Context) (int, error) {
	w, err := s.d.api.world(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range w.Compartments {
		n += c.Dispensed
	}
	return n, nil
}

// heldBack checks what the patient and a caregiver see while the log
// cannot be written: the display asks for a caregiver, the press gave no
// pill, and a caregiver got a text about it through the provider.
func (s *storageRun) heldBack(ctx context.Context, pillsBefore int) error {
	st, err := s.d.api.status(ctx)
	if err != nil {
		return err
	}
	if !st.StoreError || !slices.Equal(st.Display, cannotSave) {
		return fmt.Errorf("while the log cannot be written: store_error %t, display %q; want true and %q", st.StoreError, st.Display, cannotSave)
	}
	if n, err := s.dispensed(ctx); err != nil || n != pillsBefore {
		return fmt.Errorf("while the log cannot be written, %d pills fell (%v); want none: no dispense without a durable intent", n-pillsBefore, err)
	}
	return s.caregiverTold(ctx, "cannot save")
}

// caregiverTold waits for a text to a caregiver containing want.
func (s *storageRun) caregiverTold(ctx context.Context, want string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, m := range s.p.Messages() {
			if (m.To == caregiver1Phone || m.To == caregiver2Phone) && strings.Contains(strings.ToLower(m.Body), want) {
				s.r.add("caregiver_texts", 1)
				return nil
			}
		}
		if time.Now().After(deadline) {
			var got []string
			for _, m := range s.p.Messages() {
				got = append(got, m.To+": "+m.Body)
			}
			return fmt.Errorf("no caregiver was texted about %q within 15s; the provider got %q", want, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pressHeld presses while the log cannot be written: the press itself
// cannot be logged, so the API's ?wait=1, which waits for its event, would
// only time out; the press and what it would start take well under 1 s.
func (s *storageRun) pressHeld(ctx context.Context) error {
	if err := s.d.api.press(ctx, false); err != nil {
		return err
	}
	time.Sleep(time.Second)
	return nil
}

// doseAt08 brings the clock to the first dose of the example, 08:00.
func (s *storageRun) doseAt08(ctx context.Context) error {
	ny, _ := time.LoadLocation("America/New_York")
	return s.d.api.advanceTo(ctx, time.Date(2027, 1, 12, 8, 0, 0, 0, ny))
}

const storageStart = "--sim-start=2027-01-12T07:50:00-05:00"

// diskFullAtPress: the disk is full when the dose comes due and the
// patient presses; when space comes back, the dose is given, once.
func diskFullAtPress(ctx context.Context, s *storageRun) error {
	if err := s.start(ctx, storageStart); err != nil {
		return err
	}
	before, err := s.dispensed(ctx)
	if err != nil {
		return err
	}
	if err := s.fill(); err != nil {
		return fmt.Errorf("fill the disk: %w", err)
	}
	if err := s.doseAt08(ctx); err != nil {
		return err
	}
	if err := s.pressHeld(ctx); err != nil {
		return fmt.Errorf("press on a full disk: %w", err)
	}
	if err := s.heldBack(ctx, before); err != nil {
		return err
	}
	if !s.d.alive() {
		return errors.New(s.d.crashed())
	}
	if err := s.free(); err != nil {
		return fmt.Errorf("free the disk: %w", err)
	}
	return s.recovered(ctx, before, 1)
}

// recovered checks that, with space back, the log is written again, the
// due dose is given exactly once, and every event the API returned is
// still there, in a sound file.
func (s *storageRun) recovered(ctx context.Context, before, want int) error {
	if err := s.d.api.advance(ctx, time.Minute); err != nil {
		return err
	}
	st, err := s.d.api.status(ctx)
	if err != nil {
		return err
	}
	if st.StoreError {
		return fmt.Errorf("a minute after space came back: store_error still true, display %q", st.Display)
	}
	for range 2 { // the second press must give nothing more
		if err := s.d.api.press(ctx, true); err != nil {
			return err
		}
		if err := s.d.api.take(ctx); err != nil {
			return err
		}
	}
	if n, err := s.dispensed(ctx); err != nil || n-before != want {
		return fmt.Errorf("after space came back and two presses, %d pills fell (%v); want %d", n-before, err, want)
	}
	if err := s.chk.check(ctx); err != nil {
		return err
	}
	if err := s.chk.verifyAll(ctx); err != nil {
		return err
	}
	return integrityCheck(ctx, s.d.db())
}

// diskFullMidDispense: the disk fills while the motor turns, so the intent
// is logged and the outcome cannot be; when space comes back the outcome
// must reach the log, and the patient's taking the pills too.
func diskFullMidDispense(ctx context.Context, s *storageRun) error {
	if err := s.start(ctx, storageStart); err != nil {
		return err
	}
	if err := s.doseAt08(ctx); err != nil {
		return err
	}
	started, ok, err := s.d.api.pressToDispense(ctx, s.chk, 10*time.Second)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("no dispense_started within 10 s of the press")
	}
	if err := s.fill(); err != nil {
		return fmt.Errorf("fill the disk: %w", err)
	}
	// Let the motor finish: its outcome cannot be committed.
	time.Sleep(2 * time.Second)
	if err := s.caregiverTold(ctx, "cannot save"); err != nil {
		return err
	}
	if err := s.free(); err != nil {
		return err
	}
	if err := s.d.api.advance(ctx, time.Minute); err != nil {
		return err
	}
	if err := s.d.api.take(ctx); err != nil {
		return err
	}
	evs, err := s.d.api.events(ctx, started.Seq)
	if err != nil {
		return err
	}
	var kinds []dispenser.Kind
	for _, ev := range evs {
		if ev.DoseID == started.DoseID {
			kinds = append(kinds, ev.Kind)
		}
	}
	if !slices.Contains(kinds, dispenser.KindDispensed) || !slices.Contains(kinds, dispenser.KindTaken) {
		return fmt.Errorf("after space came back, dose %s has %v after dispense_started; want its pills dispensed and taken in the log", started.DoseID, kinds)
	}
	return s.chk.check(ctx)
}

// roMount makes dir read-only: a read-only bind mount as root (root writes
// through file modes), else the modes.
func (s *storageRun) roMount(dir string) error {
	if os.Geteuid() == 0 {
		if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
			return err
		}
		s.mounts = append(s.mounts, dir)
		return unix.Mount("", dir, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, "")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.Chmod(filepath.Join(dir, e.Name()), 0o400)
	}
	return os.Chmod(dir, 0o500)
}

func (s *storageRun) rwMount(dir string) error {
	if os.Geteuid() == 0 {
		s.mounts = s.mounts[:len(s.mounts)-1]
		return unix.Unmount(dir, 0)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.Chmod(filepath.Join(dir, e.Name()), 0o600)
	}
	return os.Chmod(dir, 0o700)
}

// readOnlyDatabase: the daemon starts on a read-only database. It must run,
// show its history, hold pills back and tell a caregiver; once the file is
// writable again, a restart carries on with nothing lost.
func readOnlyDatabase(ctx context.Context, s *storageRun) error {
	if err := s.start(ctx, storageStart); err != nil {
		return err
	}
	s.d.stop()
	if err := s.roMount(s.d.data); err != nil {
		return fmt.Errorf("make the database read-only: %w", err)
	}
	if err := s.d.start(ctx); err != nil {
		return fmt.Errorf("the daemon does not start on a read-only database: %w", err)
	}
	before, err := s.dispensed(ctx)
	if err != nil {
		return err
	}
	if err := s.chk.check(ctx); err != nil {
		return fmt.Errorf("history on a read-only database: %w", err)
	}
	if err := s.doseAt08(ctx); err != nil {
		return err
	}
	if err := s.pressHeld(ctx); err != nil {
		return fmt.Errorf("press on a read-only database: %w", err)
	}
	if err := s.heldBack(ctx, before); err != nil {
		return err
	}
	s.d.stop()
	if err := s.rwMount(s.d.data); err != nil {
		return err
	}
	if err := s.d.start(ctx); err != nil {
		return err
	}
	return s.recovered(ctx, before, 1)
}

// damagedAtBoot: the dose of 08:00 is given; the daemon stops; the file is
// damaged (pages in the middle overwritten, or the whole file garbage);
// the daemon starts. It must keep the damaged file aside byte for byte,
// start a new log holding every event it could still read, tell a
// caregiver, and never give the 08:00 dose again.
func damagedAtBoot(ctx context.Context, s *storageRun, whole bool) error {
	if err := s.start(ctx, storageStart); err != nil {
		return err
	}
	if err := s.doseAt08(ctx); err != nil {
		return err
	}
	if err := s.d.api.press(ctx, true); err != nil {
		return err
	}
	if err := s.d.api.take(ctx); err != nil {
		return err
	}
	before, err := s.dispensed(ctx)
	if err != nil {
		return err
	}
	if err := s.chk.check(ctx); err != nil {
		return err
	}
	logged := s.chk.lastSeq
	s.d.stop() // a clean stop checkpoints the WAL into the file
	damaged, err := damage(s.d.db(), whole)
	if err != nil {
		return fmt.Errorf("damage the file: %w", err)
	}
	if err := s.d.start(ctx); err != nil {
		return fmt.Errorf("the daemon does not start on a damaged database: %w", err)
	}
	// The damaged file is kept aside, unchanged.
	aside, _ := filepath.Glob(s.d.db() + ".damaged-*")
	aside = slices.DeleteFunc(aside, func(p string) bool { return strings.HasSuffix(p, "-wal") || strings.HasSuffix(p, "-shm") })
	if len(aside) != 1 {
		return fmt.Errorf("files kept aside = %v, want the damaged database", aside)
	}
	if b, err := os.ReadFile(aside[0]); err != nil || !bytes.Equal(b, damaged) {
		return fmt.Errorf("the file kept aside differs from the damaged one (%v)", err)
	}
	evs, err := s.d.api.events(ctx, 0)
	if err != nil {
		return err
	}
	var fault *dispenser.Event
	for i, ev := range evs {
		if ev.Kind == dispenser.KindFault && strings.HasPrefix(ev.Detail, "storage") {
			fault = &evs[i]
		}
	}
	if fault == nil {
		return fmt.Errorf("no storage fault event in the new log: %d events", len(evs))
	}
	s.r.add("events_carried_over", countIDs(evs, s.chk.seen))
	s.r.add("events_before_damage", int(logged))
	if !whole && countIDs(evs, s.chk.seen) == 0 {
		return errors.New("a file with a few damaged pages gave no event back")
	}
	if err := s.caregiverTold(ctx, "storage"); err != nil {
		return err
	}
	// The new log: reset the checker's view, it starts over at seq 1.
	if s.chk, err = newChecker(s.r, s.d); err != nil {
		return err
	}
	for range 2 {
		if err := s.d.api.press(ctx, true); err != nil {
			return err
		}
		if err := s.d.api.take(ctx); err != nil {
			return err
		}
	}
	if n, err := s.dispensed(ctx); err != nil || n != before {
		return fmt.Errorf("after the damage, presses gave %d more pills (%v): the 08:00 dose was given again", n-before, err)
	}
	return integrityCheck(ctx, s.d.db())
}

// countIDs counts the events of evs whose id the API returned before.
func countIDs(evs []dispenser.Event, seen map[int64]string) int {
	ids := map[string]bool{}
	for _, id := range seen {
		ids[id] = true
	}
	n := 0
	for _, ev := range evs {
		if ids[ev.ID] {
			n++
		}
	}
	return n
}

// damage overwrites the database file: pages in its middle (the header
// and schema survive), or everything. It returns the damaged bytes.
func damage(path string, whole bool) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	garbage := bytes.Repeat([]byte("\xde\xad\xbe\xef"), 1024)
	if whole {
		b = bytes.Repeat(garbage, max(1, len(b)/len(garbage)))
	} else {
		const page = 4096
		pages := len(b) / page
		if pages < 4 {
			return nil, fmt.Errorf("database of %d pages is too small to damage its middle", pages)
		}
		// The last pages hold the newest rows of the busiest table and
		// index; damage one in the middle.
		at := (pages / 2) * page
		copy(b[at:at+page], garbage)
	}
	return b, os.WriteFile(path, b, 0o600)
}
