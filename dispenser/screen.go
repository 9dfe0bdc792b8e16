package dispenser

import (
	"maps"
	"slices"
	"time"

	"github.com/pillbox/pillbox/hw"
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
		case d.State.Open() && (!now.Before(d.Scheduled) || d.Reminded > 0):
			due = true
		case d.State == StateDispensed:
			cup = true
		}
	}
	problem := c.problem(now)
	switch {
	case c.storeErr != nil:
		lines = []string{"Cannot save", "Pills held back", "Call caregiver"}
		fault, ready = hw.FastBlink, hw.Off
	case !c.trusted:
		lines = []string{"Setting clock", "Please wait"}
		ready = hw.Off
	case c.active != nil || len(c.queue) > 0:
		lines = []string{"Giving pills", "Please wait"}
	case due:
		lines = []string{"Time for pills", "Press the button"}
		attention, ready = hw.Blink, hw.Off
		if now.Before(c.chimeUntil) {
			buzz = hw.Blink
			if c.loudReminder() {
				buzz = hw.FastBlink
			}
		}
	case cup:
		lines = []string{"Take your pills", "from the cup"}
		attention, ready = hw.On, hw.Off
	}
	if !due && now.Before(c.promptUntil) {
		buzz, attention = hw.Blink, hw.Blink // a heads-up before a dose
	}
	idle := !due && !cup && c.storeErr == nil && c.trusted && c.active == nil && len(c.queue) == 0
	if len(c.faults) > 0 {
		fault = hw.On
		if idle {
			lines = c.faults[slices.Sorted(maps.Keys(c.faults))[0]]
		}
	}
	if problem {
		fault = hw.On
		if idle {
			lines = []string{"Check the cup", "Do not take", "extra pills", "Caregiver told"}
		}
	}
	if c.notice.lines != nil && now.Before(c.notice.until) && c.storeErr == nil {
		lines = c.notice.lines
	} else {
		c.notice = notice{}
	}
	b := c.cfg.Board
	set(b.Ready, ready)
	set(b.Attention, attention)
	set(b.Fault, fault)
	set(b.Buzzer, buzz)
	c.draw(lines)
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
		day := ""
		if y, m, dd := occ.At.In(c.cfg.Location).Date(); !sameDay(now.In(c.cfg.Location), y, m, dd) {
			day = " tomorrow"
		}
		return []string{"Next pills", c.clockText(occ.At) + day}
	}
	return []string{"No pills due"}
}

func sameDay(t time.Time, y int, m time.Month, d int) bool {
	ty, tm, td := t.Date()
	return ty == y && tm == m && td == d
}

// clockText formats a time of day in the patient's zone and preferred style.
func (c *Controller) clockText(t time.Time) string {
	t = t.In(c.cfg.Location)
	if c.cfg.Use24h {
		return t.Format("15:04")
	}
	return t.Format("3:04 PM")
}
