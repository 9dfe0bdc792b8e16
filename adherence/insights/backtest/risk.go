package backtest

import (
	"math"
	"sort"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
	"github.com/pillbox/pillbox/adherence/insights/cohort"
)

// scored is one occasion's predictions and what became of it.
type scored struct {
	at     time.Time
	missed bool
	early  bool // in the patient's first 4 weeks
	p      [numPredictors]float64
}

// The predictors compared.
const (
	predModel    = iota // insights: per-patient logistic with shrinkage
	predOverall         // baseline: the patient's miss rate so far
	predLastWeek        // baseline: as the same slot a week before
	predSlotRate        // Bayesian rate per weekday x part-of-day slot
	predOracle          // the generator's own probability: the ceiling
	numPredictors
)

var predictorNames = [numPredictors]string{
	predModel:    "insights model (per-patient logistic, shrunk to the population)",
	predOverall:  "baseline: the patient's overall miss rate so far",
	predLastWeek: "baseline: same as the same slot last week",
	predSlotRate: "Bayesian miss rate per weekday x part of day, recency-weighted",
	predOracle:   "the generator's true probability (ceiling, not a model)",
}

// score runs the rolling origin over one patient.
func score(p *cohort.Patient, opts Options) patientResult {
	res := patientResult{index: p.Index, years: p.YearsOfRecord()}
	if !opts.VitalsOnly {
		res.doses = scoreDoses(p, p.History(), opts)
	}
	res.vitals = scoreVitals(p)
	return res
}

// scoreDoses predicts every occasion Horizon before it is due with the
// model of the last origin before that, and the baselines as of then.
func scoreDoses(p *cohort.Patient, h *insights.History, opts Options) []scored {
	l := insights.NewLearner(h, opts.Prior)
	occ := insights.Occasions(h)
	truth := map[time.Time]float64{}
	for _, d := range p.Doses {
		truth[d.Scheduled] = max(truth[d.Scheduled], d.P)
	}
	bySettled := make([]int, len(occ))
	for i := range bySettled {
		bySettled[i] = i
	}
	sort.SliceStable(bySettled, func(a, b int) bool { return occ[bySettled[a]].Settled.Before(occ[bySettled[b]].Settled) })

	origin := p.Start
	m := l.Train(origin)
	base := newBaselines(h.Location, opts.Prior.Rate)
	next := 0 // into bySettled: occasions the baselines have seen
	var out []scored
	for i := range occ {
		o := &occ[i]
		if o.Outcome != insights.Taken && o.Outcome != insights.Missed {
			continue
		}
		asOf := o.At.Add(-insights.Horizon)
		for !origin.Add(opts.Retrain).After(asOf) {
			origin = origin.Add(opts.Retrain)
			m = l.TrainFrom(origin, m)
		}
		for next < len(bySettled) && !occ[bySettled[next]].Settled.After(asOf) {
			base.learn(&occ[bySettled[next]])
			next++
		}
		r := l.Risk(m, asOf, insights.Dose{Scheduled: o.At})
		s := scored{at: o.At, missed: o.Outcome == insights.Missed, early: o.At.Sub(p.Start) < 28*24*time.Hour}
		s.p[predModel] = r.Probability
		s.p[predOverall], s.p[predLastWeek], s.p[predSlotRate] = base.predict(o, asOf)
		s.p[predOracle] = truth[o.At]
		out = append(out, s)
	}
	return out
}

// slotHalfLife is the slot rate's recency weighting: a dose of 8 weeks ago
// counts half.
const slotHalfLife = 8 * 7 * 24 * time.Hour

// slotPrior is how many pseudo-doses at the patient's rate a slot starts
// with; overallPrior the same for the patient's rate at the population's.
const (
	slotPrior    = 2.0
	overallPrior = 4.0
)

// baselines keeps what the baselines know of the settled occasions.
type baselines struct {
	loc      *time.Location
	pop      float64
	missed   int
	of       int
	last     map[slotKey]lastSeen // by weekday and clock: the latest settled
	decayAt  time.Time
	wOverall decayed
	wSlot    map[slotKey]*decayed // by weekday and part of day
}

type slotKey struct {
	weekday time.Weekday
	clock   int // minutes, or a part of the day's index for wSlot
}

type lastSeen struct {
	at     time.Time
	missed bool
}

// decayed is a recency-weighted count of misses over doses.
type decayed struct{ missed, of float64 }

func newBaselines(loc *time.Location, pop float64) *baselines {
	return &baselines{loc: loc, pop: pop, last: map[slotKey]lastSeen{}, wSlot: map[slotKey]*decayed{}}
}

func partIndex(clock int) int {
	switch insights.PartOfDay(clock) {
	case "morning":
		return 0
	case "midday":
		return 1
	case "evening":
		return 2
	}
	return 3
}

// decay ages every weighted count to t.
func (b *baselines) decay(t time.Time) {
	if !b.decayAt.IsZero() && t.After(b.decayAt) {
		f := math.Exp2(-t.Sub(b.decayAt).Hours() / slotHalfLife.Hours())
		b.wOverall.missed *= f
		b.wOverall.of *= f
		for _, d := range b.wSlot {
			d.missed *= f
			d.of *= f
		}
	}
	if t.After(b.decayAt) {
		b.decayAt = t
	}
}

func (b *baselines) learn(o *insights.Occasion) {
	if o.Outcome != insights.Taken && o.Outcome != insights.Missed {
		return
	}
	b.decay(o.Settled)
	miss := o.Outcome == insights.Missed
	y := 0.0
	if miss {
		y = 1
		b.missed++
	}
	b.of++
	// Its weight as of now (decayAt): it happened at o.At.
	w := math.Exp2(-b.decayAt.Sub(o.At).Hours() / slotHalfLife.Hours())
	b.wOverall.missed += w * y
	b.wOverall.of += w
	k := slotKey{o.Weekday, partIndex(o.Clock)}
	d := b.wSlot[k]
	if d == nil {
		d = &decayed{}
		b.wSlot[k] = d
	}
	d.missed += w * y
	d.of += w
	lk := slotKey{o.Weekday, o.Clock}
	if prev, ok := b.last[lk]; !ok || o.At.After(prev.at) {
		b.last[lk] = lastSeen{o.At, miss}
	}
}

// predict gives the overall rate, the same-slot-last-week and the slot
// rate predictions for o as of asOf.
func (b *baselines) predict(o *insights.Occasion, asOf time.Time) (overall, lastWeek, slot float64) {
	overall = b.pop
	if b.of > 0 {
		overall = float64(b.missed) / float64(b.of)
	}
	lastWeek = overall
	if prev, ok := b.last[slotKey{o.Weekday, o.Clock}]; ok && o.At.Sub(prev.at) < 8*24*time.Hour {
		lastWeek = 0
		if prev.missed {
			lastWeek = 1
		}
	}
	b.decay(asOf)
	rate := (b.wOverall.missed + overallPrior*b.pop) / (b.wOverall.of + overallPrior)
	slot = rate
	if d := b.wSlot[slotKey{o.Weekday, partIndex(o.Clock)}]; d != nil {
		slot = (d.missed + slotPrior*rate) / (d.of + slotPrior)
	}
	return overall, lastWeek, slot
}
