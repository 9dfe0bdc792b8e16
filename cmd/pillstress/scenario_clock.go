package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// The clock matrix's regimen: three medications once a day at 01:30, 02:30
// and 23:59 local time, each with a 20-minute window either side, so the
// doses straddle every DST change there is. The patient takes the 01:30
// and 23:59 doses and never the 02:30 one, so each day has two doses given
// and one missed (or given with another when their windows meet).
const clockRegimens = `regimens:
  - medication: metformin
    cron: "30 1 * * *"
    window: 20m
  - medication: lisinopril
    cron: "30 2 * * *"
    window: 20m
  - medication: paracetamol
    cron: "59 23 * * *"
    window: 20m
`

// maxStep bounds a step of the clock matrix: the invariants are checked
// at least this often (the timers in between fire in order).
const maxStep = 2 * time.Hour

// nextStop is where the next step ends: the next scheduled dose time (the
// patient acts then), the cell's act, or maxStep ahead.
func nextStop(st dispenser.Status, c clockCell) time.Time {
	next := st.Now.Add(maxStep)
	consider := func(t time.Time) {
		if t.After(st.Now) && t.Before(next) {
			next = t
		}
	}
	for _, d := range append(st.Pending, st.Next...) {
		consider(d.Scheduled)
	}
	if c.act != nil {
		consider(c.at)
	}
	consider(c.to)
	return next
}

// leftAlone is the medication whose doses the patient never takes.
const leftAlone = "lisinopril"

// regimenConfig is the example config in zone with other regimens.
func (h *harness) regimenConfig(name, zone, regimens string) (string, error) {
	s := h.example
	i, j := strings.Index(s, "\nregimens:\n"), strings.Index(s, "\ncontacts:\n")
	if i < 0 || j < i {
		return "", fmt.Errorf("pillstress: the example config has no regimens: section before contacts:")
	}
	s = s[:i+1] + regimens + s[j:]
	return h.writeConfig(name, s, append([]string{"timezone: America/New_York", "timezone: " + zone}, fastMotors...)...)
}

// clockCell is one case of the matrix.
type clockCell struct {
	name string
	zone string
	// from and to are the local span the patient lives through.
	from, to time.Time
	// act runs once, at the first step at or after at: it may jump the
	// clock or restart the daemon.
	at  time.Time
	act func(ctx context.Context, c *clockRun) error
}

// dstZones have DST both ways; noDST has none.
var (
	dstZones = []string{"America/New_York", "Europe/London", "Australia/Sydney", "Australia/Lord_Howe"}
	noDST    = "Asia/Kolkata"
)

// transitions finds the instants in year at which zone's offset changes.
func transitions(zone string, year int) ([]time.Time, error) {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	t := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	_, prev := t.In(loc).Zone()
	for end := t.AddDate(1, 0, 0); t.Before(end); t = t.Add(15 * time.Minute) {
		if _, off := t.In(loc).Zone(); off != prev {
			out = append(out, t)
			prev = off
		}
	}
	return out, nil
}

// clockMatrix lives through DST changes both ways in four zones (one with
// a 30-minute change) and days in a zone without DST, and through wall
// clock trouble in New York: a boot at 1970 without NTP followed by an NTP
// step to the right time, jumps of +2 h and -2 h, and three days unplugged.
// Doses at 01:30, 02:30 and 23:59. Checks: exactly one dose per intended
// local time, never a second dispense (also in the world's pill counts),
// one missed per window that passed unpressed, nothing given or missed
// while the clock is untrusted, and one summary alert per jump or downtime
// that passed over doses, with no text per reconciled dose.
func clockMatrix(ctx context.Context, h *harness, r *result) {
	var cells []clockCell
	for _, zone := range dstZones {
		ts, err := transitions(zone, 2027)
		if err != nil || len(ts) != 2 {
			r.fail("zone %s: transitions in 2027 = %v, %v; want two", zone, ts, err)
			continue
		}
		for _, t := range ts {
			loc, _ := time.LoadLocation(zone)
			day := t.In(loc)
			// The full run lives two days around the change; CI from the
			// evening before to the next noon, which holds the doses of
			// the night of the change.
			from, span := time.Date(day.Year(), day.Month(), day.Day()-1, 12, 0, 0, 0, loc), 48*time.Hour
			if !h.full {
				from, span = time.Date(day.Year(), day.Month(), day.Day()-1, 20, 0, 0, 0, loc), 16*time.Hour
			}
			dir := "forward"
			if _, before := t.Add(-time.Hour).In(loc).Zone(); func() bool { _, after := t.In(loc).Zone(); return after < before }() {
				dir = "back"
			}
			cells = append(cells, clockCell{name: fmt.Sprintf("%s %s %s", zone, dir, day.Format("01-02")), zone: zone,
				from: from, to: from.Add(span)})
		}
	}
	kol, _ := time.LoadLocation(noDST)
	cells = append(cells, clockCell{name: noDST + " no DST", zone: noDST,
		from: time.Date(2027, 3, 13, 12, 0, 0, 0, kol), to: time.Date(2027, 3, 15, 12, 0, 0, 0, kol)})
	cells = append(cells, jumpCells(h.full)...)
	if !h.full {
		// CI: one zone both ways, the 30-minute zone both ways, no DST, and
		// every jump.
		cells = slices.DeleteFunc(cells, func(c clockCell) bool {
			return strings.HasPrefix(c.name, "Europe/London") || strings.HasPrefix(c.name, "Australia/Sydney")
		})
	}
	for i, c := range cells {
		if ctx.Err() != nil {
			return
		}
		if only := os.Getenv("PILLSTRESS_CELL"); only != "" && !strings.Contains(c.name, only) {
			continue
		}
		runClockCell(ctx, h, r, i, c)
	}
}

// clockRun is one cell being run.
type clockRun struct {
	h     *harness
	r     *result
	d     *daemon
	chk   *checker
	loc   *time.Location
	jumps int // jumps or downtimes that passed over dose windows
	// untrusted is set while the clock is not trusted: nothing may be
	// given or missed then.
	untrusted bool
}

func runClockCell(ctx context.Context, h *harness, r *result, i int, c clockCell) {
	r.Runs++
	cfg, err := h.regimenConfig(fmt.Sprintf("clock-%d", i), c.zone, clockRegimens)
	if err != nil {
		r.fail("%s: %v", c.name, err)
		return
	}
	d, err := h.newDaemon(fmt.Sprintf("clock-%d", i), cfg)
	if err != nil {
		r.fail("%s: %v", c.name, err)
		return
	}
	defer d.kill()
	loc, _ := time.LoadLocation(c.zone)
	if err := d.start(ctx, "--sim-start="+c.from.Format(time.RFC3339)); err != nil {
		r.fail("%s: start: %v", c.name, err)
		return
	}
	chk, err := newChecker(r, d)
	if err != nil {
		r.fail("%s: %v", c.name, err)
		return
	}
	run := &clockRun{h: h, r: r, d: d, chk: chk, loc: loc}
	fail := func(format string, args ...any) { r.fail(c.name+": "+format, args...) }
	t0 := time.Now()
	var tPatient, tCheck, tAdvance time.Duration
	steps := 0
	for {
		st, err := d.api.status(ctx)
		if err != nil {
			fail("status: %v", err)
			return
		}
		if !st.Now.Before(c.to) {
			break
		}
		if c.act != nil && !st.Now.Before(c.at) {
			err := c.act(ctx, run)
			c.act = nil
			if err != nil {
				fail("%v", err)
				return
			}
			if st, err = d.api.status(ctx); err != nil {
				fail("status: %v", err)
				return
			}
		}
		tp := time.Now()
		if err := run.patient(ctx, st); err != nil {
			fail("%v", err)
			return
		}
		tc := time.Now()
		tPatient += tc.Sub(tp)
		if err := chk.check(ctx); err != nil {
			fail("check: %v", err)
			return
		}
		ta := time.Now()
		tCheck += ta.Sub(tc)
		if err := d.api.advance(ctx, nextStop(st, c).Sub(st.Now)); err != nil {
			fail("advance: %v", err)
			return
		}
		tAdvance += time.Since(ta)
		steps++
	}
	debugf("%s: %d steps done in %v: patient %v check %v advance %v", c.name, steps, time.Since(t0), tPatient, tCheck, tAdvance)
	// Texts held by quiet hours go at 07:00; the summary with them.
	chk.settle(ctx, 30*time.Minute, 12*time.Hour, time.Minute)
	debugf("%s: settled in %v", c.name, time.Since(t0))
	run.verify(ctx, c, fail)
	d.stop()
}

// patient takes every dose that is due, except the one left alone.
func (c *clockRun) patient(ctx context.Context, st dispenser.Status) error {
	for _, p := range st.Pending {
		if p.State.Open() && p.Medication != leftAlone && !st.Now.Before(p.Scheduled) {
			if c.untrusted {
				return fmt.Errorf("dose %s is due while the clock is untrusted", p.ID)
			}
			t0 := time.Now()
			if err := c.d.api.press(ctx, true); err != nil {
				return err
			}
			t1 := time.Now()
			err := c.d.api.take(ctx)
			debugf("press %s %v take %v", p.ID, t1.Sub(t0), time.Since(t1))
			return err
		}
	}
	return nil
}

// verify checks the whole log of a cell.
func (c *clockRun) verify(ctx context.Context, cell clockCell, fail func(string, ...any)) {
	evs, err := c.d.api.events(ctx, 0)
	if err != nil {
		fail("events: %v", err)
		return
	}
	type doseSeen struct {
		kinds []dispenser.Kind
		sched time.Time
	}
	doses := map[string]*doseSeen{}
	var order []string
	summaries := map[string]bool{}
	reconciled := map[string]bool{}
	for _, ev := range evs {
		if ev.DoseID != "" && !strings.HasPrefix(ev.DoseID, "prn:") {
			ds := doses[ev.DoseID]
			if ds == nil {
				ds = &doseSeen{sched: ev.Scheduled}
				doses[ev.DoseID] = ds
				order = append(order, ev.DoseID)
			}
			ds.kinds = append(ds.kinds, ev.Kind)
			if ev.Kind == dispenser.KindMissed && ev.Detail == "reconciled" {
				reconciled[ev.DoseID] = true
			}
		}
		if ev.Kind == "sms_queued" {
			for _, key := range strings.Split(field(ev.Detail, "alerts"), ",") {
				if strings.HasPrefix(key, "summary:") {
					summaries[key] = true
				}
				if dose, ok := strings.CutPrefix(key, "dose:"); ok && reconciled[dose] &&
					strings.HasPrefix(field(ev.Detail, "to"), "caregiver") {
					fail("a text about reconciled dose %s on its own: the summary should cover it", dose)
				}
			}
		}
	}
	// Every intended local time in the span has exactly one dose, whose
	// outcome is the patient's: taken, or missed for the one left alone.
	// A press gives every dose whose window is open: the one left alone is
	// given with another when their windows meet (on a spring-forward day
	// 02:30 becomes 03:00 and its window opens 30 real minutes after 01:30).
	withOther := map[string]bool{}
	startedAt := map[time.Time][]string{}
	for _, ev := range evs {
		if ev.Kind == dispenser.KindDispenseStarted {
			startedAt[ev.Time] = append(startedAt[ev.Time], ev.DoseID)
		}
	}
	for _, ids := range startedAt {
		for _, id := range ids {
			withOther[id] = len(ids) > 1
		}
	}
	perDay := map[string]int{}
	given := map[string]int{}
	for _, id := range order {
		med, local, _ := strings.Cut(id, "@")
		perDay[med+"@"+local[:10]]++
		ds := doses[id]
		starts := countKind(ds.kinds, dispenser.KindDispenseStarted)
		missed := countKind(ds.kinds, dispenser.KindMissed)
		if starts > 1 {
			fail("dose %s started %d times", id, starts)
		}
		if missed > 1 {
			fail("dose %s missed %d times", id, missed)
		}
		if starts == 1 {
			given[med]++
		}
		switch last := ds.kinds[len(ds.kinds)-1]; {
		case med == leftAlone && last != dispenser.KindMissed && !withOther[id]:
			fail("dose %s (never pressed for) ended %s, want missed: %v", id, last, ds.kinds)
		case med != leftAlone && last != dispenser.KindTaken && !reconciled[id]:
			fail("dose %s ended %s, want taken: %v", id, last, ds.kinds)
		}
		c.r.add("doses", 1)
	}
	for key, n := range perDay {
		if n != 1 {
			fail("%s has %d doses, want 1", key, n)
		}
	}
	// Every local day the span covers has each dose time once.
	for day := cell.from; day.Before(cell.to); day = day.AddDate(0, 0, 1) {
		for _, m := range []struct {
			med  string
			h, m int
		}{{"metformin", 1, 30}, {"lisinopril", 2, 30}, {"paracetamol", 23, 59}} {
			intended := time.Date(day.Year(), day.Month(), day.Day(), m.h, m.m, 0, 0, c.loc)
			if !intended.Before(cell.from) && intended.Add(20*time.Minute).Before(cell.to) {
				key := m.med + "@" + day.Format("2006-01-02")
				if perDay[key] != 1 {
					fail("%s: %d doses for the intended %02d:%02d, want 1", key, perDay[key], m.h, m.m)
				}
			}
		}
	}
	// The world agrees: one dose's pills per dose given.
	w, err := c.d.api.world(ctx)
	if err != nil {
		fail("world: %v", err)
		return
	}
	for _, comp := range w.Compartments {
		med := map[int]string{1: "metformin", 2: "lisinopril", 3: "paracetamol"}[comp.ID]
		if want := given[med] * c.chk.pills[med]; comp.Dispensed != want {
			fail("world: compartment %d dispensed %d pills, want %d (%d doses given)", comp.ID, comp.Dispensed, want, given[med])
		}
	}
	if len(summaries) != c.jumps {
		fail("%d summary alerts, want %d (one per jump or downtime over doses)", len(summaries), c.jumps)
	}
	c.r.add("summaries", len(summaries))
	c.r.add("reconciled_missed", len(reconciled))
}

func countKind(ks []dispenser.Kind, k dispenser.Kind) int {
	n := 0
	for _, x := range ks {
		if x == k {
			n++
		}
	}
	return n
}

// jumpCells are the wall-clock troubles, in New York, on an ordinary day.
func jumpCells(full bool) []clockCell {
	ny, _ := time.LoadLocation("America/New_York")
	at := func(d, h, m int) time.Time { return time.Date(2027, 2, d, h, m, 0, 0, ny) }
	// The full run lives a day either side of the trouble; CI the night of it.
	from, to, back := at(9, 12, 0), at(11, 12, 0), at(14, 12, 0)
	if !full {
		from, to, back = at(9, 20, 0), at(10, 12, 0), at(13, 12, 0)
	}
	return []clockCell{
		{name: "jump +2h over the 01:30 dose", zone: "America/New_York", from: from, to: to, at: at(10, 1, 0),
			act: func(ctx context.Context, c *clockRun) error {
				c.jumps++
				return c.d.api.setClock(ctx, at(10, 3, 0))
			}},
		{name: "jump -2h after taking the 01:30 dose", zone: "America/New_York", from: from, to: to, at: at(10, 2, 10),
			act: func(ctx context.Context, c *clockRun) error {
				return c.d.api.setClock(ctx, at(10, 0, 10))
			}},
		{name: "unplugged 3 days", zone: "America/New_York", from: from, to: back, at: at(10, 3, 0),
			act: func(ctx context.Context, c *clockRun) error {
				c.jumps++
				c.d.kill()
				return c.d.start(ctx, "--sim-start="+at(13, 3, 0).Format(time.RFC3339))
			}},
		{name: "boot at 1970, then NTP", zone: "America/New_York", from: from, to: to, at: at(10, 0, 0),
			act: func(ctx context.Context, c *clockRun) error { return boot1970(ctx, c, at(10, 9, 0)) }},
	}
}

// boot1970 powers the dispenser off and boots it with the clock at 1970
// and no NTP, as a Pi without an RTC does; for a simulated hour nothing may
// be given or missed and the patient is asked to wait, even when pressing
// the button. Then NTP steps the clock to ntpTime.
func boot1970(ctx context.Context, c *clockRun, ntpTime time.Time) error {
	c.d.kill()
	if err := c.d.start(ctx, "--sim-start=1970-01-01T00:00:00Z", "--sim-unsynced"); err != nil {
		return err
	}
	c.untrusted = true
	before, err := c.d.api.events(ctx, c.chk.lastSeq)
	if err != nil {
		return err
	}
	for i := range 6 {
		if err := c.d.api.press(ctx, true); err != nil {
			evs, _ := c.d.api.events(ctx, c.chk.lastSeq)
			st, _ := c.d.api.status(ctx)
			return fmt.Errorf("press %d at 1970: %w\n%s\nevents %+v\nstatus %+v", i, err, c.d.logs.last(10), evs, st)
		}
		if err := c.d.api.advance(ctx, 10*time.Minute); err != nil {
			return err
		}
		st, err := c.d.api.status(ctx)
		if err != nil {
			return err
		}
		if st.ClockTrusted || !slices.Equal(st.Display, []string{"Setting clock", "Please wait"}) {
			return fmt.Errorf("at %s without NTP: trusted %t, display %q; want untrusted and Setting clock", st.Now.Format(time.RFC3339), st.ClockTrusted, st.Display)
		}
	}
	after, err := c.d.api.events(ctx, c.chk.lastSeq)
	if err != nil {
		return err
	}
	for _, ev := range after[len(before):] {
		switch ev.Kind {
		case dispenser.KindDispenseStarted, dispenser.KindMissed, dispenser.KindDoseDue, dispenser.KindReminder:
			return fmt.Errorf("%s while the clock was untrusted (%s)", ev.Kind, ev.DoseID)
		}
	}
	c.r.add("untrusted_presses", 6)
	if err := c.d.api.setNTP(ctx, true); err != nil {
		return err
	}
	c.untrusted = false
	c.jumps++
	return c.d.api.setClock(ctx, ntpTime)
}
