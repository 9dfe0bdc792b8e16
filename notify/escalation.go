package notify

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/internal/problem"
)

// Escalation is the `escalation:` section of the config file, but for the
// SMS provider's settings (which its own package owns): who hears about a
// problem and when. Every field is optional; a zero field takes the
// default documented on it.
type Escalation struct {
	// DeviceReminders are the dispenser's own chimes after a dose's
	// scheduled time, the second and later louder. Default: 0s and 15m.
	DeviceReminders []time.Duration `yaml:"device_reminders"`
	// Ladder is the SMS steps of an alert, in order. For a dose, After
	// counts from its scheduled time; for anything else (a jam, an
	// uncertain dispense) the first step that applies goes at once and the
	// others keep their spacing. Default: patient at 20m, caregiver1 at
	// 30m, caregiver2 at 60m (steps naming a contact the file does not have
	// are left out).
	Ladder []Step `yaml:"ladder"`
	// PerMedication replaces the ladder for the doses of some medications.
	PerMedication []MedicationLadder `yaml:"per_medication"`
	// RenotifyEvery repeats the last step of an alert nobody acknowledged.
	// Default 4h; 0s: never.
	RenotifyEvery *time.Duration `yaml:"renotify_every"`
	// QuietHours, "22:00-07:00" in the patient's time zone, hold medium and
	// low priority texts until they end; high priority goes through.
	// Default "22:00-07:00"; "off" for none.
	QuietHours string `yaml:"quiet_hours"`
	// DigestAt is when low priority alerts (supply running low) are sent,
	// together, once a day. Default "09:00".
	DigestAt string `yaml:"digest_at"`
	// LowSupplyDays warns this many days before a compartment runs out.
	// Default 3.
	LowSupplyDays int `yaml:"low_supply_days"`
	// IncludeMedicationNames puts medication names in texts. Default false:
	// texts name only the patient's first name and times.
	IncludeMedicationNames bool `yaml:"include_medication_names"`
	// RateLimits bound what is sent; high priority is never held by them.
	RateLimits RateLimits `yaml:"rate_limits"`
	// ResolvedTexts sends the caregivers who were texted or called about
	// an alert one short text when what it was about ends (a dose taken
	// late, a jam cleared, a compartment refilled, a reading back in
	// range), unless they acknowledged it. Default true.
	ResolvedTexts *bool `yaml:"resolved_texts"`
	// MaxSegments bounds a caregiver's text, in SMS segments (153 GSM-7
	// characters, or 67 UCS-2 ones, each when split): a longer text is
	// sent in a shorter form (fewer alerts listed, no medication names,
	// then the short form), never cut. Default 2.
	MaxSegments int `yaml:"max_segments"`
}

// Step is one rung of an escalation ladder: a text (To) or a voice call
// (Call), so long after the start.
type Step struct {
	// To is "patient" (the first contact with role patient) or "caregiverN",
	// the Nth contact with role caregiver in the order of the file.
	To string `yaml:"to"`
	// Call, instead of To, phones caregiverN: the call says the alert and
	// asks for 1 if they will handle it, which acknowledges it as OK does;
	// no answer, busy, voicemail or no key moves the ladder on at once.
	Call  string        `yaml:"call"`
	After time.Duration `yaml:"after"`
}

// Who is the role the step reaches, by text or by call.
func (s Step) Who() string {
	if s.Call != "" {
		return s.Call
	}
	return s.To
}

// channel is how the step reaches them.
func (s Step) channel() Channel {
	if s.Call != "" {
		return ChannelCall
	}
	return ChannelSMS
}

// MedicationLadder is a ladder for the doses of one medication.
type MedicationLadder struct {
	Medication string `yaml:"medication"`
	Ladder     []Step `yaml:"ladder"`
}

// RateLimits bound the texts sent; 0 takes the default.
type RateLimits struct {
	PerRecipientPerHour int `yaml:"per_recipient_per_hour"` // default 6
	PerHour             int `yaml:"per_hour"`               // all recipients; default 20
	PerDay              int `yaml:"per_day"`                // all recipients; default 60
	// HelpPerHour and HelpPerDay cap the help texts answered to numbers
	// not in contacts: anyone can text the number, and every answer is
	// paid for and counts toward the limits above, so a flood of strangers
	// must not spend the budget the caregivers' alerts need. Each such
	// number gets at most one answer in 24 hours besides. Defaults 3 and 10.
	HelpPerHour int `yaml:"help_per_hour"`
	HelpPerDay  int `yaml:"help_per_day"`
}

// Defaults of the escalation section.
const (
	DefaultRenotify      = 4 * time.Hour
	DefaultQuietHours    = "22:00-07:00"
	DefaultDigestAt      = "09:00"
	DefaultLowSupplyDays = 3
	DefaultPerRecipient  = 6
	DefaultPerHour       = 20
	DefaultPerDay        = 60
	DefaultHelpPerHour   = 3
	DefaultHelpPerDay    = 10
	DefaultMaxSegments   = 2
	maxMaxSegments       = 10
)

// DefaultDeviceReminders are the dispenser's chimes when none are configured.
var DefaultDeviceReminders = []time.Duration{0, 15 * time.Minute}

// DefaultLadder is the ladder when none is configured, before steps naming
// absent contacts are left out.
var DefaultLadder = []Step{
	{To: RolePatient, After: 20 * time.Minute},
	{To: "caregiver1", After: 30 * time.Minute},
	{To: "caregiver2", After: 60 * time.Minute},
}

// Reminders returns the device reminder steps for dispenser.Config.
func (e *Escalation) Reminders() []time.Duration {
	if len(e.DeviceReminders) == 0 {
		return append([]time.Duration(nil), DefaultDeviceReminders...)
	}
	return append([]time.Duration(nil), e.DeviceReminders...)
}

const (
	maxReminderAfter = 12 * time.Hour
	maxStepAfter     = 24 * time.Hour
	minRenotify      = 15 * time.Minute
)

// ValidateEscalation checks the `escalation:` section against the contacts
// and medications it refers to. Paths are relative to the section.
func ValidateEscalation(e Escalation, contacts []Contact, meds []dispenser.Medication) problem.List {
	var l problem.List
	for i, d := range e.DeviceReminders {
		at := problem.Index("device_reminders", i)
		switch {
		case d < 0 || d > maxReminderAfter:
			l.Add(at, "write a duration from 0s to 12h after the scheduled time, e.g. 15m", "device reminder at %s is out of range", d)
		case i > 0 && d <= e.DeviceReminders[i-1]:
			l.Add(at, "list the reminders in increasing order", "device reminder at %s does not come after the one before", d)
		}
	}
	roles := contactRoles(contacts)
	if len(contacts) == 0 {
		roles = nil // ValidateContacts reports it once; a ladder naming them is not a second mistake
	}
	if e.Ladder != nil {
		validateLadder(&l, "ladder", e.Ladder, roles)
	}
	known := map[string]bool{}
	for _, m := range meds {
		known[m.ID] = true
	}
	seen := map[string]int{}
	for i, ml := range e.PerMedication {
		at := problem.Index("per_medication", i)
		switch j, dup := seen[ml.Medication]; {
		case ml.Medication == "":
			l.Add(at, "add medication: with the id of a medication", "per-medication ladder without a medication")
		case !known[ml.Medication]:
			l.Add(at+".medication", "use the id of one of the medications", "unknown medication %q", ml.Medication)
		case dup:
			l.Add(at+".medication", "merge the two ladders", "medication %q already has a ladder at per_medication[%d]", ml.Medication, j)
		default:
			seen[ml.Medication] = i
		}
		if ml.Ladder == nil {
			l.Add(at, "add ladder: with at least one step", "per-medication ladder has no steps")
			continue
		}
		validateLadder(&l, at+".ladder", ml.Ladder, roles)
	}
	if r := e.RenotifyEvery; r != nil && (*r < 0 || *r > 0 && *r < minRenotify) {
		l.Add("renotify_every", "write 0s for never, or 15m or more", "renotify_every %s is too short: texts would repeat every few minutes", *r)
	}
	if _, err := parseQuietHours(e.QuietHours); err != nil {
		l.Add("quiet_hours", `write the start and end in 24-hour time, e.g. "22:00-07:00", or "off"`, "%v", err)
	}
	if e.DigestAt != "" {
		if _, err := parseClock(e.DigestAt); err != nil {
			l.Add("digest_at", `write a 24-hour time in quotes, e.g. "09:00"`, "%v", err)
		}
	}
	if e.LowSupplyDays < 0 || e.LowSupplyDays > 60 {
		l.Add("low_supply_days", "write a number of days from 1 to 60", "low_supply_days %d is out of range", e.LowSupplyDays)
	}
	if e.MaxSegments < 0 || e.MaxSegments > maxMaxSegments {
		l.Add("max_segments", fmt.Sprintf("write a number of segments from 1 to %d, or leave it out for %d", maxMaxSegments, DefaultMaxSegments),
			"max_segments %d is out of range", e.MaxSegments)
	}
	rl := e.RateLimits
	for _, f := range []struct {
		key string
		v   int
	}{{"per_recipient_per_hour", rl.PerRecipientPerHour}, {"per_hour", rl.PerHour}, {"per_day", rl.PerDay},
		{"help_per_hour", rl.HelpPerHour}, {"help_per_day", rl.HelpPerDay}} {
		if f.v < 0 {
			l.Add("rate_limits."+f.key, "write a positive number, or leave it out for the default", "%s is negative", f.key)
		}
	}
	lim := e.limits()
	if lim.PerHour > lim.PerDay {
		l.Add("rate_limits.per_hour", fmt.Sprintf("raise per_day to at least %d, or lower per_hour", lim.PerHour),
			"per_hour %d is more than per_day %d", lim.PerHour, lim.PerDay)
	}
	if lim.HelpPerDay > 0 && lim.HelpPerHour > lim.HelpPerDay {
		l.Add("rate_limits.help_per_hour", fmt.Sprintf("raise help_per_day to at least %d, or lower help_per_hour", lim.HelpPerHour),
			"help_per_hour %d is more than help_per_day %d", lim.HelpPerHour, lim.HelpPerDay)
	}
	return l
}

var stepRole = regexp.MustCompile(`^caregiver([1-9][0-9]?)$`)

// contactRoles maps the ladder names ("patient", "caregiver1", ...) to the
// contacts they stand for.
func contactRoles(cs []Contact) map[string]Contact {
	m := map[string]Contact{}
	n := 0
	for _, c := range cs {
		switch c.Role {
		case RolePatient:
			if _, ok := m[RolePatient]; !ok {
				m[RolePatient] = c
			}
		case RoleCaregiver:
			n++
			m[RoleCaregiver+strconv.Itoa(n)] = c
		}
	}
	return m
}

func validateLadder(l *problem.List, path string, steps []Step, roles map[string]Contact) {
	caregiver := false
	for i, s := range steps {
		at := problem.Index(path, i)
		field := at + ".to"
		if s.Call != "" {
			field = at + ".call"
		}
		switch who := s.Who(); {
		case s.To != "" && s.Call != "":
			l.Add(at, "keep to: for a text or call: for a voice call, not both", "step has both to: and call:")
		case s.Call == RolePatient:
			l.Add(field, "call caregivers only (call: caregiver1); text the patient with to: patient",
				"a call asks the callee to handle the alert, which the patient cannot")
		case who == RolePatient:
			if _, ok := roles[RolePatient]; !ok && roles != nil {
				l.Add(field, "add a contact with role: patient, or remove this step", "no contact has role patient")
			}
		case stepRole.MatchString(who):
			caregiver = true
			if _, ok := roles[who]; !ok && roles != nil {
				l.Add(field, "add caregivers under contacts:, or remove this step",
					"%s is the caregiver number %s in contacts:, and there is no such caregiver", who, who[len(RoleCaregiver):])
			}
		case who == "":
			l.Add(at, "add to: patient or to: caregiver1 (caregiver2, ... in the order of contacts:), or call: caregiver1", "step has no recipient")
		default:
			l.Add(field, "write patient, or caregiver1, caregiver2, ... (caregivers in the order of contacts:)", "unknown recipient %q", who)
		}
		switch {
		case s.After < 0 || s.After > maxStepAfter:
			l.Add(at+".after", "write a duration from 0s to 24h, e.g. 30m", "step after %s is out of range", s.After)
		case i > 0 && s.After < steps[i-1].After:
			l.Add(at+".after", "list the steps in the order they happen", "step after %s comes before the step above it", s.After)
		}
	}
	if !caregiver {
		l.Add(path, "add a step to: caregiver1", "no step texts a caregiver: a missed dose would reach nobody")
	}
}

// clockTime is a time of day in minutes after midnight.
type clockTime int

// parseClock reads a 24-hour time of day, "7:05" or "07:05".
func parseClock(s string) (clockTime, error) {
	hs, ms, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 || !digits(hs) || !digits(ms) {
		return 0, fmt.Errorf("%q is not a time of day such as 07:00", s)
	}
	h, _ := strconv.Atoi(hs)
	m, _ := strconv.Atoi(ms)
	if h > 23 || m > 59 {
		return 0, fmt.Errorf("%q is not a time of day such as 07:00", s)
	}
	return clockTime(h*60 + m), nil
}

func digits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (c clockTime) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// quiet is a daily span of quiet hours [start, end), which may wrap
// midnight. The zero value (start == end) is none.
type quiet struct{ start, end clockTime }

// parseQuietHours reads "22:00-07:00", "off", or "" for the default.
func parseQuietHours(s string) (quiet, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		s = DefaultQuietHours
	case "off", "none":
		return quiet{}, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return quiet{}, fmt.Errorf("quiet_hours %q is not a span such as 22:00-07:00", s)
	}
	start, err := parseClock(a)
	if err != nil {
		return quiet{}, fmt.Errorf("quiet_hours start: %w", err)
	}
	end, err := parseClock(b)
	if err != nil {
		return quiet{}, fmt.Errorf("quiet_hours end: %w", err)
	}
	if start == end {
		return quiet{}, fmt.Errorf("quiet_hours %q starts and ends at the same time; write off for none", s)
	}
	return quiet{start, end}, nil
}

// in reports whether local wall time t falls in the quiet hours.
func (q quiet) in(t time.Time) bool {
	if q.start == q.end {
		return false
	}
	m := clockTime(t.Hour()*60 + t.Minute())
	if q.start < q.end {
		return m >= q.start && m < q.end
	}
	return m >= q.start || m < q.end
}

// next returns the first instant after t (in t's location) whose wall
// clock reads c; on a day the clocks skip c (spring forward), the instant
// it would have been, which the clock reads as just after the gap.
func (c clockTime) next(t time.Time) time.Time {
	y, mo, d := t.Date()
	for ; ; d++ {
		at := time.Date(y, mo, d, int(c)/60, int(c)%60, 0, 0, t.Location())
		// time.Date may resolve a skipped wall time to before the gap.
		if w := clockTime(at.Hour()*60 + at.Minute()); w < c {
			at = at.Add(time.Duration(c-w) * time.Minute)
		}
		if at.After(t) {
			return at
		}
	}
}

func (e *Escalation) limits() RateLimits {
	r := e.RateLimits
	if r.PerRecipientPerHour == 0 {
		r.PerRecipientPerHour = DefaultPerRecipient
	}
	if r.PerHour == 0 {
		r.PerHour = DefaultPerHour
	}
	if r.PerDay == 0 {
		r.PerDay = DefaultPerDay
	}
	if r.HelpPerHour == 0 {
		r.HelpPerHour = DefaultHelpPerHour
	}
	if r.HelpPerDay == 0 {
		r.HelpPerDay = DefaultHelpPerDay
	}
	return r
}

// policy is the escalation section with its defaults applied and its
// strings parsed, for the notifier.
type policy struct {
	ladder       []Step
	perMed       map[string][]Step
	renotify     time.Duration
	quiet        quiet
	digest       clockTime
	lowDays      int
	medNames     bool
	limits       RateLimits
	roles        map[string]Contact
	resolved     bool // resolved texts
	calls        bool // some ladder step is a call
	patientSteps bool // some ladder step texts the patient
	segments     int  // most SMS segments of a caregiver's text
}

// resolve applies the defaults. It fails only on input ValidateEscalation
// reports.
func (e *Escalation) resolve(contacts []Contact) (policy, error) {
	p := policy{
		renotify: DefaultRenotify,
		lowDays:  e.LowSupplyDays,
		medNames: e.IncludeMedicationNames,
		limits:   e.limits(),
		roles:    contactRoles(contacts),
		perMed:   map[string][]Step{},
		resolved: e.ResolvedTexts == nil || *e.ResolvedTexts,
		segments: cmp.Or(e.MaxSegments, DefaultMaxSegments),
	}
	if e.RenotifyEvery != nil {
		p.renotify = *e.RenotifyEvery
	}
	if p.lowDays == 0 {
		p.lowDays = DefaultLowSupplyDays
	}
	var err error
	if p.quiet, err = parseQuietHours(e.QuietHours); err != nil {
		return p, fmt.Errorf("notify: escalation: %w", err)
	}
	digest := e.DigestAt
	if digest == "" {
		digest = DefaultDigestAt
	}
	if p.digest, err = parseClock(digest); err != nil {
		return p, fmt.Errorf("notify: escalation: digest_at: %w", err)
	}
	p.ladder = e.Ladder
	if p.ladder == nil {
		for _, s := range DefaultLadder {
			if _, ok := p.roles[s.To]; ok {
				p.ladder = append(p.ladder, s)
			}
		}
	}
	for _, ml := range e.PerMedication {
		p.perMed[ml.Medication] = ml.Ladder
	}
	for _, l := range append([][]Step{p.ladder}, slices.Collect(maps.Values(p.perMed))...) {
		p.calls = p.calls || slices.ContainsFunc(l, func(s Step) bool { return s.Call != "" })
		p.patientSteps = p.patientSteps || slices.ContainsFunc(l, func(s Step) bool { return s.To == RolePatient })
	}
	return p, nil
}
