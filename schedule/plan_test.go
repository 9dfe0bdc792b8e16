package schedule

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

func mustPlan(t testing.TB, loc *time.Location, regs ...Regimen) *Plan {
	t.Helper()
	p, err := NewPlan(regs, loc)
	if err != nil {
		t.Fatalf("NewPlan(%+v): %v", regs, err)
	}
	return p
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// localDay returns [00:00, 24:00) of day (YYYY-MM-DD) in loc as instants.
func localDay(t testing.TB, day string, loc *time.Location) (time.Time, time.Time) {
	t.Helper()
	d, err := time.ParseInLocation("2006-01-02", day, loc)
	if err != nil {
		t.Fatal(err)
	}
	return d, d.AddDate(0, 0, 1)
}

func TestResolve(t *testing.T) {
	tests := []struct {
		zone, wall, want string
	}{
		// Spring forward: a skipped wall time happens at the end of the gap.
		{"America/New_York", "2025-03-09T02:30", "2025-03-09T07:00:00Z"},
		{"America/New_York", "2025-03-09T02:00", "2025-03-09T07:00:00Z"},
		{"America/New_York", "2025-03-09T01:59", "2025-03-09T06:59:00Z"},
		{"America/New_York", "2025-03-09T03:00", "2025-03-09T07:00:00Z"},
		{"Europe/London", "2025-03-30T01:30", "2025-03-30T01:00:00Z"},
		{"Australia/Sydney", "2025-10-05T02:30", "2025-10-04T16:00:00Z"},
		{"Australia/Lord_Howe", "2025-10-05T02:15", "2025-10-04T15:30:00Z"},
		// Fall back: a repeated wall time happens once, at its first occurrence.
		{"America/New_York", "2025-11-02T01:30", "2025-11-02T05:30:00Z"},
		{"America/New_York", "2025-11-02T01:00", "2025-11-02T05:00:00Z"},
		{"America/New_York", "2025-11-02T02:00", "2025-11-02T07:00:00Z"},
		{"Europe/London", "2025-10-26T01:30", "2025-10-26T00:30:00Z"},
		{"Australia/Sydney", "2025-04-06T02:30", "2025-04-05T15:30:00Z"},
		{"Australia/Lord_Howe", "2025-04-06T01:45", "2025-04-05T14:45:00Z"},
		// Ordinary times.
		{"Asia/Kolkata", "2025-03-09T02:30", "2025-03-08T21:00:00Z"},
		{"UTC", "2025-03-09T02:30", "2025-03-09T02:30:00Z"},
		{"Pacific/Apia", "2011-12-30T12:00", "2011-12-30T10:00:00Z"}, // Samoa skipped the whole day
	}
	for _, tt := range tests {
		t.Run(tt.zone+"/"+tt.wall, func(t *testing.T) {
			loc := mustLoad(t, tt.zone)
			w, err := time.Parse(wallFormat, tt.wall)
			if err != nil {
				t.Fatal(err)
			}
			if got := resolve(w, loc); !got.Equal(utc(tt.want)) {
				t.Errorf("resolve(%s, %s) = %s, want %s", tt.wall, tt.zone, got.UTC().Format(time.RFC3339), tt.want)
			}
		})
	}
}

// dstMatrix is, per zone and day, where each dose time lands that day.
var dstMatrix = []struct {
	zone, day string
	want      map[string][]string // cron -> instants (UTC) of that day's doses
}{
	{"America/New_York", "2025-03-09", map[string][]string{ // 02:00 EST -> 03:00 EDT
		"30 1 * * *":   {"2025-03-09T06:30:00Z"},
		"30 2 * * *":   {"2025-03-09T07:00:00Z"}, // shifted to 03:00 EDT
		"59 23 * * *":  {"2025-03-10T03:59:00Z"},
		"0 8,20 * * *": {"2025-03-09T12:00:00Z", "2025-03-10T00:00:00Z"},
	}},
	{"America/New_York", "2025-11-02", map[string][]string{ // 02:00 EDT -> 01:00 EST
		"30 1 * * *":   {"2025-11-02T05:30:00Z"}, // once, at 01:30 EDT
		"30 2 * * *":   {"2025-11-02T07:30:00Z"},
		"59 23 * * *":  {"2025-11-03T04:59:00Z"},
		"0 8,20 * * *": {"2025-11-02T13:00:00Z", "2025-11-03T01:00:00Z"},
	}},
	{"Europe/London", "2025-03-30", map[string][]string{ // 01:00 GMT -> 02:00 BST
		"30 1 * * *":   {"2025-03-30T01:00:00Z"}, // shifted to 02:00 BST
		"30 2 * * *":   {"2025-03-30T01:30:00Z"},
		"59 23 * * *":  {"2025-03-30T22:59:00Z"},
		"0 8,20 * * *": {"2025-03-30T07:00:00Z", "2025-03-30T19:00:00Z"},
	}},
	{"Europe/London", "2025-10-26", map[string][]string{ // 02:00 BST -> 01:00 GMT
		"30 1 * * *":   {"2025-10-26T00:30:00Z"}, // once, at 01:30 BST
		"30 2 * * *":   {"2025-10-26T02:30:00Z"},
		"59 23 * * *":  {"2025-10-26T23:59:00Z"},
		"0 8,20 * * *": {"2025-10-26T08:00:00Z", "2025-10-26T20:00:00Z"},
	}},
	{"Australia/Sydney", "2025-04-06", map[string][]string{ // 03:00 AEDT -> 02:00 AEST
		"30 1 * * *":   {"2025-04-05T14:30:00Z"},
		"30 2 * * *":   {"2025-04-05T15:30:00Z"}, // once, at 02:30 AEDT
		"59 23 * * *":  {"2025-04-06T13:59:00Z"},
		"0 8,20 * * *": {"2025-04-05T22:00:00Z", "2025-04-06T10:00:00Z"},
	}},
	{"Australia/Sydney", "2025-10-05", map[string][]string{ // 02:00 AEST -> 03:00 AEDT
		"30 1 * * *":   {"2025-10-04T15:30:00Z"},
		"30 2 * * *":   {"2025-10-04T16:00:00Z"}, // shifted to 03:00 AEDT
		"59 23 * * *":  {"2025-10-05T12:59:00Z"},
		"0 8,20 * * *": {"2025-10-04T21:00:00Z", "2025-10-05T09:00:00Z"},
	}},
	{"Australia/Lord_Howe", "2025-04-06", map[string][]string{ // 02:00 +11 -> 01:30 +1030
		"30 1 * * *":   {"2025-04-05T14:30:00Z"}, // once, at 01:30 +11
		"45 1 * * *":   {"2025-04-05T14:45:00Z"},
		"30 2 * * *":   {"2025-04-05T16:00:00Z"},
		"59 23 * * *":  {"2025-04-06T13:29:00Z"},
		"0 8,20 * * *": {"2025-04-05T21:30:00Z", "2025-04-06T09:30:00Z"},
	}},
	{"Australia/Lord_Howe", "2025-10-05", map[string][]string{ // 02:00 +1030 -> 02:30 +11
		"30 1 * * *":   {"2025-10-04T15:00:00Z"},
		"15 2 * * *":   {"2025-10-04T15:30:00Z"}, // shifted to 02:30 +11
		"30 2 * * *":   {"2025-10-04T15:30:00Z"},
		"59 23 * * *":  {"2025-10-05T12:59:00Z"},
		"0 8,20 * * *": {"2025-10-04T21:00:00Z", "2025-10-05T09:00:00Z"},
	}},
	{"Asia/Kolkata", "2025-03-09", map[string][]string{
		"30 1 * * *":   {"2025-03-08T20:00:00Z"},
		"30 2 * * *":   {"2025-03-08T21:00:00Z"},
		"59 23 * * *":  {"2025-03-09T18:29:00Z"},
		"0 8,20 * * *": {"2025-03-09T02:30:00Z", "2025-03-09T14:30:00Z"},
	}},
	{"UTC", "2025-03-09", map[string][]string{
		"30 1 * * *":   {"2025-03-09T01:30:00Z"},
		"30 2 * * *":   {"2025-03-09T02:30:00Z"},
		"59 23 * * *":  {"2025-03-09T23:59:00Z"},
		"0 8,20 * * *": {"2025-03-09T08:00:00Z", "2025-03-09T20:00:00Z"},
	}},
}

func TestDSTMatrix(t *testing.T) {
	for _, z := range dstMatrix {
		for spec, want := range z.want {
			t.Run(z.zone+"/"+z.day+"/"+spec, func(t *testing.T) {
				loc := mustLoad(t, z.zone)
				p := mustPlan(t, loc, Regimen{Medication: "med", Cron: spec})
				from, to := localDay(t, z.day, loc)
				// Ask for a wide span and pick the doses intended for the day:
				// a shifted dose may land outside the day's own instants.
				var got []string
				for _, o := range p.Between(from.Add(-48*time.Hour), to.Add(48*time.Hour)) {
					if strings.HasPrefix(o.Local, z.day) {
						got = append(got, o.At.Format(time.RFC3339))
						if wantID := "med@" + o.Local; o.ID != wantID {
							t.Errorf("ID = %q, want %q", o.ID, wantID)
						}
						win := 2 * time.Hour
						if len(want) > 1 {
							win = time.Hour
						}
						if !o.Opens.Equal(o.At.Add(-win)) || !o.Closes.Equal(o.At.Add(win)) {
							t.Errorf("%s window = [%s, %s), want %s each side of %s", o.ID, o.Opens, o.Closes, win, o.At)
						}
					}
				}
				if !slices.Equal(got, want) {
					t.Errorf("doses of %s on %s in %s = %v, want %v", spec, z.day, z.zone, got, want)
				}
			})
		}
	}
}

// TestYearProperties checks a whole year per zone and dose time: exactly one
// dose per intended local time, ids unique and in order, and each instant
// either reads the intended wall time (its first occurrence) or is the end
// of the gap that swallowed it.
func TestYearProperties(t *testing.T) {
	zones := []string{"America/New_York", "Europe/London", "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"}
	specs := []struct {
		cron    string
		perDay  int
		minutes []int // wall time of each daily dose, minutes after midnight
	}{
		{"30 1 * * *", 1, []int{90}},
		{"15 2 * * *", 1, []int{135}},
		{"30 2 * * *", 1, []int{150}},
		{"59 23 * * *", 1, []int{1439}},
		{"0 8,20 * * *", 2, []int{480, 1200}},
	}
	for _, zone := range zones {
		for _, sp := range specs {
			t.Run(zone+"/"+sp.cron, func(t *testing.T) {
				loc := mustLoad(t, zone)
				p := mustPlan(t, loc, Regimen{Medication: "med", Cron: sp.cron})
				from := time.Date(2025, 1, 1, 0, 0, 0, 0, loc)
				to := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
				occ := p.Between(from, to)
				if want := 365 * sp.perDay; len(occ) != want {
					t.Fatalf("Between(2025) has %d doses, want %d", len(occ), want)
				}
				seen := map[string]bool{}
				for i, o := range occ {
					if seen[o.ID] {
						t.Errorf("duplicate id %s", o.ID)
					}
					seen[o.ID] = true
					if i > 0 && o.At.Before(occ[i-1].At) {
						t.Errorf("%s at %s comes before %s", o.ID, o.At, occ[i-1].ID)
					}
					wall, err := time.Parse(wallFormat, o.Local)
					if err != nil {
						t.Fatalf("Local %q: %v", o.Local, err)
					}
					if m := wall.Hour()*60 + wall.Minute(); !slices.Contains(sp.minutes, m) {
						t.Errorf("%s: Local %s is not a scheduled time", o.ID, o.Local)
					}
					checkInstant(t, o.ID, wall, o.At, loc)
				}
				for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
					for _, m := range sp.minutes {
						id := fmt.Sprintf("med@%sT%02d:%02d", d.Format("2006-01-02"), m/60, m%60)
						if !seen[id] {
							t.Errorf("no dose %s", id)
						}
					}
				}
			})
		}
	}
}

// checkInstant fails unless at is the right instant for the wall time.
func checkInstant(t *testing.T, id string, wall, at time.Time, loc *time.Location) {
	t.Helper()
	reads := naive(at.In(loc))
	if reads.Equal(wall) {
		// The first occurrence: no earlier instant may read the same.
		for k := 1; k <= 4; k++ {
			if earlier := at.Add(-time.Duration(k) * 30 * time.Minute); naive(earlier.In(loc)).Equal(wall) {
				t.Errorf("%s at %s, but %s reads the same wall time earlier", id, at, earlier)
			}
		}
		return
	}
	// Skipped: at must be a transition, with the wall time inside its gap.
	start, _ := at.In(loc).ZoneBounds()
	before := naive(at.Add(-time.Nanosecond).In(loc))
	if !start.Equal(at) || !reads.After(wall) || !before.Before(wall) {
		t.Errorf("%s at %s reads %s: neither the wall time nor the end of a gap containing it", id, at, reads)
	}
}

// TestBetweenPartition is what makes restarts and clock jumps safe: asking
// for consecutive intervals yields every dose exactly once, with the same ids
// as asking for the whole span at once.
func TestBetweenPartition(t *testing.T) {
	for _, zone := range []string{"America/New_York", "Australia/Lord_Howe"} {
		t.Run(zone, func(t *testing.T) {
			loc := mustLoad(t, zone)
			p := mustPlan(t, loc,
				Regimen{Medication: "a", Cron: "30 1,2 * * *", Window: 15 * time.Minute},
				Regimen{Medication: "b", Cron: "0 2 * * *"},
				Regimen{Medication: "c", Cron: "15 2 * * *"},
			)
			// Both of each zone's 2025 transitions fall in [March, November).
			from := utc("2025-03-01T00:00:00Z")
			to := utc("2025-11-06T00:00:00Z")
			whole := p.Between(from, to)
			var pieces []Occurrence
			for a := from; a.Before(to); {
				b := a.Add(97 * time.Minute)
				if b.After(to) {
					b = to
				}
				pieces = append(pieces, p.Between(a, b)...)
				a = b
			}
			if !slices.Equal(whole, pieces) {
				t.Fatalf("Between in 97-minute pieces gave %d doses, want the %d of one call", len(pieces), len(whole))
			}
			var missed []Occurrence
			for a := from; a.Before(to); {
				b := a.Add(143 * time.Minute)
				if b.After(to) {
					b = to
				}
				missed = append(missed, p.Missed(a, b)...)
				a = b
			}
			// Pieces come in order of closing, one call in order of At.
			slices.SortFunc(missed, compareOccurrences)
			if got := p.Missed(from, to); !slices.Equal(missed, got) {
				t.Fatalf("Missed in pieces gave %d doses, want %d", len(missed), len(got))
			}
		})
	}
}

func TestNextAndGroups(t *testing.T) {
	loc := mustLoad(t, "America/New_York")
	p := mustPlan(t, loc,
		Regimen{Medication: "metformin", Cron: "0 8,20 * * *"},
		Regimen{Medication: "aspirin", Cron: "0 8 * * *"},
		Regimen{Medication: "warfarin", Cron: "30 2 * * *"},
		Regimen{Medication: "ibuprofen", PRN: &PRN{MinInterval: 4 * time.Hour, MaxPerDay: 4}},
	)
	tests := []struct {
		after  string
		wantID string
		wantAt string
	}{
		{"2025-03-09T06:59:00Z", "warfarin@2025-03-09T02:30", "2025-03-09T07:00:00Z"},
		{"2025-03-09T07:00:00Z", "aspirin@2025-03-09T08:00", "2025-03-09T12:00:00Z"}, // strictly after
		{"2025-03-09T12:00:00Z", "metformin@2025-03-09T20:00", "2025-03-10T00:00:00Z"},
		{"2025-03-09T11:59:59Z", "aspirin@2025-03-09T08:00", "2025-03-09T12:00:00Z"}, // tie: by medication
	}
	for _, tt := range tests {
		got, ok := p.Next(utc(tt.after))
		if !ok || got.ID != tt.wantID || !got.At.Equal(utc(tt.wantAt)) {
			t.Errorf("Next(%s) = %s at %s (%v), want %s at %s", tt.after, got.ID, got.At, ok, tt.wantID, tt.wantAt)
		}
	}
	occ := p.Between(utc("2025-03-09T05:00:00Z"), utc("2025-03-10T05:00:00Z"))
	groups := GroupByAt(occ)
	var got []string
	for _, g := range groups {
		var ids []string
		for _, o := range g {
			ids = append(ids, o.ID)
		}
		got = append(got, strings.Join(ids, "+"))
	}
	want := []string{"warfarin@2025-03-09T02:30", "aspirin@2025-03-09T08:00+metformin@2025-03-09T08:00", "metformin@2025-03-09T20:00"}
	if !slices.Equal(got, want) {
		t.Errorf("GroupByAt = %v, want %v", got, want)
	}
	if r, ok := p.PRN("ibuprofen"); !ok || r.MaxPerDay != 4 {
		t.Errorf("PRN(ibuprofen) = %+v, %v, want max 4", r, ok)
	}
	if _, ok := p.PRN("metformin"); ok {
		t.Errorf("PRN(metformin) found, want none")
	}
	empty := mustPlan(t, loc, Regimen{Medication: "ibuprofen", PRN: &PRN{MinInterval: time.Hour, MaxPerDay: 1}})
	if o, ok := empty.Next(utc("2025-01-01T00:00:00Z")); ok {
		t.Errorf("Next on a PRN-only plan = %+v, want none", o)
	}
}

func TestWindows(t *testing.T) {
	loc := time.UTC
	tests := []struct {
		name        string
		reg         Regimen
		early, late time.Duration
	}{
		{"once a day defaults to 2h", Regimen{Cron: "0 8 * * *"}, 2 * time.Hour, 2 * time.Hour},
		{"twice a day defaults to 1h", Regimen{Cron: "0 8,20 * * *"}, time.Hour, time.Hour},
		{"weekly defaults to 2h", Regimen{Cron: "@weekly"}, 2 * time.Hour, 2 * time.Hour},
		{"twice on one day a month is more than once a day", Regimen{Cron: "0 8,20 1 * *"}, time.Hour, time.Hour},
		{"window", Regimen{Cron: "0 8 * * *", Window: 30 * time.Minute}, 30 * time.Minute, 30 * time.Minute},
		{"early overrides window", Regimen{Cron: "0 8 * * *", Window: 30 * time.Minute, Early: 10 * time.Minute}, 10 * time.Minute, 30 * time.Minute},
		{"late overrides default", Regimen{Cron: "0 8,20 * * *", Late: 3 * time.Hour}, time.Hour, 3 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.reg.Medication = "med"
			p := mustPlan(t, loc, tt.reg)
			o, ok := p.Next(utc("2025-01-01T00:00:00Z"))
			if !ok {
				t.Fatal("Next: none")
			}
			if got := o.At.Sub(o.Opens); got != tt.early {
				t.Errorf("early = %s, want %s", got, tt.early)
			}
			if got := o.Closes.Sub(o.At); got != tt.late {
				t.Errorf("late = %s, want %s", got, tt.late)
			}
		})
	}
}

func TestOpenAndMissedEdges(t *testing.T) {
	p := mustPlan(t, time.UTC, Regimen{Medication: "med", Cron: "0 8 * * *", Early: 30 * time.Minute, Late: time.Hour})
	at := utc("2025-06-01T08:00:00Z")
	tests := []struct {
		t    time.Time
		open bool
	}{
		{at.Add(-30*time.Minute - 1), false}, // early lockout
		{at.Add(-30 * time.Minute), true},
		{at, true},
		{at.Add(time.Hour - 1), true},
		{at.Add(time.Hour), false}, // closed: missed from here
	}
	for _, tt := range tests {
		got := p.Open(tt.t)
		if open := len(got) == 1 && got[0].At.Equal(at); open != tt.open || len(got) > 1 {
			t.Errorf("Open(%s) = %v, want open %v", tt.t, got, tt.open)
		}
	}
	closes := at.Add(time.Hour)
	missed := []struct {
		last, now time.Time
		want      int
	}{
		{closes.Add(-time.Minute), closes, 1},
		{closes.Add(-time.Minute), closes.Add(-1), 0},
		{closes, closes.Add(time.Minute), 0},
		{utc("2025-05-01T00:00:00Z"), utc("2025-06-01T12:00:00Z"), 32}, // downtime: each missed once
		{closes, closes.Add(-time.Hour), 0},                            // clock went back
	}
	for _, tt := range missed {
		if got := p.Missed(tt.last, tt.now); len(got) != tt.want {
			t.Errorf("Missed(%s, %s) = %d doses, want %d", tt.last, tt.now, len(got), tt.want)
		}
	}
}

func TestNewPlanErrors(t *testing.T) {
	if _, err := NewPlan([]Regimen{{Medication: "m", Cron: "0 8 * * *"}}, nil); err == nil {
		t.Error("NewPlan with no zone: no error")
	}
	_, err := NewPlan([]Regimen{{Medication: "m", Cron: "CRON_TZ=UTC"}}, time.UTC)
	if err == nil || !strings.Contains(err.Error(), "regimens[0].cron") {
		t.Errorf("NewPlan(CRON_TZ=UTC) error = %v, want one naming regimens[0].cron", err)
	}
}

var benchSpecs = []string{"0 8 * * *", "0 8,20 * * *", "0 7,13,19 * * *", "30 2 * * *", "0 22 * * *", "0 9 * * 1", "0 */6 * * *", "15 12 * * mon-fri"}

// BenchmarkBetweenYear is a year of doses for eight medications.
func BenchmarkBetweenYear(b *testing.B) {
	loc := mustLoad(b, "America/New_York")
	var regs []Regimen
	for i, s := range benchSpecs {
		regs = append(regs, Regimen{Medication: fmt.Sprintf("med%d", i), Cron: s, Window: 30 * time.Minute})
	}
	p := mustPlan(b, loc, regs...)
	from, to := utc("2025-01-01T00:00:00Z"), utc("2026-01-01T00:00:00Z")
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = len(p.Between(from, to))
	}
	b.ReportMetric(float64(n), "doses/op")
}

// BenchmarkCronNextYear is the baseline: the same year walked with cron's
// own Next in the zone (which skips and doubles doses at DST changes).
func BenchmarkCronNextYear(b *testing.B) {
	loc := mustLoad(b, "America/New_York")
	var specs []cron.Schedule
	for _, s := range benchSpecs {
		sc, err := cron.ParseStandard(s)
		if err != nil {
			b.Fatal(err)
		}
		sc.(*cron.SpecSchedule).Location = loc
		specs = append(specs, sc)
	}
	from, to := utc("2025-01-01T00:00:00Z"), utc("2026-01-01T00:00:00Z")
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = 0
		for _, sc := range specs {
			for t := sc.Next(from); t.Before(to); t = sc.Next(t) {
				n++
			}
		}
	}
	b.ReportMetric(float64(n), "doses/op")
}

// BenchmarkBetweenDay is the controller's routine question: the next day.
func BenchmarkBetweenDay(b *testing.B) {
	loc := mustLoad(b, "America/New_York")
	var regs []Regimen
	for i := range 8 {
		regs = append(regs, Regimen{Medication: fmt.Sprintf("med%d", i), Cron: "0 8,20 * * *"})
	}
	p := mustPlan(b, loc, regs...)
	from := utc("2025-03-08T12:00:00Z")
	b.ReportAllocs()
	for b.Loop() {
		p.Between(from, from.Add(24*time.Hour))
	}
}
