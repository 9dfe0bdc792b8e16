package notify

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Episodes. The open missed-dose alerts of the patient that overlap in
// time (a dose not taken yet, left in the cup, or missed) are one
// situation for the caregivers, not one per dose: they form one episode,
// an alert of its own (CondEpisode) with one code and one ladder that
// tells them of every dose in it.
//
// A dose alert is the patient's own matter at first: its patient steps go
// to the patient. When its first caregiver step comes due it joins the
// open episode that nobody has acknowledged yet, or starts one whose
// ladder counts from the dose's time. A dose that joins an episode whose
// caregivers were already texted is news: the next text goes at once to
// the last person texted ("Margaret has not taken the 8:00 AM and 9:00 AM
// doses"), and counts as one of the episode's repeats, but is sent even
// when they are used up, so that every missed dose reaches a caregiver.
// Repeats cover the whole episode. One OK acknowledges the episode and
// every dose in it; a dose that reaches the caregivers after that starts a
// new episode. A jam, an uncertain dispense and a vital alert are never in
// an episode: a dose alert that becomes one leaves it.

// episodic reports whether a is a missed-dose alert, which goes into an
// episode.
func episodic(a *Alert) bool {
	return strings.HasPrefix(a.Key, "dose:") && (a.What == CondDue || a.What == CondNotTaken || a.What == CondMissed)
}

// episodeKey is the condition key of an episode, by its alert ID.
func episodeKey(id int64) string { return "episode:" + strconv.FormatInt(id, 10) }

// episodeOf returns the open episode a dose alert belongs to, or nil.
// The caller holds mu.
func (n *Notifier) episodeOf(a *Alert) *Alert {
	if a.Facts.Episode == 0 {
		return nil
	}
	return n.open[episodeKey(a.Facts.Episode)]
}

// members returns the open dose alerts of an episode, by scheduled time.
// The caller holds mu.
func (n *Notifier) members(ep *Alert) []*Alert {
	var ms []*Alert
	for _, a := range n.open {
		if a.Facts.Episode == ep.ID {
			ms = append(ms, a)
		}
	}
	slices.SortFunc(ms, func(x, y *Alert) int {
		return cmp.Or(x.Facts.Scheduled.Compare(y.Facts.Scheduled), cmp.Compare(x.ID, y.ID))
	})
	return ms
}

// liveEpisode returns the open episode nobody acknowledged, or nil: there
// is at most one.
func (n *Notifier) liveEpisode() *Alert {
	for _, a := range n.open {
		if a.What == CondEpisode && !a.acked() {
			return a
		}
	}
	return nil
}

// toCaregivers reports whether an action of a standalone alert goes to a
// caregiver: for a dose alert, the time to join an episode.
func (n *Notifier) toCaregivers(a *Alert, act action) bool {
	return n.recipient(a, act) != RolePatient
}

// enlist puts a dose alert whose caregiver step is due into the live
// episode, or into a new one. The caller holds mu.
func (n *Notifier) enlist(a *Alert, now time.Time, changed map[int64]*Alert) {
	ep := n.liveEpisode()
	if ep == nil {
		n.lastAlert++
		ep = &Alert{ID: n.lastAlert, Code: n.newCode(), What: CondEpisode, Priority: a.Priority, Opened: now,
			Base: a.Base, Step: a.Step, SentStep: -1, Facts: Facts{Medication: a.Facts.Medication}}
		ep.Key = episodeKey(ep.ID)
		// An alert from before episodes may have texted caregivers itself:
		// its episode goes on from there.
		if ladder := n.pol.ladderFor(a); a.SentStep >= 0 && a.SentStep < len(ladder) && ladder[a.SentStep].Who() != RolePatient {
			ep.SentStep, ep.StepAt, ep.Notified, ep.Repeats = a.SentStep, a.StepAt, a.Notified, a.Repeats
		}
		n.open[ep.Key] = ep
	} else {
		switch {
		case a.Priority > ep.Priority:
			ep.Priority = a.Priority
			if ep.SentStep >= 0 {
				ep.Notified = time.Time{} // a rise: at once, to the last person told
			}
		case ep.SentStep >= 0 && ep.Facts.News.IsZero():
			ep.Facts.News = now
		}
	}
	a.Facts.Episode = ep.ID
	changed[a.ID], changed[ep.ID] = a, ep
}

// leave takes a dose alert out of its episode (it became a jam or an
// uncertain dispense, or rose after the episode was acknowledged): its own
// ladder starts again at its first caregiver step, at once, and the
// episode closes if it has no other dose. The caller holds mu.
func (n *Notifier) leave(a *Alert, at time.Time, changed map[int64]*Alert) {
	ep := n.episodeOf(a)
	a.Facts.Episode = 0
	a.Step, a.SentStep, a.StepAt, a.Notified, a.Repeats = 0, -1, time.Time{}, time.Time{}, 0
	a.Base = n.immediate(a, at)
	changed[a.ID] = a
	if ep != nil && len(n.members(ep)) == 0 {
		n.close(ep, at, "emptied", "", changed)
	}
}

// riseIn raises the episode of a dose alert whose priority rose (a
// critical medication's dose went from due to missed): the last person
// told hears at once. After the episode was acknowledged the dose leaves
// it instead, for an episode of its own. The caller holds mu.
func (n *Notifier) riseIn(a *Alert, at time.Time, changed map[int64]*Alert) {
	ep := n.episodeOf(a)
	if ep == nil {
		return
	}
	if ep.acked() {
		n.leave(a, at, changed)
		return
	}
	if a.Priority > ep.Priority {
		ep.Priority = a.Priority
		if ep.SentStep >= 0 {
			ep.Notified = time.Time{}
		}
		changed[ep.ID] = ep
	}
}
