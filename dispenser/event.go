// Package dispenser owns the domain: medications, doses and their states,
// the event kinds of the adherence log, and the dose state machine with the
// safety rules of DESIGN.md. It knows nothing of SQL, HTTP or GPIO: it
// appends events through Log and drives hardware through hw.Board.
package dispenser

import (
	"context"
	"time"
)

// Kind is the kind of an event in the adherence log. The strings are stored
// and exported; never rename one.
type Kind string

const (
	KindDoseDue         Kind = "dose_due"         // a dose's window opened
	KindReminder        Kind = "reminder"         // the patient was reminded (Detail: step)
	KindDispenseStarted Kind = "dispense_started" // intent to dispense, committed before the motor moves
	KindDispensed       Kind = "dispensed"        // the drop sensor saw the dose's pills
	KindTaken           Kind = "taken"            // cup lifted or lid opened after dispensing
	KindNotTaken        Kind = "not_taken"        // dispensed but not picked up in time
	KindMissed          Kind = "missed"           // window closed without a press
	KindSkipped         Kind = "skipped"          // patient or caregiver chose to skip
	KindJam             Kind = "jam"              // motor turned, no pill fell (Detail: attempt)
	KindUncertain       Kind = "uncertain"        // dispense interrupted; pills may or may not have fallen
	KindLidOpened       Kind = "lid_opened"
	KindLidClosed       Kind = "lid_closed"
	KindCupLifted       Kind = "cup_lifted"
	KindCupReturned     Kind = "cup_returned"
	KindButton          Kind = "button"
	KindStrayDrop       Kind = "stray_drop" // drop sensor edge with no motor running
	KindClockJump       Kind = "clock_jump" // wall clock stepped (Detail: by how much)
	KindClockTrusted    Kind = "clock_trusted"
	KindRefill          Kind = "refill" // compartment refilled (Detail: new count)
	KindEmpty           Kind = "empty"  // compartment ran out mid-dose
	KindBoot            Kind = "boot"   // daemon started
	KindFault           Kind = "fault"  // hardware or storage fault (Detail: what)
	KindPRNRefused      Kind = "prn_refused"
)

// Event is one entry of the append-only adherence log.
type Event struct {
	Seq    int64     `json:"seq"` // assigned by the Log: 1, 2, ... per device
	ID     string    `json:"id"`  // assigned by the Log: globally unique, for sync
	Time   time.Time `json:"time"`
	Kind   Kind      `json:"kind"`
	DoseID string    `json:"dose_id,omitempty"`
	// Scheduled is the dose's scheduled instant, on events about a dose.
	Scheduled   time.Time `json:"scheduled,omitzero"`
	Medication  string    `json:"medication,omitempty"` // medication id from the config
	Compartment int       `json:"compartment,omitempty"`
	Detail      string    `json:"detail,omitempty"`
	// ClockUntrusted marks an event logged before the wall clock was
	// trusted (schedule.Trust): its Time is what an unset clock read,
	// perhaps 1970, and says nothing of when it happened.
	ClockUntrusted bool `json:"clock_untrusted,omitempty"`
}

// Log is the durable, append-only event log.
type Log interface {
	// Append commits events in one transaction (fsynced before it returns),
	// assigns Seq and ID, and returns them as stored. Time is stored in UTC.
	Append(ctx context.Context, evs ...Event) ([]Event, error)
	// Since returns up to limit events with Seq > seq, in order.
	Since(ctx context.Context, seq int64, limit int) ([]Event, error)
	// SinceTime returns every event at or after t, in Seq order.
	SinceTime(ctx context.Context, t time.Time) ([]Event, error)
	// LastOfKinds returns the latest event of one of kinds about a
	// compartment (the pill count lives in their details).
	LastOfKinds(ctx context.Context, compartment int, kinds ...Kind) (Event, bool, error)
}
