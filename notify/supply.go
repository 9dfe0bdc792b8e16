package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// checkSupply forecasts the compartments in comps and raises, updates or
// clears their supply alerts: low priority when the pills run out within
// the warning days, medium when the next dose cannot be filled. The caller
// holds mu.
func (n *Notifier) checkSupply(ctx context.Context, comps map[int]bool, now time.Time, changed map[int64]*Alert) error {
	for c := range comps {
		med, ok := n.byComp[c]
		if !ok || med.PillsPerDose < 1 {
			continue
		}
		left, err := n.pillsLeft(ctx, c)
		if err != nil {
			return err
		}
		f := Facts{Compartment: c, Medication: med.ID, Left: left}
		var e effect
		switch runOut, soon := n.runOut(med, left, now); {
		case left < med.PillsPerDose:
			f.RunOut = now
			e = effect{Key: supplyKey(c), What: CondEmpty, Priority: Medium, Facts: f}
		case soon:
			f.RunOut = runOut
			e = effect{Key: supplyKey(c), What: CondLowSupply, Priority: Low, Facts: f}
		default:
			e = effect{Key: supplyKey(c), Clear: true, Ended: endRefilled}
		}
		if a := n.open[e.Key]; a != nil && !e.Clear && e.Priority == a.Priority && e.What == a.What {
			// Same condition, newer count: the next digest says the latest.
			if a.Facts != f {
				a.Facts = f
				changed[a.ID] = a
			}
			continue
		}
		n.apply(e, now, changed)
	}
	return nil
}

// pillsLeft is a compartment's count: from the latest event that carries
// it, else from the config.
func (n *Notifier) pillsLeft(ctx context.Context, c int) (int, error) {
	ev, ok, err := n.cfg.Store.LastOfKinds(ctx, c, countKinds...)
	if err != nil {
		return 0, fmt.Errorf("notify: supply of compartment %d: %w", c, err)
	}
	if ok {
		if left, found := detailInt(ev.Detail, "left"); found {
			return left, nil
		}
	}
	return n.cfg.Counts[c], nil
}

// runOut returns the scheduled time of the first dose that left pills
// cannot fill, and whether it falls within the warning days. A medication
// taken only as needed has no forecast.
func (n *Notifier) runOut(med dispenser.Medication, left int, now time.Time) (time.Time, bool) {
	if n.cfg.Plan == nil {
		return time.Time{}, false
	}
	horizon := time.Duration(n.pol.lowDays) * 24 * time.Hour
	need := 0
	for _, occ := range n.cfg.Plan.Between(now, now.Add(horizon)) {
		if occ.Medication != med.ID {
			continue
		}
		need += med.PillsPerDose
		if need > left {
			return occ.At, true
		}
	}
	return time.Time{}, false
}
