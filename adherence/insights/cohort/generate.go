package cohort

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
	// Patients live in real zones with daylight saving time; a machine
	// without a zone database still generates the same cohort.
	_ "time/tzdata"

	"github.com/pillbox/pillbox/adherence/insights"
)

// Zones the patients live in: two with daylight saving time on different
// dates, so that doses cross both kinds of transition.
var Zones = []string{"America/New_York", "Europe/London"}

// cohortStart is the first possible start of a record; patients start on
// a day drawn in the following year.
var cohortStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Regimen is one medication's daily schedule.
type Regimen struct {
	Medication string `json:"medication"`
	// Times are local wall times, minutes after midnight.
	Times []int `json:"times"`
	// Window is how long before and after the scheduled time the dose may
	// be taken: the device's defaults, 1 h when due more than once a day
	// and 2 h when once.
	WindowMin int `json:"window_min"`
}

// Truth is what the generator drew for a patient: labels for analysis,
// never given to a model.
type Truth struct {
	Skipper       bool    `json:"skipper"`
	BaseLogit     float64 `json:"base_logit"`
	Decline       float64 `json:"decline,omitempty"` // logOR gained over a year, 0 for none
	PostDischarge bool    `json:"post_discharge,omitempty"`
	HeartFailure  bool    `json:"heart_failure,omitempty"`
	Hypertension  bool    `json:"hypertension,omitempty"`
	Diabetes      bool    `json:"diabetes,omitempty"`
}

// Dose is one generated dose.
type Dose struct {
	insights.Dose
	// P is the probability the dose would be missed, as the generator
	// drew it: the ceiling no model of the record can beat. A label.
	P float64
	// Cause is why it was missed (forgot, skipped, holiday, travel,
	// hospital, empty, power, late), empty when taken. A label.
	Cause string
}

// Label is a clinical event of a vital-sign trajectory: what an early
// warning should come before.
type Label struct {
	// Kind is "hf_decompensation" (a heart-failure admission; weight rose
	// from Onset) or "hypertensive_drift" (systolic pressure rose from
	// Onset and had fully risen At).
	Kind  string    `json:"kind"`
	Onset time.Time `json:"onset"`
	At    time.Time `json:"at"`
	// Size is the weight gain in kg or the systolic rise in mmHg.
	Size float64 `json:"size"`
}

// Label kinds.
const (
	LabelDecompensation = "hf_decompensation"
	LabelDrift          = "hypertensive_drift"
)

// Patient is one generated patient's record.
type Patient struct {
	Index      int
	ID         string
	Zone       string
	Location   *time.Location
	Start      time.Time // local midnight of the first day
	Days       int
	Truth      Truth
	Regimens   []Regimen
	Doses      []Dose
	Refills    []time.Time
	ClockJumps []time.Time
	Readings   []insights.Reading
	Labels     []Label
}

// History is the patient's record as the risk model reads it.
func (p *Patient) History() *insights.History {
	h := &insights.History{Location: p.Location, Refills: slices.Clone(p.Refills), ClockJumps: slices.Clone(p.ClockJumps)}
	h.Doses = make([]insights.Dose, len(p.Doses))
	for i := range p.Doses {
		h.Doses[i] = p.Doses[i].Dose
	}
	return h
}

// End is the instant after the last day of the record.
func (p *Patient) End() time.Time { return addDays(p.Start, p.Days) }

// YearsOfRecord is the record's length in years (of 365.25 days).
func (p *Patient) YearsOfRecord() float64 { return float64(p.Days) / 365.25 }

// Generate makes patient index of the cohort seed. It panics on
// parameters that cannot generate (a programming error: they are
// constants or come from Validate).
func Generate(pr Params, seed uint64, index int) Patient {
	return generate(pr, seed, index, nil)
}

// Schedule is a dispenser's own schedule, for GenerateFor.
type Schedule struct {
	Location *time.Location
	// Start is the local midnight of the record's first day.
	Start time.Time
	Days  int
	// Doses returns the scheduled doses due in [from, to), in time order,
	// with their ids, medications and windows.
	Doses func(from, to time.Time) []insights.Dose
}

// GenerateFor makes patient index of the cohort seed on a given schedule
// (a config's regimens) instead of one the generator draws: the same
// behaviours, on the doses a real dispenser would log.
func GenerateFor(pr Params, seed uint64, index int, sch Schedule) Patient {
	return generate(pr, seed, index, &sch)
}

func generate(pr Params, seed uint64, index int, sch *Schedule) Patient {
	if err := pr.Validate(); err != nil {
		panic(err)
	}
	g := &gen{p: pr, rng: rand.New(rand.NewPCG(seed, uint64(index)*0x9e3779b97f4a7c15+1))}
	return g.patient(index, sch)
}

// Validate checks that the parameters can generate a cohort.
func (p Params) Validate() error {
	switch {
	case p.Days < 1 || p.Days > 3660:
		return fmt.Errorf("cohort: days %d: want 1 to 3660", p.Days)
	case p.HolidayMinDays < 1 || p.HolidayMaxDays < p.HolidayMinDays,
		p.TravelMinDays < 1 || p.TravelMaxDays < p.TravelMinDays,
		p.DecompMinDays < 1 || p.DecompMaxDays < p.DecompMinDays:
		return fmt.Errorf("cohort: a minimum length is below 1 or above its maximum")
	case p.SupplyDays < 1 || p.RefillEvery < 1 || p.SkipRedrawDays < 1 || p.PostDischargeDays <= 0 || p.WeightDriftDays <= 0:
		return fmt.Errorf("cohort: supply, refill, redraw and time constants must be positive")
	case p.SkipMax < p.SkipMin || p.DeclineMax < p.DeclineMin || p.BPNoiseMax < p.BPNoiseMin ||
		p.DriftMax < p.DriftMin || p.GlucoseCVMax < p.GlucoseCVMin || p.TimingSDMax < p.TimingSDMin:
		return fmt.Errorf("cohort: a range has its maximum below its minimum")
	}
	return nil
}

type gen struct {
	p   Params
	rng *rand.Rand
}

func (g *gen) uniform(lo, hi float64) float64 { return lo + (hi-lo)*g.rng.Float64() }
func (g *gen) chance(p float64) bool          { return g.rng.Float64() < p }
func (g *gen) normal(mean, sd float64) float64 {
	return mean + sd*g.rng.NormFloat64()
}
func (g *gen) intIn(lo, hi int) int { return lo + g.rng.IntN(hi-lo+1) }

// perDay is a rate a year as a chance a day.
func perDay(rate float64) float64 { return rate / 365.25 }

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
func logit(p float64) float64   { return math.Log(p / (1 - p)) }

func addDays(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d+n, 0, 0, 0, 0, t.Location())
}

// at is the instant of local wall time `minutes` after midnight of day.
func at(day time.Time, minutes float64) time.Time {
	y, m, d := day.Date()
	whole := int(math.Floor(minutes))
	return time.Date(y, m, d, whole/60, whole%60, int((minutes-float64(whole))*60), 0, day.Location())
}

// span marks days [from, to) of the record.
type span struct{ from, to int }

func (s span) has(d int) bool { return d >= s.from && d < s.to }

// free reports whether [from, to) overlaps none of spans.
func free(spans []span, from, to int) bool {
	for _, s := range spans {
		if from < s.to && s.from < to {
			return false
		}
	}
	return true
}

func (g *gen) patient(index int, sch *Schedule) Patient {
	p := g.p
	var pt Patient
	if sch == nil {
		zone := Zones[g.rng.IntN(len(Zones))]
		loc, err := time.LoadLocation(zone)
		if err != nil {
			panic(err) // embedded
		}
		s := cohortStart.AddDate(0, 0, g.rng.IntN(365))
		pt = Patient{Zone: zone, Location: loc, Start: time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, loc), Days: p.Days}
	} else {
		pt = Patient{Zone: sch.Location.String(), Location: sch.Location, Start: sch.Start, Days: sch.Days}
	}
	pt.Index, pt.ID = index, fmt.Sprintf("p%06d", index)
	t := &pt.Truth
	t.Skipper = g.chance(p.SkipperShare)
	t.HeartFailure, t.Hypertension, t.Diabetes = g.chance(p.HFShare), g.chance(p.HTNShare), g.chance(p.DMShare)
	t.PostDischarge = g.chance(p.PostDischargeShare)

	var slots []int
	var dosesAt func(day time.Time, clock int) []insights.Dose
	if sch == nil {
		slots = g.regimen(&pt)
		dosesAt = pt.regimenDoses
	} else {
		slots, dosesAt = scheduleDoses(&pt, sch)
	}

	t.BaseLogit = g.normal(p.MissLogit, p.MissLogitSD)
	base := t.BaseLogit
	switch len(slots) {
	case 2:
		base += p.TwiceDailyLogOR
	case 3:
		base += p.ThriceDailyLogOR
	}
	if t.Skipper {
		base += p.SkipperLogOR
	}
	weekendEff := g.normal(p.WeekendLogOR, p.EffectSD)
	eveningEff := g.normal(p.EveningLogOR, p.EffectSD)
	declineFrom := p.Days
	if g.chance(p.DeclineShare) {
		t.Decline = g.uniform(p.DeclineMin, p.DeclineMax)
		declineFrom = g.rng.IntN(p.Days/2 + 1)
	}
	habit := make([]float64, len(slots))
	for i := range habit {
		habit[i] = g.normal(p.HabitMeanMin, p.HabitSDMin)
	}
	timingSD := g.uniform(p.TimingSDMin, p.TimingSDMax)
	refillLate := g.uniform(0, 2*p.RefillLateProb)
	holidayRate := p.HolidayRateRare
	if g.chance(p.HolidayTakerShare) {
		holidayRate = p.HolidayRate
	}
	measure := sigmoid(g.normal(logit(p.MeasureRate), p.MeasureLogitSD))

	// Spans of the record: heart-failure admissions first (their weight
	// rise and their hospital stay), then travel and holidays around them.
	var hospital, away, holidays []span
	var discharges []int
	if t.PostDischarge {
		discharges = append(discharges, 0)
	}
	var decomps []weightEvent
	if t.HeartFailure {
		for d := 14; d < p.Days; d++ {
			if !g.chance(perDay(p.DecompRate)) {
				continue
			}
			length := g.intIn(p.DecompMinDays, p.DecompMaxDays)
			onset := max(d-length, 0)
			if len(hospital) > 0 && onset < hospital[len(hospital)-1].to+30 {
				continue // too soon after the last stay
			}
			gain := g.uniform(0, 0.5)
			if !g.chance(p.DecompSilentShare) {
				gain = math.Min(p.DecompGainKg*math.Exp(g.normal(0, 0.5)), 8)
			}
			stay := span{d, min(d+g.intIn(3, 10), p.Days)}
			hospital = append(hospital, stay)
			decomps = append(decomps, weightEvent{onset, d, gain, g.uniform(0.5, 2.5)})
			discharges = append(discharges, stay.to)
			pt.Labels = append(pt.Labels, Label{Kind: LabelDecompensation, Onset: addDays(pt.Start, onset).UTC(),
				At: at(addDays(pt.Start, d), 9*60).UTC(), Size: round(gain, 2)})
			d = stay.to
		}
	}
	for d := 0; d < p.Days; d++ {
		if g.chance(perDay(p.TravelRate)) {
			n := g.intIn(p.TravelMinDays, p.TravelMaxDays)
			if free(hospital, d, d+n) {
				away = append(away, span{d, min(d+n, p.Days)})
				d += n
			}
		}
	}
	for d := 0; d < p.Days; d++ {
		if g.chance(perDay(holidayRate)) {
			n := g.intIn(p.HolidayMinDays, p.HolidayMaxDays)
			if free(hospital, d, d+n) && free(away, d, d+n) {
				holidays = append(holidays, span{d, min(d+n, p.Days)})
				d += n
			}
		}
	}
	backFrom := func(d int) bool { // one of the two days after travel
		for _, s := range away {
			if d >= s.to && d < s.to+2 {
				return true
			}
		}
		return false
	}

	// Power cuts: [from, to) instants.
	type cut struct{ from, to time.Time }
	var cuts []cut
	for d := 0; d < p.Days; d++ {
		if g.chance(perDay(p.PowerCutRate)) {
			from := at(addDays(pt.Start, d), g.uniform(0, 24*60))
			hours := math.Min(g.rng.ExpFloat64()*p.PowerCutMeanHours, 48)
			c := cut{from, from.Add(time.Duration(hours * float64(time.Hour)))}
			cuts = append(cuts, c)
			pt.ClockJumps = append(pt.ClockJumps, c.to.UTC())
		}
	}
	cutAt := func(t time.Time) (time.Time, bool) {
		for _, c := range cuts {
			if !t.Before(c.from) && t.Before(c.to) {
				return c.to, true
			}
		}
		return time.Time{}, false
	}

	// A skipper's weekly slots, redrawn now and then.
	type pattern struct {
		weekday time.Weekday
		slot    int
		q       float64
	}
	drawPatterns := func() []pattern {
		var ps []pattern
		for range p.SkipperPatterns {
			ps = append(ps, pattern{time.Weekday(g.rng.IntN(7)), g.rng.IntN(len(slots)), g.uniform(p.SkipMin, p.SkipMax)})
		}
		return ps
	}
	var patterns []pattern
	if t.Skipper {
		patterns = drawPatterns()
	}

	stock, nextRefill := p.SupplyDays, 0
	u := 0.0
	for d := range p.Days {
		day := addDays(pt.Start, d)
		if t.Skipper && d > 0 && d%p.SkipRedrawDays == 0 && g.chance(0.5) {
			patterns = drawPatterns()
		}
		u = p.DisruptionRho*u + math.Sqrt(1-p.DisruptionRho*p.DisruptionRho)*g.rng.NormFloat64()
		refillAt := time.Time{}
		if d == nextRefill {
			refillAt = at(day, g.uniform(10*60, 18*60))
			if spansHave(hospital, d) || spansHave(away, d) {
				refillAt = time.Time{} // nobody home: the refill waits
				nextRefill++
			} else {
				pt.Refills = append(pt.Refills, refillAt.UTC())
				nextRefill = d + p.RefillEvery
				if g.chance(refillLate) {
					nextRefill += 1 + geometric(g.rng, p.RefillLateMeanDays)
				}
			}
		}
		weekend := day.Weekday() == time.Saturday || day.Weekday() == time.Sunday
		for si, clock := range slots {
			doses := dosesAt(day, clock)
			if len(doses) == 0 {
				continue // not due that day (a schedule that is not daily)
			}
			due := doses[0].Scheduled
			lo := base + float64(max(d-declineFrom, 0))/365*t.Decline + p.DisruptionSD*u
			for _, dis := range discharges {
				if d >= dis {
					lo += p.PostDischargeLogOR * math.Exp(-float64(d-dis)/p.PostDischargeDays)
				}
			}
			if backFrom(d) {
				lo += p.TravelAfterLogOR
			}
			if weekend {
				lo += weekendEff
			}
			if clock >= 17*60 {
				lo += eveningEff
			}
			pm, cause := sigmoid(lo), "forgot"
			for _, pa := range patterns {
				if pa.weekday == day.Weekday() && pa.slot == si && pa.q > pm {
					pm, cause = pa.q, "skipped"
				}
			}
			empty := stock <= 0 && (refillAt.IsZero() || due.Before(refillAt.UTC()))
			powerBack, powerOut := cutAt(due)
			switch {
			case spansHave(hospital, d):
				pm, cause = 1, "hospital"
			case spansHave(away, d):
				pm, cause = 1, "travel"
			case powerOut:
				pm, cause = 1, "power"
			case empty:
				pm, cause = 1, "empty"
			case spansHave(holidays, d):
				pm, cause = 1-p.HolidayTakeProb, "holiday"
			}
			missed := g.chance(pm)
			meanDelay := habit[si] + p.DisruptionDelayMin*math.Max(u, 0)
			delay := g.normal(meanDelay, timingSD)
			for _, d := range doses {
				dose := Dose{Dose: d}
				// The chance of a miss: not taking, or taking after the
				// window closed.
				lateMin, earlyMin := dose.Closes.Sub(due).Minutes(), due.Sub(dose.Opens).Minutes()
				late := 1 - normalCDF((lateMin-meanDelay)/timingSD)
				dose.P = round(pm+(1-pm)*late, 4)
				taken := dose.Opens.Add(time.Duration(g.uniform(0, 5) * float64(time.Minute)))
				if delay > -earlyMin {
					taken = due.Add(time.Duration(delay * float64(time.Minute))).UTC()
				}
				switch {
				case missed && cause == "hospital" && g.chance(0.5):
					dose.Outcome, dose.Settled, dose.Cause = insights.Skipped, dose.Opens, cause
				case missed && powerOut:
					dose.Outcome, dose.Settled, dose.Cause = insights.Missed, powerBack.UTC(), cause
				case missed:
					dose.Outcome, dose.Settled, dose.Cause = insights.Missed, dose.Closes, cause
				case !taken.Before(dose.Closes):
					dose.Outcome, dose.Settled, dose.Cause = insights.Missed, dose.Closes, "late"
				default:
					dose.Outcome, dose.TakenAt, dose.Settled = insights.Taken, taken, taken
				}
				pt.Doses = append(pt.Doses, dose)
			}
		}
		if !refillAt.IsZero() {
			stock = p.SupplyDays
		}
		stock--
	}

	g.weights(&pt, decomps, hospital, away, measure)
	g.pressure(&pt, hospital, away, measure)
	g.glucose(&pt, hospital, away, measure)
	slices.SortFunc(pt.Readings, func(a, b insights.Reading) int { return a.Time.Compare(b.Time) })
	slices.SortFunc(pt.Labels, func(a, b Label) int { return a.At.Compare(b.At) })
	return pt
}

// regimen draws the patient's own regimen: once (45%), twice (35%) or
// three times (20%) a day, at the patient's own hours, and for half the
// patients a second, once-daily medication with the first dose of the
// day. It returns the times of day.
func (g *gen) regimen(pt *Patient) []int {
	morning := 7*60 + 15*g.rng.IntN(9)
	midday := 12*60 + 15*g.rng.IntN(9)
	evening := 18*60 + 15*g.rng.IntN(17)
	var slots []int
	switch r := g.rng.Float64(); {
	case r < 0.45 && g.chance(0.7):
		slots = []int{morning}
	case r < 0.45:
		slots = []int{evening}
	case r < 0.80:
		slots = []int{morning, evening}
	default:
		slots = []int{morning, midday, evening}
	}
	window := 60
	if len(slots) == 1 {
		window = 120
	}
	pt.Regimens = []Regimen{{Medication: "m1", Times: slots, WindowMin: window}}
	if g.chance(0.5) {
		pt.Regimens = append(pt.Regimens, Regimen{Medication: "m2", Times: slots[:1], WindowMin: 120})
	}
	return slots
}

// regimenDoses are the doses of the patient's own regimen due on day at
// clock.
func (pt *Patient) regimenDoses(day time.Time, clock int) []insights.Dose {
	due := at(day, float64(clock))
	var out []insights.Dose
	for _, r := range pt.Regimens {
		if !slices.Contains(r.Times, clock) {
			continue
		}
		win := time.Duration(r.WindowMin) * time.Minute
		out = append(out, insights.Dose{ID: fmt.Sprintf("%s@%s", r.Medication, due.Format("2006-01-02T15:04")),
			Medication: r.Medication, Scheduled: due.UTC(), Opens: due.Add(-win).UTC(), Closes: due.Add(win).UTC()})
	}
	return out
}

// scheduleDoses reads a given schedule: its times of day (from its first
// week) and a lookup of each day's doses by time of day. It sets the
// patient's Regimens to match.
func scheduleDoses(pt *Patient, sch *Schedule) ([]int, func(time.Time, int) []insights.Dose) {
	clockOf := func(t time.Time) int {
		l := t.In(sch.Location)
		return l.Hour()*60 + l.Minute()
	}
	times := map[string][]int{}
	window := map[string]int{}
	var slots []int
	for _, d := range sch.Doses(sch.Start, addDays(sch.Start, 7)) {
		c := clockOf(d.Scheduled)
		if !slices.Contains(slots, c) {
			slots = append(slots, c)
		}
		if !slices.Contains(times[d.Medication], c) {
			times[d.Medication] = append(times[d.Medication], c)
		}
		window[d.Medication] = int(max(d.Scheduled.Sub(d.Opens), d.Closes.Sub(d.Scheduled)).Minutes())
	}
	slices.Sort(slots)
	meds := make([]string, 0, len(times))
	for m := range times {
		meds = append(meds, m)
	}
	slices.Sort(meds)
	for _, m := range meds {
		slices.Sort(times[m])
		pt.Regimens = append(pt.Regimens, Regimen{Medication: m, Times: times[m], WindowMin: window[m]})
	}
	var cached time.Time
	byClock := map[int][]insights.Dose{}
	return slots, func(day time.Time, clock int) []insights.Dose {
		if !day.Equal(cached) {
			cached = day
			clear(byClock)
			for _, d := range sch.Doses(day, addDays(day, 1)) {
				byClock[clockOf(d.Scheduled)] = append(byClock[clockOf(d.Scheduled)], d)
			}
		}
		return byClock[clock]
	}
}

// weightEvent is a decompensation as the weight model needs it.
type weightEvent struct {
	onset, event int
	gain, loss   float64
}

// weights generates a heart-failure patient's morning weights.
func (g *gen) weights(pt *Patient, events []weightEvent, hospital, away []span, measure float64) {
	if !pt.Truth.HeartFailure {
		return
	}
	p := g.p
	w0 := math.Max(math.Min(g.normal(82, 15), 160), 45)
	noise := p.WeightNoiseKg * math.Exp(g.normal(0, 0.35))
	keep := math.Exp(-1 / p.WeightDriftDays)
	drift := g.normal(0, p.WeightDriftKg)
	for d := range pt.Days {
		drift = drift*keep + p.WeightDriftKg*math.Sqrt(1-keep*keep)*g.rng.NormFloat64()
		day := addDays(pt.Start, d)
		if spansHave(hospital, d) || spansHave(away, d) || !g.chance(measure) {
			continue
		}
		w := w0 + drift + g.normal(0, noise)
		switch day.Weekday() {
		case time.Monday:
			w += w0 * p.WeekendWeightPct / 100
		case time.Sunday, time.Tuesday:
			w += w0 * p.WeekendWeightPct / 200
		}
		for _, e := range events {
			if d >= e.onset && d < e.event {
				w += e.gain * math.Pow(float64(d-e.onset+1)/float64(e.event-e.onset), 1.5)
			}
			if back := stayEnd(hospital, e.event); d >= back && d < back+30 {
				w -= e.loss * (1 - float64(d-back)/30)
			}
		}
		if g.chance(p.OutlierProb) {
			w += g.uniform(1.5, 3) * float64(1-2*g.rng.IntN(2))
		}
		pt.Readings = append(pt.Readings, insights.Reading{Quantity: insights.Weight, Value: round(w, 1), Unit: "kg",
			Time: at(day, g.normal(7*60+15, 20)).UTC()})
	}
}

// pressure generates a hypertensive patient's home blood pressure and
// pulse, every morning and, for half of them, every evening.
func (g *gen) pressure(pt *Patient, hospital, away []span, measure float64) {
	if !pt.Truth.Hypertension {
		return
	}
	p := g.p
	s0 := g.normal(p.SystolicMean, p.SystolicSD)
	d0 := 0.5*s0 + g.normal(14, 5)
	p0 := g.normal(70, 9)
	noise := g.uniform(p.BPNoiseMin, p.BPNoiseMax)
	evenings := g.chance(0.5)
	type drift struct {
		onset, full int
		rise        float64
	}
	var drifts []drift
	for d := 7; d < pt.Days; d++ {
		if g.chance(perDay(p.DriftRate)) {
			n := g.intIn(14, 42)
			if d+n >= pt.Days {
				break
			}
			dr := drift{d, d + n, g.uniform(p.DriftMin, p.DriftMax)}
			drifts = append(drifts, dr)
			pt.Labels = append(pt.Labels, Label{Kind: LabelDrift, Onset: addDays(pt.Start, dr.onset).UTC(),
				At: addDays(pt.Start, dr.full).UTC(), Size: round(dr.rise, 1)})
			d = dr.full + 14 + 14
		}
	}
	for d := range pt.Days {
		day := addDays(pt.Start, d)
		if spansHave(hospital, d) || spansHave(away, d) {
			continue
		}
		off := 0.0
		for _, dr := range drifts {
			switch {
			case d >= dr.onset && d < dr.full:
				off += dr.rise * float64(d-dr.onset) / float64(dr.full-dr.onset)
			case d >= dr.full && d < dr.full+14:
				off += dr.rise * (1 - float64(d-dr.full)/14)
			}
		}
		for _, e := range []struct {
			min  float64
			drop float64
			on   bool
		}{{7*60 + 30, 0, true}, {20 * 60, p.EveningDrop, evenings}} {
			if !e.on || !g.chance(measure) {
				continue
			}
			when := at(day, g.normal(e.min, 20)).UTC()
			sys := s0 + off - e.drop + g.normal(0, noise)
			pt.Readings = append(pt.Readings,
				insights.Reading{Quantity: insights.Systolic, Value: math.Round(sys), Unit: "mm[Hg]", Time: when},
				insights.Reading{Quantity: insights.Diastolic, Value: math.Round(d0 + off/2 - e.drop/2 + g.normal(0, 0.6*noise)), Unit: "mm[Hg]", Time: when},
				insights.Reading{Quantity: insights.Pulse, Value: math.Round(p0 + g.normal(0, 5)), Unit: "/min", Time: when})
		}
	}
}

// glucose generates a diabetic patient's fasting and after-dinner meter
// readings.
func (g *gen) glucose(pt *Patient, hospital, away []span, measure float64) {
	if !pt.Truth.Diabetes {
		return
	}
	p := g.p
	mean := math.Max(g.normal(p.GlucoseMean, p.GlucoseSD), 80)
	cv := g.uniform(p.GlucoseCVMin, p.GlucoseCVMax)
	sd := math.Sqrt(math.Log(1 + cv*cv))
	for d := range pt.Days {
		day := addDays(pt.Start, d)
		if spansHave(hospital, d) || spansHave(away, d) {
			continue
		}
		for _, e := range []struct{ min, rise, chance float64 }{{7 * 60, 0, measure}, {20*60 + 30, p.GlucoseMealRise, measure / 2}} {
			if !g.chance(e.chance) {
				continue
			}
			v := (mean + e.rise) * math.Exp(g.normal(-sd*sd/2, sd))
			pt.Readings = append(pt.Readings, insights.Reading{Quantity: insights.Glucose, Value: math.Round(v), Unit: "mg/dL",
				Time: at(day, g.normal(e.min, 20)).UTC()})
		}
	}
}

func spansHave(spans []span, d int) bool {
	for _, s := range spans {
		if s.has(d) {
			return true
		}
	}
	return false
}

// stayEnd is the first day after the hospital stay that began on day.
func stayEnd(hospital []span, day int) int {
	for _, s := range hospital {
		if s.from == day {
			return s.to
		}
	}
	return day
}

// geometric draws a count of failures before a success with the given mean.
func geometric(rng *rand.Rand, mean float64) int {
	q := 1 / (1 + mean)
	n := 0
	for rng.Float64() >= q && n < 60 {
		n++
	}
	return n
}

func normalCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

func round(v float64, digits int) float64 {
	f := math.Pow(10, float64(digits))
	return math.Round(v*f) / f
}
