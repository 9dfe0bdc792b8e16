package report

import (
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

// The fixtures below are a week of a patient in New York across the
// spring-forward day (2026-03-08, 02:00 EST -> 03:00 EDT): metformin at
// 08:00 and 20:00 (window 1 h), lisinopril at 08:00 (window 2 h) and
// paracetamol as needed (4 h apart, 4 a day). Two days the dispenser was
// off (a hospital stay): the doses it slept through are reconciled
// misses. Every expected figure is worked out by hand in the comments.

var ny = mustZone("America/New_York")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// local is a wall time in New York.
func local(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, ny)
	if err != nil {
		panic(err)
	}
	return t
}

var fixtureSetup = Setup{
	Location: ny,
	Medications: []dispenser.Medication{
		{ID: "metformin", PillsPerDose: 1, Compartment: 1, Class: "biguanide"},
		{ID: "lisinopril", PillsPerDose: 1, Compartment: 2, Class: "ACE inhibitor"},
		{ID: "paracetamol", PillsPerDose: 2, Compartment: 3, Class: "analgesic"},
		{ID: "enalapril", PillsPerDose: 1, Compartment: 4, Class: "ace inhibitor"},
	},
	Regimens: []schedule.Regimen{
		{Medication: "metformin", Cron: "0 8,20 * * *"},
		{Medication: "lisinopril", Cron: "0 8 * * *"},
		{Medication: "paracetamol", PRN: &schedule.PRN{MinInterval: 4 * time.Hour, MaxPerDay: 4}},
		{Medication: "enalapril", Cron: "0 9 * * *"},
	},
}

// dose builds the events of one scheduled dose. how is the story:
//
//	cup D      pressed D after the time, pills fell, cup lifted a minute later
//	assumed D  pressed D after, pills fell, taken assumed (no pickup sensor)
//	cup2 D E   pressed D after, cup lifted E after the time (not left in the cup)
//	late D E   pressed D after, left in the cup, lid opened E after the time
//	missed     the window closed without a press (device watching)
//	reconciled the device was off; missed on its return
//	nottaken   pressed 2 min after, pills left in the cup
//	skipped    skipped by the caregiver
//	jammed     two jams: a retry, then the final one
//	jamok D    a retried jam, then the pills fell and the cup was lifted at D
//	uncertain  interrupted mid-dispense
//	pending    only due
func dose(med, at, how string, d ...time.Duration) []dispenser.Event {
	s := local(at)
	id := med + "@" + s.Format("2006-01-02T15:04")
	ev := func(off time.Duration, k dispenser.Kind, detail string) dispenser.Event {
		return dispenser.Event{Time: s.Add(off).UTC(), Kind: k, DoseID: id, Medication: med, Scheduled: s.UTC(), Detail: detail}
	}
	due := ev(0, dispenser.KindDoseDue, "")
	switch how {
	case "cup":
		return []dispenser.Event{due, ev(d[0], dispenser.KindDispenseStarted, "pills=1"), ev(d[0], dispenser.KindDispensed, ""),
			ev(d[0]+time.Minute, dispenser.KindTaken, "via cup_lifted")}
	case "assumed":
		return []dispenser.Event{due, ev(d[0], dispenser.KindDispenseStarted, ""), ev(d[0], dispenser.KindDispensed, ""),
			ev(d[0], dispenser.KindTaken, "assumed: no cup or lid sensor")}
	case "cup2":
		return []dispenser.Event{due, ev(d[0], dispenser.KindDispenseStarted, ""), ev(d[0], dispenser.KindDispensed, ""),
			ev(d[1], dispenser.KindTaken, "via cup_lifted")}
	case "late":
		return []dispenser.Event{due, ev(d[0], dispenser.KindDispenseStarted, ""), ev(d[0], dispenser.KindDispensed, ""),
			ev(d[0]+30*time.Minute, dispenser.KindNotTaken, ""), ev(d[1], dispenser.KindTaken, "via lid_opened late")}
	case "missed":
		return []dispenser.Event{due, ev(time.Hour, dispenser.KindReminder, "step=1"), ev(2*time.Hour, dispenser.KindMissed, "")}
	case "reconciled":
		return []dispenser.Event{ev(50*time.Hour, dispenser.KindMissed, "reconciled")}
	case "nottaken":
		return []dispenser.Event{due, ev(2*time.Minute, dispenser.KindDispenseStarted, ""), ev(2*time.Minute, dispenser.KindDispensed, ""),
			ev(32*time.Minute, dispenser.KindNotTaken, "")}
	case "skipped":
		return []dispenser.Event{due, ev(10*time.Minute, dispenser.KindSkipped, "by=caregiver")}
	case "jammed":
		return []dispenser.Event{due, ev(time.Minute, dispenser.KindDispenseStarted, ""),
			ev(2*time.Minute, dispenser.KindJam, "retry attempt=1"), ev(2*time.Minute, dispenser.KindJam, "pills=0 expected=1 left=20")}
	case "jamok":
		return []dispenser.Event{due, ev(time.Minute, dispenser.KindDispenseStarted, ""),
			ev(time.Minute, dispenser.KindJam, "retry attempt=1"), ev(time.Minute, dispenser.KindDispensed, ""),
			ev(d[0], dispenser.KindTaken, "via cup_lifted")}
	case "uncertain":
		return []dispenser.Event{due, ev(time.Minute, dispenser.KindDispenseStarted, ""),
			ev(3*time.Hour, dispenser.KindUncertain, "interrupted mid-dispense")}
	case "pending":
		return []dispenser.Event{due}
	}
	panic("dose: unknown story " + how)
}

func prn(med, at string) []dispenser.Event {
	s := local(at)
	id := "prn:" + med + "@" + s.Format("2006-01-02T15:04")
	return []dispenser.Event{
		{Time: s.UTC(), Kind: dispenser.KindDispenseStarted, DoseID: id, Medication: med, Scheduled: s.UTC()},
		{Time: s.UTC(), Kind: dispenser.KindDispensed, DoseID: id, Medication: med, Scheduled: s.UTC()},
		{Time: s.Add(time.Minute).UTC(), Kind: dispenser.KindTaken, DoseID: id, Medication: med, Scheduled: s.UTC(), Detail: "via cup_lifted"},
	}
}

func join(parts ...[]dispenser.Event) []dispenser.Event {
	var out []dispenser.Event
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

const m = time.Minute

// week is the fixture week, Fri 2026-03-06 to Thu 03-12.
func week() []dispenser.Event {
	return join(
		// Fri: all taken; the evening one without a pickup sensor.
		dose("metformin", "2026-03-06 08:00", "cup", 4*m), // taken 5 min after
		dose("lisinopril", "2026-03-06 08:00", "cup", 4*m),
		prn("paracetamol", "2026-03-06 10:00"),
		prn("paracetamol", "2026-03-06 14:30"),
		dose("metformin", "2026-03-06 20:00", "assumed", 50*m),
		// Sat: a miss the caregiver says was false; lisinopril left in the
		// cup and taken 3 h late; the evening pills never picked up.
		dose("metformin", "2026-03-07 08:00", "missed"),
		dose("lisinopril", "2026-03-07 08:00", "late", 10*m, 180*m),
		prn("paracetamol", "2026-03-07 09:00"),
		[]dispenser.Event{{Time: local("2026-03-07 10:00").UTC(), Kind: dispenser.KindPRNRefused, Medication: "paracetamol",
			Detail: "reason=max_per_day"}},
		dose("metformin", "2026-03-07 20:00", "nottaken"), // 01:00 UTC on the 8th: still Saturday
		// Sun, spring forward: 08:00 is EDT now.
		dose("metformin", "2026-03-08 08:00", "cup", 19*m),        // 20 min
		dose("lisinopril", "2026-03-08 08:00", "skipped"),         //
		dose("metformin", "2026-03-08 20:00", "cup2", 55*m, 65*m), // picked up past the window
		// Mon, Tue: in hospital, dispenser unplugged until Tue evening.
		dose("lisinopril", "2026-03-09 08:00", "reconciled"),
		dose("metformin", "2026-03-09 08:00", "reconciled"),
		dose("metformin", "2026-03-09 20:00", "reconciled"),
		dose("lisinopril", "2026-03-10 08:00", "reconciled"),
		dose("metformin", "2026-03-10 08:00", "reconciled"),
		dose("metformin", "2026-03-10 20:00", "missed"),
		// Wed: home, unwell; a jam and an interrupted dispense.
		dose("lisinopril", "2026-03-11 08:00", "jammed"),
		dose("metformin", "2026-03-11 08:00", "missed"),
		dose("metformin", "2026-03-11 20:00", "uncertain"),
		// Thu: back on track; the evening dose is still open.
		dose("lisinopril", "2026-03-12 08:00", "cup", 14*m), // 15 min
		dose("metformin", "2026-03-12 08:00", "jamok", 4*m),
		dose("metformin", "2026-03-12 20:00", "pending"),
	)
}

var weekPeriod = Period{From: DayOf(local("2026-03-06 00:00"), ny), To: DayOf(local("2026-03-13 00:00"), ny)}

func day(s string) Day { return DayOf(local(s+" 12:00"), ny) }

func TestSummarizeWeek(t *testing.T) {
	ds := FoldDoses(week())
	facts := fixtureSetup.Facts(local("2026-03-01 00:00"))
	late := func(med string) time.Duration { return facts[med].Late }
	marks := Marks{"metformin@2026-03-07T08:00": true}
	tests := []struct {
		name string
		med  string
		want DoseStats
	}{
		{
			// 20 doses with an outcome (the Thursday evening one pending).
			// Taken 9: Fri 3; Sat lisinopril (late) and the false miss;
			// Sun 2; Thu 2. Missed 7: Mon 3, Tue 3, Wed 1 (Saturday's
			// was marked false). On time 6: Fri 3 (5, 5, 50 min), Sun
			// morning (20 min), Thu 2; Sunday evening was picked up at
			// 65 min, past the 1 h window, Saturday's lisinopril was
			// left in the cup. Delays of the 8 taken with a pickup, in
			// minutes: 4 5 5 15 20 50 65 180: median 15+(20-15)/2 = 17.5,
			// p25 5, p75 50+(65-50)/4 = 53.75. Correct days: only Friday
			// of 6 (Thursday has a pending dose). Doses in order (same
			// time: lisinopril first): Sat metformin 20:00, Sun
			// lisinopril skipped, then Mon..Wed (9 doses) unbroken by a
			// taken one: longest streak 9. Holidays: Mon-Wed, 3 days.
			// Jams: 2 on Wednesday, 1 retry on Thursday. Confidence:
			// high = 7 taken with three signals, 2 live misses (Tue
			// evening, Wed morning), the skip; medium = the assumed
			// pickup and the pills left in the cup; low = 5 reconciled,
			// the jam, the interrupted one; reported = the false miss.
			name: "all medications",
			want: DoseStats{Scheduled: 20, Pending: 1, Taken: 9, OnTime: 6, Missed: 7, NotTaken: 1, Skipped: 1,
				Jammed: 1, Uncertain: 1, RecordedMisses: 9, FalseMisses: 1, Late: 1,
				DelayN: 8, DelayMedian: 17*m + 30*time.Second, DelayP25: 5 * m, DelayP75: 53*m + 45*time.Second,
				CorrectDays: 1, DosingDays: 6, LongestMissStreak: 9, CurrentMissStreak: 0,
				Holidays:  []Span{{day("2026-03-09"), day("2026-03-12")}},
				JamEvents: 3, Confidence: map[string]int{"high": 10, "medium": 2, "low": 7, "reported": 1}},
		},
		{
			// Lisinopril: 7 doses, taken Fri, Sat (late), Thu; on time Fri
			// (5 min) and Thu (15 min) inside the 2 h window. Sun skipped,
			// Mon and Tue reconciled, Wed jammed: a 4-day holiday and a
			// 4-dose streak. Correct days Fri, Sat, Thu of 7.
			name: "lisinopril",
			med:  "lisinopril",
			want: DoseStats{Scheduled: 7, Taken: 3, OnTime: 2, Missed: 2, Skipped: 1, Jammed: 1, RecordedMisses: 2, Late: 1,
				DelayN: 3, DelayMedian: 15 * m, DelayP25: 10 * m, DelayP75: 97*m + 30*time.Second,
				CorrectDays: 3, DosingDays: 7, LongestMissStreak: 4,
				Holidays:  []Span{{day("2026-03-08"), day("2026-03-12")}},
				JamEvents: 2, Confidence: map[string]int{"high": 4, "low": 3}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Summarize(ds, weekPeriod, ny, tc.med, late, marks)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Summarize(week, %q) =\n%+v\nwant\n%+v", tc.med, got, tc.want)
			}
		})
	}
	t.Run("rates", func(t *testing.T) {
		s := Summarize(ds, weekPeriod, ny, "", late, marks)
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"taking", s.TakingRate(), 9.0 / 20}, {"timing", s.TimingRate(), 6.0 / 20},
			{"correct days", s.CorrectDayRate(), 1.0 / 6}, {"false misses", s.FalseMissRate(), 1.0 / 9},
		} {
			if math.Abs(c.got-c.want) > 1e-12 {
				t.Errorf("%s rate = %v, want %v", c.name, c.got, c.want)
			}
		}
	})
}

func TestFoldDosesDST(t *testing.T) {
	ds := FoldDoses(week())
	tests := []struct {
		id      string
		wantDay string
		wantUTC string
		signals []string
		conf    string
	}{
		// Saturday 20:00 EST is 01:00 UTC on Sunday: the local day counts.
		{"metformin@2026-03-07T20:00", "2026-03-07", "2026-03-08T01:00:00Z", []string{"button", "drop"}, "medium"},
		// Sunday 08:00 is EDT, four hours behind UTC.
		{"metformin@2026-03-08T08:00", "2026-03-08", "2026-03-08T12:00:00Z", []string{"button", "drop", "cup"}, "high"},
		{"lisinopril@2026-03-07T08:00", "2026-03-07", "2026-03-07T13:00:00Z", []string{"button", "drop", "lid"}, "high"},
		{"metformin@2026-03-06T20:00", "2026-03-06", "2026-03-07T01:00:00Z", []string{"button", "drop"}, "medium"},
		{"metformin@2026-03-09T08:00", "2026-03-09", "2026-03-09T12:00:00Z", nil, "low"},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			for _, d := range ds {
				if d.ID != tc.id {
					continue
				}
				if got := DayOf(d.Scheduled, ny).String(); got != tc.wantDay {
					t.Errorf("day = %s, want %s", got, tc.wantDay)
				}
				if got := d.Scheduled.Format(time.RFC3339); got != tc.wantUTC {
					t.Errorf("scheduled = %s, want %s", got, tc.wantUTC)
				}
				if got := d.Signals(); !reflect.DeepEqual(got, tc.signals) {
					t.Errorf("signals = %v, want %v", got, tc.signals)
				}
				if got := d.Confidence(false); got != tc.conf {
					t.Errorf("confidence = %s, want %s", got, tc.conf)
				}
				return
			}
			t.Fatalf("dose %s not folded", tc.id)
		})
	}
	if n := len(ds); n != 24 {
		t.Errorf("FoldDoses(week) gives %d doses, want 24 (20 with an outcome, 1 pending, 3 PRN)", n)
	}
}

func TestPeriodDST(t *testing.T) {
	tests := []struct {
		name     string
		from, to time.Time
		want     int
	}{
		{"week across spring forward", local("2026-03-06 00:00"), local("2026-03-13 00:00"), 7},
		{"the short day alone", local("2026-03-08 00:00"), local("2026-03-09 00:00"), 1},
		{"fall back day alone", local("2026-11-01 00:00"), local("2026-11-02 00:00"), 1},
		{"to mid-day includes that day", local("2026-03-06 00:00"), local("2026-03-08 12:00"), 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := PeriodOf(tc.from, tc.to, ny).Days(); got != tc.want {
				t.Errorf("PeriodOf(%v, %v).Days() = %d, want %d", tc.from, tc.to, got, tc.want)
			}
		})
	}
}

func TestSummarizePRN(t *testing.T) {
	evs := week()
	facts := fixtureSetup.Facts(local("2026-03-01 00:00"))
	got := SummarizePRN(FoldDoses(evs), evs, weekPeriod, ny, facts)
	// Uses Fri 10:00, Fri 14:30, Sat 09:00: three within 24 h of Fri
	// 10:00; shortest gap 4 h 30; one refusal on Saturday.
	want := []PRNStats{{Medication: "paracetamol", Uses: 3, DaysUsed: 2, MaxIn24h: 3, MaxPerDay: 4,
		ShortestGap: 4*time.Hour + 30*m, MinInterval: 4 * time.Hour, Refused: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SummarizePRN(week) =\n%+v\nwant\n%+v", got, want)
	}
	// PRN doses are never scheduled doses.
	if s := Summarize(FoldDoses(evs), weekPeriod, ny, "paracetamol", nil, nil); s.Scheduled != 0 || s.Missed != 0 {
		t.Errorf("Summarize(paracetamol) = %d scheduled, %d missed, want none", s.Scheduled, s.Missed)
	}
}

func TestFactsWindows(t *testing.T) {
	facts := fixtureSetup.Facts(local("2026-03-01 00:00"))
	tests := []struct {
		med         string
		early, late time.Duration
		perDay      float64
		prn         bool
	}{
		{"metformin", time.Hour, time.Hour, 2, false},
		{"lisinopril", 2 * time.Hour, 2 * time.Hour, 1, false},
		{"paracetamol", 0, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.med, func(t *testing.T) {
			f := facts[tc.med]
			if f.Early != tc.early || f.Late != tc.late || math.Abs(f.DosesPerDay-tc.perDay) > 1e-9 || (f.PRN != nil) != tc.prn {
				t.Errorf("Facts[%s] = %+v, want window -%v/+%v, %v a day, prn %v", tc.med, f, tc.early, tc.late, tc.perDay, tc.prn)
			}
		})
	}
}

func TestSummarizePanel(t *testing.T) {
	evs := week()
	// Thursday evening: the last 7 days are the fixture week. Without
	// marks: taken 8 of 20 (the false miss is not marked on the panel).
	// Weeks of 7 days ending Thursday: the one before has no doses.
	got := SummarizePanel(evs, ny, local("2026-03-12 20:30"), 7, 2)
	want := PanelStats{Taking: 8.0 / 20, Scheduled: 20, Missed: 12, Weekly: []float64{-1, 8.0 / 20},
		LastDose: local("2026-03-12 08:15").UTC()}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SummarizePanel(week) = %+v, want %+v", got, want)
	}
}

// disputeEv is a caregiver's TAKEN reply as the notifier logs it.
func disputeEv(at, detail string) dispenser.Event {
	return dispenser.Event{Time: local(at).UTC(), Kind: notify.KindMissDisputed, Compartment: 1, Detail: detail}
}

// A caregiver's SMS dispute (miss_disputed) of a recorded miss counts as a
// false miss, as a clinic mark does, and once when both exist.
func TestCaregiverDisputes(t *testing.T) {
	const sat, tue = "metformin@2026-03-07T08:00", "metformin@2026-03-10T20:00"
	by := func(dose string) string { return "dose=" + dose + " by=caregiver1 reason=caregiver reply" }
	facts := fixtureSetup.Facts(local("2026-03-01 00:00"))
	late := func(med string) time.Duration { return facts[med].Late }
	type figures struct{ Taken, Missed, RecordedMisses, FalseMisses, Reported, LongestMissStreak int }
	tests := []struct {
		name     string
		marks    Marks
		disputes []dispenser.Event
		want     figures
	}{
		// The week has 9 recorded misses (8 missed, 1 left in the cup).
		{"nothing marked", nil, nil, figures{8, 8, 9, 0, 0, 9}},
		{"clinic mark", Marks{sat: true}, nil, figures{9, 7, 9, 1, 1, 9}},
		{"SMS dispute", nil, []dispenser.Event{disputeEv("2026-03-07 11:00", by(sat))}, figures{9, 7, 9, 1, 1, 9}},
		{"both on one dose: counted once", Marks{sat: true},
			[]dispenser.Event{disputeEv("2026-03-07 11:00", by(sat))}, figures{9, 7, 9, 1, 1, 9}},
		{"the same dose disputed twice", nil,
			[]dispenser.Event{disputeEv("2026-03-07 11:00", by(sat)), disputeEv("2026-03-07 12:00", by(sat))}, figures{9, 7, 9, 1, 1, 9}},
		// Tuesday evening's, counted taken, breaks the 9-dose run of Mon
		// to Wed: Mon 3 and Tue morning 2, then Wed 3.
		{"mark and dispute on two doses", Marks{sat: true},
			[]dispenser.Event{disputeEv("2026-03-10 23:00", by(tue))}, figures{10, 6, 9, 2, 2, 5}},
		{"a taken dose disputed: nothing", nil,
			[]dispenser.Event{disputeEv("2026-03-06 11:00", by("metformin@2026-03-06T08:00"))}, figures{8, 8, 9, 0, 0, 9}},
		{"a dose not in the log: nothing", nil,
			[]dispenser.Event{disputeEv("2026-03-07 11:00", by("metformin@2026-03-07T09:00"))}, figures{8, 8, 9, 0, 0, 9}},
		{"an unreadable detail: nothing", nil,
			[]dispenser.Event{disputeEv("2026-03-07 11:00", "dose="+sat), disputeEv("2026-03-07 11:00", "by=caregiver1 dose="+sat+" reason=x")},
			figures{8, 8, 9, 0, 0, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := FoldDoses(join(week(), tt.disputes))
			s := Summarize(ds, weekPeriod, ny, "", late, tt.marks)
			got := figures{s.Taken, s.Missed, s.RecordedMisses, s.FalseMisses, s.Confidence[ConfidenceReported], s.LongestMissStreak}
			if got != tt.want {
				t.Errorf("Summarize(week + disputes, marks %v) = %+v, want %+v", tt.marks, got, tt.want)
			}
		})
	}
}

// The report's dose rows say who marked a false miss: the clinic's mark
// first, else the caregiver's SMS dispute.
func TestDisputeInReport(t *testing.T) {
	const sat = "metformin@2026-03-07T08:00"
	dispute := disputeEv("2026-03-07 11:00", "dose="+sat+" by=caregiver2 reason=caregiver reply")
	clinic := FalseMiss{Reason: "blister pack", By: "u1", Source: "clinician", At: local("2026-03-08 09:00")}
	sms := FalseMiss{Reason: "caregiver reply", By: "caregiver2", Source: SourceCaregiverSMS, At: local("2026-03-07 11:00").UTC()}
	tests := []struct {
		name  string
		marks map[string]FalseMiss
		want  FalseMiss
	}{
		{"SMS only", nil, sms},
		{"clinic mark wins", map[string]FalseMiss{sat: clinic}, clinic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := week()
			// In time order: after Saturday 08:00's events.
			i := slices.IndexFunc(evs, func(ev dispenser.Event) bool { return ev.Time.After(dispute.Time) })
			evs = slices.Insert(evs, i, dispute)
			r := Build(Input{Setup: fixtureSetup, Events: evs, Marks: tt.marks,
				From: local("2026-03-06 00:00"), To: local("2026-03-13 00:00")})
			j := slices.IndexFunc(r.Doses, func(d DoseRow) bool { return d.ID == sat })
			if j < 0 {
				t.Fatalf("report has no row for %s", sat)
			}
			row := r.Doses[j]
			if row.FalseMiss == nil || *row.FalseMiss != tt.want || row.Confidence != ConfidenceReported {
				t.Errorf("row %s: FalseMiss = %+v, confidence %q; want %+v, %q", sat, row.FalseMiss, row.Confidence, tt.want, ConfidenceReported)
			}
			if r.Overall.FalseMisses != 1 {
				t.Errorf("Overall.FalseMisses = %d, want 1", r.Overall.FalseMisses)
			}
		})
	}
}
