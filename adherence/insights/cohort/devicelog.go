package cohort

import (
	"fmt"
	"slices"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
)

// Devices that took the generated readings, as a dispenser's paired
// meters would be named.
var meterOf = map[insights.Quantity]string{
	insights.Weight: "A4:C1:38:00:00:02", insights.Systolic: "A4:C1:38:00:00:01", insights.Diastolic: "A4:C1:38:00:00:01",
	insights.Pulse: "A4:C1:38:00:00:01", insights.Glucose: "A4:C1:38:00:00:03",
}

// DeviceLog is the patient's record as a dispenser logs it (pillctl cohort
// --db writes it into a device database): for each dose its window
// opening, then the press, the drop and the pickup of a taken one, the
// reminder and the window's close of a missed one (reconciled when the
// device was off), the skip of a skipped one; the refills of the
// compartments (compartment of each medication) and the clock jumps after
// power cuts; the readings with the meters that took them. Events are in
// time order, without Seq or ID (the store assigns them).
func (p *Patient) DeviceLog(compartment map[string]int) ([]dispenser.Event, []vital.Reading) {
	var evs []dispenser.Event
	for _, d := range p.Doses {
		base := dispenser.Event{DoseID: d.ID, Medication: d.Medication, Compartment: compartment[d.Medication], Scheduled: d.Scheduled}
		ev := func(t time.Time, k dispenser.Kind, detail string) {
			e := base
			e.Time, e.Kind, e.Detail = t, k, detail
			evs = append(evs, e)
		}
		ev(d.Opens, dispenser.KindDoseDue, "")
		switch d.Outcome {
		case insights.Taken:
			press := d.TakenAt.Add(-time.Minute)
			if press.Before(d.Opens) {
				press = d.Opens
			}
			taken := d.TakenAt
			if taken.Before(press.Add(4 * time.Second)) {
				taken = press.Add(4 * time.Second)
			}
			ev(press, dispenser.KindDispenseStarted, "pills=1")
			ev(press.Add(3*time.Second), dispenser.KindDispensed, "pills=1 expected=1")
			ev(taken, dispenser.KindTaken, "via cup_lifted")
		case insights.Missed:
			if d.Cause == "power" {
				ev(d.Settled, dispenser.KindMissed, "reconciled")
				continue
			}
			if r := d.Scheduled.Add(15 * time.Minute); r.Before(d.Closes) {
				ev(r, dispenser.KindReminder, "step=1")
			}
			ev(d.Settled, dispenser.KindMissed, "")
		case insights.Skipped:
			ev(d.Settled.Add(time.Second), dispenser.KindSkipped, "by=caregiver")
		}
	}
	var comps []int
	for _, c := range compartment {
		if !slices.Contains(comps, c) {
			comps = append(comps, c)
		}
	}
	slices.Sort(comps)
	for _, t := range p.Refills {
		for _, c := range comps {
			evs = append(evs, dispenser.Event{Time: t, Kind: dispenser.KindRefill, Compartment: c, Detail: "left=30"})
		}
	}
	for _, t := range p.ClockJumps {
		evs = append(evs, dispenser.Event{Time: t, Kind: dispenser.KindClockJump})
	}
	slices.SortStableFunc(evs, func(a, b dispenser.Event) int { return a.Time.Compare(b.Time) })
	rs := make([]vital.Reading, 0, len(p.Readings))
	for _, r := range p.Readings {
		rs = append(rs, vital.Reading{Device: meterOf[r.Quantity], Quantity: vital.Quantity(r.Quantity), Value: r.Value,
			Unit: r.Unit, Original: fmt.Sprintf("%g %s", r.Value, r.Unit), Time: r.Time, DeviceTime: true})
	}
	return evs, rs
}
