package insights

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Risk is one coming dose's chance of being missed, with why.
type Risk struct {
	DoseID     string    `json:"dose_id"`
	Medication string    `json:"medication"`
	Scheduled  time.Time `json:"scheduled"`
	// Probability is the model's chance the dose will be missed (0 to 1).
	Probability float64 `json:"probability"`
	// Reasons are what raised it most, strongest first (at most
	// MaxReasons); when nothing raised it, the one that lowered it most.
	Reasons []Reason `json:"reasons"`
	// Evidence is what the features were computed from.
	Evidence Evidence `json:"-"`
}

// MaxReasons is how many reasons a risk gives at most.
const MaxReasons = 3

// minReason is the smallest rise in log-odds that is worth saying.
const minReason = 0.1

// Risk is the risk of dose d as known at asOf, by model m.
func (l *Learner) Risk(m Model, asOf time.Time, d Dose) Risk {
	local := d.Scheduled.In(l.ix.loc)
	x, ev := l.ix.features(asOf, local.Hour()*60+local.Minute(), local.Weekday(), l.prior.Rate)
	r := Risk{DoseID: d.ID, Medication: d.Medication, Scheduled: d.Scheduled, Probability: m.probability(&x), Evidence: ev}
	r.Reasons = l.reasons(m, &x, ev)
	return r
}

// Risks is Risk for each dose, in the order given.
func (l *Learner) Risks(m Model, asOf time.Time, ds []Dose) []Risk {
	out := make([]Risk, len(ds))
	for i, d := range ds {
		out[i] = l.Risk(m, asOf, d)
	}
	return out
}

// reasons ranks the features by how much each moved the log-odds away
// from a typical dose's: w_j * (x_j - typical_j), where a typical dose is
// at the population's miss rate with nothing else unusual. Only features
// whose weight is positive are said: their words ("missed 3 of the last
// 4") read the right way round. A patient's own fit may turn a weight
// negative (a feature that says little for them); it still counts in the
// probability, but "missed none of the last 7" is never given as why a
// risk is high.
func (l *Learner) reasons(m Model, x *[numFeatures]float64, ev Evidence) []Reason {
	type contrib struct {
		f int
		c float64
	}
	var cs []contrib
	for j := fIntercept + 1; j < numFeatures; j++ {
		typical := 0.0
		if j == fRecent {
			typical = logit(l.prior.Rate)
		}
		if c := m.W[j] * (x[j] - typical); m.W[j] > 0 && c != 0 {
			cs = append(cs, contrib{j, c})
		}
	}
	slices.SortStableFunc(cs, func(a, b contrib) int { return cmp.Compare(b.c, a.c) })
	var out []Reason
	for _, c := range cs {
		if c.c < minReason || len(out) == MaxReasons {
			break
		}
		out = append(out, newReason(featureReasons[c.f], c.c, ev))
	}
	if len(out) == 0 && len(cs) > 0 {
		// Nothing raised it: say what lowered it most.
		low := slices.MinFunc(cs, func(a, b contrib) int { return cmp.Compare(a.c, b.c) })
		out = append(out, newReason(featureReasons[low.f], low.c, ev))
	}
	return out
}

func newReason(id ReasonID, c float64, ev Evidence) Reason {
	return Reason{ID: id, LogOdds: math.Round(c*100) / 100, Text: ReasonText(id, ev)}
}
