package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify/twiliotest"
)

// frequentDoses makes doses come every ten minutes, alternating between
// two compartments (a stepper that takes about a second per pill and a
// faster one), each with a five-minute window either side, so that every
// crash cycle finds a dose to give.
var frequentDoses = []string{
	"cron: \"0 8,20 * * *\"", "cron: \"*/20 0,3-23 * * *\"\n    window: 5m",
	"cron: \"0 9 * * *\"\n    early: 30m\n    late: 3h", "cron: \"10,30,50 0,3-23 * * *\"\n    window: 5m",
}

// migrations is how many schema migrations adherence embeds.
var migrations = func() int {
	root, err := moduleRoot()
	if err != nil {
		return 0
	}
	m, _ := filepath.Glob(filepath.Join(root, "adherence", "migrations", "*.sql"))
	return len(m)
}()

// Kill moments of the crash storm.
const (
	killDispense = "kill_mid_dispense"
	killCommit   = "kill_random"
	killSendWait = "kill_mid_send"
	killAccepted = "kill_after_accept"
	killBoot     = "kill_at_boot"
	killMigrate  = "kill_first_migration"
)

// crashStorm kills dispensers with SIGKILL at random moments - while the
// motor turns, around commits, while a text is with the provider (before
// and after it accepted it), while the daemon boots, during the first
// migration of a new database - and restarts them on the same data and
// simulated world. After every restart: integrity_check is ok, every event
// the API ever returned is still there, no dose got more pills than it
// prescribes, an interrupted dispense is uncertain and a caregiver is
// texted about it; no text is lost, and any text Twilio got twice is one
// whose acceptance a kill hid.
func crashStorm(ctx context.Context, h *harness, r *result) {
	kills := h.size(50, 1000)
	perDevice := h.size(17, 25)
	for dev := 0; kills > 0 && ctx.Err() == nil; dev++ {
		n := min(kills, perDevice)
		kills -= n
		crashDevice(ctx, h, r, dev, n)
	}
}

// stormDevice is one dispenser of the crash storm and what it was told.
type stormDevice struct {
	h   *harness
	r   *result
	d   *daemon
	p   *provider
	chk *checker

	// armed is the run the provider's hook is to kill once Twilio
	// accepted a text (0: none). The run, not whatever runs when the hook
	// gets to it: a hook that fires late must spare the restarted daemon.
	armed    atomic.Int64
	mu       sync.Mutex
	kills    []time.Time // when each SIGKILL was sent
	restarts int
}

func crashDevice(ctx context.Context, h *harness, r *result, dev, kills int) {
	d, p, err := h.newTextingDaemon(fmt.Sprintf("crash-%d", dev), frequentDoses...)
	if err != nil {
		r.fail("%v", err)
		return
	}
	defer p.Close()
	defer d.kill()
	s := &stormDevice{h: h, r: r, d: d, p: p}
	p.OnAccept(s.onAccept)
	if s.chk, err = newChecker(r, d); err != nil {
		r.fail("%v", err)
		return
	}
	r.Runs++

	// The first start is killed during the first migration, at a random
	// moment within the first 150 ms of the process.
	start := "--sim-start=2027-01-12T07:55:00-05:00"
	if err := d.spawn(start); err != nil {
		r.fail("%v", err)
		return
	}
	// The file appears just before SQLite opens it; the migrations follow.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Microsecond) {
		if _, err := os.Stat(d.db()); err == nil {
			break
		}
	}
	time.Sleep(h.between(0, 25*time.Millisecond))
	s.kill()
	r.add(killMigrate, 1)
	// Where the kill landed: before the schema, between two migrations
	// (each is a transaction of its own), or after the last.
	switch v := schemaVersion(ctx, d.db()); {
	case v <= 0:
		r.add("migration_none_applied", 1)
	case v < migrations:
		r.add("migration_partly_applied", 1)
	default:
		r.add("migration_all_applied", 1)
	}
	kills--
	if !s.restart(ctx) {
		return
	}
	for i := 0; i < kills && ctx.Err() == nil; i++ {
		t0 := time.Now()
		if err := s.cycle(ctx); err != nil {
			r.fail("device %d cycle %d: %v", dev, i, err)
			return
		}
		t1 := time.Now()
		if !s.restart(ctx) {
			return
		}
		debugf("cycle %d: %v, restart %v", i, t1.Sub(t0), time.Since(t1))
	}
	t0 := time.Now()
	s.finish(ctx)
	debugf("finish %v", time.Since(t0))
}

// restart starts the daemon again on the same data and world and checks
// what the crash left.
func (s *stormDevice) restart(ctx context.Context) bool {
	if err := s.d.start(ctx); err != nil {
		s.r.fail("restart after a kill: %v", err)
		return false
	}
	s.restarts++
	if err := integrityCheck(ctx, s.d.db()); err != nil {
		s.r.fail("after restart %d: %v", s.restarts, err)
	}
	if err := s.chk.check(ctx); err != nil {
		s.r.fail("after restart %d: check: %v", s.restarts, err)
		return false
	}
	if err := s.chk.verifyAll(ctx); err != nil {
		s.r.fail("after restart %d: verify: %v", s.restarts, err)
		return false
	}
	return true
}

// onAccept is the provider's hook: when armed, it kills the daemon after
// Twilio accepted a text and before the daemon hears so.
func (s *stormDevice) onAccept(m twiliotest.Message) {
	if run := s.armed.Swap(0); run != 0 {
		s.killRun(int(run))
	}
}

// kill kills the daemon and notes when, for the duplicate texts it may
// explain.
func (s *stormDevice) kill() { s.killRun(s.d.run()) }

// killRun kills the daemon if it is still run number run.
func (s *stormDevice) killRun(run int) {
	t := time.Now()
	if s.d.killRun(run) {
		s.mu.Lock()
		s.kills = append(s.kills, t)
		s.mu.Unlock()
	}
}

// cycle runs until one kill, of a randomly chosen kind.
func (s *stormDevice) cycle(ctx context.Context) error {
	if err := s.refillIfLow(ctx); err != nil {
		return err
	}
	switch k := s.h.intn(100); {
	case k < 45:
		return s.killMidDispense(ctx)
	case k < 70:
		return s.killRandom(ctx)
	case k < 90:
		return s.killMidSend(ctx)
	default:
		return s.killAtBoot(ctx)
	}
}

// toNextDose advances the clock to the next scheduled dose, if it is not
// already due, and returns the status there.
func (s *stormDevice) toNextDose(ctx context.Context) (dispenser.Status, error) {
	st, err := s.d.api.status(ctx)
	if err != nil {
		return st, err
	}
	for _, p := range st.Pending {
		if p.State.Open() && !st.Now.Before(p.Opens) {
			return st, nil
		}
	}
	if len(st.Next) == 0 {
		return st, errors.New("no next dose in the status")
	}
	if err := s.d.api.advanceTo(ctx, st.Next[0].Scheduled); err != nil {
		return st, err
	}
	return s.d.api.status(ctx)
}

// killMidDispense presses the button at a dose's time and kills the
// daemon while the motor turns.
func (s *stormDevice) killMidDispense(ctx context.Context) error {
	if _, err := s.toNextDose(ctx); err != nil {
		return err
	}
	_, started, err := s.d.api.pressToDispense(ctx, s.chk, 5*time.Second)
	if err != nil {
		return err
	}
	if !started {
		s.r.add("press_without_dispense", 1)
	}
	time.Sleep(s.h.between(0, 1300*time.Millisecond))
	s.kill()
	s.r.add(killDispense, 1)
	return nil
}

// killRandom runs a whole dose (press, dispense, take) and kills the
// daemon at a random moment of it: inside a commit or between two.
func (s *stormDevice) killRandom(ctx context.Context) error {
	if _, err := s.toNextDose(ctx); err != nil {
		return err
	}
	flow := make(chan struct{})
	go func() {
		defer close(flow)
		if s.d.api.press(ctx, true) == nil {
			s.d.api.take(ctx)
		}
	}()
	time.Sleep(s.h.between(0, 1500*time.Millisecond))
	s.kill()
	<-flow
	s.r.add(killCommit, 1)
	return nil
}

// killMidSend lets a dose go untaken until the ladder texts a caregiver,
// and kills the daemon while the text is with the provider: before it
// answers (the request held), or just after it accepted it.
func (s *stormDevice) killMidSend(ctx context.Context) error {
	st, err := s.toNextDose(ctx)
	if err != nil {
		return err
	}
	kind := killSendWait
	if s.h.intn(2) == 0 {
		kind = killAccepted
		s.armed.Store(int64(s.d.run()))
	} else {
		s.p.FailNext(1, twiliotest.FailSlow)
	}
	before := s.p.Requests()
	// The ladder's caregiver step is 30 minutes after the scheduled time;
	// an uncertain dose from the last cycle texts at once. The step dies
	// with the daemon; it is waited for so that, late, it cannot reach
	// the restarted one.
	advanced := make(chan struct{})
	go func() {
		defer close(advanced)
		s.d.api.advanceTo(ctx, st.Now.Add(35*time.Minute))
	}()
	defer func() { <-advanced }()
	deadline := time.Now().Add(5 * time.Second)
	for s.d.alive() && s.p.Requests() == before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	switch {
	case !s.d.alive():
		s.r.add(kind, 1) // the hook killed it
	case s.p.Requests() > before:
		if kind == killAccepted {
			time.Sleep(20 * time.Millisecond) // the hook is killing it
		}
		s.kill()
		s.r.add(kind, 1)
	default:
		s.kill()
		s.r.add("kill_no_text_due", 1)
	}
	s.armed.Store(0)
	s.p.ClearFaults()
	s.p.Release()
	return nil
}

// killAtBoot kills the daemon while it starts: restore, reconciliation and
// the notifier's first pass run there.
func (s *stormDevice) killAtBoot(ctx context.Context) error {
	// It is running: stop it hard first, then kill the next start early.
	s.kill()
	if err := s.d.spawn(); err != nil {
		return err
	}
	time.Sleep(s.h.between(5*time.Millisecond, 400*time.Millisecond))
	s.kill()
	s.r.add(killBoot, 1)
	return nil
}

// refillIfLow refills the world and the log when a compartment runs low.
func (s *stormDevice) refillIfLow(ctx context.Context) error {
	w, err := s.d.api.world(ctx)
	if err != nil {
		return err
	}
	for _, c := range w.Compartments {
		if c.Count < 8 {
			return s.d.api.call(ctx, "POST", "/api/sim/refill", nil, nil)
		}
	}
	return nil
}

// finish lets the device settle, then checks what must hold in the end:
// every uncertain dose reached a caregiver, every text was sent or given up
// on, and Twilio got no text twice that a kill does not explain.
func (s *stormDevice) finish(ctx context.Context) {
	s.d.api.take(ctx)
	// The outbox backs off at most ten minutes between tries.
	s.chk.settle(ctx, 5*time.Minute, 6*time.Hour, time.Minute)
	s.r.add("events_logged", len(s.chk.seen))
	checkOutbox(ctx, s.r, s.d, s.p, s.killedSoonAfter)
	if err := s.chk.verifyAll(ctx); err != nil {
		s.r.fail("final verify: %v", err)
	}
	s.r.add("uncertain", s.chk.Uncertain)
	s.r.add("doses_started", s.chk.Started)
	s.r.add("boots", s.chk.Boots)
	s.d.stop()
}

// killedSoonAfter reports whether a kill came within moments of t: a text
// Twilio accepted then may never have had its acceptance committed. Twilio
// may also finish a request whose sender died while it was held (it had
// the whole request), so a kill just before counts too.
func (s *stormDevice) killedSoonAfter(t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.kills {
		if d := k.Sub(t); d > -2*time.Second && d < 2*time.Second {
			return true
		}
	}
	return false
}
