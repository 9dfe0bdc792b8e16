package report

import (
	"slices"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// Proportion of days covered (PDC), after the Pharmacy Quality Alliance's
// definition for pharmacy claims, with the dispenser's refills as the
// fills. docs/reports.md says how the definition was adapted.

// PDCThreshold is the PQA's adherent threshold.
const PDCThreshold = 0.8

// Fill is pills loaded into the dispenser for one medication.
type Fill struct {
	Medication string    `json:"medication"`
	Time       time.Time `json:"time"`
	Pills      int       `json:"pills"` // pills added
	// DaysSupply is Pills / (pills per dose x doses per day), rounded down.
	DaysSupply int `json:"days_supply"`
	// Implicit marks the load the log found already in place: the first
	// pill count it saw for the compartment without a refill before it.
	Implicit bool `json:"implicit,omitempty"`
	// Start is the first day the fill covers: its own day, or, for a
	// same-drug refill that arrived early, the day after the earlier
	// supply ends.
	Start Day `json:"start"`
}

// End is the day after the last day the fill covers.
func (f Fill) End() Day { return f.Start + Day(f.DaysSupply) }

// countKinds are the events whose detail carries a compartment's pill
// count ("left=N"), as the dispenser writes them.
var countKinds = []dispenser.Kind{dispenser.KindRefill, dispenser.KindDispensed, dispenser.KindJam,
	dispenser.KindUncertain, dispenser.KindEmpty}

// Fills finds the fills of the scheduled medications in the log: every
// refill that raised a compartment's count (by the difference), and the
// load found in place before the first count. evs are in log order.
// Medications without regimen facts (no daily dose) get no fills.
func Fills(evs []dispenser.Event, s Setup, facts map[string]RegimenFacts) []Fill {
	loc := s.loc()
	byComp := map[int]dispenser.Medication{}
	for _, m := range s.Medications {
		if f, ok := facts[m.ID]; ok && f.DosesPerDay > 0 {
			if _, dup := byComp[m.Compartment]; !dup {
				byComp[m.Compartment] = m
			}
		}
	}
	count := map[int]int{}
	var fills []Fill
	for _, ev := range evs {
		if ev.Compartment == 0 || !slices.Contains(countKinds, ev.Kind) {
			continue
		}
		left, ok := detailInt(ev.Detail, "left")
		if !ok {
			continue
		}
		prev, known := count[ev.Compartment]
		count[ev.Compartment] = left
		added, implicit := 0, false
		switch {
		case ev.Kind == dispenser.KindRefill && known:
			added = left - prev
		case ev.Kind == dispenser.KindRefill:
			added = left
		case !known:
			dropped, _ := detailInt(ev.Detail, "pills")
			added, implicit = left+dropped, true
		}
		m, ok := byComp[ev.Compartment]
		if added <= 0 || !ok {
			continue
		}
		perDay := float64(max(m.PillsPerDose, 1)) * facts[m.ID].DosesPerDay
		fills = append(fills, Fill{Medication: m.ID, Time: ev.Time, Pills: added, Implicit: implicit,
			DaysSupply: int(float64(added)/perDay + 1e-9)})
	}
	// Early refills of the same drug start when its earlier supply ends.
	until := map[string]Day{}
	for i := range fills {
		f := &fills[i]
		f.Start = max(DayOf(f.Time, loc), until[f.Medication])
		until[f.Medication] = f.End()
	}
	return fills
}

// PDCResult is the PDC of one drug class (or one medication without a
// class) over a period.
type PDCResult struct {
	Class       string   `json:"class"`
	Medications []string `json:"medications"`
	// From is the first day counted: the period's start, or the first
	// fill's day when that is later. Days counts from there to the end.
	From     Day     `json:"from"`
	Days     int     `json:"days"`
	Covered  int     `json:"covered"`
	PDC      float64 `json:"pdc"`
	Adherent bool    `json:"adherent"` // PDC >= 80%
	Fills    int     `json:"fills"`    // fills in the period
}

// classOf is a medication's PDC class: its class, else itself.
func classOf(m dispenser.Medication) string {
	if c := strings.TrimSpace(m.Class); c != "" {
		return strings.ToLower(c)
	}
	return m.ID
}

// PDC computes the proportion of days covered per class over p. A day is
// covered for a class when any drug of the class is on hand. Classes
// with no fill by the end of p are left out.
func PDC(fills []Fill, s Setup, p Period) []PDCResult {
	loc := s.loc()
	var classes []string
	meds := map[string][]string{}
	for _, m := range s.Medications {
		c := classOf(m)
		if _, ok := meds[c]; !ok {
			classes = append(classes, c)
		}
		meds[c] = append(meds[c], m.ID)
	}
	var out []PDCResult
	for _, c := range classes {
		var mine []Fill
		for _, f := range fills {
			if slices.Contains(meds[c], f.Medication) && DayOf(f.Time, loc) < p.To {
				mine = append(mine, f)
			}
		}
		if len(mine) == 0 {
			continue
		}
		first := mine[0].Start
		for _, f := range mine {
			first = min(first, DayOf(f.Time, loc))
		}
		r := PDCResult{Class: c, Medications: meds[c], From: max(p.From, first)}
		if r.From >= p.To {
			continue
		}
		r.Days = int(p.To - r.From)
		covered := make([]bool, r.Days)
		for _, f := range mine {
			if p.Contains(DayOf(f.Time, loc)) {
				r.Fills++
			}
			for d := max(f.Start, r.From); d < min(f.End(), p.To); d++ {
				covered[d-r.From] = true
			}
		}
		for _, v := range covered {
			if v {
				r.Covered++
			}
		}
		r.PDC = ratio(r.Covered, r.Days)
		r.Adherent = r.PDC >= PDCThreshold
		out = append(out, r)
	}
	return out
}
