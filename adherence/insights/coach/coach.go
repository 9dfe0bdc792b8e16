// Package coach is the device side of insights (docs/insights.md): the
// `insights:` section of the config, the report `pillctl risk` prints and
// `GET /api/insights` answers, and the Coach the dose loop asks for each
// dose's first chime and heads-up prompt. The Coach learns from the
// device's own log, off the dose loop, when the log changed and at most
// once an hour, on the injected clock; the dose loop only reads what it
// learned last, from memory.
package coach

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/internal/i18n"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

// Timing of the learning.
const (
	// RetrainEvery is the least time between two trainings: retraining
	// takes milliseconds, but a busy log need not cause one per event.
	RetrainEvery = time.Hour
	// refreshEvery is how often the plan is made again when nothing
	// happened, so that it always covers the coming day.
	refreshEvery = 6 * time.Hour
	// horizon is how far ahead the plan looks.
	horizon = 36 * time.Hour
	// textStale is how late a heads-up text may still be asked for.
	textStale = 30 * time.Minute
)

// Store is what the coach reads and appends to: the device's event log
// and readings (the daemon's publishing log over adherence.Store).
type Store interface {
	Source
	Append(ctx context.Context, evs ...dispenser.Event) ([]dispenser.Event, error)
}

// Options wire a Coach.
type Options struct {
	Config     Config
	Clock      schedule.Clock
	Store      Store
	Plan       *schedule.Plan
	Setup      report.Setup
	Escalation notify.Escalation
	Contacts   []notify.Contact
	Patient    dispenser.Patient
	Logger     *slog.Logger
}

// Coach plans, from what it learned, the first chimes of the doses whose
// regimen has adaptive_reminders, and the heads-ups; it asks for the
// heads-up texts (notify.KindHeadsUp) when they fall due.
type Coach struct {
	o        Options
	cfg      Config
	adaptive map[string]bool // medication ids
	text     bool            // a caregiver opted in to heads-up texts
	log      *slog.Logger

	// work serialises the learning runs.
	work sync.Mutex

	mu      sync.Mutex
	chimes  map[string]insights.Reminder // by dose id, adaptive doses only
	prompts map[string]dispenser.HeadsUp // by dose id
	texts   []insights.HeadsUp           // planned texts not yet asked for
	asked   map[string]bool              // dose ids whose text was asked for
	trained time.Time                    // wall time of the last learning
	dirty   bool                         // the log changed since
	timer   schedule.Timer
	due     time.Time // when timer fires
	stopped bool
}

var _ dispenser.Coach = (*Coach)(nil)

// New returns a coach; Start makes its first plan.
func New(o Options) *Coach {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c := &Coach{o: o, cfg: o.Config.resolved(), adaptive: map[string]bool{}, log: o.Logger,
		chimes: map[string]insights.Reminder{}, prompts: map[string]dispenser.HeadsUp{}, asked: map[string]bool{}}
	for _, r := range o.Setup.Regimens {
		if r.AdaptiveReminders && r.Cron != "" {
			c.adaptive[r.Medication] = true
		}
	}
	for _, ct := range o.Contacts {
		c.text = c.text || ct.Role == notify.RoleCaregiver && ct.HeadsUp
	}
	return c
}

// Start learns from the log as it stands and plans; then the coach keeps
// its plan current on its own timers until Stop.
func (c *Coach) Start(ctx context.Context) error { return c.learn(ctx) }

// Stop cancels the timers.
func (c *Coach) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.timer != nil {
		c.timer.Stop()
	}
}

// OnCommit is the event log's subscriber: a change to what is learned from
// (a dose's progress, a refill, a clock jump) asks for a new learning, at
// most RetrainEvery after the last. It never blocks.
func (c *Coach) OnCommit(evs []dispenser.Event) {
	for _, ev := range evs {
		if ev.DoseID != "" || ev.Kind == dispenser.KindRefill || ev.Kind == dispenser.KindClockJump {
			c.mu.Lock()
			c.dirty = true
			c.armLocked(c.o.Clock.Now())
			c.mu.Unlock()
			return
		}
	}
}

// FirstChime is the learned first chime of an adaptive dose.
func (c *Coach) FirstChime(d dispenser.Dose) (time.Time, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.chimes[d.ID]
	if !ok || r.Shift == 0 {
		return time.Time{}, "", false
	}
	return r.At, string(r.Reason), true
}

// HeadsUp is the heads-up prompt planned before the dose.
func (c *Coach) HeadsUp(id string) (dispenser.HeadsUp, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.prompts[id]
	return h, ok
}

// Report is the report as of now for the coming days.
func (c *Coach) Report(ctx context.Context, days int) (*Report, error) {
	in, err := c.input(ctx)
	if err != nil {
		return nil, err
	}
	return BuildReport(in, c.o.Clock.Now(), days), nil
}

func (c *Coach) input(ctx context.Context) (Input, error) {
	evs, rs, err := ReadLog(ctx, c.o.Store)
	if err != nil {
		return Input{}, err
	}
	return Input{Events: evs, Readings: rs, Setup: c.o.Setup, Plan: c.o.Plan, Escalation: c.o.Escalation}, nil
}

// fire is the timer's call: ask for the texts that fell due, and learn
// again when it is time.
func (c *Coach) fire() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := c.o.Clock.Now()
	c.mu.Lock()
	c.timer, c.due = nil, time.Time{}
	relearn := now.Sub(c.trained) >= refreshEvery || c.dirty && now.Sub(c.trained) >= RetrainEvery
	c.mu.Unlock()
	c.askTexts(ctx, now)
	if relearn {
		if err := c.learn(ctx); err != nil {
			c.log.Error("insights: learning from the log failed; the last plan stays", "err", err)
		}
	}
	c.mu.Lock()
	c.armLocked(now)
	c.mu.Unlock()
}

// learn trains on the log as of now and makes the plan of the coming
// doses. It reads the store with no lock held: the dose loop may ask for
// the old plan meanwhile.
func (c *Coach) learn(ctx context.Context) error {
	c.work.Lock()
	defer c.work.Unlock()
	now := c.o.Clock.Now()
	in, err := c.input(ctx)
	if err != nil {
		return err
	}
	a := analyse(in, now, now.Add(horizon))
	chimes := map[string]insights.Reminder{}
	var hin []insights.HeadsUpInput
	for i, d := range a.doses {
		first := d.Scheduled.Add(c.firstReminder())
		if c.adaptive[d.Medication] {
			chimes[d.ID] = a.chimes[i]
			if a.chimes[i].Shift != 0 {
				first = a.chimes[i].At
			}
		}
		hin = append(hin, insights.HeadsUpInput{Risk: a.risks[i], FirstChime: first})
	}
	prompts := map[string]dispenser.HeadsUp{}
	var texts []insights.HeadsUp
	if c.cfg.HeadsUpsOn() {
		from, to := c.o.Escalation.QuietSpan()
		pol := insights.HeadsUpPolicy{Threshold: c.cfg.HeadsUpRisk, Lead: c.cfg.HeadsUpLead,
			Quiet: insights.QuietHours{From: from, To: to}, Location: a.location, Text: c.text}
		for _, h := range insights.PlanHeadsUps(hin, pol, c.textedDays(in.Events, a.location)) {
			if !h.PromptAt.IsZero() {
				prompts[h.DoseID] = dispenser.HeadsUp{At: h.PromptAt, Lines: c.promptLines(h.Scheduled, a.location)}
			}
			if !h.TextAt.IsZero() {
				texts = append(texts, h)
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.chimes, c.prompts, c.texts = chimes, prompts, texts
	c.trained, c.dirty = now, false
	c.armLocked(now)
	c.log.Info("insights: learned", "doses", a.learned, "coming", len(a.doses), "heads_ups", len(prompts), "texts", len(texts))
	return nil
}

// firstReminder is the device's usual first chime after the scheduled time.
func (c *Coach) firstReminder() time.Duration {
	if rs := c.o.Escalation.Reminders(); len(rs) > 0 {
		return rs[0]
	}
	return 0
}

// textedDays are the local days a heads-up text was asked for, and the
// doses it was asked about.
func (c *Coach) textedDays(evs []dispenser.Event, loc *time.Location) map[string]bool {
	days := map[string]bool{}
	for _, ev := range evs {
		if ev.Kind != notify.KindHeadsUp {
			continue
		}
		if dose, at, _, err := notify.ParseHeadsUpDetail(ev.Detail); err == nil {
			days[at.In(loc).Format(time.DateOnly)] = true
			c.mu.Lock()
			c.asked[dose] = true
			c.mu.Unlock()
		}
	}
	return days
}

// promptLines are the display's lines of a heads-up prompt.
func (c *Coach) promptLines(scheduled time.Time, loc *time.Location) []string {
	l := c.o.Patient.Locale()
	return strings.Split(l.Text("screen.heads_up", i18n.Args{"time": l.Clock(scheduled.In(loc), c.o.Patient.Clock())}), "\n")
}

// askTexts appends a heads_up event for each planned text that fell due;
// the notifier sends them (and holds them to its own limits).
func (c *Coach) askTexts(ctx context.Context, now time.Time) {
	c.mu.Lock()
	var due []dispenser.Event
	keep := c.texts[:0]
	for _, h := range c.texts {
		switch {
		case c.asked[h.DoseID]:
		case h.TextAt.After(now):
			keep = append(keep, h)
		case now.Sub(h.TextAt) <= textStale:
			if d, err := notify.HeadsUpDetail(h.DoseID, h.Scheduled, h.Probability); err == nil {
				due = append(due, dispenser.Event{Time: now, Kind: notify.KindHeadsUp, Detail: d})
				c.asked[h.DoseID] = true
			}
		}
	}
	c.texts = keep
	c.mu.Unlock()
	if len(due) == 0 {
		return
	}
	if _, err := c.o.Store.Append(ctx, due...); err != nil {
		c.log.Error("insights: could not log a heads-up", "err", err)
	}
}

// armLocked sets the timer for the next thing to do: a text falling due, a
// learning the log asked for, or the periodic one. The caller holds mu.
func (c *Coach) armLocked(now time.Time) {
	if c.stopped {
		return
	}
	next := c.trained.Add(refreshEvery)
	if c.dirty {
		next = c.trained.Add(RetrainEvery)
	}
	for _, h := range c.texts {
		if !c.asked[h.DoseID] && h.TextAt.Before(next) {
			next = h.TextAt
		}
	}
	if next.Before(now) {
		next = now
	}
	if c.timer != nil && !c.due.After(next) {
		return // already due as soon
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	c.due = next
	c.timer = c.o.Clock.AfterFunc(next.Sub(now), c.fire)
}
