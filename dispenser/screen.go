package dispenser

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/internal/i18n"
)

// show puts a message on the screen for d, or until a dose changes state.
func (c *Controller) show(now time.Time, d time.Duration, lines ...string) {
	c.notice = notice{lines: lines, until: now.Add(d)}
	c.draw(lines)
}

// render draws what the patient should do next, and sets the lights and
// buzzer, from the current state. Every state has words: the patient never
// has to guess.
func (c *Controller) render(now time.Time) {
	ready, attention, fault, buzz := hw.On, hw.Off, hw.Off, hw.Off
	lines := c.nextLines(now)
	var due, cup bool
	for _, d := range c.doses {
		switch {
		case d.State.Open() && !now.Before(d.Scheduled):
			due = true
		case d.State == StateDispensed:
			cup = true
		}
	}
	problem := c.problem(now)
	switch {
	case c.storeErr != nil:
		lines = c.lines("cannot_save_held_back", nil)
		fault, ready = hw.FastBlink, hw.Off
	case !c.trusted:
		lines = c.lines("setting_clock", nil)
		ready = hw.Off
	case c.active != nil || len(c.queue) > 0:
		lines = c.lines("giving_pills", nil)
	case due:
		lines = c.lines("dose_due", nil)
		attention, ready = hw.Blink, hw.Off
		if c.sayDue {
			c.say("dose_due", nil)
		}
		if now.Before(c.chimeUntil) {
			buzz = hw.Blink
			if c.loudReminder() {
				buzz = hw.FastBlink
			}
		}
	case cup:
		lines = c.lines("take_from_cup", nil)
		attention, ready = hw.On, hw.Off
	}
	idle := !due && !cup && c.storeErr == nil && c.trusted && c.active == nil && len(c.queue) == 0
	if idle {
		if missed := c.missedLines(now); missed != nil {
			lines = missed
			attention, ready = hw.On, hw.Off
		}
	}
	if len(c.faults) > 0 {
		fault = hw.On
		if idle {
			lines = c.faults[slices.Sorted(maps.Keys(c.faults))[0]]
		}
	}
	if problem {
		fault = hw.On
		if idle {
			lines = c.lines("check_cup", nil)
		}
	}
	if c.notice.lines != nil && now.Before(c.notice.until) && c.storeErr == nil {
		lines = c.notice.lines
	} else {
		c.notice = notice{}
	}
	c.sayDue = false
	b := c.cfg.Board
	set(b.Ready, ready)
	set(b.Attention, attention)
	set(b.Fault, fault)
	set(b.Buzzer, buzz)
	c.draw(lines)
}

// missedLines tells the patient, after a miss and until the next dose,
// what was missed and who knows of it: "Missed 8:00 AM" (or "Missed 2
// doses") over "Caregiver told", or "Ana is on it" once a caregiver
// acknowledged them. The misses shown are those of the last day since the
// latest dose that was taken, dispensed or skipped; nil when there are
// none.
func (c *Controller) missedLines(now time.Time) []string {
	var missed []*Dose
	for _, d := range c.sortedDoses() {
		switch {
		case d.PRN || now.Sub(d.Scheduled) > 24*time.Hour || d.Scheduled.After(now):
		case d.State == StateMissed:
			missed = append(missed, d)
		case d.State == StateTaken || d.State == StateDispensed || d.State == StateSkipped:
			missed = nil // dealt with since: the misses before it are old news
		}
	}
	if len(missed) == 0 {
		return nil
	}
	var times []time.Time
	for _, d := range missed {
		if !slices.ContainsFunc(times, d.Scheduled.Equal) {
			times = append(times, d.Scheduled)
		}
	}
	what := c.cfg.Language.Text("screen.missed_doses", i18n.Args{"count": len(missed)})
	if len(times) == 1 {
		what = c.cfg.Language.Text("screen.missed", i18n.Args{"time": c.clockText(times[0])})
	}
	who := c.cfg.Language.Text("screen.caregiver_told", nil)
	if c.onIt != "" && missed[len(missed)-1].Scheduled.Before(c.onItAt) {
		who = c.cfg.Language.Text("screen.on_it", i18n.Args{"name": c.onIt})
	}
	return append(strings.Split(what, "\n"), strings.Split(who, "\n")...)
}

// OnIt shows on the missed-dose screen that the caregiver name
// acknowledged, at at, the doses missed before then: the patient learns
// that someone is coming. The notifier calls it (notify.Display).
func (c *Controller) OnIt(ctx context.Context, name string, at time.Time) error {
	return c.do(ctx, func() {
		c.onIt, c.onItAt = name, at
		c.render(c.cfg.Clock.Now())
	})
}

// problem reports a recent dose that went wrong in a way the patient must
// not try to fix by taking more pills.
func (c *Controller) problem(now time.Time) bool {
	for _, d := range c.doses {
		if (d.State == StateUncertain || d.State == StateJammed) && now.Sub(d.Scheduled) < 12*time.Hour {
			return true
		}
	}
	return false
}

// loudReminder reports whether any due dose has reached the last reminder
// step, which sounds the faster alarm.
func (c *Controller) loudReminder() bool {
	for _, d := range c.doses {
		if d.State.Open() && d.Reminded >= len(c.cfg.Reminders) && len(c.cfg.Reminders) > 1 {
			return true
		}
	}
	return false
}

func set(ind hw.Indicator, m hw.Mode) {
	if ind != nil && ind.Mode() != m {
		ind.Set(m)
	}
}

func (c *Controller) draw(lines []string) {
	if c.cfg.Board.Display == nil || equalLines(lines, c.screen) {
		return
	}
	if err := c.cfg.Board.Display.Show(lines...); err != nil {
		c.log.Warn("dispenser: display failed", "err", err)
		return
	}
	c.screen = lines
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// nextLines says when the next pills are.
func (c *Controller) nextLines(now time.Time) []string {
	for _, occ := range c.cfg.Plan.Between(now, now.Add(48*time.Hour)) {
		if d := c.doses[occ.ID]; d != nil && !d.State.Open() {
			continue
		}
		id := "next_pills"
		if y, m, dd := occ.At.In(c.cfg.Location).Date(); !sameDay(now.In(c.cfg.Location), y, m, dd) {
			id = "next_pills_tomorrow"
		}
		return c.lines(id, i18n.Args{"time": c.clockText(occ.At)})
	}
	return c.lines("no_pills_due", nil)
}

func sameDay(t time.Time, y int, m time.Month, d int) bool {
	ty, tm, td := t.Date()
	return ty == y && tm == m && td == d
}

// clockText formats a time of day in the patient's zone, language and
// preferred style.
func (c *Controller) clockText(t time.Time) string {
	return c.cfg.Language.Clock(t.In(c.cfg.Location), c.cfg.ClockStyle)
}
