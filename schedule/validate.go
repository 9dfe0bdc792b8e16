package schedule

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pillbox/pillbox/internal/problem"
)

// Default windows (each side of the scheduled time), by how often the
// medication is due.
const (
	defaultWindowOnce = 2 * time.Hour // due at most once a calendar day
	defaultWindowMany = 1 * time.Hour // due more than once on some day
)

// Timing is checked over a sample of a year and a week, which has each of
// the zone's yearly DST transitions whatever day it starts (a rule's date
// moves by up to a week from one year to the next). ValidateRegimens
// samples from the moment it is given, so a clock change a problem names
// is the coming one, dated with its year; NewPlan, which has no clock,
// samples from a fixed day (planSample), which keeps it deterministic.
// sampleCap bounds the work for schedules that fire every few minutes
// (which the window check rejects anyway).
var planSample = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const sampleDays = 365 + 7

const sampleCap = 10000

// everyMinute is the minute bit set of a cron "*" (minutes 0-59).
const everyMinute = 1<<60 - 1

// ValidateRegimens checks the `regimens:` section against the patient's
// zone loc, over the year from now (see sampleDays). Paths are relative to the config root
// ("regimens[2].cron"). Whether each medication exists is the config
// loader's check, not this one.
func ValidateRegimens(regs []Regimen, loc *time.Location, now time.Time) problem.List {
	_, probs := compile(regs, loc, now)
	return probs
}

// compile parses and checks regimens over the year from from and resolves
// their windows; the plans are usable only when there are no problems.
func compile(regs []Regimen, loc *time.Location, from time.Time) ([]regimenPlan, problem.List) {
	var probs problem.List
	plans := make([]regimenPlan, 0, len(regs))
	timed := true // every schedule parsed and every duration is usable
	prnAt := map[string]int{}
	for i, r := range regs {
		path := problem.Index("regimens", i)
		rp := regimenPlan{index: i, med: r.Medication, prn: r.PRN}
		if strings.TrimSpace(r.Medication) == "" {
			probs.Add(path+".medication", "name the medication by its id from the medications list", "the regimen names no medication")
		}
		if r.Cron == "" && r.PRN == nil {
			probs.Add(path, `give a schedule (cron: "0 8 * * *") or as-needed limits (prn:), or both`, "the regimen has neither a schedule nor as-needed limits")
		}
		for _, d := range []struct {
			name string
			v    time.Duration
		}{{"window", r.Window}, {"early", r.Early}, {"late", r.Late}} {
			if d.v < 0 {
				probs.Add(path+"."+d.name, "use a positive duration such as 30m or 1h, or leave it out for the default", "%s is negative (%s)", d.name, fmtDuration(d.v))
				timed = false
			}
		}
		if r.Cron != "" {
			spec, err := parseCron(r.Cron)
			switch {
			case err != nil:
				msg, fix := asCronError(err)
				probs.Add(path+".cron", fix, "%s", msg)
				timed = false
			case spec.Next(from).IsZero():
				probs.Add(path+".cron", "check the day and month fields: February has at most 29 days; April, June, September and November have 30",
					"the schedule %q never fires: no date in five years matches it (such as 30 February)", r.Cron)
				timed = false
			case spec.Minute&everyMinute == everyMinute:
				// "* 8 * * *" is 60 doses, not one at 08:00: the classic slip.
				probs.Add(path+".cron", fmt.Sprintf("write the minute: %q is 08:00 every day", "0 8 * * *"),
					"the schedule %q fires every minute of the hours it names", r.Cron)
				timed = false
			default:
				rp.spec = spec
			}
		}
		if r.PRN != nil {
			validatePRN(&probs, path+".prn", *r.PRN)
			if j, dup := prnAt[r.Medication]; dup {
				probs.Add(path+".prn", "keep one prn block per medication",
					"%s already has as-needed limits in regimens[%d]", r.Medication, j)
			} else {
				prnAt[r.Medication] = i
			}
		}
		plans = append(plans, rp)
	}
	if loc == nil {
		probs.Add("patient.timezone", "set patient.timezone, e.g. America/New_York", "no time zone to read the schedules in")
		timed = false
	}
	if timed {
		checkTiming(&probs, regs, plans, loc, from)
	}
	return plans, probs
}

func validatePRN(probs *problem.List, path string, p PRN) {
	if p.MinInterval <= 0 {
		probs.Add(path+".min_interval", "set the shortest time allowed between doses, e.g. 4h", "min_interval must be more than zero")
	}
	if p.MaxPerDay <= 0 {
		probs.Add(path+".max_per_day", "set how many doses are allowed in any 24 hours, e.g. 4", "max_per_day must be at least 1")
	}
	if p.MinInterval <= 0 || p.MaxPerDay <= 0 {
		return
	}
	// max_per_day doses at least min_interval apart span (n-1)*interval;
	// unless that is under 24h they never fit in one rolling day, so the
	// two limits disagree and one of them was probably mistyped.
	// (Written as a division so that a huge max_per_day cannot overflow.)
	const day = 24 * time.Hour
	if p.MaxPerDay > 1 && p.MinInterval > (day-1)/time.Duration(p.MaxPerDay-1) {
		fit := 1 + int((day-1)/p.MinInterval)
		probs.Add(path, fmt.Sprintf("lower max_per_day to %d, or shorten min_interval", fit),
			"max_per_day %d cannot be reached: with doses at least %s apart, at most %d fit in any 24 hours", p.MaxPerDay, fmtDuration(p.MinInterval), fit)
	}
}

// sampled is one firing in the validation sample.
type sampled struct {
	wall, at time.Time
	reg      *regimenPlan
}

// checkTiming resolves each regimen's default window from how often its
// medication is due, then checks that consecutive doses of a medication have
// windows that do not overlap, on real instants in loc: a dose the clocks
// skip moves to the end of the gap, which can bring two doses together.
func checkTiming(probs *problem.List, regs []Regimen, plans []regimenPlan, loc *time.Location, from time.Time) {
	// The sample is of naive wall times, from the start of from's day in loc.
	start := naive(from.In(loc)).Truncate(24 * time.Hour)
	end := start.AddDate(0, 0, sampleDays)
	byMed := map[string][]*regimenPlan{}
	var meds []string
	for i := range plans {
		if plans[i].spec == nil {
			continue
		}
		if _, ok := byMed[plans[i].med]; !ok {
			meds = append(meds, plans[i].med)
		}
		byMed[plans[i].med] = append(byMed[plans[i].med], &plans[i])
	}
	for _, med := range meds {
		rps := byMed[med]
		year := sample(rps, loc, start, end)
		def := defaultWindowOnce
		for i := 1; i < len(year); i++ {
			if sameDay(year[i-1].wall, year[i].wall) {
				def = defaultWindowMany
				break
			}
		}
		for _, rp := range rps {
			r := regs[rp.index]
			rp.early = firstSet(r.Early, r.Window, def)
			rp.late = firstSet(r.Late, r.Window, def)
		}
		// The year sample may stop short for dense schedules; the days around
		// each transition are where DST changes the spacing, so check them too.
		samples := [][]sampled{year}
		for _, tr := range transitions(loc, resolve(start, loc), resolve(end, loc)) {
			samples = append(samples, sample(rps, loc, tr.Add(-48*time.Hour), tr.Add(48*time.Hour)))
		}
		checkOverlaps(probs, med, samples, loc)
	}
}

// firstSet returns the first of its arguments that is set.
func firstSet(a, b, c time.Duration) time.Duration {
	if a > 0 {
		return a
	}
	if b > 0 {
		return b
	}
	return c
}

// sample returns the firings of rps with wall time in [from, to), sorted by
// instant, truncated where the densest regimen hit sampleCap.
func sample(rps []*regimenPlan, loc *time.Location, from, to time.Time) []sampled {
	var all []sampled
	end := to
	for _, rp := range rps {
		n := 0
		for w := range rp.walls(from.Add(-time.Second)) {
			if !w.Before(end) {
				break
			}
			if n == sampleCap {
				end = w
				break
			}
			all = append(all, sampled{wall: w, at: resolve(w, loc), reg: rp})
			n++
		}
	}
	all = slices.DeleteFunc(all, func(s sampled) bool { return !s.wall.Before(end) })
	slices.SortStableFunc(all, func(a, b sampled) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.wall.Compare(b.wall)
	})
	return all
}

// checkOverlaps reports, once per pair of regimens, the closest two
// consecutive doses whose windows overlap.
func checkOverlaps(probs *problem.List, med string, samples [][]sampled, loc *time.Location) {
	type pair struct{ a, b *regimenPlan }
	worst := map[pair][2]sampled{}
	var order []pair
	for _, s := range samples {
		for i := 1; i < len(s); i++ {
			a, b := s[i-1], s[i]
			gap := b.at.Sub(a.at)
			if a.reg.late+b.reg.early <= gap {
				continue
			}
			k := pair{a.reg, b.reg}
			w, seen := worst[k]
			if !seen {
				order = append(order, k)
			}
			if !seen || gap < w[1].at.Sub(w[0].at) {
				worst[k] = [2]sampled{a, b}
			}
		}
	}
	for _, k := range order {
		w := worst[k]
		a, b := w[0], w[1]
		gap := b.at.Sub(a.at)
		path := problem.Index("regimens", b.reg.index)
		with := ""
		if a.reg != b.reg {
			with = fmt.Sprintf(", one from regimens[%d]", a.reg.index)
		}
		when := a.wall.Format("15:04")
		if !b.wall.Equal(a.wall) {
			when += " and " + b.wall.Format("15:04")
		}
		dst := gap != b.wall.Sub(a.wall)
		if dst {
			when += b.wall.Format(" on 2 January 2006") + fmt.Sprintf(" in %s, when the clocks change", loc)
		}
		if gap == 0 {
			fix := "give each dose time once"
			if dst {
				fix = "keep dose times out of the hour the clocks skip"
			}
			probs.Add(path+".cron", fix, "two doses of %s fall at the same moment (%s%s)", med, when, with)
			continue
		}
		probs.Add(path+".window", fmt.Sprintf("make the window at most %s each side, or space the doses further apart", fmtDuration(gap/2)),
			"doses of %s can be %s apart (%s%s), but their windows (%s after the first, %s before the next) would overlap",
			med, fmtDuration(gap), when, with, fmtDuration(a.reg.late), fmtDuration(b.reg.early))
	}
}

// transitions returns the instants in [from, to) at which loc's offset changes.
func transitions(loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	for t := from; t.Before(to); {
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			break
		}
		out = append(out, end)
		t = end
	}
	return out
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// fmtDuration writes a duration the way an installer writes one: "1h30m", "45m".
func fmtDuration(d time.Duration) string {
	if d < 0 {
		return "-" + fmtDuration(-d)
	}
	if d < time.Minute {
		return d.String()
	}
	s := d.Truncate(time.Minute).String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if rem := d % time.Minute; rem != 0 {
		s += rem.String()
	}
	return s
}
