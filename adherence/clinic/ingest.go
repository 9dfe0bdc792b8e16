package clinic

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/hw/vital"
)

// IngestResult is what Ingest did.
type IngestResult struct {
	Ack uplink.Ack
	// Wake is true when the silent watcher has something new to do: the
	// device was heard for the first time (a deadline to watch), or it was
	// silent and is back (texts to send).
	Wake bool
	// ClockNote says what was wrong with the device's clock in this batch
	// ("" when nothing): an event dated ahead of the clinic's time, a
	// heartbeat whose clock is off.
	ClockNote string
	// Events and Readings count what this batch stored (repeats of what
	// was already stored left out): the metrics count them.
	Events, Readings int
	// Software is the version the device reports, and SoftwareWas the one
	// it reported before when it changed ("" otherwise).
	Software, SoftwareWas string
}

// MaxClockSkew is how far a device's clock may be from the clinic's
// before the clinic calls it wrong. A time further ahead is suspect: it is
// stored and shown as such, and it never moves the clinic's "now".
const MaxClockSkew = 5 * time.Minute

var year2000 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// clockOf judges an event's time against the clinic's clock at arrival.
func clockOf(e uplink.Event, now time.Time) string {
	switch {
	case e.ClockUntrusted:
		return ClockUntrusted
	case e.Time.After(now.Add(MaxClockSkew)):
		return ClockAhead
	case e.Time.Before(year2000):
		return ClockBefore2000
	}
	return ""
}

// clockNote says what the batch shows of a wrong device clock, or "".
// Times only: they are not patient data.
func clockNote(b *uplink.Batch, now time.Time) string {
	var notes []string
	var ahead time.Time
	for _, e := range b.Events {
		if clockOf(e, now) == ClockAhead && e.Time.After(ahead) {
			ahead = e.Time
		}
	}
	if !ahead.IsZero() {
		notes = append(notes, "an event dated "+ahead.UTC().Format(time.RFC3339))
	}
	if t := b.Heartbeat.Time; !t.IsZero() && (t.Sub(now) > MaxClockSkew || now.Sub(t) > MaxClockSkew) {
		notes = append(notes, "its clock read "+t.UTC().Format(time.RFC3339))
	}
	return strings.Join(notes, "; ")
}

// mergeHeartbeat is the device's state after a heartbeat: each part the
// heartbeat carries replaces the stored one, and a part it lacks leaves the
// stored one as it was. A dispenser older than the profile sends none, a
// profile from older software has no thresholds, a client that sends only
// events may send no time or software: none of that erases what the clinic
// knows of the patient's setup.
func mergeHeartbeat(old, hb uplink.Heartbeat) uplink.Heartbeat {
	out := hb
	if hb.Time.IsZero() {
		out.Time = old.Time
	}
	if hb.Software == "" {
		out.Software = old.Software
	}
	switch {
	case hb.Profile == nil:
		out.Profile = old.Profile
	case hb.Profile.Thresholds == nil && old.Profile != nil && old.Profile.Thresholds != nil:
		p := *hb.Profile
		p.Thresholds = old.Profile.Thresholds
		out.Profile = &p
	}
	return out
}

// syncBatch is b as the store keeps it, received at at: each event's time
// judged against the clinic's clock (clockOf).
func syncBatch(b *uplink.Batch, at time.Time) SyncBatch {
	sb := SyncBatch{Device: b.Device, Log: b.Log, Received: at,
		Events: make([]SyncedEvent, len(b.Events)), Readings: make([]vital.Reading, 0, len(b.Readings))}
	for i, e := range b.Events {
		sb.Events[i] = SyncedEvent{Event: e.Domain(), Clock: clockOf(e, at)}
	}
	for _, r := range b.Readings {
		sb.Readings = append(sb.Readings, r.Domain())
	}
	for _, sa := range b.SetAside {
		sb.SetAside = append(sb.SetAside, SetAsideItem{Device: b.Device, What: sa.What, Seq: sa.Seq, ID: sa.ID,
			Reason: sa.Reason, Received: at, Raw: sa.Raw})
	}
	return sb
}

// Ingest stores a device's batch in one transaction: its events and
// readings (each (device, id) once: a resent batch stores nothing twice),
// the items DecodeBatch set aside (apart, with their reasons; an event's
// place counts as received), the device's state from the heartbeat (part
// by part: mergeHeartbeat), what the batch shows of its clock, and an audit
// entry. Each event's time is judged against the clinic's clock (clockOf).
// The principal must be the device the batch names; the data goes to that
// device's patient, whatever the batch says. A sequence number that already
// holds another event is ErrConflict and nothing of the batch is stored.
// A device that was silent is back: its caregivers are texted.
func (s *Service) Ingest(ctx context.Context, p Principal, b *uplink.Batch, remote string) (IngestResult, error) {
	a := p.Actor(remote)
	if !p.IsDevice() || b.Device != p.DeviceID {
		// A device writing as another device would write another
		// patient's record.
		if err := s.Audit(ctx, a, "sync.denied", "", "batch for "+b.Device, "denied"); err != nil {
			return IngestResult{}, err
		}
		return IngestResult{}, fmt.Errorf("%w: this token may not write for the device the batch names", ErrForbidden)
	}
	at := s.Now()
	note := clockNote(b, at)
	var res IngestResult
	err := s.Store.Ingest(ctx, syncBatch(b, at), func(st SyncState) (SyncUpdate, error) {
		var old uplink.Heartbeat
		if len(st.Heartbeat) > 0 {
			// A stored heartbeat that no longer reads is replaced whole.
			json.Unmarshal(st.Heartbeat, &old)
		}
		merged := mergeHeartbeat(old, b.Heartbeat)
		hb, err := json.Marshal(merged)
		if err != nil {
			return SyncUpdate{}, err
		}
		res = IngestResult{ClockNote: note, Software: merged.Software, Events: st.Stored, Readings: st.ReadingsStored, Wake: st.LastSeen.IsZero() || !st.SilentSince.IsZero(),
			Ack: uplink.Ack{Version: uplink.Version, AckedSeq: st.AckedSeq, AckedReadingSeq: st.AckedReadingSeq,
				Stored: st.Stored + st.ReadingsStored, Duplicates: st.Duplicates + st.ReadingDuplicates, TokenExpires: p.Expires}}
		if old.Software != merged.Software {
			res.SoftwareWas = cmp.Or(old.Software, "(none)")
		}
		u := SyncUpdate{Heartbeat: hb, Software: merged.Software, ClockNote: note}
		if t := b.Heartbeat.Time; !t.IsZero() {
			off := t.Sub(at)
			u.ClockOffset = &off
		}
		if !st.SilentSince.IsZero() {
			u.Texts = append(u.Texts, CaregiverText{Reason: ReasonBack, Body: backText(st.FirstName), At: at})
			u.Audit = append(u.Audit, s.entry(System, "device.back", st.PatientID, p.DeviceID, ""))
		}
		target := fmt.Sprintf("log=%s events=%d readings=%d duplicates=%d acked=%d", b.Log, st.Stored, st.ReadingsStored,
			res.Ack.Duplicates, st.AckedSeq)
		if n := len(b.SetAside); n > 0 {
			target += fmt.Sprintf(" set_aside=%d", n)
		}
		if st.Flagged > 0 {
			target += fmt.Sprintf(" clock_flagged=%d", st.Flagged)
		}
		u.Audit = append(u.Audit, s.entry(a, "sync.ingest", st.PatientID, target, ""))
		return u, nil
	})
	if err != nil {
		return IngestResult{}, wrap("ingest", err)
	}
	return res, nil
}
