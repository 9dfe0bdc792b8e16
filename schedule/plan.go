package schedule

import (
	"cmp"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/robfig/cron/v3"
)

// Occurrence is one scheduled dose of one medication.
type Occurrence struct {
	// ID names the dose for the log and for sync: the medication id, "@",
	// and the intended local wall time, e.g. "metformin@2025-03-09T02:30".
	// It is the intended time even when the clocks skip it, so recomputing
	// the plan after a restart or a clock jump gives the same ids.
	ID         string
	Medication string
	// Local is the intended wall time in the patient's zone (wallFormat).
	// At.In(zone) reads later than it when the clocks skipped it.
	Local string
	// At is the instant the dose is due, in UTC. A wall time the clocks
	// skip is due at the end of the gap (02:30 on a spring-forward day at
	// 03:00); one they repeat is due once, at its first occurrence.
	At time.Time
	// Opens and Closes bound the window [Opens, Closes): nothing may be
	// dispensed before Opens (early lockout), and at Closes the dose is missed.
	Opens, Closes time.Time
	// PRN reports that the regimen also carries as-needed limits.
	PRN bool
}

// Plan turns a validated set of regimens into occurrences in one zone. It
// is immutable and safe for concurrent use.
type Plan struct {
	loc  *time.Location
	regs []regimenPlan // regimens with a cron schedule
	prn  map[string]PRN
}

// regimenPlan is a regimen with its schedule parsed and its window resolved.
type regimenPlan struct {
	index       int // position in the config, for problem paths
	med         string
	spec        *cron.SpecSchedule // nil for a PRN-only regimen
	early, late time.Duration
	prn         *PRN
}

// NewPlan validates regs (see ValidateRegimens) and plans them in loc.
func NewPlan(regs []Regimen, loc *time.Location) (*Plan, error) {
	if loc == nil {
		return nil, errors.New("schedule: new plan: no time zone")
	}
	plans, probs := compile(regs, loc, planSample)
	if len(probs) > 0 {
		return nil, fmt.Errorf("schedule: invalid regimens:\n%w", probs)
	}
	p := &Plan{loc: loc, prn: map[string]PRN{}}
	for _, r := range plans {
		if r.spec != nil {
			p.regs = append(p.regs, r)
		}
		if r.prn != nil {
			p.prn[r.med] = *r.prn
		}
	}
	return p, nil
}

// Location is the patient's zone the plan was made in.
func (p *Plan) Location() *time.Location { return p.loc }

// PRN returns the as-needed limits of a medication, if it has any.
func (p *Plan) PRN(medication string) (PRN, bool) {
	r, ok := p.prn[medication]
	return r, ok
}

// Between returns every occurrence with At in [from, to), sorted by At,
// then medication.
func (p *Plan) Between(from, to time.Time) []Occurrence {
	return p.collect(func(*regimenPlan) (time.Time, time.Time) { return from, to })
}

// Open returns the occurrences whose window contains t (Opens <= t < Closes).
func (p *Plan) Open(t time.Time) []Occurrence {
	return p.collect(func(r *regimenPlan) (time.Time, time.Time) {
		// Opens <= t < Closes  <=>  t-late < At <= t+early.
		return t.Add(-r.late + 1), t.Add(r.early + 1)
	})
}

// Missed returns the occurrences whose window closed in (lastSeen, now]:
// after downtime or a clock jump, the doses to record as missed, each once.
// Calling it for consecutive intervals never returns an occurrence twice.
func (p *Plan) Missed(lastSeen, now time.Time) []Occurrence {
	return p.collect(func(r *regimenPlan) (time.Time, time.Time) {
		// lastSeen < At+late <= now  <=>  lastSeen-late < At <= now-late.
		return lastSeen.Add(-r.late + 1), now.Add(-r.late + 1)
	})
}

// Next returns the first occurrence with At after after, or false when
// nothing is scheduled in the next five years.
func (p *Plan) Next(after time.Time) (Occurrence, bool) {
	var best Occurrence
	found := false
	for i := range p.regs {
		r := &p.regs[i]
		for w, at := range r.times(p.loc, after) {
			if !at.After(after) {
				continue
			}
			if o := r.occurrence(w, at); !found || compareOccurrences(o, best) < 0 {
				best, found = o, true
			}
			break
		}
	}
	return best, found
}

// GroupByAt splits occurrences into groups due at the same instant, in order
// of At: the doses the patient takes together.
func GroupByAt(occ []Occurrence) [][]Occurrence {
	sorted := slices.Clone(occ)
	slices.SortFunc(sorted, compareOccurrences)
	var groups [][]Occurrence
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j].At.Equal(sorted[i].At) {
			j++
		}
		groups = append(groups, sorted[i:j:j])
		i = j
	}
	return groups
}

// collect returns, sorted, the occurrences of each regimen with At in the
// half-open interval bounds gives for it.
func (p *Plan) collect(bounds func(*regimenPlan) (from, to time.Time)) []Occurrence {
	var out []Occurrence
	for i := range p.regs {
		r := &p.regs[i]
		from, to := bounds(r)
		if !from.Before(to) {
			continue
		}
		for w, at := range r.times(p.loc, from) {
			if at.Before(from) {
				continue
			}
			if !at.Before(to) {
				break
			}
			out = append(out, r.occurrence(w, at))
		}
	}
	slices.SortFunc(out, compareOccurrences)
	return out
}

// times yields, in order, the regimen's wall times (naive) and the instants
// they resolve to in loc, starting early enough that every instant at or
// after near is included. Instants never decrease along the sequence:
// resolve maps later wall times to later or equal instants.
func (r *regimenPlan) times(loc *time.Location, near time.Time) iter.Seq2[time.Time, time.Time] {
	return func(yield func(wall, at time.Time) bool) {
		// An instant reads at most maxZoneShift earlier on the wall than any
		// wall time resolving to a later instant.
		for w := range r.walls(naive(near.In(loc)).Add(-maxZoneShift)) {
			if !yield(w, resolve(w, loc)) {
				return
			}
		}
	}
}

// walls yields, in order, the regimen's naive wall times after from, for
// as long as the next one is less than five years on.
func (r *regimenPlan) walls(from time.Time) iter.Seq[time.Time] {
	return func(yield func(time.Time) bool) {
		for w := r.spec.Next(from); !w.IsZero(); {
			if !yield(w) {
				return
			}
			// Firings fall on whole minutes, so the next is at least a
			// minute on; starting there spares cron a second-by-second scan.
			w = r.spec.Next(w.Add(time.Minute - time.Second))
		}
	}
}

func (r *regimenPlan) occurrence(wall, at time.Time) Occurrence {
	local := wall.Format(wallFormat)
	at = at.UTC()
	return Occurrence{
		ID:         r.med + "@" + local,
		Medication: r.med,
		Local:      local,
		At:         at,
		Opens:      at.Add(-r.early),
		Closes:     at.Add(r.late),
		PRN:        r.prn != nil,
	}
}

func compareOccurrences(a, b Occurrence) int {
	if c := a.At.Compare(b.At); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Medication, b.Medication); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}
