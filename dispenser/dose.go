package dispenser

import (
	"strconv"
	"strings"
	"time"
)

// State is where a dose is in its life.
type State string

const (
	StateDue        State = "due"        // window open, waiting for the button
	StateReminding  State = "reminding"  // scheduled time passed, patient being reminded
	StateDispensing State = "dispensing" // intent committed, motor may be moving
	StateDispensed  State = "dispensed"  // all pills seen falling; in the cup
	StateTaken      State = "taken"      // cup lifted or lid opened after dispensing
	StateNotTaken   State = "not_taken"  // left in the cup past the pickup time
	StateMissed     State = "missed"     // window closed without a press
	StateSkipped    State = "skipped"    // patient or caregiver chose to skip
	StateJammed     State = "jammed"     // motor turned, pills did not fall, retries spent
	StateUncertain  State = "uncertain"  // interrupted mid-dispense; never re-dispensed
)

// stateOf maps the events that move a dose to the state they move it to.
var stateOf = map[Kind]State{
	KindDoseDue:         StateDue,
	KindReminder:        StateReminding,
	KindDispenseStarted: StateDispensing,
	KindDispensed:       StateDispensed,
	KindTaken:           StateTaken,
	KindNotTaken:        StateNotTaken,
	KindMissed:          StateMissed,
	KindSkipped:         StateSkipped,
	KindJam:             StateJammed,
	KindUncertain:       StateUncertain,
}

// StateForKind reports the dose state an event of kind k leads to, for
// stores that keep a dose table next to the log.
func StateForKind(k Kind) (State, bool) {
	s, ok := stateOf[k]
	return s, ok
}

// Open reports whether the dose can still be dispensed.
func (s State) Open() bool { return s == StateDue || s == StateReminding }

// Final reports whether nothing more can happen to the dose except a late
// pickup of pills already in the cup.
func (s State) Final() bool {
	switch s {
	case StateTaken, StateMissed, StateSkipped, StateJammed, StateUncertain:
		return true
	}
	return false
}

// Dose is what the controller knows about one dose occurrence.
type Dose struct {
	ID          string    `json:"id"`
	Medication  string    `json:"medication"`
	Compartment int       `json:"compartment"`
	Pills       int       `json:"pills"`
	Scheduled   time.Time `json:"scheduled"`
	Opens       time.Time `json:"opens"`
	Closes      time.Time `json:"closes"`
	PRN         bool      `json:"prn,omitempty"`
	State       State     `json:"state"`
	// Reminded counts device reminder steps already given.
	Reminded int `json:"-"`
	// DispensedAt is when the pills were seen falling.
	DispensedAt time.Time `json:"dispensed_at,omitzero"`
	// FirstChime is when the first device chime sounds, when what was
	// learned moved it (KindChimeShifted); zero for the usual time.
	FirstChime time.Time `json:"first_chime,omitzero"`
}

// apply moves the dose by one logged event. Events replayed at boot go
// through the same function as live ones, so a restart rebuilds exactly the
// state the controller had.
func (d *Dose) apply(ev Event) {
	if st, ok := stateOf[ev.Kind]; ok {
		switch {
		case ev.Kind == KindReminder:
			if n, ok := detailInt(ev.Detail, "step"); ok && n > d.Reminded {
				d.Reminded = n
			}
			if d.State.Open() {
				d.State = st
			}
		case ev.Kind == KindJam && strings.HasPrefix(ev.Detail, jamRetryPrefix):
			// A retried attempt: the dose is still dispensing.
		default:
			d.State = st
		}
	}
	if ev.Kind == KindDispensed {
		d.DispensedAt = ev.Time
	}
	if ev.Kind == KindChimeShifted {
		if at, ok := detailTime(ev.Detail, "at"); ok {
			d.FirstChime = at
		}
	}
	if !ev.Scheduled.IsZero() && d.Scheduled.IsZero() {
		d.Scheduled = ev.Scheduled
	}
}

const jamRetryPrefix = "retry "

// prnDoseID names an as-needed dose by its medication and the local minute
// it was asked for; the minimum interval keeps two from sharing a minute.
func prnDoseID(med string, t time.Time) string {
	return "prn:" + med + "@" + t.Format("2006-01-02T15:04")
}

// detailInt reads "key=N" from an event detail.
func detailInt(detail, key string) (int, bool) {
	v, ok := detailField(detail, key)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}
