package clinic

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/dispenser"
)

// The clinic's side of the reports: what a report is built from (the
// patient's synced events and readings, the profile their dispenser sends
// with its heartbeat) and the false misses clinicians record.

// fillLookback is how far before a report's period events are read, so
// that supply loaded before the period counts for PDC (a 90-day fill).
const fillLookback = 120 * 24 * time.Hour

// NoLimit reads every row of a period.
const NoLimit = 1 << 30

// PatientSyncedEvents returns the patient's synced events with a time in
// [from, to), in time order (then by device and seq), whatever the clinic
// made of their times. Seq is the device's own sequence number. It checks
// no access: handlers check the panel.
func (s *Service) PatientSyncedEvents(ctx context.Context, patientID string, from, to time.Time, limit int) ([]SyncedEvent, error) {
	evs, err := s.Store.SyncedEvents(ctx, EventQuery{PatientID: patientID, From: from, To: to, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("clinic: patient events: %w", err)
	}
	return evs, nil
}

// PatientEvents returns what the reports are built from: the patient's
// synced events with a time in [from, to) that the clinic can place in
// time, in time order. An event whose time is unreliable (ClockFlagged
// lists them) is left out: a dose placed by a wrong clock would count on
// the wrong day. It checks no access: handlers check the panel.
func (s *Service) PatientEvents(ctx context.Context, patientID string, from, to time.Time, limit int) ([]dispenser.Event, error) {
	evs, err := s.Store.SyncedEvents(ctx, EventQuery{PatientID: patientID, From: from, To: to, Limit: limit, Reliable: true})
	if err != nil {
		return nil, fmt.Errorf("clinic: patient events: %w", err)
	}
	out := make([]dispenser.Event, len(evs))
	for i, e := range evs {
		out[i] = e.Event
	}
	return out, nil
}

// PatientSetup returns the setup of the patient's dispensers (the profile
// of the most recently heard one that sent a readable profile) and the
// dispensers themselves, most recently heard first. Without a profile the
// setup is empty: reports then count doses in UTC, without windows and PDC.
func (s *Service) PatientSetup(ctx context.Context, patientID string) (report.Setup, []report.DispenserInfo, error) {
	devs, err := s.Store.Devices(ctx, patientID)
	if err != nil {
		return report.Setup{}, nil, fmt.Errorf("clinic: patient setup: %w", err)
	}
	slices.SortStableFunc(devs, func(a, b Device) int {
		if a.LastSeen.IsZero() != b.LastSeen.IsZero() {
			if a.LastSeen.IsZero() {
				return 1
			}
			return -1
		}
		return cmp.Or(b.LastSeen.Compare(a.LastSeen), cmp.Compare(a.ID, b.ID))
	})
	var setup report.Setup
	var infos []report.DispenserInfo
	found := false
	for _, d := range devs {
		info := report.DispenserInfo{ID: d.ID, Label: d.Label}
		var h uplink.Heartbeat
		if len(d.Heartbeat) > 0 && json.Unmarshal(d.Heartbeat, &h) == nil {
			info.Software = h.Software
			if h.Profile != nil && !found {
				// A profile that does not read (another version, an
				// unknown zone) is skipped, not an error: the report
				// still has the log.
				if loc, meds, regs, meters, err := h.Profile.Domain(); err == nil {
					setup, found = report.Setup{Location: loc, Medications: meds, Regimens: regs, Meters: report.MetersOf(meters),
						Thresholds: thresholdsOf(h.Profile.Thresholds)}, true
				}
			}
		}
		infos = append(infos, info)
	}
	return setup, infos, nil
}

// thresholdsOf returns the patient's alert thresholds of a profile; nil
// when it has none or none the clinic can use (another version, values
// the dispenser itself would refuse: Domain says which), and the reports
// then use the default ranges and say so.
func thresholdsOf(p *uplink.ProfileThresholds) *report.VitalThresholds {
	if p == nil {
		return nil
	}
	t, err := p.Domain()
	if err != nil {
		return nil
	}
	return report.FromVitals(t)
}

// Sources of a false-miss mark.
const (
	SourceClinician = "clinician" // the clinician knows the dose was taken
	SourceCaregiver = "caregiver" // a caregiver told the clinician
)

// MaxReason is the longest reason a false-miss mark may give, in
// characters.
const MaxReason = 200

// Why a false-miss mark was not saved. The patient page names them by id
// (notices), so they stay fixed texts.
var (
	ErrNoReason      = fmt.Errorf("%w: say why the miss is false (e.g. taken from a blister pack)", ErrInvalid)
	ErrLongReason    = fmt.Errorf("%w: the reason must be at most %d characters", ErrInvalid, MaxReason)
	ErrReasonNotLine = fmt.Errorf("%w: the reason must be one line of printable text", ErrInvalid)
	ErrBadSource     = fmt.Errorf("%w: source must be clinician or caregiver", ErrInvalid)
)

func checkReason(r string) error {
	switch {
	case strings.TrimSpace(r) == "":
		return ErrNoReason
	case utf8.RuneCountInString(r) > MaxReason || !utf8.ValidString(r):
		return ErrLongReason
	case strings.IndexFunc(r, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0:
		return ErrReasonNotLine
	}
	return nil
}

// MarkFalseMiss records that a recorded miss (missed, or left in the
// cup) of the patient's was in fact taken, with a reason; marking again
// replaces the reason. It is audited as a; the audit entry names the
// source, not the dose (dose ids carry medication names).
func (s *Service) MarkFalseMiss(ctx context.Context, a Actor, patientID, doseID, reason, source string) error {
	if source != SourceClinician && source != SourceCaregiver {
		return fmt.Errorf("clinic: mark false miss: %w", ErrBadSource)
	}
	if err := checkReason(reason); err != nil {
		return fmt.Errorf("clinic: mark false miss: %w", err)
	}
	fm := report.FalseMiss{Reason: strings.TrimSpace(reason), Source: source, By: a.ID, At: s.Now()}
	return wrap("mark false miss", s.Store.MarkFalseMiss(ctx, patientID, doseID, fm, s.entry(a, "dose.false_miss", patientID, "source="+source, "")))
}

// UnmarkFalseMiss removes a false-miss mark (audited).
func (s *Service) UnmarkFalseMiss(ctx context.Context, a Actor, patientID, doseID string) error {
	return wrap("unmark false miss", s.Store.UnmarkFalseMiss(ctx, patientID, doseID, s.entry(a, "dose.false_miss_removed", patientID, "", "")))
}

// ReportInput gathers what a report of the patient over [from, to) is
// built from, at the service's clock.
func (s *Service) ReportInput(ctx context.Context, p Patient, from, to time.Time) (report.Input, error) {
	in := report.Input{Subject: report.Subject{ID: p.ID, Name: p.DisplayName}, From: from, To: to, Generated: s.Now()}
	var err error
	if in.Setup, in.Dispensers, err = s.PatientSetup(ctx, p.ID); err != nil {
		return in, err
	}
	// Events and readings are read side by side (on two connections of
	// a backend's pool): together they are most of a page's time.
	var rerr error
	var wg sync.WaitGroup
	wg.Go(func() { in.Readings, rerr = s.Store.PatientReadings(ctx, p.ID, from, to, NoLimit) })
	in.Events, err = s.PatientEvents(ctx, p.ID, from.Add(-fillLookback), to, NoLimit)
	wg.Wait()
	if err = cmp.Or(err, rerr); err != nil {
		return in, err
	}
	if in.Marks, err = s.Store.FalseMisses(ctx, p.ID); err != nil {
		return in, fmt.Errorf("clinic: false misses: %w", err)
	}
	return in, nil
}

// ReportNow is the instant a patient's default report period ends at:
// now, or the patient's latest synced event when a device clock runs a
// little ahead (at most MaxClockSkew). A device's time never moves it
// further: an event dated in 2199, a wrong clock's or a forged batch's, is
// suspect (ClockAhead), not the clinic's "now".
func (s *Service) ReportNow(ctx context.Context, patientID string, now time.Time) (time.Time, error) {
	latest, err := s.Store.LatestEventTime(ctx, patientID, now.Add(MaxClockSkew))
	if err != nil {
		return now, fmt.Errorf("clinic: report time: %w", err)
	}
	if latest.After(now) {
		return latest, nil
	}
	return now, nil
}
