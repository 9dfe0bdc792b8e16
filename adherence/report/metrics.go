package report

// Adherence metrics: pure functions over the event log. Nothing here reads
// a database or a clock; the store, the clinic service and pillctl feed
// them events and a report time. docs/reports.md defines every figure.

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

// Setup is what the reports need to know of a dispenser's configuration:
// the patient's zone (every day boundary is local), the medications and
// regimens (windows, PRN limits, daily pills for PDC) and the paired
// health devices. The clinic learns it from the device's heartbeat
// (uplink.Profile); pillctl reads it from a config file. A report without
// one still counts doses, in UTC, but has no windows and no PDC.
type Setup struct {
	Location    *time.Location
	Medications []dispenser.Medication
	Regimens    []schedule.Regimen
	Meters      []Meter
	// Thresholds are the patient's vitals alert thresholds; nil when the
	// dispenser sent none, and the reports use the default ranges.
	Thresholds *VitalThresholds
}

// Meter is a paired health device (the config's vitals.devices, as
// MetersOf converts them).
type Meter struct {
	Address string `json:"address"` // Bluetooth address
	Kind    string `json:"kind"`    // a vital.Kind's name
	Name    string `json:"name,omitempty"`
}

// Label is how reports name the meter: its name, else what it is.
func (m Meter) Label() string {
	if m.Name != "" {
		return m.Name
	}
	return m.Title()
}

// Title says what the meter is: its kind's title, or a generic one for a
// kind this version does not know.
func (m Meter) Title() string {
	if k, ok := vital.KindNamed(m.Kind); ok {
		return k.Title
	}
	return "Health measuring device"
}

// loc is the setup's zone, UTC when unknown.
func (s Setup) loc() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

// Medication returns the medication with id.
func (s Setup) Medication(id string) (dispenser.Medication, bool) {
	for _, m := range s.Medications {
		if m.ID == id {
			return m, true
		}
	}
	return dispenser.Medication{}, false
}

// RegimenFacts are a medication's regimen as the metrics use it.
type RegimenFacts struct {
	// Early and Late bound the window around the scheduled time.
	Early, Late time.Duration
	// DosesPerDay is the mean number of scheduled doses a day (over four
	// weeks, so "Mon, Wed, Fri" gives 3/7); 0 for an as-needed medication.
	DosesPerDay float64
	PRN         *schedule.PRN
}

// factsHorizon is how far the plan is walked to learn doses per day and
// windows: four whole weeks, so weekly patterns average out.
const factsHorizon = 28 * 24 * time.Hour

// Facts returns each medication's regimen facts, planned from at. It
// returns nil when the regimens do not plan (an old or hostile profile):
// the report then goes without windows and PDC rather than failing.
func (s Setup) Facts(at time.Time) map[string]RegimenFacts {
	if len(s.Regimens) == 0 {
		return nil
	}
	plan, err := schedule.NewPlan(s.Regimens, s.loc())
	if err != nil {
		return nil
	}
	out := map[string]RegimenFacts{}
	for _, r := range s.Regimens {
		f := out[r.Medication]
		if r.PRN != nil {
			p := *r.PRN
			f.PRN = &p
		}
		out[r.Medication] = f
	}
	n := map[string]int{}
	for _, o := range plan.Between(at, at.Add(factsHorizon)) {
		f := out[o.Medication]
		f.Early, f.Late = o.At.Sub(o.Opens), o.Closes.Sub(o.At)
		out[o.Medication] = f
		n[o.Medication]++
	}
	for med, c := range n {
		f := out[med]
		f.DosesPerDay = float64(c) / (factsHorizon.Hours() / 24)
		out[med] = f
	}
	return out
}

// Outcome is what became of a dose, as a report counts it.
type Outcome string

const (
	OutcomePending   Outcome = "pending"   // window open, or pills in the cup: not counted yet
	OutcomeTaken     Outcome = "taken"     // picked up (or assumed so without a pickup sensor)
	OutcomeMissed    Outcome = "missed"    // window closed without a press
	OutcomeNotTaken  Outcome = "not_taken" // dispensed, left in the cup
	OutcomeSkipped   Outcome = "skipped"   // skipped on purpose
	OutcomeJammed    Outcome = "jammed"    // pills did not fall
	OutcomeUncertain Outcome = "uncertain" // dispense interrupted
)

// DoseFacts is one dose as the log tells it: its events folded together.
// (DoseRecord is the device store's row of the doses table.)
type DoseFacts struct {
	ID         string `json:"id"`
	Medication string `json:"medication"`
	// Scheduled is the scheduled instant (UTC); for an as-needed dose,
	// when it was asked for.
	Scheduled time.Time       `json:"scheduled"`
	PRN       bool            `json:"prn"`
	State     dispenser.State `json:"state"`
	// The signals that say how the dose was known (see Signals).
	Pressed bool   `json:"pressed"`          // dispense_started: the button was pressed (held, for PRN)
	Dropped bool   `json:"dropped"`          // dispensed: the drop sensor saw the pills fall
	Pickup  string `json:"pickup,omitempty"` // "cup_lifted" or "lid_opened" when a sensor saw the pickup
	// Dispensed and Taken are when the pills fell and were picked up (for
	// a pickup assumed without sensors, when they fell).
	Dispensed  time.Time `json:"dispensed,omitzero"`
	Taken      time.Time `json:"taken,omitzero"`
	LeftInCup  bool      `json:"left_in_cup"` // not_taken was recorded (a later pickup is "late")
	Reconciled bool      `json:"reconciled"`  // missed while the device was off or its clock wrong
	Jams       int       `json:"jams"`        // jam events, retries included
	SkippedBy  string    `json:"skipped_by,omitempty"`
	// Dispute is a caregiver's TAKEN reply to the dose's missed-dose text
	// (a miss_disputed event), the first if several: a false-miss mark
	// from the log itself, beside those the clinic records (see FalseMiss).
	Dispute *FalseMiss `json:"-"`
}

// Outcome maps the dose's state to what a report counts.
func (d DoseFacts) Outcome() Outcome {
	switch d.State {
	case dispenser.StateTaken:
		return OutcomeTaken
	case dispenser.StateMissed:
		return OutcomeMissed
	case dispenser.StateNotTaken:
		return OutcomeNotTaken
	case dispenser.StateSkipped:
		return OutcomeSkipped
	case dispenser.StateJammed:
		return OutcomeJammed
	case dispenser.StateUncertain:
		return OutcomeUncertain
	}
	return OutcomePending
}

// RecordedMiss reports whether the log says the dose was not taken for
// want of the patient (missed, or left in the cup): the doses a caregiver
// or clinician may mark as false misses.
func (d DoseFacts) RecordedMiss() bool {
	o := d.Outcome()
	return o == OutcomeMissed || o == OutcomeNotTaken
}

// Signals lists what the device sensed of the dose, in order: "button",
// "drop", and "cup" or "lid".
func (d DoseFacts) Signals() []string {
	var s []string
	if d.Pressed {
		s = append(s, "button")
	}
	if d.Dropped {
		s = append(s, "drop")
	}
	switch d.Pickup {
	case string(dispenser.KindCupLifted):
		s = append(s, "cup")
	case string(dispenser.KindLidOpened):
		s = append(s, "lid")
	}
	return s
}

// SourceCaregiverSMS is the source of the false-miss marks a caregiver
// made by replying TAKEN to a missed-dose text.
const SourceCaregiverSMS = "caregiver (SMS)"

// FalseMiss returns the mark that makes a recorded miss a false one: the
// clinic's (marks, by dose id) if any, which a clinician entered with a
// reason, else the caregiver's SMS dispute. A dose that is not a recorded
// miss has none, whatever was marked.
func (d DoseFacts) FalseMiss(marks map[string]FalseMiss) (FalseMiss, bool) {
	if !d.RecordedMiss() {
		return FalseMiss{}, false
	}
	if fm, ok := marks[d.ID]; ok {
		return fm, true
	}
	if d.Dispute != nil {
		return *d.Dispute, true
	}
	return FalseMiss{}, false
}

// Confidence levels of a dose's outcome.
const (
	ConfidenceHigh     = "high"
	ConfidenceMedium   = "medium"
	ConfidenceLow      = "low"
	ConfidenceReported = "reported" // a recorded miss a person marked false
)

// Confidence says how sure the record is of the dose's outcome. A taken
// dose is high with all three signals (button, drop, cup or lid), medium
// with two (no pickup sensor), low with fewer. A miss seen live (the
// device watched the window close) is high, one reconciled after downtime
// low: the patient may have taken pills from elsewhere. Pills left in the
// cup are medium: the drop was seen, a pickup could have been missed.
// falseMiss marks a recorded miss someone reported as taken; a caregiver's
// SMS dispute (d.Dispute) does too.
func (d DoseFacts) Confidence(falseMiss bool) string {
	if (falseMiss || d.Dispute != nil) && d.RecordedMiss() {
		return ConfidenceReported
	}
	switch d.Outcome() {
	case OutcomeTaken:
		switch len(d.Signals()) {
		case 3:
			return ConfidenceHigh
		case 2:
			return ConfidenceMedium
		}
		return ConfidenceLow
	case OutcomeMissed:
		if d.Reconciled {
			return ConfidenceLow
		}
		return ConfidenceHigh
	case OutcomeNotTaken:
		return ConfidenceMedium
	case OutcomeSkipped:
		return ConfidenceHigh
	case OutcomeJammed, OutcomeUncertain:
		return ConfidenceLow
	}
	return ""
}

// FoldDoses folds the log into one record per dose, ordered by scheduled
// time, then medication, then id. Events without a dose id are ignored,
// but for the caregivers' disputes (miss_disputed, whose dose id is in the
// detail), which are attached to the doses they name; events may come
// from several devices of one patient, in time order.
func FoldDoses(evs []dispenser.Event) []DoseFacts {
	idx := make(map[string]int, len(evs)/4+1)
	out := make([]DoseFacts, 0, len(evs)/4+1)
	var disputes []*dispenser.Event
	for i := range evs {
		ev := &evs[i]
		if ev.DoseID == "" {
			if ev.Kind == notify.KindMissDisputed {
				disputes = append(disputes, ev)
			}
			continue
		}
		j, ok := idx[ev.DoseID]
		if !ok {
			j = len(out)
			idx[ev.DoseID] = j
			out = append(out, DoseFacts{ID: ev.DoseID, Medication: ev.Medication,
				PRN: strings.HasPrefix(ev.DoseID, "prn:"), State: dispenser.StateDue})
		}
		out[j].apply(ev)
	}
	for _, ev := range disputes {
		dose, by, reason, err := notify.ParseDisputeDetail(ev.Detail)
		if err != nil {
			continue // another version's detail, or garbage from a device: not a mark
		}
		// A dispute of a dose the events do not show (outside what was
		// read) marks nothing.
		if j, ok := idx[dose]; ok && out[j].Dispute == nil {
			out[j].Dispute = &FalseMiss{Reason: reason, By: by, Source: SourceCaregiverSMS, At: ev.Time}
		}
	}
	sortDoses(out)
	return out
}

func sortDoses(ds []DoseFacts) {
	slices.SortFunc(ds, func(a, b DoseFacts) int {
		if c := a.Scheduled.Compare(b.Scheduled); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Medication, b.Medication); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// apply moves the record by one event, as dispenser.Dose does for the
// controller; a state already final is kept except by a late pickup.
func (d *DoseFacts) apply(ev *dispenser.Event) {
	if d.Scheduled.IsZero() {
		d.Scheduled = ev.Scheduled
		if d.Scheduled.IsZero() {
			d.Scheduled = ev.Time // a PRN dose's events carry the request time
		}
	}
	if d.Medication == "" {
		d.Medication = ev.Medication
	}
	switch ev.Kind {
	case dispenser.KindReminder:
		if d.State.Open() {
			d.State = dispenser.StateReminding
		}
	case dispenser.KindDispenseStarted:
		d.Pressed = true
		d.State = dispenser.StateDispensing
	case dispenser.KindDispensed:
		d.Dropped, d.Dispensed = true, ev.Time
		d.State = dispenser.StateDispensed
	case dispenser.KindTaken:
		d.State, d.Taken = dispenser.StateTaken, ev.Time
		if via, ok := strings.CutPrefix(ev.Detail, "via "); ok {
			d.Pickup, _, _ = strings.Cut(via, " ")
		}
	case dispenser.KindNotTaken:
		d.LeftInCup = true
		d.State = dispenser.StateNotTaken
	case dispenser.KindMissed:
		d.State = dispenser.StateMissed
		d.Reconciled = ev.Detail == "reconciled"
	case dispenser.KindSkipped:
		d.State = dispenser.StateSkipped
		d.SkippedBy = strings.TrimPrefix(ev.Detail, "by=")
	case dispenser.KindJam:
		d.Jams++
		if !strings.HasPrefix(ev.Detail, "retry ") {
			d.State = dispenser.StateJammed
		}
	case dispenser.KindUncertain:
		d.State = dispenser.StateUncertain
	}
}

// Day is a calendar day in the patient's zone, counted from 1970-01-01:
// day arithmetic that DST cannot bend.
type Day int

// DayOf returns the local calendar day of t in loc.
func DayOf(t time.Time, loc *time.Location) Day {
	_, off := t.In(loc).Zone()
	s := t.Unix() + int64(off)
	if s < 0 {
		return Day((s - 86399) / 86400)
	}
	return Day(s / 86400)
}

// Date returns the day as a date (midnight UTC; format it, do not shift it).
func (d Day) Date() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

func (d Day) String() string { return d.Date().Format(time.DateOnly) }

// Start returns the instant the day begins in loc.
func (d Day) Start(loc *time.Location) time.Time {
	y, m, dd := d.Date().Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc)
}

// Period is a report's span of local days [From, To).
type Period struct{ From, To Day }

// PeriodOf returns the local days that the instants [from, to) touch.
func PeriodOf(from, to time.Time, loc *time.Location) Period {
	p := Period{From: DayOf(from, loc), To: DayOf(to.Add(-time.Nanosecond), loc) + 1}
	if p.To < p.From {
		p.To = p.From
	}
	return p
}

// Days is the number of days in the period.
func (p Period) Days() int { return int(p.To - p.From) }

// Contains reports whether d is in the period.
func (p Period) Contains(d Day) bool { return d >= p.From && d < p.To }

// LastDays is the period of n days ending with the day of now.
func LastDays(n int, now time.Time, loc *time.Location) Period {
	to := DayOf(now, loc) + 1
	return Period{From: to - Day(n), To: to}
}

// Span is a run of days [From, To).
type Span struct {
	From Day `json:"from"`
	To   Day `json:"to"`
}

// Days is the length of the span.
func (s Span) Days() int { return int(s.To - s.From) }

// DoseStats are the dose-level figures of a set of scheduled doses. Rates
// are fractions in [0, 1]; a rate over nothing is NaN-free: see the
// methods.
type DoseStats struct {
	Scheduled int `json:"scheduled"` // doses with an outcome (pending excluded)
	Pending   int `json:"pending"`
	Taken     int `json:"taken"`   // including late pickups and reported false misses
	OnTime    int `json:"on_time"` // taken inside the window
	Missed    int `json:"missed"`
	NotTaken  int `json:"not_taken"` // dispensed but not taken
	Skipped   int `json:"skipped"`
	Jammed    int `json:"jammed"`
	Uncertain int `json:"uncertain"`
	// RecordedMisses counts missed and not_taken as the device recorded
	// them; FalseMisses those a person marked false (counted as taken).
	RecordedMisses int `json:"recorded_misses"`
	FalseMisses    int `json:"false_misses"`
	Late           int `json:"late"` // taken after being left in the cup
	// Delay of the pickup after the scheduled time, over taken doses.
	DelayN      int           `json:"delay_n"`
	DelayMedian time.Duration `json:"delay_median_ns"`
	DelayP25    time.Duration `json:"delay_p25_ns"`
	DelayP75    time.Duration `json:"delay_p75_ns"`
	// Correct-dosing days: local days all of whose scheduled doses were
	// taken, out of the days with scheduled doses and none pending.
	CorrectDays int `json:"correct_days"`
	DosingDays  int `json:"dosing_days"`
	// Missed-dose streaks: runs of consecutive scheduled doses not taken.
	LongestMissStreak int `json:"longest_miss_streak"`
	CurrentMissStreak int `json:"current_miss_streak"`
	// Holidays are runs of three or more consecutive days with doses
	// scheduled and none taken.
	Holidays []Span `json:"holidays"`
	// JamEvents counts every jam, retries included (a retried jam may
	// still end in a taken dose).
	JamEvents int `json:"jam_events"`
	// Confidence counts the outcomes by how they were known.
	Confidence map[string]int `json:"confidence"`
}

func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// TakingRate is doses taken / doses scheduled.
func (s DoseStats) TakingRate() float64 { return ratio(s.Taken, s.Scheduled) }

// TimingRate is doses taken inside their window / doses scheduled.
func (s DoseStats) TimingRate() float64 { return ratio(s.OnTime, s.Scheduled) }

// CorrectDayRate is correct-dosing days / days with doses.
func (s DoseStats) CorrectDayRate() float64 { return ratio(s.CorrectDays, s.DosingDays) }

// FalseMissRate is misses marked false / misses recorded.
func (s DoseStats) FalseMissRate() float64 { return ratio(s.FalseMisses, s.RecordedMisses) }

// HolidayDays is the total length of the drug holidays.
func (s DoseStats) HolidayDays() int {
	n := 0
	for _, h := range s.Holidays {
		n += h.Days()
	}
	return n
}

// holidayMin is the shortest drug holiday: three days without a dose.
const holidayMin = 3

// Marks are the doses a person marked as false misses at the clinic, by
// dose id. A caregiver's SMS dispute is in the dose's facts (Dispute) and
// counts too: a dose marked both ways is one false miss.
type Marks map[string]bool

// dayTally counts one local day's scheduled doses.
type dayTally struct{ total, taken, pending int }

// Summarize computes the dose figures of the scheduled (not PRN) doses in
// ds whose scheduled time falls in p, of medication med ("" for all). ds
// must be sorted as FoldDoses returns it. late gives a medication's window
// after the scheduled time (nil, or 0 for a medication: unknown, and every
// dose taken without being left in the cup counts as on time).
func Summarize(ds []DoseFacts, p Period, loc *time.Location, med string, late func(med string) time.Duration, marks Marks) DoseStats {
	st := DoseStats{Confidence: map[string]int{}}
	var delays []time.Duration
	days := make([]dayTally, max(p.Days(), 0))
	run := 0
	for i := range ds {
		d := &ds[i]
		if d.PRN || med != "" && d.Medication != med {
			continue
		}
		day := DayOf(d.Scheduled, loc)
		if !p.Contains(day) {
			continue
		}
		dt := &days[day-p.From]
		st.JamEvents += d.Jams
		o := d.Outcome()
		if o == OutcomePending {
			st.Pending++
			dt.pending++
			continue
		}
		st.Scheduled++
		dt.total++
		falseMiss := (marks[d.ID] || d.Dispute != nil) && d.RecordedMiss()
		if c := d.Confidence(falseMiss); c != "" {
			st.Confidence[c]++
		}
		if d.RecordedMiss() {
			st.RecordedMisses++
		}
		switch {
		case falseMiss:
			st.FalseMisses++
		case o == OutcomeMissed:
			st.Missed++
		case o == OutcomeNotTaken:
			st.NotTaken++
		case o == OutcomeSkipped:
			st.Skipped++
		case o == OutcomeJammed:
			st.Jammed++
		case o == OutcomeUncertain:
			st.Uncertain++
		}
		if o != OutcomeTaken && !falseMiss {
			run++
			st.LongestMissStreak = max(st.LongestMissStreak, run)
			continue
		}
		run = 0
		st.Taken++
		dt.taken++
		if falseMiss {
			continue // no pickup time to judge
		}
		if d.LeftInCup {
			st.Late++
		}
		delay := d.Taken.Sub(d.Scheduled)
		delays = append(delays, delay)
		var w time.Duration
		if late != nil {
			w = late(d.Medication)
		}
		if !d.LeftInCup && (w == 0 || delay < w) {
			st.OnTime++
		}
	}
	st.CurrentMissStreak = run
	for _, dt := range days {
		if dt.total == 0 || dt.pending > 0 {
			continue
		}
		st.DosingDays++
		if dt.taken == dt.total {
			st.CorrectDays++
		}
	}
	st.Holidays = holidays(days, p.From)
	if len(delays) > 0 {
		slices.Sort(delays)
		st.DelayN = len(delays)
		st.DelayMedian = quantile(delays, 0.5)
		st.DelayP25 = quantile(delays, 0.25)
		st.DelayP75 = quantile(delays, 0.75)
	}
	return st
}

// holidays finds the runs of at least holidayMin consecutive days that had
// doses with an outcome and none taken. A day without any (nothing
// scheduled, or nothing recorded) ends a run: the record cannot say the
// patient went without.
func holidays(days []dayTally, from Day) []Span {
	var out []Span
	start := -1
	flush := func(end int) {
		if start >= 0 && end-start >= holidayMin {
			out = append(out, Span{From: from + Day(start), To: from + Day(end)})
		}
		start = -1
	}
	for i, dt := range days {
		if dt.total > 0 && dt.taken == 0 && dt.pending == 0 {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
	}
	flush(len(days))
	return out
}

// quantile returns the q-quantile of sorted values by linear
// interpolation between the closest ranks (the "R-7" rule of most
// spreadsheets, so a clinician can check it by hand).
func quantile[T ~int64 | ~float64](sorted []T, q float64) T {
	if len(sorted) == 0 {
		return 0
	}
	h := q * float64(len(sorted)-1)
	i := int(h)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + T(float64(sorted[i+1]-sorted[i])*(h-float64(i)))
}

// PRNStats are an as-needed medication's uses against its limits. As-needed
// doses are never counted as missed.
type PRNStats struct {
	Medication string `json:"medication"`
	Uses       int    `json:"uses"` // doses given (pills fell)
	DaysUsed   int    `json:"days_used"`
	// MaxIn24h is the most uses in any rolling 24 hours, against the
	// limit MaxPerDay; ShortestGap the shortest time between two uses,
	// against MinInterval. The device enforces both, so a figure over its
	// limit means the limits were changed or the log is not the device's.
	MaxIn24h    int           `json:"max_in_24h"`
	MaxPerDay   int           `json:"max_per_day,omitempty"`
	ShortestGap time.Duration `json:"shortest_gap_ns,omitempty"`
	MinInterval time.Duration `json:"min_interval_ns,omitempty"`
	OverLimit   bool          `json:"over_limit"`
	// Refused counts requests the limits turned down.
	Refused int `json:"refused"`
}

// SummarizePRN computes the PRN figures of each as-needed medication with
// a use or a refusal in p, in medication order. limits may be nil.
func SummarizePRN(ds []DoseFacts, evs []dispenser.Event, p Period, loc *time.Location, limits map[string]RegimenFacts) []PRNStats {
	uses := map[string][]time.Time{}
	refused := map[string]int{}
	for _, d := range ds {
		if d.PRN && d.Dropped && p.Contains(DayOf(d.Dispensed, loc)) {
			uses[d.Medication] = append(uses[d.Medication], d.Dispensed)
		}
	}
	for _, ev := range evs {
		if ev.Kind == dispenser.KindPRNRefused && p.Contains(DayOf(ev.Time, loc)) {
			refused[ev.Medication]++
		}
	}
	var meds []string
	for m := range uses {
		meds = append(meds, m)
	}
	for m := range refused {
		if _, ok := uses[m]; !ok {
			meds = append(meds, m)
		}
	}
	slices.Sort(meds)
	var out []PRNStats
	for _, m := range meds {
		ts := uses[m]
		slices.SortFunc(ts, time.Time.Compare)
		s := PRNStats{Medication: m, Uses: len(ts), Refused: refused[m]}
		if f, ok := limits[m]; ok && f.PRN != nil {
			s.MaxPerDay, s.MinInterval = f.PRN.MaxPerDay, f.PRN.MinInterval
		}
		seen := map[Day]bool{}
		lo := 0
		for i, t := range ts {
			seen[DayOf(t, loc)] = true
			for !t.Before(ts[lo].Add(24 * time.Hour)) {
				lo++
			}
			s.MaxIn24h = max(s.MaxIn24h, i-lo+1)
			if i > 0 {
				if g := t.Sub(ts[i-1]); s.ShortestGap == 0 || g < s.ShortestGap {
					s.ShortestGap = g
				}
			}
		}
		s.DaysUsed = len(seen)
		s.OverLimit = s.MaxPerDay > 0 && s.MaxIn24h > s.MaxPerDay ||
			s.MinInterval > 0 && s.Uses > 1 && s.ShortestGap < s.MinInterval
		out = append(out, s)
	}
	return out
}

// detailInt reads "key=N" from an event detail.
func detailInt(detail, key string) (int, bool) {
	for _, f := range strings.Fields(detail) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			n, err := strconv.Atoi(v)
			return n, err == nil
		}
	}
	return 0, false
}

// MarshalText writes the day as a date, 2026-03-08.
func (d Day) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a date written by MarshalText.
func (d *Day) UnmarshalText(b []byte) error {
	t, err := time.Parse(time.DateOnly, string(b))
	if err != nil {
		return fmt.Errorf("report: day: %w", err)
	}
	*d = DayOf(t, time.UTC)
	return nil
}
