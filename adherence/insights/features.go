package insights

import (
	"math"
	"sort"
	"time"
)

// The features of a dose, each readable on its own and each with the words
// that say why it raised a risk (reasons.go). docs/insights.md defines
// them. A dose's features are computed "as of" an instant T from what was
// known at T only: the outcomes settled by T, the refills and clock jumps
// before it. Doses due at the same instant (several medications taken
// together) count as one occasion.

// Feature indexes into a feature vector; 0 is the intercept.
const (
	fIntercept = iota
	// fRecent: logit of this patient's miss rate over the last 28 days,
	// smoothed towards the population's.
	fRecent
	// fSlotWeek: how much the last 4 doses of the same weekday and time
	// were missed more than fRecent says (log-odds).
	fSlotWeek
	// fSlotDay: the same for the last 7 days' doses at the same time.
	fSlotDay
	// fLast3: the same for every dose of the last 3 days.
	fLast3
	// fGap: days without any dose taken, beyond one (0 to 7): away from
	// home, or stopped.
	fGap
	// fWeekend: a Saturday or Sunday dose.
	fWeekend
	// fEvening: a dose due from 17:00 to 04:00.
	fEvening
	// fDelay: hours later than usual this week (median delay of the last
	// 7 days' takings against the last 28 days'), -2 to 2.
	fDelay
	// fRefill: weeks past the usual refill interval (0 to 2): the
	// compartment may be running out.
	fRefill
	// fJump: the device's clock jumped in the last two days (power cut).
	fJump
	// fNew: the first four weeks on the dispenser, fading from 1 to 0.
	fNew
	// fLastMissed: the latest dose whose outcome is known was missed.
	fLastMissed
	numFeatures
)

const (
	lookback     = 28 * 24 * time.Hour
	day          = 24 * time.Hour
	rateSmooth   = 4 // pseudo-doses at the population rate in fRecent
	slotSmooth   = 2 // pseudo-doses at the recent rate in the slot features
	minDelayWeek = 3 // takings this week before fDelay says anything
	minDelayAll  = 7
)

// occasion is the doses due at one instant, folded: taken if any was,
// missed if any was and none taken. Occasions with neither (skipped, a
// device fault, pending) teach nothing and are left out of counts.
type occasion struct {
	at      time.Time
	settled time.Time // when the folded outcome became known
	outcome Outcome
	delay   time.Duration // first taking - at, for a taken occasion
	clock   int           // local minutes after midnight
	weekday time.Weekday
	// The same instants in Unix nanoseconds, and the delay in minutes:
	// features are computed for every past dose, and integers compare
	// faster than times.
	atN, settledN int64
	delayMin      float64
}

// knownAt reports whether the occasion's outcome is Taken or Missed and
// known at tN (Unix nanoseconds).
func (o *occasion) knownAt(tN int64) bool {
	return (o.outcome == Taken || o.outcome == Missed) && o.settledN <= tN
}

// Occasion is the doses due at one instant as the model counts them:
// taken if any was, missed if any was and none taken, else Pending,
// Skipped or Unknown.
type Occasion struct {
	At, Settled time.Time
	Outcome     Outcome
	// Delay is the first taking's time after At.
	Delay time.Duration
	// Clock (local minutes after midnight) and Weekday say when it was due.
	Clock   int
	Weekday time.Weekday
}

// Occasions folds h's doses (sorted) into occasions, in time order.
func Occasions(h *History) []Occasion {
	ix := newIndex(h)
	out := make([]Occasion, len(ix.occ))
	for i, o := range ix.occ {
		out[i] = Occasion{At: o.at, Settled: o.settled, Outcome: o.outcome, Delay: o.delay, Clock: o.clock, Weekday: o.weekday}
	}
	return out
}

// index is a History prepared for feature computation: occasions in time
// order with their local clock and weekday, and refill times with
// same-visit refills merged.
type index struct {
	loc     *time.Location
	occ     []occasion
	refills []time.Time
	jumps   []time.Time
	// scratch buffers for medians, reused across calls.
	week, all []float64
}

// newIndex prepares h. h.Doses must be sorted (History.Sort).
func newIndex(h *History) *index {
	ix := &index{loc: h.loc(), jumps: h.ClockJumps}
	for i := 0; i < len(h.Doses); {
		j := i + 1
		for j < len(h.Doses) && h.Doses[j].Scheduled.Equal(h.Doses[i].Scheduled) {
			j++
		}
		ix.occ = append(ix.occ, ix.fold(h.Doses, i, j))
		i = j
	}
	for _, r := range h.Refills {
		// Several compartments refilled on one visit are one refill.
		if n := len(ix.refills); n > 0 && r.Sub(ix.refills[n-1]) < 12*time.Hour {
			continue
		}
		ix.refills = append(ix.refills, r)
	}
	return ix
}

func (ix *index) fold(ds []Dose, from, to int) occasion {
	d0 := &ds[from]
	local := d0.Scheduled.In(ix.loc)
	o := occasion{at: d0.Scheduled, clock: local.Hour()*60 + local.Minute(), weekday: local.Weekday(), outcome: Pending}
	var firstTaken, lastMissed time.Time
	for i := from; i < to; i++ {
		d := &ds[i]
		switch d.Outcome {
		case Taken:
			if firstTaken.IsZero() || d.Settled.Before(firstTaken) {
				firstTaken, o.delay = d.Settled, d.TakenAt.Sub(d.Scheduled)
			}
		case Missed:
			if d.Settled.After(lastMissed) {
				lastMissed = d.Settled
			}
		}
	}
	switch {
	case !firstTaken.IsZero():
		o.outcome, o.settled = Taken, firstTaken
	case !lastMissed.IsZero():
		o.outcome, o.settled = Missed, lastMissed
	default:
		o.outcome, o.settled = d0.Outcome, d0.Settled // skipped, unknown or pending: not counted
	}
	o.atN, o.settledN, o.delayMin = o.at.UnixNano(), o.settled.UnixNano(), o.delay.Minutes()
	return o
}

// Tally counts occasions and the missed ones among them.
type Tally struct{ Missed, Of int }

func (t *Tally) add(o *occasion) {
	t.Of++
	if o.outcome == Missed {
		t.Missed++
	}
}

// rate is the Tally's miss rate smoothed with n pseudo-occasions at prior.
func (t Tally) rate(prior float64, n float64) float64 {
	return (float64(t.Missed) + n*prior) / (float64(t.Of) + n)
}

// Evidence is what a dose's features were computed from: the counts and
// durations the reasons quote.
type Evidence struct {
	Recent   Tally // occasions of the last 28 days
	SlotWeek Tally // the last 4 of the same weekday and time
	SlotDay  Tally // the last 7 days' at the same time
	Last3    Tally // the last 3 days'
	// SinceTaken is how long since a dose was last taken (at most the
	// 28 days looked back); NeverTaken when none was in that time.
	SinceTaken time.Duration
	NeverTaken bool
	// DelayWeek and DelayUsual are the median delays of this week's
	// takings and of the last 28 days'; DelayKnown when there were enough.
	DelayWeek, DelayUsual time.Duration
	DelayKnown            bool
	// SinceRefill and RefillEvery: the last refill and the usual interval.
	SinceRefill, RefillEvery time.Duration
	Refilled                 bool
	// Jump is the last clock jump in the two days before, if any.
	Jump time.Time
	// OnDevice is how long the record has run.
	OnDevice time.Duration
	// LastMissed says the latest dose known was missed.
	LastMissed bool
	// Weekday and Clock say when the dose is due, locally.
	Weekday time.Weekday
	Clock   int
}

// features computes the feature vector of an occasion due at `at` (local
// clock and weekday given) as of t, with its evidence.
func (ix *index) features(t time.Time, clock int, weekday time.Weekday, prior float64) ([numFeatures]float64, Evidence) {
	var x [numFeatures]float64
	ev := Evidence{Weekday: weekday, Clock: clock}
	x[fIntercept] = 1
	tN := t.UnixNano()
	fromN, horizonN := t.Add(-lookback).UnixNano(), t.Add(12*time.Hour).UnixNano()
	last3N, last7N := t.Add(-3*day).UnixNano(), t.Add(-7*day).UnixNano()
	start := sort.Search(len(ix.occ), func(i int) bool { return ix.occ[i].atN >= fromN })
	var lastTakenN, lastKnownN int64 = math.MinInt64, math.MinInt64
	week, all := ix.week[:0], ix.all[:0]
	// Occasions due a little after t may already be settled (taken
	// early, inside the window): they count too.
	for i := start; i < len(ix.occ) && ix.occ[i].atN < horizonN; i++ {
		o := &ix.occ[i]
		if !o.knownAt(tN) {
			continue
		}
		ev.Recent.add(o)
		if o.atN >= lastKnownN {
			lastKnownN, ev.LastMissed = o.atN, o.outcome == Missed
		}
		if o.atN >= last3N {
			ev.Last3.add(o)
		}
		if o.clock == clock {
			if o.atN >= last7N {
				ev.SlotDay.add(o)
			}
			if o.weekday == weekday {
				ev.SlotWeek.add(o)
			}
		}
		if o.outcome == Taken {
			if took := o.atN + int64(o.delay); took > lastTakenN {
				lastTakenN = took
			}
			all = append(all, o.delayMin)
			if o.atN >= last7N {
				week = append(week, o.delayMin)
			}
		}
	}
	var lastTaken time.Time
	if lastTakenN != math.MinInt64 {
		lastTaken = time.Unix(0, lastTakenN)
	}
	ix.week, ix.all = week, all
	r := ev.Recent.rate(prior, rateSmooth)
	x[fRecent] = logit(r)
	lr := logit(r)
	x[fSlotWeek] = logit(ev.SlotWeek.rate(r, slotSmooth)) - lr
	x[fSlotDay] = logit(ev.SlotDay.rate(r, slotSmooth)) - lr
	x[fLast3] = logit(ev.Last3.rate(r, slotSmooth)) - lr

	if len(ix.occ) > 0 && ix.occ[0].at.Before(t) {
		ev.OnDevice = t.Sub(ix.occ[0].at)
		if lastTaken.IsZero() {
			ev.NeverTaken = true
			ev.SinceTaken = min(ev.OnDevice, lookback)
		} else {
			ev.SinceTaken = max(t.Sub(lastTaken), 0)
		}
		x[fGap] = clamp(ev.SinceTaken.Hours()/24-1, 0, 7)
	}
	x[fNew] = clamp(1-ev.OnDevice.Hours()/lookback.Hours(), 0, 1)
	if ev.LastMissed {
		x[fLastMissed] = 1
	}
	if weekday == time.Saturday || weekday == time.Sunday {
		x[fWeekend] = 1
	}
	if clock >= 17*60 || clock < 4*60 {
		x[fEvening] = 1
	}
	if len(week) >= minDelayWeek && len(all) >= minDelayAll {
		ev.DelayKnown = true
		ev.DelayWeek = minutes(median(week))
		ev.DelayUsual = minutes(median(all))
		x[fDelay] = clamp((ev.DelayWeek - ev.DelayUsual).Hours(), -2, 2)
	}
	if i := sort.Search(len(ix.refills), func(i int) bool { return ix.refills[i].After(t) }); i > 0 {
		ev.Refilled = true
		ev.SinceRefill = t.Sub(ix.refills[i-1])
		ev.RefillEvery = usualInterval(ix.refills[max(i-7, 0):i])
		x[fRefill] = clamp((ev.SinceRefill-ev.RefillEvery).Hours()/(7*24), 0, 2)
	}
	if i := sort.Search(len(ix.jumps), func(i int) bool { return ix.jumps[i].After(t) }); i > 0 && t.Sub(ix.jumps[i-1]) < 2*day {
		ev.Jump = ix.jumps[i-1]
		x[fJump] = 1
	}
	return x, ev
}

// usualInterval is the median interval between refills, 28 days when
// there are fewer than two.
func usualInterval(rs []time.Time) time.Duration {
	if len(rs) < 3 {
		return 28 * day
	}
	iv := make([]float64, 0, len(rs)-1)
	for i := 1; i < len(rs); i++ {
		iv = append(iv, rs[i].Sub(rs[i-1]).Minutes())
	}
	return minutes(median(iv))
}

// median returns the median of xs, reordering them (Hoare's selection:
// linear time, which matters because every past dose takes two).
func median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return selectKth(xs, n/2)
	}
	hi := selectKth(xs, n/2)
	lo := xs[0]
	for _, x := range xs[:n/2] { // after selection, the lower half
		lo = math.Max(lo, x)
	}
	return (lo + hi) / 2
}

// selectKth reorders xs so that xs[k] is the k-th smallest, everything
// before it no larger and everything after it no smaller, and returns it.
func selectKth(xs []float64, k int) float64 {
	lo, hi := 0, len(xs)-1
	for lo < hi {
		pivot := xs[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for xs[i] < pivot {
				i++
			}
			for xs[j] > pivot {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return xs[k]
		}
	}
	return xs[k]
}

func minutes(m float64) time.Duration { return time.Duration(m * float64(time.Minute)) }

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

func logit(p float64) float64 {
	p = clamp(p, 1e-4, 1-1e-4)
	return math.Log(p / (1 - p))
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
