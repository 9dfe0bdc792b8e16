package notify

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

const (
	// readBatch is how many events one read of the log takes.
	readBatch = 500
	// maxRepeats bounds the re-notifications of one alert (and the daily
	// digests of a low one): after them it stays open, silent, until
	// acknowledged, resolved or its priority rises.
	maxRepeats = 3
	// ackLatch is how long an acknowledged alert keeps silencing repeats
	// of its condition (a jam that persists) before it closes.
	ackLatch = 24 * time.Hour
	// maxOpen closes any alert this old: a week-old condition is history.
	maxOpen = 7 * 24 * time.Hour
	// recentWindow is how far back rate limits and bare "OK" replies look.
	recentWindow = 24 * time.Hour
)

// countKinds are the events whose detail carries a compartment's pill
// count ("left=N"), as the dispenser writes them.
var countKinds = []dispenser.Kind{dispenser.KindRefill, dispenser.KindDispensed, dispenser.KindJam,
	dispenser.KindUncertain, dispenser.KindEmpty}

// alertPass acts on the events after the cursor, then queues the messages
// that are due, in one transaction. It returns when it wants to run next.
func (n *Notifier) alertPass(ctx context.Context) (time.Time, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.loaded {
		if err := n.load(ctx); err != nil {
			return time.Time{}, err
		}
	}
	now := n.cfg.Clock.Now()
	changed := map[int64]*Alert{}
	n.ended = nil
	var b Batch

	var missed, headsUps []dispenser.Event
	supply := map[int]bool{}
	if !n.forecast {
		for c := range n.byComp {
			supply[c] = true
		}
	}
	for {
		evs, err := n.cfg.Store.Since(ctx, n.cursor, readBatch)
		if err != nil {
			n.loaded = false
			return time.Time{}, fmt.Errorf("notify: read log: %w", err)
		}
		for _, ev := range evs {
			switch {
			case own(ev.Kind):
			case ev.Kind == dispenser.KindMissed:
				missed = append(missed, ev)
			case ev.Kind == KindHeadsUp:
				headsUps = append(headsUps, ev)
			default:
				if slices.Contains(countKinds, ev.Kind) && ev.Compartment != 0 {
					supply[ev.Compartment] = true
				}
				if r := rules[ev.Kind]; r != nil {
					for _, e := range r(ev, n.meds) {
						n.apply(e, ev.Time, changed)
					}
				}
			}
			n.cursor = ev.Seq
			b.Cursor = ev.Seq
		}
		if len(evs) < readBatch {
			break
		}
	}
	n.missed(missed, changed)
	if err := n.checkSupply(ctx, supply, now, changed); err != nil {
		n.loaded = false
		return time.Time{}, err
	}
	n.forecast = true

	var next time.Time
	if n.cfg.Trusted == nil || n.cfg.Trusted(ctx) {
		msgs, when, err := n.evaluate(ctx, now, changed)
		if err != nil {
			n.loaded = false
			return time.Time{}, err
		}
		next = when
		hu, err := n.headsUps(ctx, headsUps, now)
		if err != nil {
			n.loaded = false
			return time.Time{}, err
		}
		msgs = append(msgs, hu...)
		b.Messages = msgs
		for _, m := range msgs {
			detail := fmt.Sprintf("msg=%d to=%s priority=%s alerts=%s codes=%s why=%s", m.ID, m.To, m.Priority,
				n.keys(m.Alerts, changed), orDash(strings.Join(m.Codes, ",")), m.Why)
			if m.Channel == ChannelCall {
				detail += " via=call"
			}
			b.Events = append(b.Events, dispenser.Event{Time: now, Kind: KindSMSQueued, Detail: detail})
		}
	}
	for _, a := range changed {
		b.Alerts = append(b.Alerts, *a)
	}
	slices.SortFunc(b.Alerts, func(x, y Alert) int { return cmp.Compare(x.ID, y.ID) })
	if err := n.commit(ctx, b); err != nil {
		return time.Time{}, err
	}
	if len(b.Messages) > 0 {
		kick(n.sendWake)
	}
	return next, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// keys lists the condition keys of alert ids, for event details: the
// alerts open, or closed in this pass (changed). An episode is named by
// its doses, which the log's readers know (adherence.AlertHistory).
func (n *Notifier) keys(ids []int64, changed map[int64]*Alert) string {
	var ks []string
	seen := map[int64]bool{}
	for _, as := range []map[int64]*Alert{changed, n.byID()} {
		for _, a := range as {
			if slices.Contains(ids, a.ID) && !seen[a.ID] && a.What != CondEpisode {
				seen[a.ID] = true
				ks = append(ks, a.Key)
			}
		}
	}
	slices.Sort(ks)
	return orDash(strings.Join(ks, ","))
}

// byID indexes the open alerts by ID. The caller holds mu.
func (n *Notifier) byID() map[int64]*Alert {
	m := make(map[int64]*Alert, len(n.open))
	for _, a := range n.open {
		m[a.ID] = a
	}
	return m
}

// apply makes one effect happen to the alerts. at is when the event that
// caused it happened.
func (n *Notifier) apply(e effect, at time.Time, changed map[int64]*Alert) {
	a := n.open[e.Key]
	if e.Clear {
		if a != nil {
			n.close(a, at, "resolved", e.Ended, changed)
		}
		return
	}
	if a == nil {
		n.lastAlert++
		a = &Alert{ID: n.lastAlert, Key: e.Key, Code: n.newCode(), What: e.What, Priority: e.Priority,
			Opened: at, Base: e.Base, SentStep: -1, Facts: e.Facts}
		if a.Base.IsZero() {
			a.Base = n.immediate(a, at)
		}
		n.open[e.Key] = a
		changed[a.ID] = a
		return
	}
	episode := a.Facts.Episode
	switch {
	case e.Priority > a.Priority:
		// A rise re-arms an acknowledged alert and tells whoever already
		// heard of it at once.
		a.Priority, a.What, a.Facts = e.Priority, e.What, e.Facts
		a.Facts.Episode = episode
		a.AckedBy, a.AckedAt, a.Repeats = "", time.Time{}, 0
		switch {
		case episode != 0 && episodic(a):
			n.riseIn(a, at, changed)
		case episode != 0:
			n.leave(a, at, changed)
		default:
			ladder := n.pol.ladderFor(a)
			if a.SentStep >= 0 && a.SentStep < len(ladder) && applies(a, ladder[a.SentStep]) {
				a.Notified = time.Time{}
			} else {
				a.SentStep, a.StepAt = -1, time.Time{}
				a.Base = n.immediate(a, at)
			}
		}
	case e.What != a.What && e.What != CondDue:
		// Same urgency, new facts (due -> missed): later steps say so.
		a.What, a.Facts = e.What, e.Facts
		a.Facts.Episode = episode
		if episode != 0 && !episodic(a) {
			n.leave(a, at, changed)
		}
	default:
		return // the condition repeats: one alert is enough
	}
	changed[a.ID] = a
}

// close closes a for reason; ended says how its condition ended, when
// that is news for the people told of it (a resolved text). An episode
// closes with its last dose. The caller holds mu.
func (n *Notifier) close(a *Alert, at time.Time, reason, ended string, changed map[int64]*Alert) {
	a.Closed, a.Reason = at, reason
	delete(n.open, a.Key)
	changed[a.ID] = a
	if ended != "" {
		n.ended = append(n.ended, ending{a: a, how: ended, at: at})
	}
	if ep := n.episodeOf(a); ep != nil && len(n.members(ep)) == 0 {
		n.close(ep, at, reason, "", changed)
	}
}

// ending is an alert closed in this pass whose end is news.
type ending struct {
	a   *Alert
	how string
	at  time.Time
}

// immediate is the ladder base that makes a's next applicable step due at.
func (n *Notifier) immediate(a *Alert, at time.Time) time.Time {
	ladder := n.pol.ladderFor(a)
	for i := a.Step; i < len(ladder); i++ {
		if applies(a, ladder[i]) {
			return at.Add(-ladder[i].After)
		}
	}
	return at
}

// missed acts on the missed events of one pass. Several at once (the
// dispenser reconciling a power-off or a clock jump, or windows closing
// together) become one summary alert instead of one text per dose; doses
// whose alert someone acknowledged are left out of it.
func (n *Notifier) missed(evs []dispenser.Event, changed map[int64]*Alert) {
	at := map[time.Time]int{}
	for _, ev := range evs {
		at[ev.Time]++
	}
	var group []dispenser.Event
	reconciled := false
	for _, ev := range evs {
		if ev.DoseID == "" || isPRN(ev) {
			continue
		}
		e := missedEffect(ev, n.meds)
		if a := n.open[e.Key]; a != nil && a.acked() {
			n.apply(e, ev.Time, changed)
			continue
		}
		if ev.Detail == "reconciled" || at[ev.Time] > 1 {
			group = append(group, ev)
			reconciled = reconciled || ev.Detail == "reconciled"
			continue
		}
		n.apply(e, ev.Time, changed)
	}
	if len(group) == 1 && !reconciled {
		n.apply(missedEffect(group[0], n.meds), group[0].Time, changed)
		return
	}
	if len(group) == 0 {
		return
	}
	p := Medium
	f := Facts{Count: len(group), Scheduled: group[0].Scheduled, Until: group[0].Scheduled, Offline: reconciled}
	for _, ev := range group {
		if n.meds[ev.Medication].Critical {
			p = High
		}
		if ev.Scheduled.Before(f.Scheduled) {
			f.Scheduled = ev.Scheduled
		}
		if ev.Scheduled.After(f.Until) {
			f.Until = ev.Scheduled
		}
		if a := n.open[doseKey(ev.DoseID)]; a != nil {
			n.close(a, ev.Time, "summarised", "", changed)
		}
	}
	n.apply(effect{Key: "summary:" + strconv.FormatInt(group[0].Seq, 10), What: CondSummary, Priority: p,
		Base: f.Scheduled, Facts: f}, group[0].Time, changed)
}

// ladderFor returns the ladder of an alert: its medication's, or the
// default.
func (p *policy) ladderFor(a *Alert) []Step {
	if l, ok := p.perMed[a.Facts.Medication]; ok {
		return l
	}
	return p.ladder
}

// applies reports whether a ladder step is for this alert: the patient
// hears only about a dose they can still take, and not when it is urgent;
// the caregivers hear of a dose in an episode through the episode.
func applies(a *Alert, s Step) bool {
	switch {
	case a.What == CondEpisode:
		return s.Who() != RolePatient
	case s.Who() != RolePatient:
		return a.Facts.Episode == 0
	}
	return (a.What == CondDue || a.What == CondNotTaken) && a.Priority < High
}

// action is the next thing an alert's ladder does.
type action struct {
	step int // ladder index; -1 for a repeat of the last step, or a digest
	at   time.Time
	why  string
}

// next returns a's next action, if any.
func (n *Notifier) next(a *Alert) (action, bool) {
	if a.acked() {
		return action{}, false
	}
	ladder := n.pol.ladderFor(a)
	if a.Priority == Low {
		if a.Repeats > maxRepeats {
			return action{}, false
		}
		ref := a.Notified
		if ref.IsZero() {
			ref = a.Opened.Add(-time.Second) // a digest time equal to Opened counts
		}
		return action{step: -1, at: n.pol.digest.next(ref.In(n.loc)), why: whyDigest}, true
	}
	var best action
	found := false
	sent := a.SentStep >= 0 && a.SentStep < len(ladder)
	for i := a.Step; i < len(ladder); i++ {
		if !applies(a, ladder[i]) {
			continue
		}
		at := a.Base.Add(ladder[i].After)
		if sent {
			// Keep the spacing after a step that went late (quiet hours,
			// a restart), so the next person gets time to answer.
			if gap := a.StepAt.Add(ladder[i].After - ladder[a.SentStep].After); gap.After(at) {
				at = gap
			}
		}
		if mo := a.Facts.MoveOn; !mo.IsZero() && mo.Before(at) {
			at = mo // a call before it went unanswered
		}
		best, found = action{step: i, at: at, why: whyStep}, true
		break
	}
	if news := a.Facts.News; sent && !news.IsZero() && (!found || news.Before(best.at)) {
		best, found = action{step: -1, at: news, why: whyJoin}, true
	}
	if sent && applies(a, ladder[a.SentStep]) && a.Facts.Episode == 0 {
		var at time.Time
		ok, why := true, whyRenotify
		switch {
		case a.Notified.IsZero(): // its priority rose
			at, why = a.StepAt, whyRise
		case n.pol.renotify > 0 && a.Repeats < maxRepeats:
			at = a.Notified.Add(n.pol.renotify)
		default:
			ok = false
		}
		if ok && (!found || at.Before(best.at) || why == whyRise && best.why == whyJoin) {
			best, found = action{step: -1, at: at, why: why}, true
		}
	}
	return best, found
}

// moveUp makes the caregiver step after a skipped one (nobody to text)
// due when the skipped one was: with caregiver 1 opted out, caregiver 2 is
// first. A skipped patient step moves nothing: the caregivers' times give
// the patient their chance.
func (n *Notifier) moveUp(a *Alert, skipped int) {
	ladder := n.pol.ladderFor(a)
	if ladder[skipped].Who() == RolePatient {
		return
	}
	for i := skipped + 1; i < len(ladder); i++ {
		if applies(a, ladder[i]) && ladder[i].Who() != RolePatient {
			a.Base = a.Base.Add(ladder[skipped].After - ladder[i].After)
			if a.SentStep >= 0 {
				// The spacing after the last step sent shrinks alike.
				a.StepAt = a.StepAt.Add(ladder[skipped].After - ladder[i].After)
			}
			return
		}
	}
}

// recipient is the role an action goes to.
func (n *Notifier) recipient(a *Alert, act action) string {
	return n.stepOf(a, act).Who()
}

// channel is how an action reaches its recipient: a repeat or news as the
// step it follows did.
func (n *Notifier) channel(a *Alert, act action) Channel {
	return n.stepOf(a, act).channel()
}

// stepOf is the ladder step an action carries out.
func (n *Notifier) stepOf(a *Alert, act action) Step {
	ladder := n.pol.ladderFor(a)
	switch {
	case act.step >= 0:
		return ladder[act.step]
	case act.why == whyJoin:
		// News of a dose that joined the episode goes to the last caregiver
		// told whose texts the provider still takes: every missed dose must
		// reach someone (DESIGN invariant 4), and the last one told may be
		// the number that failed for good.
		for i := a.SentStep; i >= 0; i-- {
			if who := ladder[i].Who(); who != RolePatient && applies(a, ladder[i]) && !n.refused[who] {
				return ladder[i]
			}
		}
		return ladder[a.SentStep]
	case act.why != whyDigest:
		return ladder[a.SentStep]
	}
	for _, s := range n.pol.ladder { // the digest goes, as a text, to the first caregiver of the ladder
		if s.Who() != RolePatient {
			return Step{To: s.Who()}
		}
	}
	return Step{To: "caregiver1"}
}

// evaluate queues the messages that are due at now: each alert's next
// step, repeat or digest, merged into one message per recipient and
// channel, held by quiet hours and rate limits unless high priority; and
// the resolved texts of the alerts that ended in this pass. It returns the
// messages and when something is next due.
func (n *Notifier) evaluate(ctx context.Context, now time.Time, changed map[int64]*Alert) ([]Message, time.Time, error) {
	var next time.Time
	later := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}

	// Dose alerts whose caregiver step is due join the episode first, so
	// that the episode's text tells of them all.
	for _, a := range n.sortedAlerts() {
		if !episodic(a) || a.acked() {
			continue
		}
		if a.Facts.Episode != 0 {
			if n.episodeOf(a) != nil {
				continue
			}
			a.Facts.Episode = 0 // its episode closed under it: it goes into the live one
			changed[a.ID] = a
		}
		if act, ok := n.next(a); ok && !act.at.After(now) && n.toCaregivers(a, act) {
			n.enlist(a, now, changed)
		}
	}

	type dest struct {
		role string
		ch   Channel
	}
	byDest := map[dest][]item{}
	for _, a := range n.sortedAlerts() {
		if n.open[a.Key] != a {
			continue // closed with its last dose, earlier in this loop
		}
		switch {
		case a.acked() && now.Sub(a.AckedAt) >= ackLatch, a.What != CondEpisode && now.Sub(a.Opened) >= maxOpen:
			n.close(a, now, "expired", "", changed)
			continue
		case a.acked():
			later(a.AckedAt.Add(ackLatch))
			continue
		}
		for {
			act, ok := n.next(a)
			if !ok {
				break
			}
			if act.at.After(now) {
				later(act.at)
				break
			}
			role := n.recipient(a, act)
			c, known := n.pol.roles[role]
			if !known || !n.numbers[c.Phone].OptedOut.IsZero() {
				// Nobody to text at this step: it counts as done, and the
				// ladder moves on to the next person.
				changed[a.ID] = a
				if act.step >= 0 {
					a.Step = act.step + 1
					n.moveUp(a, act.step)
					continue
				}
				a.Notified, a.Repeats, a.Facts.News = now, a.Repeats+1, time.Time{}
				break
			}
			d := dest{role, n.channel(a, act)}
			byDest[d] = append(byDest[d], item{a: a, step: act.step, due: act.at, why: act.why, repeat: act.why == whyRenotify})
			break
		}
	}

	if len(byDest) == 0 && (len(n.ended) == 0 || !n.pol.resolved) {
		return nil, next, nil
	}
	recent, err := n.cfg.Store.MessagesSince(ctx, now.Add(-recentWindow))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("notify: rate limits: %w", err)
	}
	lim := n.limiter(recent, now)
	var msgs []Message
	dests := slices.SortedFunc(maps.Keys(byDest), func(x, y dest) int {
		return cmp.Or(cmp.Compare(x.role, y.role), cmp.Compare(x.ch, y.ch))
	})
	for _, d := range dests {
		items := byDest[d]
		phone := n.pol.roles[d.role].Phone
		m := Message{Created: now, To: d.role, Phone: phone, Channel: d.ch, Priority: Low, State: MsgQueued, NextTry: now,
			Updated: now, Why: items[0].why}
		for _, it := range items {
			m.Priority = max(m.Priority, it.a.Priority)
			m.Alerts = append(m.Alerts, it.a.ID)
			if it.a.What == CondEpisode {
				for _, mem := range n.members(it.a) {
					m.Alerts = append(m.Alerts, mem.ID)
				}
			}
			if d.role != RolePatient {
				m.Codes = append(m.Codes, it.a.Code)
			}
			if it.why != m.Why {
				m.Why = whyStep
			}
		}
		// High priority goes through quiet hours and rate limits, its
		// repeats too: an urgent alert nobody answered must not wait for
		// the morning.
		if m.Priority < High {
			if local := now.In(n.loc); n.pol.quiet.in(local) {
				later(n.pol.quiet.end.next(local))
				continue
			}
			if until, held := lim.hold(phone, now); held {
				later(until)
				continue
			}
		}
		lim.add(phone, now)
		n.lastMsg++
		m.ID = n.lastMsg
		if d.ch == ChannelCall {
			m.Body = n.text.callSay(n.text.lang(d.role), items, now)
		} else {
			m.Body = n.text.message(d.role, items, now)
		}
		for _, it := range items {
			a := it.a
			a.Notified = now
			switch {
			case it.step >= 0:
				a.Step, a.SentStep, a.StepAt, a.Repeats = it.step+1, it.step, sentAt(it.due, now), 0
				a.Facts.MoveOn = time.Time{}
			case it.why == whyRise:
				// After a priority rise the ladder's spacing counts from
				// this message, so the person who just heard gets time to
				// answer before the next is texted.
				a.StepAt = now
			default:
				a.Repeats++ // a reminder, or the news of a dose joining
			}
			a.Facts.News = time.Time{} // every text of an episode tells all of it
			changed[a.ID] = a
			if act, ok := n.next(a); ok {
				later(act.at)
			}
		}
		msgs = append(msgs, m)
	}
	msgs = append(msgs, n.resolvedTexts(ctx, recent, now, lim)...)
	return msgs, next, nil
}

// resolvedTexts queues one text to each caregiver texted or called about
// the alerts that ended in this pass, saying so, unless they acknowledged
// the alert (they handle it) or resolved texts are off. The patient gets
// none: they ended it, or saw it end. recent are the messages of the last
// day; an alert opened before that reads its own. In quiet hours a
// resolved text of a medium or low alert waits for their end; one that a
// rate limit would hold is not sent: it must never take an alert's place.
// The caller holds mu.
func (n *Notifier) resolvedTexts(ctx context.Context, recent []Message, now time.Time, lim *limiter) []Message {
	if !n.pol.resolved || len(n.ended) == 0 {
		return nil
	}
	byRole := map[string][]ending{}
	for _, e := range n.ended {
		told := map[string]bool{}
		for _, m := range n.sentAbout(ctx, recent, e.a, now) {
			if m.To != RolePatient && m.To != e.a.AckedBy {
				told[m.To] = true
			}
		}
		for role := range told {
			byRole[role] = append(byRole[role], e)
		}
	}
	var msgs []Message
	for _, role := range slices.Sorted(maps.Keys(byRole)) {
		c, known := n.pol.roles[role]
		if !known || !n.numbers[c.Phone].OptedOut.IsZero() {
			continue
		}
		var lines []string
		var ids []int64
		high := false
		for _, e := range byRole[role] {
			if line := n.text.resolvedLine(n.text.lang(role), e.a, e.how, e.at, now); line != "" {
				lines = append(lines, line)
				ids = append(ids, e.a.ID)
				high = high || e.a.Priority == High
			}
		}
		if len(lines) == 0 {
			continue
		}
		if _, held := lim.hold(c.Phone, now); held {
			n.log.Info("notify: no resolved text: a rate limit is reached", "to", role)
			continue
		}
		when := now
		if local := now.In(n.loc); !high && n.pol.quiet.in(local) {
			when = n.pol.quiet.end.next(local)
		}
		lim.add(c.Phone, now)
		n.lastMsg++
		msgs = append(msgs, Message{ID: n.lastMsg, Created: now, To: role, Phone: c.Phone, Body: n.text.resolved(n.text.lang(role), lines),
			Priority: Low, Alerts: ids, Why: whyResolved, State: MsgQueued, NextTry: when, Updated: now})
	}
	return msgs
}

// sentAbout returns the messages that reached someone about a, other than
// resolved texts: from recent, or from the store for an alert older than
// a day. The caller holds mu.
func (n *Notifier) sentAbout(ctx context.Context, recent []Message, a *Alert, now time.Time) []Message {
	ms := recent
	if a.Opened.Before(now.Add(-recentWindow)) {
		older, err := n.cfg.Store.MessagesSince(ctx, a.Opened)
		if err != nil {
			n.log.Error("notify: no resolved text: cannot read the outbox", "err", err)
			return nil
		}
		ms = older
	}
	var out []Message
	for _, m := range ms {
		if m.State == MsgSent && m.Why != whyResolved && slices.Contains(m.Alerts, a.ID) {
			out = append(out, m)
		}
	}
	return out
}

// onTime is how late a step may go out and still count as on time: the
// next step's spacing then counts from when this one was due, so that a
// pass that ran a little late (a busy device, a simulated clock stepping
// ahead of the notifier) does not push the rest of the ladder.
const onTime = 2 * time.Minute

// sentAt is the time a step counts as sent: when it was due if it went out
// on time, else now, which keeps the spacing after a held or late step.
func sentAt(due, now time.Time) time.Time {
	if now.Sub(due) <= onTime {
		return due
	}
	return now
}

// limiter returns the rate limits' state: the messages of the last day
// (recent) and the help texts answered by TwiML, which the provider sends
// and bills like any other. The caller holds mu.
func (n *Notifier) limiter(recent []Message, now time.Time) *limiter {
	l := newLimiter(n.pol.limits, recent)
	for _, num := range n.numbers {
		if !num.Helped.IsZero() && now.Sub(num.Helped) < recentWindow {
			l.add(num.Phone, num.Helped)
		}
	}
	return l
}

// limiter applies the rate limits to the messages of the last day.
type limiter struct {
	lim   RateLimits
	to    map[string][]time.Time // by phone
	times []time.Time            // every recipient
}

func newLimiter(lim RateLimits, recent []Message) *limiter {
	l := &limiter{lim: lim, to: map[string][]time.Time{}}
	for _, m := range recent {
		if m.State != MsgCanceled && m.Why != whyHeadsUp { // heads-ups are counted apart
			l.add(m.Phone, m.Created)
		}
	}
	return l
}

func (l *limiter) add(phone string, t time.Time) {
	l.to[phone] = append(l.to[phone], t)
	l.times = append(l.times, t)
}

// hold reports whether one more message to phone now would break a limit,
// and when it would not.
func (l *limiter) hold(phone string, now time.Time) (time.Time, bool) {
	for _, c := range []struct {
		ts     []time.Time
		window time.Duration
		max    int
	}{{l.to[phone], time.Hour, l.lim.PerRecipientPerHour}, {l.times, time.Hour, l.lim.PerHour}, {l.times, 24 * time.Hour, l.lim.PerDay}} {
		var in []time.Time
		for _, t := range c.ts {
			if t.After(now.Add(-c.window)) {
				in = append(in, t)
			}
		}
		if len(in) >= c.max {
			slices.SortFunc(in, time.Time.Compare)
			return in[len(in)-c.max].Add(c.window), true
		}
	}
	return time.Time{}, false
}
