package main

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pillbox/pillbox/cmd/internal/config"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"

	_ "modernc.org/sqlite" // the read-only integrity check
)

// checker holds what the harness has seen of one simulated dispenser and
// checks the DESIGN.md invariants against it after every step:
//
//   - every event the API ever returned is still there, unchanged (a crash
//     may lose nothing that was reported);
//   - a scheduled dose is started at most once, and the pills that fell in
//     the simulated world never exceed what the started doses prescribe
//     (invariants 1 and 5, counted in the world, not in the log);
//   - a dose that was dispensing when the daemon died is `uncertain` right
//     after the next boot, and a caregiver is texted about it.
type checker struct {
	r     *result
	d     *daemon
	label string // prefixed to failures: which daemon

	pills map[string]int // medication -> pills per dose
	comp  map[string]int // medication -> compartment

	seen    map[int64]string // seq -> id of every event the API returned
	lastSeq int64
	starts  map[string]int            // dispense_started per dose
	state   map[string]dispenser.Kind // last dose-moving event per dose
	checks  int

	// Pills the started doses still allow, per compartment, oldest first.
	budget map[int][]*allowance
	world  map[int]int // pills dispensed per compartment at the last check
	primed bool

	// A boot turns the doses that were dispensing into uncertain, in the
	// events right after it.
	interrupted map[string]int64    // dose -> last seq where its uncertain may be
	mustTell    map[string]bool     // uncertain doses: a caregiver must be texted
	missed      []string            // missed doses, in order
	caregiver   map[string][]string // alert key -> texts to a caregiver about it
	sent        map[string]bool     // texts the provider accepted
	pendingSMS  map[string]bool     // queued texts not yet sent, failed or canceled

	Uncertain, Started, Boots int
}

type allowance struct {
	dose     string
	left     int
	closedAt int // check at which its final event was seen; 0 while open
}

// fail records a failure, named after the daemon it is about.
func (c *checker) fail(format string, args ...any) {
	c.r.fail(c.label+format, args...)
}

// newChecker reads the medications of the daemon's config.
func newChecker(r *result, d *daemon) (*checker, error) {
	f, probs, err := config.Load(d.config)
	if err != nil {
		return nil, err
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("pillstress: config %s has %d problem(s): %v", d.config, len(probs), probs[0])
	}
	c := &checker{r: r, d: d, label: filepath.Base(d.config) + ": ", pills: map[string]int{}, comp: map[string]int{},
		seen: map[int64]string{}, starts: map[string]int{}, state: map[string]dispenser.Kind{},
		budget: map[int][]*allowance{}, world: map[int]int{},
		interrupted: map[string]int64{}, mustTell: map[string]bool{},
		caregiver: map[string][]string{}, sent: map[string]bool{}, pendingSMS: map[string]bool{}}
	for _, m := range f.Medications {
		c.pills[m.ID], c.comp[m.ID] = m.PillsPerDose, m.Compartment
	}
	return c, nil
}

// check reads the world, then the new events, and checks them. The world
// is read first: every pill in it was preceded by a committed intent, so
// the intents that allow it are among the events read after.
func (c *checker) check(ctx context.Context) error {
	c.checks++
	w, err := c.d.api.world(ctx)
	if err != nil {
		return fmt.Errorf("read the world: %w", err)
	}
	evs, err := c.d.api.events(ctx, c.lastSeq)
	if err != nil {
		return fmt.Errorf("read the log: %w", err)
	}
	for _, ev := range evs {
		c.event(ev)
	}
	for _, comp := range w.Compartments {
		c.pillsFell(comp.ID, comp.Dispensed)
	}
	c.primed = true
	for comp, as := range c.budget {
		c.budget[comp] = slices.DeleteFunc(as, func(a *allowance) bool { return a.closedAt != 0 && a.closedAt < c.checks })
	}
	for dose, last := range c.interrupted {
		if c.lastSeq > last {
			c.fail("dose %s was dispensing when the daemon died, and is not uncertain right after the next boot", dose)
			delete(c.interrupted, dose)
		}
	}
	return nil
}

// event checks and records one new event.
func (c *checker) event(ev dispenser.Event) {
	if ev.Seq != c.lastSeq+1 {
		c.fail("event seq %d follows %d: a gap in the log", ev.Seq, c.lastSeq)
	}
	c.lastSeq = ev.Seq
	c.seen[ev.Seq] = ev.ID
	prn := strings.HasPrefix(ev.DoseID, "prn:")
	switch ev.Kind {
	case dispenser.KindBoot:
		c.Boots++
		var dispensing []string
		for dose, k := range c.state {
			if k == dispenser.KindDispenseStarted {
				dispensing = append(dispensing, dose)
			}
		}
		for _, dose := range dispensing {
			c.interrupted[dose] = ev.Seq + int64(len(dispensing))
		}
	case dispenser.KindDispenseStarted:
		c.Started++
		c.starts[ev.DoseID]++
		if c.starts[ev.DoseID] > 1 && !prn {
			c.fail("dose %s: dispense_started %d times (invariant 1)", ev.DoseID, c.starts[ev.DoseID])
		}
		comp := ev.Compartment
		if comp == 0 {
			comp = c.comp[ev.Medication]
		}
		c.budget[comp] = append(c.budget[comp], &allowance{dose: ev.DoseID, left: c.pills[ev.Medication]})
	case dispenser.KindUncertain:
		c.Uncertain++
		if _, ok := c.interrupted[ev.DoseID]; ok {
			delete(c.interrupted, ev.DoseID)
		}
		c.mustTell[ev.DoseID] = true
	case dispenser.KindMissed:
		c.missed = append(c.missed, ev.DoseID)
	case notify.KindSMSQueued:
		msg := field(ev.Detail, "msg")
		if strings.HasPrefix(field(ev.Detail, "to"), "caregiver") {
			for _, key := range strings.Split(field(ev.Detail, "alerts"), ",") {
				c.caregiver[key] = append(c.caregiver[key], msg)
			}
		}
		c.pendingSMS[msg] = true
	case notify.KindSMSSent:
		msg := field(ev.Detail, "msg")
		c.sent[msg] = true
		delete(c.pendingSMS, msg)
	case notify.KindSMSFailed, notify.KindSMSCanceled:
		delete(c.pendingSMS, field(ev.Detail, "msg"))
	}
	if _, ok := dispenser.StateForKind(ev.Kind); ok && ev.DoseID != "" {
		if _, waiting := c.interrupted[ev.DoseID]; waiting && ev.Kind != dispenser.KindUncertain {
			c.fail("dose %s was dispensing when the daemon died, and got %s before uncertain", ev.DoseID, ev.Kind)
			delete(c.interrupted, ev.DoseID)
		}
		retry := ev.Kind == dispenser.KindJam && strings.HasPrefix(ev.Detail, "retry ")
		if !retry && ev.Kind != dispenser.KindReminder {
			c.state[ev.DoseID] = ev.Kind
		}
		switch {
		case retry:
		case ev.Kind == dispenser.KindDispensed, ev.Kind == dispenser.KindJam, ev.Kind == dispenser.KindUncertain:
			for _, as := range c.budget {
				for _, a := range as {
					if a.dose == ev.DoseID && a.closedAt == 0 {
						a.closedAt = c.checks
					}
				}
			}
		}
	}
}

// toldCaregiver reports whether a text to a caregiver about the alert key
// ("dose:<id>", "jam:2") went out.
func (c *checker) toldCaregiver(key string) bool {
	for _, msg := range c.caregiver[key] {
		if c.sent[msg] {
			return true
		}
	}
	return false
}

// pillsFell charges the pills that fell from comp since the last check to
// the doses started there, oldest first.
func (c *checker) pillsFell(comp, dispensed int) {
	prev, ok := c.world[comp]
	c.world[comp] = dispensed
	if !ok || !c.primed {
		return
	}
	used := dispensed - prev
	if used < 0 {
		// The world forgot a pill: the daemon died between moving it and
		// writing its state file. A real dispenser cannot; count it.
		c.r.add("world_rollbacks", 1)
		return
	}
	for _, a := range c.budget[comp] {
		take := min(used, a.left)
		a.left -= take
		used -= take
	}
	if used > 0 {
		var open []string
		for _, a := range c.budget[comp] {
			open = append(open, fmt.Sprintf("%s(left %d)", a.dose, a.left))
		}
		c.fail("compartment %d: %d more pill(s) fell than the started doses prescribe (open intents: %v)", comp, used, open)
	}
}

// verifyAll re-reads the whole log: every event the API ever returned must
// still be there with the same id.
func (c *checker) verifyAll(ctx context.Context) error {
	evs, err := c.d.api.events(ctx, 0)
	if err != nil {
		return err
	}
	have := make(map[int64]string, len(evs))
	for _, ev := range evs {
		have[ev.Seq] = ev.ID
	}
	missing := 0
	for seq, id := range c.seen {
		if have[seq] != id {
			missing++
			if missing <= 3 {
				c.fail("event seq %d (id %s) that the API returned is gone or changed after a restart (now %q)", seq, id, have[seq])
			}
		}
	}
	if missing > 3 {
		c.fail("%d more events the API returned are gone or changed", missing-3)
	}
	return nil
}

// untold lists the uncertain doses no caregiver has been texted about yet.
func (c *checker) untold() []string {
	var out []string
	for dose := range c.mustTell {
		if !c.toldCaregiver("dose:" + dose) {
			out = append(out, dose)
		}
	}
	slices.Sort(out)
	return out
}

// missedUntold lists the missed doses no caregiver has been texted about,
// by their own alert (doses reconciled into a summary are not named).
func (c *checker) missedUntold() []string {
	var out []string
	for _, dose := range c.missed {
		if !c.toldCaregiver("dose:" + dose) {
			out = append(out, dose)
		}
	}
	return out
}

// settle lets simulated time pass, step by step, until every queued text
// is sent, failed or canceled and every uncertain dose reached a caregiver:
// the outbox retries on the simulated clock, and a send in flight takes
// real time. It gives up after maxSim of simulated or maxReal of real time,
// and fails for what is still outstanding then.
func (c *checker) settle(ctx context.Context, step, maxSim, maxReal time.Duration) {
	deadline := time.Now().Add(maxReal)
	for passed := time.Duration(0); ; passed += step {
		time.Sleep(20 * time.Millisecond) // a send in flight, a notifier pass
		if err := c.check(ctx); err != nil {
			c.fail("check: %v", err)
			return
		}
		if len(c.untold()) == 0 && len(c.pendingSMS) == 0 {
			return
		}
		if passed >= maxSim || time.Now().After(deadline) {
			if u := c.untold(); len(u) > 0 {
				c.fail("uncertain doses no caregiver was texted about after %v simulated: %v", passed, u)
			}
			if len(c.pendingSMS) > 0 {
				c.fail("texts still queued after %v simulated: %v", passed, slices.Sorted(maps.Keys(c.pendingSMS)))
			}
			return
		}
		if err := c.d.api.advance(ctx, step); err != nil {
			c.fail("settle: %v", err)
			return
		}
	}
}

// field reads key=value from a space-separated event detail.
func field(detail, key string) string {
	for _, f := range strings.Fields(detail) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

// integrityCheck runs PRAGMA integrity_check on a database file through a
// read-only connection of its own (the daemon may be running: WAL readers
// do not block it).
func integrityCheck(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity_check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity_check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity_check: %s", strings.Join(problems, "; "))
	}
	return nil
}

// kindCounts counts events by kind.
func kindCounts(evs []dispenser.Event) map[dispenser.Kind]int {
	m := map[dispenser.Kind]int{}
	for _, ev := range evs {
		m[ev.Kind]++
	}
	return m
}

// schemaVersion reads a database file's user_version (its migrations
// applied), read-only; -1 when the file cannot be read as a database.
func schemaVersion(ctx context.Context, path string) int {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return -1
	}
	defer db.Close()
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return -1
	}
	return v
}
