package insights

import (
	"fmt"
	"slices"
	"time"
)

// Outcome is what became of a scheduled dose, as the risk model counts it.
type Outcome uint8

const (
	// Pending: not known yet (the window is open, or the dose is to come).
	Pending Outcome = iota
	// Taken: picked up (or dispensed, without a pickup sensor).
	Taken
	// Missed: not taken for want of the patient: the window closed
	// without a press, or the pills were left in the cup.
	Missed
	// Skipped: skipped on purpose by the patient or a caregiver; neither
	// taken nor missed, so it teaches the model nothing.
	Skipped
	// Unknown: the device failed (a jam, an interrupted dispense); it says
	// nothing of the patient.
	Unknown
)

var outcomeNames = [...]string{Pending: "pending", Taken: "taken", Missed: "missed", Skipped: "skipped", Unknown: "unknown"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", o)
}

// ParseOutcome reads the name String gives.
func ParseOutcome(s string) (Outcome, error) {
	for i, n := range outcomeNames {
		if n == s {
			return Outcome(i), nil
		}
	}
	return 0, fmt.Errorf("insights: unknown outcome %q", s)
}

// Dose is one scheduled (not as-needed) dose.
type Dose struct {
	ID         string
	Medication string
	// Scheduled is when it is due; Opens and Closes bound its window.
	Scheduled, Opens, Closes time.Time
	Outcome                  Outcome
	// TakenAt is when it was taken (Outcome Taken), else zero.
	TakenAt time.Time
	// Settled is when the outcome became known: the pickup, the window's
	// close, or the reconciliation after the device was off. A history "as
	// of" T knows a dose's outcome only if Settled <= T: this is what keeps
	// a backtest from looking ahead.
	Settled time.Time
}

// History is one patient's record: doses, refills and clock jumps. The
// functions of this package read it and never change it.
type History struct {
	// Location is the patient's zone: weekdays and times of day are local.
	Location *time.Location
	// Doses are sorted by Scheduled (Sort does it).
	Doses []Dose
	// Refills are when a compartment was refilled; ClockJumps when the
	// device's wall clock stepped (a power cut, a clock set by hand). Both
	// sorted.
	Refills    []time.Time
	ClockJumps []time.Time
}

// Sort puts the doses, refills and jumps in time order.
func (h *History) Sort() {
	slices.SortStableFunc(h.Doses, func(a, b Dose) int {
		if c := a.Scheduled.Compare(b.Scheduled); c != 0 {
			return c
		}
		return compareStrings(a.Medication, b.Medication)
	})
	slices.SortFunc(h.Refills, time.Time.Compare)
	slices.SortFunc(h.ClockJumps, time.Time.Compare)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (h *History) loc() *time.Location {
	if h.Location == nil {
		return time.UTC
	}
	return h.Location
}

// Quantity names what a vital-sign Reading measures. The names are those
// the device store uses.
type Quantity string

// The quantities with personal baselines, and the unit each must be in.
const (
	Weight    Quantity = "weight"    // kg
	Systolic  Quantity = "systolic"  // mm[Hg]
	Diastolic Quantity = "diastolic" // mm[Hg]
	Pulse     Quantity = "pulse"     // /min, the resting heart rate a cuff measures
	Glucose   Quantity = "glucose"   // mg/dL
)

// Reading is one vital-sign value in the quantity's unit (UCUM, as the
// device store keeps them). Readings in another unit are ignored, and
// counted as such: the adapters convert, this package never guesses.
type Reading struct {
	Quantity Quantity
	Value    float64
	Unit     string
	Time     time.Time
}
