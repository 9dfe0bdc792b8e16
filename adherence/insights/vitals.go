package insights

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Personal baselines and early warnings. For each quantity a patient
// measures, a baseline learns their normal: a robust level (an
// exponentially weighted mean of residuals clipped at two spreads) and a
// robust spread (an exponentially weighted mean absolute deviation, times
// sqrt(pi/2) to be a standard deviation for normal noise), started from
// the median and MAD of the first readings. Blood pressure, pulse and
// glucose keep one baseline per part of the day (their mornings differ
// from their evenings); weight keeps one.
//
// Two trend detectors raise the warnings, each where it backtested better
// (docs/insights.md):
//
//   - Blood pressure, pulse and glucose: a one-sided CUSUM on the
//     readings' distances from their baseline, in spreads:
//     S = max(0, S + z - K), a warning when S passes H. With K = 0.5 and
//     H = 5 a steady series with normal noise passes H about once in 465
//     readings, a rise of one spread in about 10 (Montgomery, Introduction
//     to Statistical Quality Control, CUSUM average run lengths). Each z is
//     clipped at 3, so one wild reading cannot raise a warning alone, and
//     the baseline does not learn while S is over H/2 or a warning is open.
//     The baseline is ready after 14 readings over a week at least: a
//     level and a spread from fewer would raise false warnings.
//   - Weight: a moving-average crossover (MACD with plain averages): the
//     mean of the last 3 days' readings against the mean of those 7 to 28
//     days old, in units of the patient's own day-to-day noise (from the
//     differences of consecutive readings, which slow drift does not
//     inflate); each recent reading counts at most 2 spreads above the
//     older mean, so one wild reading cannot raise a warning alone. Weight drifts by a kilogram or more over weeks for reasons
//     of no concern, on the same time scale as the baseline; comparing the
//     last days with the weeks just before follows the drift, and a
//     decompensation, which builds over days, still stands out.
//
// Hysteresis: a warning stays open until its score falls under half its
// opening level. A CUSUM rise that lasts WarningMaxOpen is accepted as
// the new normal (the baseline restarts from the latest readings) and the
// warning closes. Ten days without a reading reset the detectors: old and
// new readings are not compared across a gap. The fixed rules of
// notify/vitals, which stay in force, are there for sudden values.

// Priority of an early warning: below every threshold alert.
type Priority string

// PriorityLow is the only priority an early warning has: it goes through
// the alert ladder after every threshold alert, and never replaces one.
const PriorityLow Priority = "low"

// WarningKind says what an early warning is about.
type WarningKind string

const (
	// WarningRising: the quantity has risen from the patient's baseline.
	WarningRising WarningKind = "rising"
	// WarningGlucoseVariability: glucose varies more than the consensus
	// target (coefficient of variation over 36% in the last 14 days).
	WarningGlucoseVariability WarningKind = "glucose_variability"
)

// Detector is the trend detectors' tuning.
type Detector struct {
	// The CUSUM (blood pressure, pulse, glucose): K is the allowance (in
	// spreads) a reading must exceed its baseline by to add to S; H the
	// value of S that opens a warning; ClipZ bounds each reading's
	// distance from the baseline, in spreads.
	K, H, ClipZ float64
	// The crossover (weight): the mean of the readings younger than
	// Recent (each counted at most RecentClip spreads above the other
	// mean, so one wild reading cannot raise a warning alone) against the
	// mean of those from RefFrom to RefTo old; a warning when the
	// difference is over C standard errors of the patient's noise and at
	// least MinRise kg.
	Recent, RefFrom, RefTo time.Duration
	RecentClip, C, MinRise float64
}

// DefaultDetector is the tuning docs/insights.md reports, chosen on the
// development cohort.
var DefaultDetector = Detector{K: 0.5, H: 5, ClipZ: 3,
	Recent: 3 * day, RefFrom: 7 * day, RefTo: 28 * day, RecentClip: 2, C: 2.25, MinRise: 0.5}

// Tunables of the detectors.
const (
	warmReadings    = 14
	warmSpan        = 7 * day
	staleGap        = 10 * day
	WarningMaxOpen  = 21 * day
	glucoseWindow   = 14 * day
	glucoseMinN     = 10
	glucoseCVOpen   = 0.36
	glucoseCVClose  = 0.33
	glucoseLow      = 70
	glucoseHigh     = 180
	madToSD         = 1.4826 // median absolute deviation to SD, normal noise
	meanAbsDevToSD  = 1.2533 // mean absolute deviation to SD: sqrt(pi/2)
	maxPerPartSaved = 7
)

// quantityRule is how one quantity is followed.
type quantityRule struct {
	unit      string
	crossover bool          // the crossover detector, else the CUSUM
	seasonal  bool          // a baseline per part of the day
	levelHL   time.Duration // half-life of the level
	spreadHL  time.Duration // half-life of the spread
	minSpread float64       // floor of the spread, in the unit
}

var quantityRules = map[Quantity]quantityRule{
	Weight:    {unit: "kg", crossover: true, levelHL: 21 * day, spreadHL: 60 * day, minSpread: 0.2},
	Systolic:  {unit: "mm[Hg]", seasonal: true, levelHL: 28 * day, spreadHL: 60 * day, minSpread: 3},
	Diastolic: {unit: "mm[Hg]", seasonal: true, levelHL: 28 * day, spreadHL: 60 * day, minSpread: 2},
	Pulse:     {unit: "/min", seasonal: true, levelHL: 28 * day, spreadHL: 60 * day, minSpread: 2},
	Glucose:   {unit: "mg/dL", seasonal: true, levelHL: 28 * day, spreadHL: 60 * day, minSpread: 8},
}

// Unit is the unit readings of q must be in ("" for a quantity without a
// baseline).
func (q Quantity) Unit() string { return quantityRules[q].unit }

// Baseline is a patient's normal for one quantity (and part of the day).
type Baseline struct {
	Quantity Quantity `json:"quantity"`
	// Part is the part of the day ("morning", ...) for quantities that
	// keep one baseline per part; "" for the whole day.
	Part string `json:"part,omitempty"`
	// Level and Spread are the usual value and its usual day-to-day
	// variation (a standard deviation), in the quantity's unit; only
	// meaningful once Ready.
	Level    float64   `json:"level"`
	Spread   float64   `json:"spread"`
	Readings int       `json:"readings"`
	Ready    bool      `json:"ready"`
	Updated  time.Time `json:"updated"`
}

// WarningEvidence is what a warning was raised on.
type WarningEvidence struct {
	// Level and Spread are the baseline the readings were compared with.
	Level  float64 `json:"level"`
	Spread float64 `json:"spread"`
	// Since is when the readings began to run above it; Readings how many
	// since, and Mean their mean.
	Since    time.Time `json:"since"`
	Readings int       `json:"readings"`
	Mean     float64   `json:"mean"`
	Latest   float64   `json:"latest"`
	// Score is the CUSUM (in spreads), or the coefficient of variation for
	// a glucose variability warning.
	Score float64 `json:"score"`
	// InRange is the share of glucose readings in 70-180 mg/dL over the
	// last 14 days (glucose warnings only).
	InRange float64 `json:"in_range,omitempty"`
}

// Warning is one early warning, from when it opened to when it closed.
type Warning struct {
	Quantity Quantity    `json:"quantity"`
	Kind     WarningKind `json:"kind"`
	Priority Priority    `json:"priority"`
	Opened   time.Time   `json:"opened"`
	// Closed is zero while the warning is open.
	Closed   time.Time       `json:"closed,omitzero"`
	Evidence WarningEvidence `json:"evidence"`
}

// Open reports whether the warning is still open.
func (w Warning) Open() bool { return w.Closed.IsZero() }

// Text says the warning in English, from its evidence.
func (w Warning) Text() string {
	if w.Kind == WarningGlucoseVariability {
		return textGlucoseVariability(w)
	}
	return textRising(w)
}

func textRising(w Warning) string {
	e := w.Evidence
	unit := displayUnits[w.Quantity]
	days := int(w.Opened.Sub(e.Since).Hours()/24 + 0.5)
	return fmt.Sprintf("%s up %s %s on the usual %s (day-to-day ±%s) over %s", displayNames[w.Quantity],
		num(e.Mean-e.Level), unit, num(e.Level), num(e.Spread), count(max(days, 1), "day", "days"))
}

func textGlucoseVariability(w Warning) string {
	return fmt.Sprintf("glucose varies more than usual: %.0f%% variation (target 36%% or less), %.0f%% of readings in range, last 14 days",
		w.Evidence.Score*100, w.Evidence.InRange*100)
}

var displayNames = map[Quantity]string{Weight: "weight", Systolic: "systolic pressure", Diastolic: "diastolic pressure",
	Pulse: "resting pulse", Glucose: "glucose"}

var displayUnits = map[Quantity]string{Weight: "kg", Systolic: "mmHg", Diastolic: "mmHg", Pulse: "beats a minute", Glucose: "mg/dL"}

func num(v float64) string {
	if math.Abs(v) >= 20 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// level is one baseline's state.
type level struct {
	first     []float64 // readings before it is ready
	firstAt   time.Time
	mean, mad float64
	n         int
	ready     bool
	updated   time.Time
	recent    []float64 // the last values, for a restart
}

// series is one quantity's state.
type series struct {
	q     Quantity
	rule  quantityRule
	parts map[string]*level
	s     float64 // CUSUM, in spreads
	since time.Time
	sum   float64 // of the readings since `since`
	n     int
	last  time.Time
	open  int // index of the open warning in Monitor.warnings, or -1
	// the crossover: the readings of the last RefTo, the noise of
	// consecutive readings
	kept      []Reading
	noise     float64 // mean absolute difference of consecutive readings
	diffs     int
	prevAt    time.Time
	prevValue float64
	// glucose variability
	window []Reading
	gOpen  int
}

// Monitor follows one patient's readings: baselines, early warnings.
// Readings must come in time order per quantity; older ones are ignored
// (and counted). It is deterministic and reads no clock: time is the
// readings'. Not safe for concurrent use.
type Monitor struct {
	// Detector is the CUSUM's tuning (DefaultDetector from NewMonitor).
	Detector Detector
	loc      *time.Location
	series   map[Quantity]*series
	warnings []Warning
	// Ignored counts readings not used: a quantity without a baseline, a
	// unit other than the quantity's, a value that is not finite, or a
	// time before the quantity's latest.
	Ignored int
}

// NewMonitor returns a Monitor for a patient in loc (parts of the day are
// local).
func NewMonitor(loc *time.Location) *Monitor {
	if loc == nil {
		loc = time.UTC
	}
	return &Monitor{Detector: DefaultDetector, loc: loc, series: map[Quantity]*series{}}
}

// Watch is a Monitor fed every reading of rs, sorted by time.
func Watch(loc *time.Location, rs []Reading) *Monitor {
	m := NewMonitor(loc)
	sorted := append([]Reading(nil), rs...)
	sortReadings(sorted)
	for _, r := range sorted {
		m.Add(r)
	}
	return m
}

// Add takes one reading and returns the warnings it opened or closed.
func (m *Monitor) Add(r Reading) []Warning {
	rule, ok := quantityRules[r.Quantity]
	if !ok || r.Unit != rule.unit || math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
		m.Ignored++
		return nil
	}
	s := m.series[r.Quantity]
	if s == nil {
		s = &series{q: r.Quantity, rule: rule, parts: map[string]*level{}, open: -1, gOpen: -1}
		m.series[r.Quantity] = s
	}
	if r.Time.Before(s.last) {
		m.Ignored++
		return nil
	}
	var changed []int
	if !s.last.IsZero() && r.Time.Sub(s.last) > staleGap {
		s.s, s.n, s.sum = 0, 0, 0
		if s.open >= 0 {
			changed = append(changed, m.close(s, r.Time))
		}
	}
	s.last = r.Time
	changed = append(changed, m.step(s, r)...)
	if r.Quantity == Glucose {
		changed = append(changed, m.glucose(s, r)...)
	}
	out := make([]Warning, len(changed))
	for i, c := range changed {
		out[i] = m.warnings[c]
	}
	return out
}

func (m *Monitor) part(s *series, t time.Time) string {
	if !s.rule.seasonal {
		return ""
	}
	l := t.In(m.loc)
	return PartOfDay(l.Hour()*60 + l.Minute())
}

// step runs the baseline and the CUSUM on one reading.
func (m *Monitor) step(s *series, r Reading) []int {
	p := m.part(s, r.Time)
	lv := s.parts[p]
	if lv == nil {
		lv = &level{}
		s.parts[p] = lv
	}
	lv.n++
	lv.recent = append(lv.recent, r.Value)
	if len(lv.recent) > maxPerPartSaved {
		lv.recent = lv.recent[1:]
	}
	if !lv.ready {
		if len(lv.first) == 0 {
			lv.firstAt = r.Time
		}
		lv.first = append(lv.first, r.Value)
		if len(lv.first) >= warmReadings && r.Time.Sub(lv.firstAt) >= warmSpan {
			lv.start(lv.first)
			lv.first, lv.updated = nil, r.Time
		}
		return nil
	}
	if s.rule.crossover {
		changed := m.crossover(s, r)
		if s.open < 0 {
			lv.learn(r.Value, r.Time, s.rule)
		}
		return changed
	}
	sd := lv.sd(s.rule)
	det := m.Detector
	z := clamp((r.Value-lv.mean)/sd, -det.ClipZ, det.ClipZ)
	if s.s == 0 {
		s.since, s.sum, s.n = r.Time, 0, 0
	}
	s.s = math.Max(0, s.s+z-det.K)
	if s.s > 0 {
		s.sum += r.Value
		s.n++
	}
	var changed []int
	switch {
	case s.open < 0 && s.s > det.H:
		changed = append(changed, m.openWarning(s, r.Time))
	case s.open >= 0 && s.s < det.H/2:
		changed = append(changed, m.close(s, r.Time))
	case s.open >= 0 && r.Time.Sub(m.warnings[s.open].Opened) >= WarningMaxOpen:
		// The new normal: restart every part's baseline from its latest
		// readings.
		changed = append(changed, m.close(s, r.Time))
		for _, l := range s.parts {
			if l.ready && len(l.recent) > 0 {
				l.start(l.recent)
			}
		}
		s.s, s.n, s.sum = 0, 0, 0
	}
	if s.open >= 0 {
		w := &m.warnings[s.open]
		if w.Evidence.Readings == 0 {
			w.Evidence.Level, w.Evidence.Spread, w.Evidence.Since = lv.mean, sd, s.since
		}
		w.Evidence.Readings, w.Evidence.Latest, w.Evidence.Score = s.n, r.Value, math.Round(s.s*100)/100
		w.Evidence.Mean = s.sum / float64(max(s.n, 1))
	}
	if s.open < 0 && s.s <= det.H/2 {
		lv.learn(r.Value, r.Time, s.rule)
	}
	return changed
}

// Readings needed by the crossover: differences before it trusts its
// noise estimate, readings in each of its two averages.
const (
	crossoverDiffs  = 10
	crossoverRecent = 2
	crossoverRef    = 4
	crossoverPair   = 3 * day  // consecutive readings further apart say nothing of the noise
	noiseMemory     = 60       // the noise estimate's memory, in differences
	noiseClip       = 4        // a difference counts at most this many times the noise
	diffToSD        = 0.886227 // mean absolute difference of two readings to the SD of one: sqrt(pi)/2
)

// crossover runs the weight detector on one reading.
func (m *Monitor) crossover(s *series, r Reading) []int {
	det := m.Detector
	if !s.prevAt.IsZero() && r.Time.Sub(s.prevAt) < crossoverPair {
		s.diffs++
		a := math.Max(1/float64(s.diffs), 1.0/noiseMemory)
		d := math.Abs(r.Value - s.prevValue)
		s.noise += a * (math.Min(d, noiseClip*math.Max(s.noise, s.rule.minSpread)) - s.noise)
	}
	s.prevAt, s.prevValue = r.Time, r.Value
	s.kept = append(s.kept, r)
	cut := 0
	for cut < len(s.kept) && r.Time.Sub(s.kept[cut].Time) > det.RefTo {
		cut++
	}
	s.kept = s.kept[cut:]
	if s.diffs < crossoverDiffs {
		return nil
	}
	var recent, ref, nr, nf float64
	for _, k := range s.kept {
		if r.Time.Sub(k.Time) >= det.RefFrom {
			ref += k.Value
			nf++
		}
	}
	if nf < crossoverRef {
		return nil
	}
	ref /= nf
	sd := math.Max(s.noise*diffToSD, s.rule.minSpread)
	since := r.Time
	for _, k := range s.kept {
		if r.Time.Sub(k.Time) < det.Recent {
			recent += math.Min(k.Value, ref+det.RecentClip*sd)
			nr++
			if k.Time.Before(since) {
				since = k.Time
			}
		}
	}
	if nr < crossoverRecent {
		return nil
	}
	recent /= nr
	z := (recent - ref) / (sd * math.Sqrt(1/nr+1/nf))
	var changed []int
	switch {
	case s.open < 0 && z > det.C && recent-ref >= det.MinRise:
		changed = append(changed, m.openWarning(s, r.Time))
	case s.open >= 0 && z < det.C/2:
		changed = append(changed, m.close(s, r.Time))
	}
	if s.open >= 0 {
		w := &m.warnings[s.open]
		if w.Evidence.Readings == 0 {
			w.Evidence.Level, w.Evidence.Spread, w.Evidence.Since = ref, sd, since
		}
		w.Evidence.Readings, w.Evidence.Mean, w.Evidence.Latest = int(nr), recent, r.Value
		w.Evidence.Score = math.Round(z*100) / 100
	}
	return changed
}

func (m *Monitor) openWarning(s *series, t time.Time) int {
	m.warnings = append(m.warnings, Warning{Quantity: s.q, Kind: WarningRising, Priority: PriorityLow, Opened: t})
	s.open = len(m.warnings) - 1
	return s.open
}

func (m *Monitor) close(s *series, t time.Time) int {
	i := s.open
	m.warnings[i].Closed = t
	s.open = -1
	return i
}

// start sets the baseline from values: their median and MAD.
func (lv *level) start(values []float64) {
	v := append([]float64(nil), values...)
	lv.mean = median(v)
	dev := make([]float64, len(v))
	for i, x := range v {
		dev[i] = math.Abs(x - lv.mean)
	}
	// The mean absolute deviation that has the same SD as the MAD.
	lv.mad = median(dev) * madToSD / meanAbsDevToSD
	lv.ready = true
}

func (lv *level) sd(rule quantityRule) float64 {
	return math.Max(lv.mad*meanAbsDevToSD, rule.minSpread)
}

// learn moves the baseline towards v, by the share of its half-life that
// passed since it last learned.
func (lv *level) learn(v float64, t time.Time, rule quantityRule) {
	dt := t.Sub(lv.updated)
	if dt <= 0 {
		dt = time.Hour
	}
	a := 1 - math.Exp2(-dt.Hours()/rule.levelHL.Hours())
	b := 1 - math.Exp2(-dt.Hours()/rule.spreadHL.Hours())
	sd := lv.sd(rule)
	r := clamp(v-lv.mean, -2*sd, 2*sd)
	lv.mean += a * r
	lv.mad += b * (math.Abs(r) - lv.mad)
	lv.updated = t
}

// glucose runs the variability warning on the last 14 days' readings.
func (m *Monitor) glucose(s *series, r Reading) []int {
	s.window = append(s.window, r)
	cut := 0
	for cut < len(s.window) && r.Time.Sub(s.window[cut].Time) > glucoseWindow {
		cut++
	}
	s.window = s.window[cut:]
	sum := GlucoseSummaryOf(s.window)
	var changed []int
	switch {
	case s.gOpen < 0 && sum.N >= glucoseMinN && sum.CV > glucoseCVOpen:
		m.warnings = append(m.warnings, Warning{Quantity: Glucose, Kind: WarningGlucoseVariability, Priority: PriorityLow, Opened: r.Time})
		s.gOpen = len(m.warnings) - 1
		changed = append(changed, s.gOpen)
	case s.gOpen >= 0 && (sum.N < glucoseMinN || sum.CV < glucoseCVClose):
		m.warnings[s.gOpen].Closed = r.Time
		changed = append(changed, s.gOpen)
		s.gOpen = -1
	}
	if s.gOpen >= 0 {
		w := &m.warnings[s.gOpen]
		w.Evidence = WarningEvidence{Level: sum.Mean, Spread: sum.SD, Since: s.window[0].Time, Readings: sum.N, Mean: sum.Mean,
			Latest: r.Value, Score: math.Round(sum.CV*1000) / 1000, InRange: math.Round(sum.InRange*1000) / 1000}
	}
	return changed
}

// GlucoseSummary is the glucose readings of a period as the consensus
// on time in range reads them (Battelino et al., Diabetes Care 2019): the
// share in 70-180 mg/dL (of meter readings here, not of time: a meter
// samples a few times a day), and the coefficient of variation.
type GlucoseSummary struct {
	N        int     `json:"n"`
	Mean     float64 `json:"mean"`
	SD       float64 `json:"sd"`
	CV       float64 `json:"cv"`
	InRange  float64 `json:"in_range"`
	Below70  float64 `json:"below_70"`
	Above180 float64 `json:"above_180"`
}

// GlucoseSummaryOf summarises readings (glucose ones in mg/dL; others are
// left out).
func GlucoseSummaryOf(rs []Reading) GlucoseSummary {
	var s GlucoseSummary
	var sum, sq float64
	var in, low, high int
	for _, r := range rs {
		if r.Quantity != Glucose || r.Unit != "mg/dL" {
			continue
		}
		s.N++
		sum += r.Value
		sq += r.Value * r.Value
		switch {
		case r.Value < glucoseLow:
			low++
		case r.Value > glucoseHigh:
			high++
		default:
			in++
		}
	}
	if s.N == 0 {
		return s
	}
	n := float64(s.N)
	s.Mean = sum / n
	if s.N > 1 {
		s.SD = math.Sqrt(math.Max(sq-n*s.Mean*s.Mean, 0) / (n - 1))
	}
	if s.Mean > 0 {
		s.CV = s.SD / s.Mean
	}
	s.InRange, s.Below70, s.Above180 = float64(in)/n, float64(low)/n, float64(high)/n
	return s
}

// Baselines returns every baseline, by quantity then part of the day.
func (m *Monitor) Baselines() []Baseline {
	var out []Baseline
	for _, q := range []Quantity{Weight, Systolic, Diastolic, Pulse, Glucose} {
		s := m.series[q]
		if s == nil {
			continue
		}
		for _, p := range []string{"", "morning", "midday", "evening", "night"} {
			lv := s.parts[p]
			if lv == nil {
				continue
			}
			b := Baseline{Quantity: q, Part: p, Readings: lv.n, Ready: lv.ready, Updated: lv.updated}
			if lv.ready {
				b.Level, b.Spread = round2(lv.mean), round2(lv.sd(s.rule))
			}
			out = append(out, b)
		}
	}
	return out
}

// Warnings returns every warning so far, open and closed, in the order
// they opened.
func (m *Monitor) Warnings() []Warning { return append([]Warning(nil), m.warnings...) }

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func sortReadings(rs []Reading) {
	slices.SortStableFunc(rs, func(a, b Reading) int { return a.Time.Compare(b.Time) })
}
