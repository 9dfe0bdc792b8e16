package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/internal/i18n"
	"github.com/pillbox/pillbox/schedule"
)

// Faults shows problems that need a person on the device's display
// (dispenser.Controller implements it).
type Faults interface {
	SetFault(ctx context.Context, key string, lines ...string) error
	ClearFault(ctx context.Context, key string) error
}

var _ Faults = (*dispenser.Controller)(nil)

// Display tells the patient, on the device, who took on their missed
// doses (dispenser.Controller implements it).
type Display interface {
	// OnIt shows that the caregiver name acknowledged, at at, the missed
	// doses scheduled before at.
	OnIt(ctx context.Context, name string, at time.Time) error
}

var _ Display = (*dispenser.Controller)(nil)

// Config wires a Notifier.
type Config struct {
	Clock  schedule.Clock
	Store  Store
	Sender Sender
	// Caller places the calls of ladder steps with call:; nil means Sender,
	// if it is a Caller too.
	Caller Caller

	Escalation  Escalation
	Patient     dispenser.Patient
	Location    *time.Location // the patient's zone; nil means UTC
	Contacts    []Contact
	Medications []dispenser.Medication
	// Plan and Counts feed the low-supply forecast: Counts are the
	// configured pill counts, for a compartment the log never counted.
	// Without a Plan only an empty compartment is reported.
	Plan   *schedule.Plan
	Counts map[int]int

	// Publish, if set, is handed the events the notifier appended, after
	// they are committed (the daemon's onCommit subscribers).
	Publish func([]dispenser.Event)
	// Faults, if set, shows send failures on the device.
	Faults Faults
	// Display, if set, shows the patient which caregiver acknowledged
	// their missed doses, when the patient gets texts themselves.
	Display Display
	// Trusted, if set, reports whether the wall clock can be trusted: until
	// it can, no ladder advances (the dispenser declares nothing missed
	// either), so a device that boots in 1970 sends no burst of texts.
	Trusted func(context.Context) bool
	Logger  *slog.Logger
	// Rand returns values in [0, 1) for alert codes and retry jitter; nil
	// means math/rand/v2.
	Rand func() float64
}

// Retry timing of the outbox.
const (
	retryBase = 10 * time.Second
	retryMax  = 10 * time.Minute
	// outageAfter is how long sends may keep failing before the device
	// shows that texts are delayed.
	outageAfter = 30 * time.Minute
	// errorRetry is when a loop tries again after a storage error.
	errorRetry = time.Minute
)

// Notifier turns the event log into alerts, alerts into texts climbing
// their ladders, and texts into provider calls through a durable outbox. It
// consumes the log with a durable cursor: an event committed just before a
// crash is acted on after the restart (invariant 4).
//
// Two loops run in Run: the alert pass (read new events, update alerts,
// queue due messages, all in one transaction with the cursor) and the
// sender (send queued messages, with retries). Each is woken by Observe or
// by its own timer on the Clock; neither polls.
type Notifier struct {
	cfg    Config
	pol    policy
	log    *slog.Logger
	meds   map[string]dispenser.Medication
	byComp map[int]dispenser.Medication
	text   texter
	caller Caller
	loc    *time.Location
	rnd    func() float64

	// mu guards the alert state below, and serialises every transaction
	// that changes alerts (the alert pass, replies).
	mu        sync.Mutex
	loaded    bool
	cursor    int64
	open      map[string]*Alert // not closed, by key
	numbers   map[string]Number // by phone
	lastAlert int64
	lastMsg   int64
	forecast  bool     // the supply of every compartment was checked since loading
	ended     []ending // alerts closed in this alert pass whose end is news

	// hookMu serialises status callbacks, so that a replay arriving with
	// its original sees it remembered.
	hookMu sync.Mutex

	// sendMu serialises the sender's passes.
	sendMu      sync.Mutex
	failingFrom time.Time           // first failure of the current run of retryable failures
	faultsSet   map[string]struct{} // fault keys shown on the device
	// refused holds the roles whose last text the provider refused for
	// good (not an opt-out): news of an episode goes past them. Under mu.
	refused map[string]bool

	wake     chan struct{}
	sendWake chan struct{}
	// alertNow and sendNow ask a loop for a pass and are answered by
	// closing the channel sent once it is done: the loop's own timer uses
	// them, and Settle.
	alertNow  chan chan struct{}
	sendNow   chan chan struct{}
	started   chan struct{}
	startOnce sync.Once
	stopped   chan struct{} // closed when Run returns
}

// New checks cfg and returns a Notifier; call Run to start it.
func New(cfg Config) (*Notifier, error) {
	if cfg.Clock == nil || cfg.Store == nil || cfg.Sender == nil {
		return nil, errors.New("notify: clock, store and sender are required")
	}
	if probs := ValidateContacts(cfg.Contacts); len(probs) > 0 {
		return nil, fmt.Errorf("notify: contacts:\n%w", probs)
	}
	if probs := ValidateEscalation(cfg.Escalation, cfg.Contacts, cfg.Medications); len(probs) > 0 {
		return nil, fmt.Errorf("notify: escalation:\n%w", probs)
	}
	pol, err := cfg.Escalation.resolve(cfg.Contacts)
	if err != nil {
		return nil, err
	}
	caller := cfg.Caller
	if caller == nil {
		caller, _ = cfg.Sender.(Caller)
	}
	if pol.calls && caller == nil {
		return nil, errors.New("notify: the ladder has call: steps and the provider cannot place calls")
	}
	n := &Notifier{
		cfg:       cfg,
		caller:    caller,
		pol:       pol,
		log:       cfg.Logger,
		meds:      map[string]dispenser.Medication{},
		byComp:    map[int]dispenser.Medication{},
		loc:       cfg.Location,
		rnd:       cfg.Rand,
		faultsSet: map[string]struct{}{},
		refused:   map[string]bool{},
		wake:      make(chan struct{}, 1),
		sendWake:  make(chan struct{}, 1),
		alertNow:  make(chan chan struct{}),
		sendNow:   make(chan chan struct{}),
		started:   make(chan struct{}),
		stopped:   make(chan struct{}),
	}
	if n.log == nil {
		n.log = slog.Default()
	}
	if n.loc == nil {
		n.loc = time.UTC
	}
	if n.rnd == nil {
		n.rnd = rand.Float64
	}
	for _, m := range cfg.Medications {
		n.meds[m.ID] = m
		if m.Compartment != 0 {
			n.byComp[m.Compartment] = m
		}
	}
	n.text = texter{first: cfg.Patient.FirstName, loc: n.loc, clock: cfg.Patient.Clock(), medNames: pol.medNames, meds: n.meds,
		patient: cfg.Patient.Locale(), langs: map[string]*i18n.Locale{}, segments: pol.segments, log: n.log,
		members: n.members}
	for role, c := range pol.roles {
		if c.Language != "" {
			n.text.langs[role] = i18n.Lookup(c.Language)
		}
	}
	return n, nil
}

// Observe is the daemon's onCommit subscriber: it wakes the alert pass
// when someone else committed events. It never blocks.
func (n *Notifier) Observe(evs []dispenser.Event) {
	for _, ev := range evs {
		if !own(ev.Kind) {
			kick(n.wake)
			return
		}
	}
}

func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run runs the alert pass and the sender until ctx ends. Storage and
// provider errors are logged and retried, never returned: the daemon keeps
// dispensing whatever happens to texting.
func (n *Notifier) Run(ctx context.Context) error {
	defer close(n.stopped)
	var wg sync.WaitGroup
	var first sync.WaitGroup
	first.Add(2)
	wg.Go(func() { n.loop(ctx, n.wake, n.alertNow, n.alertPass, first.Done) })
	wg.Go(func() { n.loop(ctx, n.sendWake, n.sendNow, n.sendDue, first.Done) })
	first.Wait()
	n.startOnce.Do(func() { close(n.started) })
	wg.Wait()
	return nil
}

// Started is closed once Run's loops have made their first pass and set
// their timers: from then on every due time is acted on.
func (n *Notifier) Started() <-chan struct{} { return n.started }

// Settle returns once the alert pass and then the sender have each made a
// pass that began after the call: every event committed before it is acted
// on, and every text due by then is handed to the sender. The passes run in
// Run's loops, which keep their timers right. A simulator calls it after
// each step of its clock so that the step's texts go out at their time and
// are logged before it answers. It waits for Run to start, and returns at
// once if Run has stopped.
func (n *Notifier) Settle(ctx context.Context) error {
	for _, loop := range []chan chan struct{}{n.alertNow, n.sendNow} {
		done := make(chan struct{})
		select {
		case loop <- done:
		case <-n.stopped:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("notify: settle: %w", ctx.Err())
		}
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("notify: settle: %w", ctx.Err())
		}
	}
	return nil
}

// loop runs work, then sleeps on the clock until the time work asked for,
// a kick or a request on due, whichever comes first. The timer's call asks
// on due and waits for the work, so a simulated clock's Advance returns
// only once the alerts due on the way are queued, and the retries due on
// the way made, at their time, as it does for the dispenser's own timers.
// ready is called after the first pass.
func (n *Notifier) loop(ctx context.Context, wake chan struct{}, due chan chan struct{}, work func(context.Context) (time.Time, error), ready func()) {
	var timer schedule.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var ack chan struct{}
	for {
		next, err := work(ctx)
		if ack != nil {
			close(ack)
			ack = nil
		}
		if ctx.Err() != nil {
			if ready != nil {
				ready()
			}
			return
		}
		now := n.cfg.Clock.Now()
		if err != nil {
			n.log.Error("notify: will retry", "err", err)
			if next.IsZero() || next.After(now.Add(errorRetry)) {
				next = now.Add(errorRetry)
			}
		}
		// The old timer is stopped only once the new one is set: while it
		// is pending, a simulated clock cannot step past it.
		old := timer
		timer = nil
		switch {
		case next.IsZero():
		case !next.After(now):
			// Already due: a simulated clock fires a timer only when it
			// is advanced again, so do not wait for one.
			kick(wake)
		default:
			timer = n.cfg.Clock.AfterFunc(next.Sub(now), func() {
				done := make(chan struct{})
				select {
				case due <- done:
					<-done
				case <-ctx.Done():
				}
			})
		}
		if old != nil {
			old.Stop()
		}
		if ready != nil {
			ready()
			ready = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case ack = <-due:
		}
	}
}

// Flush runs one alert pass and one sender pass now, in the caller's
// goroutine, and returns when either wants to run next (zero for never):
// for tests that drive the notifier without Run. With Run, use Settle,
// whose passes keep Run's timers right.
func (n *Notifier) Flush(ctx context.Context) (time.Time, error) {
	next1, err1 := n.alertPass(ctx)
	next2, err2 := n.sendDue(ctx)
	if next1.IsZero() || !next2.IsZero() && next2.Before(next1) {
		next1 = next2
	}
	return next1, errors.Join(err1, err2)
}

// Messages returns the outbox messages created at or after since, oldest
// first (the simulator's message viewer).
func (n *Notifier) Messages(ctx context.Context, since time.Time) ([]Message, error) {
	return n.cfg.Store.MessagesSince(ctx, since)
}

// OpenAlerts counts the alerts not closed, by priority; an acknowledged
// alert counts while its condition lasts (a jam not yet cleared). Before
// the notifier has loaded its state it counts none.
func (n *Notifier) OpenAlerts() map[Priority]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	m := map[Priority]int{}
	for _, a := range n.open {
		m[a.Priority]++
	}
	return m
}

// Acks returns, for each of msgs about an alert someone acknowledged (at
// or after the oldest of msgs), the name of who did: the simulator's
// viewer marks them.
func (n *Notifier) Acks(ctx context.Context, msgs []Message) (map[int64]string, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	since := msgs[0].Created
	for _, m := range msgs {
		if m.Created.Before(since) {
			since = m.Created
		}
	}
	acks, err := n.cfg.Store.AcksSince(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("notify: acks: %w", err)
	}
	out := map[int64]string{}
	for _, m := range msgs {
		for _, id := range m.Alerts {
			if by, ok := acks[id]; ok {
				out[m.ID] = cmp.Or(n.pol.roles[by].Name, by)
			}
		}
	}
	return out, nil
}

// load reads the stored state. The caller holds mu.
func (n *Notifier) load(ctx context.Context) error {
	snap, err := n.cfg.Store.LoadNotifier(ctx)
	if err != nil {
		return fmt.Errorf("notify: load: %w", err)
	}
	n.cursor, n.lastAlert, n.lastMsg = snap.Cursor, snap.MaxAlertID, snap.MaxMessageID
	n.open = make(map[string]*Alert, len(snap.Alerts))
	for i := range snap.Alerts {
		a := snap.Alerts[i]
		n.open[a.Key] = &a
	}
	n.numbers = make(map[string]Number, len(snap.Numbers))
	for _, num := range snap.Numbers {
		n.numbers[num.Phone] = num
	}
	n.loaded, n.forecast = true, false
	n.reannounce(ctx)
	return nil
}

// announce tells the patient on the device who acknowledged their missed
// doses in b, if the patient gets texts (a ladder texts them, and they did
// not reply STOP): a patient who gets no texts is not shown caregivers'
// names either.
func (n *Notifier) announce(ctx context.Context, b Batch, name string) {
	if n.cfg.Display == nil || name == "" || !n.patientTexted() {
		return
	}
	for _, a := range b.Alerts {
		if a.acked() && (a.What == CondEpisode || episodic(&a)) {
			if err := n.cfg.Display.OnIt(ctx, name, a.AckedAt); err != nil {
				n.log.Warn("notify: cannot show on the device who is on it", "err", err)
			}
			return
		}
	}
}

// reannounce shows again, after a restart, who acknowledged the latest
// episode. The caller holds mu.
func (n *Notifier) reannounce(ctx context.Context) {
	var last *Alert
	for _, a := range n.open {
		if a.What == CondEpisode && a.acked() && (last == nil || a.AckedAt.After(last.AckedAt)) {
			last = a
		}
	}
	if last != nil {
		n.announce(ctx, Batch{Alerts: []Alert{*last}}, n.pol.roles[last.AckedBy].Name)
	}
}

// patientTexted reports whether the patient gets texts.
func (n *Notifier) patientTexted() bool {
	c, ok := n.pol.roles[RolePatient]
	return ok && n.pol.patientSteps && n.numbers[c.Phone].OptedOut.IsZero()
}

// commit applies b and publishes its events. On failure the in-memory
// state, which already holds b's changes, is dropped and reloaded on the
// next pass: the store is the truth. The caller holds mu.
func (n *Notifier) commit(ctx context.Context, b Batch) error {
	if b.Cursor == 0 && len(b.Alerts) == 0 && len(b.Messages) == 0 && len(b.Outcomes) == 0 && len(b.Numbers) == 0 &&
		len(b.Events) == 0 && len(b.Webhooks) == 0 {
		return nil
	}
	stored, err := n.cfg.Store.ApplyNotifier(ctx, b)
	if err != nil {
		n.loaded = false
		return fmt.Errorf("notify: %w", err)
	}
	n.publish(stored)
	return nil
}

func (n *Notifier) publish(evs []dispenser.Event) {
	if n.cfg.Publish != nil && len(evs) > 0 {
		n.cfg.Publish(evs)
	}
}

// sortedAlerts returns the open alerts, oldest first.
func (n *Notifier) sortedAlerts() []*Alert {
	as := slices.Collect(maps.Values(n.open))
	slices.SortFunc(as, func(a, b *Alert) int { return cmp.Compare(a.ID, b.ID) })
	return as
}

// codeAlphabet leaves out 0, O, 1, I and L, which a caregiver may mistype.
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// newCode returns a short code no open alert has: three characters, a
// random one or the next free one after it (four when all are taken).
// The caller holds mu.
func (n *Notifier) newCode() string {
	taken := make(map[string]bool, len(n.open))
	for _, a := range n.open {
		taken[a.Code] = true
	}
	const k = len(codeAlphabet)
	for size, space := 3, k*k*k; ; size, space = size+1, space*k {
		start := min(max(int(n.rnd()*float64(space)), 0), space-1)
		for i := range space {
			c := (start + i) % space
			b := make([]byte, size)
			for j := size - 1; j >= 0; j-- {
				b[j] = codeAlphabet[c%k]
				c /= k
			}
			if code := string(b); !taken[code] {
				return code
			}
		}
	}
}
