package dispenser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/internal/i18n"
	"github.com/pillbox/pillbox/schedule"
)

// ClockGate decides whether the wall clock can be trusted (schedule.Trust).
// Until it can, no dose is dispensed and none is declared missed: a
// Raspberry Pi without an RTC boots in 1970 or at its last shutdown time.
type ClockGate interface {
	Check(ctx context.Context) (schedule.Verdict, error)
	// Remember persists the current time as trusted when an outside
	// authority (NTP, RTC) vouches for it.
	Remember(ctx context.Context) (schedule.Verdict, error)
}

// Config wires a Controller. Zero tunables take the documented defaults.
type Config struct {
	Clock       schedule.Clock
	Log         Log
	Board       *hw.Board
	Plan        *schedule.Plan
	Location    *time.Location
	Medications []Medication
	// Counts are the pill counts from the config file, used for a
	// compartment the log has never counted (first boot).
	Counts map[int]int
	// Capacity per compartment, for refills.
	Capacity map[int]int
	// Gate is nil when the clock is always trusted (the simulator).
	Gate   ClockGate
	Logger *slog.Logger
	// Language is the patient's: the words of the display and the spoken
	// prompts (default i18n.Base).
	Language *i18n.Locale
	// ClockStyle writes times as 20:00 or 8:00 PM; LocaleClock, the
	// default, as the language usually does.
	ClockStyle i18n.ClockStyle

	// Reminders are the device reminder steps after the scheduled time.
	// Default: 0 and 15m (the second one louder).
	Reminders []time.Duration
	// ChimeFor is how long the buzzer sounds at each reminder (default 1m).
	ChimeFor time.Duration
	// JamRetries is how many more times the motor turns for a pill that did
	// not fall (default 2).
	JamRetries int
	// DropTimeout is how long, in hardware time, to wait for a pill to cross
	// the beam after the motor stops (default 2s).
	DropTimeout time.Duration
	// Settle is how long, in hardware time, to watch for extra pills after
	// the last one (default 300ms).
	Settle time.Duration
	// PickupTimeout is how long pills may wait in the cup before the dose
	// is recorded as not taken (default 30m).
	PickupTimeout time.Duration
	// HoldFor is how long the button must be held to ask for an as-needed
	// dose (default 2s, hardware time).
	HoldFor time.Duration
	// Lookback bounds how far back doses are reconciled after the device
	// was off (default 7 days).
	Lookback time.Duration
	// JumpThreshold is the wall-clock step treated as a jump (default
	// schedule.DefaultJumpThreshold).
	JumpThreshold time.Duration
	// RememberEvery is how often a vouched-for wall time is persisted as
	// the last trusted time (default 1h).
	RememberEvery time.Duration
	// Tick is the housekeeping period: clock jump and trust checks (default 1m).
	Tick time.Duration
	// LidAlarm is how long the lid may read open before it is reported
	// as a fault (default DefaultLidAlarm): left open, or its sensor stuck.
	LidAlarm time.Duration
	// Coach, if set, moves first chimes and adds heads-up prompts from
	// what was learned of the patient (coach.go).
	Coach Coach
}

// DefaultLidAlarm is Config.LidAlarm's default.
const DefaultLidAlarm = 2 * time.Hour

func (c *Config) defaults() {
	if c.Reminders == nil {
		c.Reminders = []time.Duration{0, 15 * time.Minute}
	}
	setDefault(&c.ChimeFor, time.Minute)
	if c.JamRetries == 0 {
		c.JamRetries = 2
	}
	setDefault(&c.DropTimeout, 2*time.Second)
	setDefault(&c.Settle, 300*time.Millisecond)
	setDefault(&c.PickupTimeout, 30*time.Minute)
	setDefault(&c.HoldFor, 2*time.Second)
	setDefault(&c.Lookback, 7*24*time.Hour)
	setDefault(&c.JumpThreshold, schedule.DefaultJumpThreshold)
	setDefault(&c.RememberEvery, time.Hour)
	setDefault(&c.Tick, time.Minute)
	setDefault(&c.LidAlarm, DefaultLidAlarm)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
	if c.Language == nil {
		c.Language = i18n.Lookup(i18n.Base)
	}
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

// Controller is the dose state machine. All of its state is owned by the
// goroutine running Run; everything else talks to it through channels, so
// there are no locks to get wrong around the safety rules.
type Controller struct {
	cfg   Config
	meds  map[string]Medication
	log   *slog.Logger
	voice *voice // nil without a speaker

	edges chan hw.Edge
	wake  chan chan struct{}
	reqs  chan func()
	done  chan dispenseResult
	quit  chan struct{} // closed when Run returns

	// Owned by the Run goroutine.
	// ctx is Run's: what a request starts (a commit, a motor turn) belongs
	// to the controller, not to the caller, whose context ends when it
	// stops waiting.
	ctx         context.Context
	doses       map[string]*Dose
	counts      map[int]int
	prnTaken    map[string][]time.Time
	active      *dispenseJob
	round       round
	idleWaiters []chan struct{}
	queue       []*Dose
	carry       []Event // to go in the next dispense commit
	// unsaved records what already happened (a boot and the doses it found
	// interrupted, a turn's outcome, the cup lifted) but could not be
	// committed: it goes first in every later commit until one succeeds.
	unsaved     []Event
	lastSeen    time.Time // wall time up to which closed windows were reconciled
	jumps       schedule.JumpDetector
	trusted     bool
	trustReason schedule.TrustReason
	checked     time.Duration // monotonic time of the last trust check
	remembered  time.Duration // monotonic time of the last Remember
	timer       schedule.Timer
	chimeUntil  time.Time
	sayDue      bool // a reminder came due: say so with the chime
	screen      []string
	storeErr    error
	notice      notice
	holdTimer   *time.Timer
	flap        map[hw.Input]*flapState
	faults      map[string][]string // SetFault messages by key
	// onIt is the caregiver who acknowledged, at onItAt, the missed doses
	// scheduled before then (OnIt); shown on the missed-dose screen.
	onIt   string
	onItAt time.Time
	// Sensor faults reported once per stretch.
	beamReported bool      // the drop beam read blocked at a dispense
	lidOpenSince time.Time // wall time the lid was seen open; zero while closed
	lidReported  bool
	// prompted are the doses given a heads-up prompt, with when; promptUntil
	// is when the latest prompt's chime stops.
	prompted    map[string]time.Time
	promptUntil time.Time
}

// notice is a short-lived message that overrides the normal screen.
type notice struct {
	lines []string
	until time.Time
}

// ErrStopped is returned by requests to a controller that is not running.
var ErrStopped = errors.New("dispenser: controller stopped")

// New returns a controller; call Run to start it.
func New(cfg Config) (*Controller, error) {
	cfg.defaults()
	if cfg.Clock == nil || cfg.Log == nil || cfg.Board == nil || cfg.Plan == nil {
		return nil, errors.New("dispenser: clock, log, board and plan are required")
	}
	if len(cfg.Board.Compartments) == 0 || cfg.Board.Drop == nil || cfg.Board.Button == nil {
		return nil, fmt.Errorf("dispenser: %w: compartments, drop sensor and button are required", hw.ErrHardware)
	}
	c := &Controller{
		cfg:      cfg,
		meds:     map[string]Medication{},
		log:      cfg.Logger,
		edges:    make(chan hw.Edge, 64),
		wake:     make(chan chan struct{}),
		reqs:     make(chan func()),
		done:     make(chan dispenseResult, 1),
		quit:     make(chan struct{}),
		doses:    map[string]*Dose{},
		counts:   map[int]int{},
		prnTaken: map[string][]time.Time{},
		flap:     map[hw.Input]*flapState{},
		prompted: map[string]time.Time{},
	}
	for _, m := range cfg.Medications {
		c.meds[m.ID] = m
	}
	c.voice = newVoice(cfg.Board.Speaker, cfg.Language.Tag(), c.log)
	return c, nil
}

// Run restores state from the log, then runs the dose loop until ctx ends.
// It returns an error only when it cannot start.
func (c *Controller) Run(ctx context.Context) error {
	c.ctx = ctx
	if err := c.restore(ctx); err != nil {
		return err
	}
	defer close(c.quit)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	if c.voice != nil {
		go c.voice.run(watchCtx)
	}
	for _, s := range []hw.Sensor{c.cfg.Board.Button, c.cfg.Board.Drop, c.cfg.Board.Lid, c.cfg.Board.Cup} {
		if s == nil {
			continue
		}
		go func() {
			if err := s.Watch(watchCtx, c.edges); err != nil && watchCtx.Err() == nil {
				c.log.Error("dispenser: sensor stopped", "err", err)
			}
		}()
	}
	c.step(ctx)
	for {
		select {
		case <-ctx.Done():
			c.stopTimer()
			return nil
		case e := <-c.edges:
			c.onEdge(ctx, e)
		case ack := <-c.wake:
			c.step(ctx)
			close(ack)
			continue
		case f := <-c.reqs:
			f()
		case r := <-c.done:
			c.onDispensed(ctx, r)
		}
		c.step(ctx)
	}
}

// Poke makes the controller look at the clock now (after the simulator set
// it, for instance) and returns once it has.
func (c *Controller) Poke(ctx context.Context) {
	ack := make(chan struct{})
	select {
	case c.wake <- ack:
		<-ack
	case <-ctx.Done():
	case <-c.quit:
	}
}

// do runs f on the controller's goroutine and waits for it. ctx bounds the
// wait for the loop to take f; once taken, f runs at once and do waits for
// it to finish whatever ctx does, so that the caller never reads what f is
// still writing, nor reports as failed what f did.
func (c *Controller) do(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case c.reqs <- func() { f(); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.quit:
		return ErrStopped
	}
	<-done
	return nil
}

// restore rebuilds dose states and pill counts from the log, and turns every
// dose that was mid-dispense when the process died into `uncertain`.
func (c *Controller) restore(ctx context.Context) error {
	now := c.cfg.Clock.Now()
	evs, err := c.cfg.Log.SinceTime(ctx, now.Add(-c.cfg.Lookback-48*time.Hour))
	if err != nil {
		return fmt.Errorf("dispenser: restore: %w", err)
	}
	for _, ev := range evs {
		c.replay(ev)
		if ev.Time.After(c.lastSeen) {
			c.lastSeen = ev.Time
		}
	}
	for _, comp := range c.cfg.Board.Compartments {
		if _, ok := c.counts[comp.ID]; ok {
			continue
		}
		ev, ok, err := c.cfg.Log.LastOfKinds(ctx, comp.ID, countKinds...)
		if err != nil {
			return fmt.Errorf("dispenser: restore counts: %w", err)
		}
		if n, found := detailInt(ev.Detail, "left"); ok && found {
			c.counts[comp.ID] = n
		} else {
			c.counts[comp.ID] = c.cfg.Counts[comp.ID]
		}
	}
	if lid := c.cfg.Board.Lid; lid != nil && lid.Active() {
		c.lidOpenSince = now
	}
	c.jumps.Threshold = c.cfg.JumpThreshold
	c.jumps.Observe(now, c.cfg.Clock.Monotonic())
	c.checkTrust(ctx, true)
	boot := []Event{{Time: now, Kind: KindBoot}}
	for _, d := range c.sortedDoses() {
		if d.State == StateDispensing {
			// The motor may have moved: the pills may be in the cup or
			// not. Never dispense again on our own; tell a person.
			ev := c.doseEvent(d, KindUncertain, now, "interrupted mid-dispense")
			ev.Detail += fmt.Sprintf(" left=%d", c.counts[d.Compartment])
			boot = append(boot, ev)
		}
	}
	if c.lastSeen.IsZero() {
		// First boot: nothing before now was ever this device's to give.
		c.lastSeen = now
	}
	// A log that cannot be written (a full or read-only disk) does not stop
	// the dispenser: it holds pills back and says so (render), and writes
	// the boot when it can. The interrupted doses stay dispensing in
	// memory meanwhile, so they are not given again either.
	c.commitOrKeep(ctx, boot...)
	return nil
}

// countKinds are the events whose detail carries a compartment's count.
var countKinds = []Kind{KindRefill, KindDispensed, KindJam, KindUncertain, KindEmpty}

// replay applies a logged event to the in-memory state.
func (c *Controller) replay(ev Event) {
	if ev.Compartment != 0 {
		if n, ok := detailInt(ev.Detail, "left"); ok && slices.Contains(countKinds, ev.Kind) {
			c.counts[ev.Compartment] = n
		}
	}
	if ev.DoseID == "" {
		c.replayCoach(ev)
		return
	}
	d := c.doses[ev.DoseID]
	if d == nil {
		d = c.newDose(ev.DoseID, ev.Medication, ev.Scheduled)
		c.doses[ev.DoseID] = d
	}
	d.apply(ev)
	if d.PRN && ev.Kind == KindDispensed {
		c.prnTaken[d.Medication] = append(c.prnTaken[d.Medication], ev.Time)
	}
}

func (c *Controller) newDose(id, med string, scheduled time.Time) *Dose {
	m := c.meds[med]
	d := &Dose{ID: id, Medication: med, Compartment: m.Compartment, Pills: m.PillsPerDose, Scheduled: scheduled}
	if len(id) > 4 && id[:4] == "prn:" {
		d.PRN = true
	}
	if !d.PRN && !scheduled.IsZero() {
		for _, occ := range c.cfg.Plan.Between(scheduled, scheduled.Add(time.Second)) {
			if occ.ID == id {
				d.Opens, d.Closes = occ.Opens, occ.Closes
			}
		}
	}
	return d
}

func (c *Controller) doseEvent(d *Dose, k Kind, now time.Time, detail string) Event {
	return Event{Time: now, Kind: k, DoseID: d.ID, Medication: d.Medication,
		Compartment: d.Compartment, Scheduled: d.Scheduled, Detail: detail}
}

// commit appends events durably and applies them. Whoever else acts on
// them (the notifier, the stream) learns of them from the log, which
// tells its subscribers of every batch whoever appended it.
// Nothing is applied when the store fails: the in-memory state never runs
// ahead of the log.
//
// Events owed from earlier failures (unsaved) go first; with no events it
// only retries those.
func (c *Controller) commit(ctx context.Context, evs ...Event) ([]Event, error) {
	if !c.trusted {
		// In place: commitOrKeep keeps these same events when the log
		// fails, and they must keep the mark of when they were made.
		for i := range evs {
			evs[i].ClockUntrusted = true
		}
	}
	if len(c.unsaved) > 0 {
		evs = append(slices.Clip(c.unsaved), evs...)
	}
	if len(evs) == 0 {
		return nil, nil
	}
	stored, err := c.cfg.Log.Append(ctx, evs...)
	if err != nil {
		if c.storeErr == nil {
			c.log.Error("dispenser: cannot write the event log", "err", err)
		}
		c.storeErr = err
		return nil, fmt.Errorf("dispenser: log: %w", err)
	}
	c.storeErr = nil
	c.unsaved = nil
	for _, ev := range stored {
		c.replay(ev)
		if ev.DoseID != "" || ev.Kind == KindLidOpened || ev.Kind == KindCupLifted {
			c.notice = notice{} // the situation changed: a stale message would mislead
		}
		c.sayEvent(ev)
	}
	return stored, nil
}

// commitOrKeep commits events that record what already happened, and keeps
// them to commit later when the log cannot take them now.
func (c *Controller) commitOrKeep(ctx context.Context, evs ...Event) error {
	n := len(c.unsaved)
	_, err := c.commit(ctx, evs...)
	if err != nil && len(c.unsaved) == n {
		c.unsaved = append(c.unsaved, evs...)
	}
	return err
}

func (c *Controller) sortedDoses() []*Dose {
	ds := make([]*Dose, 0, len(c.doses))
	for _, d := range c.doses {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool {
		if !ds[i].Scheduled.Equal(ds[j].Scheduled) {
			return ds[i].Scheduled.Before(ds[j].Scheduled)
		}
		return ds[i].ID < ds[j].ID
	})
	return ds
}
