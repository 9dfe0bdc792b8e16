package insights

import (
	"math"
	"sort"
	"time"
)

// The risk model: a logistic regression per patient on the features of
// features.go, fitted by maximum a posteriori with a Gaussian prior on
// each weight centred on the population's (shrinkage): a new patient gets
// the population model, and a patient's own weights move away from it as
// their record grows. Recent doses weigh more (half-life HalfLife), so a
// patient whose habits change is followed. docs/insights.md says why this
// model over a Bayesian rate per slot: it backtests better, because it can
// use what a slot rate cannot (runs of misses, delays, refills, gaps).

// Horizon is how long before a dose is due its risk is judged when the
// model learns and when the backtest scores it: when a heads-up would go
// out. Each past dose is an example with its features as they stood then.
const Horizon = 2 * time.Hour

// HalfLife is the age at which a past dose counts half as much as today's.
const HalfLife = 90 * day

// Weights are the model's coefficients, one per feature (features.go);
// Weights[0] is the intercept.
type Weights [numFeatures]float64

// Prior is the population model a patient's weights shrink towards.
type Prior struct {
	// Rate is the population's miss rate, which a short record's counts
	// are smoothed towards.
	Rate float64
	// Mean are the population's weights; SD how far a patient's may
	// stray from each (smaller: more shrinkage).
	Mean, SD Weights
}

// DefaultPrior is the population model the device ships with. Rate and
// Mean were fitted by FitPrior on the development cohort (seed 2, 1,000
// patient-years, which the reported figures never use; `pillctl backtest
// --fit-prior` prints them again), and SD chosen on that cohort too
// (docs/insights.md). Replace it with a fit on real records when there
// are some.
var DefaultPrior = Prior{
	Rate: 0.19,
	Mean: Weights{fIntercept: -1.03, fRecent: 0.38, fSlotWeek: 0.47, fSlotDay: 0.19, fLast3: 0.26, fGap: 0.36,
		fWeekend: 0.12, fEvening: 0.20, fDelay: 0.37, fRefill: 11.03, fJump: -0.15, fNew: -0.07, fLastMissed: 0.38},
	SD: Weights{fIntercept: 1, fRecent: 0.5, fSlotWeek: 0.5, fSlotDay: 0.5, fLast3: 0.5, fGap: 0.5,
		fWeekend: 0.5, fEvening: 0.5, fDelay: 0.5, fRefill: 0.5, fJump: 0.5, fNew: 0.5, fLastMissed: 0.5},
}

// example is one past occasion as a training example.
type example struct {
	x       [numFeatures]float64
	missed  bool
	at      time.Time
	settled time.Time
}

// Learner holds one patient's record prepared for training and scoring.
// It is not safe for concurrent use.
type Learner struct {
	ix    *index
	prior Prior
	ex    []example
	omega []float64 // scratch: each example's weight in a fit
}

// NewLearner prepares h (which it reads, never changes, and which must
// not change while the Learner is used) for models with prior.
func NewLearner(h *History, prior Prior) *Learner {
	l := &Learner{ix: newIndex(h), prior: prior}
	for i := range l.ix.occ {
		o := &l.ix.occ[i]
		if o.outcome != Taken && o.outcome != Missed {
			continue
		}
		x, _ := l.ix.features(o.at.Add(-Horizon), o.clock, o.weekday, prior.Rate)
		l.ex = append(l.ex, example{x: x, missed: o.outcome == Missed, at: o.at, settled: o.settled})
	}
	return l
}

// Model is a patient's fitted model.
type Model struct {
	W Weights
	// AsOf is when it was trained; Examples how many past doses it
	// learned from (0: it is the population model).
	AsOf     time.Time
	Examples int
}

// Train fits the patient's model on what was known at asOf: the doses
// whose outcome had settled and whose features were computed by then.
// Nothing after asOf is read.
func (l *Learner) Train(asOf time.Time) Model {
	return l.TrainFrom(asOf, Model{W: l.prior.Mean})
}

// TrainFrom is Train with Newton's method started from an earlier model's
// weights rather than the prior's: the same answer (the problem has one
// optimum) in fewer steps, when models are retrained as time goes on.
func (l *Learner) TrainFrom(asOf time.Time, start Model) Model {
	m := Model{W: l.prior.Mean, AsOf: asOf}
	// Examples are in time order of their doses; a dose can settle late
	// (reconciled after a power cut): one not settled by asOf weighs 0.
	end := sort.Search(len(l.ex), func(i int) bool { return l.ex[i].at.Add(-Horizon).After(asOf) })
	l.omega = l.omega[:0]
	for i := range l.ex[:end] {
		e := &l.ex[i]
		w := 0.0
		if !e.settled.After(asOf) {
			w = math.Exp2(-asOf.Sub(e.at).Hours() / HalfLife.Hours())
			m.Examples++
		}
		l.omega = append(l.omega, w)
	}
	if m.Examples > 0 {
		m.W = fit(l.ex[:end], l.omega, l.prior, start.W)
	}
	return m
}

// fit maximises the weighted log-likelihood of exs plus the Gaussian log
// prior, by Newton's method from start (the problem is strictly convex).
func fit(exs []example, omega []float64, prior Prior, start Weights) Weights {
	const n = numFeatures
	w := start
	var lambda Weights
	for j := range n {
		lambda[j] = 1 / (prior.SD[j] * prior.SD[j])
	}
	for range 50 {
		var g [n]float64
		var h [n][n]float64
		for j := range n {
			g[j] = lambda[j] * (w[j] - prior.Mean[j])
			h[j][j] = lambda[j]
		}
		for i := range exs {
			x := &exs[i].x
			z := 0.0
			for j := range n {
				z += w[j] * x[j]
			}
			p := sigmoid(z)
			y := 0.0
			if exs[i].missed {
				y = 1
			}
			r, c := omega[i]*(p-y), omega[i]*p*(1-p)
			if c == 0 && r == 0 {
				continue
			}
			for j := range n {
				if x[j] == 0 {
					continue
				}
				g[j] += r * x[j]
				cx := c * x[j]
				for k := j; k < n; k++ {
					h[j][k] += cx * x[k]
				}
			}
		}
		for j := range n {
			for k := 0; k < j; k++ {
				h[j][k] = h[k][j]
			}
		}
		step, ok := solve(h, g)
		if !ok {
			return w
		}
		big := 0.0
		for j := range n {
			step[j] = clamp(step[j], -5, 5) // no wild first steps
			w[j] -= step[j]
			big = math.Max(big, math.Abs(step[j]))
		}
		if big < 1e-7 {
			break
		}
	}
	return w
}

// solve solves h s = g for symmetric positive definite h (Cholesky).
func solve(h [numFeatures][numFeatures]float64, g [numFeatures]float64) ([numFeatures]float64, bool) {
	const n = numFeatures
	var l [n][n]float64
	for i := range n {
		for j := 0; j <= i; j++ {
			s := h[i][j]
			for k := range j {
				s -= l[i][k] * l[j][k]
			}
			if i == j {
				if s <= 0 {
					return g, false
				}
				l[i][i] = math.Sqrt(s)
			} else {
				l[i][j] = s / l[j][j]
			}
		}
	}
	var y, x [n]float64
	for i := range n {
		s := g[i]
		for k := range i {
			s -= l[i][k] * y[k]
		}
		y[i] = s / l[i][i]
	}
	for i := n - 1; i >= 0; i-- {
		s := y[i]
		for k := i + 1; k < n; k++ {
			s -= l[k][i] * x[k]
		}
		x[i] = s / l[i][i]
	}
	return x, true
}

// FitPrior fits the population model on many patients' records: one
// pooled, unweighted logistic regression over every settled dose of every
// history, with a weak ridge (each weight's prior SD 2). It keeps base's SD and sets Rate to the
// pooled miss rate. It is how DefaultPrior was made.
func FitPrior(hs []*History, base Prior) Prior {
	missed, of := 0, 0
	for _, h := range hs {
		for _, o := range newIndex(h).occ {
			switch o.outcome {
			case Missed:
				missed++
				of++
			case Taken:
				of++
			}
		}
	}
	out := base
	if of == 0 {
		return out
	}
	out.Rate = float64(missed) / float64(of)
	var all []example
	for _, h := range hs {
		all = append(all, NewLearner(h, out).ex...)
	}
	omega := make([]float64, len(all))
	for i := range omega {
		omega[i] = 1
	}
	weak := Prior{}
	for j := range numFeatures {
		weak.SD[j] = 2
	}
	out.Mean = fit(all, omega, weak, Weights{})
	return out
}

// Probability is the model's chance that a dose with features x is missed.
func (m Model) probability(x *[numFeatures]float64) float64 {
	z := 0.0
	for j := range numFeatures {
		z += m.W[j] * x[j]
	}
	return clamp(sigmoid(z), 0.001, 0.999)
}
