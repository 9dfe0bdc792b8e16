package dispenser

import (
	"fmt"
	"time"

	"github.com/pillbox/pillbox/schedule"
)

// DamagedLog is what start-up learnt when it found the log damaged, kept
// it aside and began a new one with every event it could still read.
type DamagedLog struct {
	Aside     string // the damaged file's new name
	Recovered int    // events carried over into the new log
	Complete  bool   // every event of the old log was read
	// lastDoses is the last dose-state event read for each dose.
	lastDoses map[string]Kind
}

// NewDamagedLog describes a damaged log from the events read from it.
func NewDamagedLog(aside string, read []Event, complete bool) DamagedLog {
	d := DamagedLog{Aside: aside, Recovered: len(read), Complete: complete, lastDoses: map[string]Kind{}}
	for _, ev := range read {
		if _, ok := StateForKind(ev.Kind); ok && ev.DoseID != "" {
			d.lastDoses[ev.DoseID] = ev.Kind
		}
	}
	return d
}

// Events are what start-up logs about a damaged log before the controller
// starts: a storage fault (which reaches a caregiver through the notifier)
// and, when part of the old log was lost, every dose whose window is open
// now and that what was read cannot show as settled becomes uncertain, so
// that a dose the lost part gave is not given again.
func (d DamagedLog) Events(now time.Time, plan *schedule.Plan, meds []Medication) []Event {
	detail := fmt.Sprintf("storage damaged: log kept aside, %d events carried over; file=%s", d.Recovered, d.Aside)
	if !d.Complete {
		detail += "; some events unreadable"
	}
	evs := []Event{{Time: now, Kind: KindFault, Detail: detail}}
	if d.Complete {
		return evs
	}
	comp := map[string]int{}
	for _, m := range meds {
		comp[m.ID] = m.Compartment
	}
	for _, occ := range plan.Between(now.Add(-48*time.Hour), now.Add(48*time.Hour)) {
		if occ.Opens.After(now) || !occ.Closes.After(now) {
			continue
		}
		switch d.lastDoses[occ.ID] {
		case "", KindDoseDue, KindReminder:
			evs = append(evs, Event{Time: now, Kind: KindUncertain, DoseID: occ.ID,
				Medication: occ.Medication, Compartment: comp[occ.Medication], Scheduled: occ.At,
				Detail: "log damaged: may have been given"})
		}
	}
	return evs
}
