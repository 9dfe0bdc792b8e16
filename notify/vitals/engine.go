package vitals

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/hw/vital/quality"
	"github.com/pillbox/pillbox/schedule"
)

// History is the stored readings the rules look back on (adherence.Store
// implements it).
type History interface {
	// ReadingsBetween returns the readings of q measured in [from, to), in
	// time order.
	ReadingsBetween(ctx context.Context, q vital.Quantity, from, to time.Time) ([]vital.Reading, error)
	// DeviceReadings returns the readings of device measured in
	// [from, to), in time order.
	DeviceReadings(ctx context.Context, device string, from, to time.Time) ([]vital.Reading, error)
}

// DoseHistory is the event log the cross-rule reads missed doses from
// (dispenser.Log has it).
type DoseHistory interface {
	SinceTime(ctx context.Context, t time.Time) ([]dispenser.Event, error)
}

// Engine runs the rules over each new measurement and dose event and keeps
// one latch per rule, so that a run of abnormal readings raises one alert:
// the latch raises on the first abnormal reading, escalates when a later
// one reaches a higher level, and clears when a reading is back within
// limits past the hysteresis margin. An alert with no abnormal reading for
// Realert expires: the next abnormal reading starts a new one. It is safe
// for concurrent use.
type Engine struct {
	cfg     Config // defaults applied
	th      Thresholds
	clock   schedule.Clock
	hist    History
	doses   DoseHistory
	bpMeds  map[string]bool
	devices map[string]Device // by normalized address

	mu      sync.Mutex
	latches map[string]*latch // by latchID
	// problems are the times of each device's problem measurements
	// (quality.Problem), read from the store once per device and kept
	// up to date, so that the device problem rule does not read a week of
	// a strap's pulses at every measurement.
	problems map[string][]time.Time
}

// latch is one rule's open alert.
type latch struct {
	key      string
	priority Priority
	last     time.Time // of the latest abnormal observation
}

// NewEngine returns an engine for cfg. meds are the configured medications:
// those whose class is one of the blood-pressure classes feed the
// cross-rule.
func NewEngine(cfg Config, meds []dispenser.Medication, clock schedule.Clock, hist History, doses DoseHistory) *Engine {
	cfg = cfg.resolved()
	e := &Engine{cfg: cfg, th: cfg.Thresholds, clock: clock, hist: hist, doses: doses,
		bpMeds: map[string]bool{}, devices: map[string]Device{}, latches: map[string]*latch{},
		problems: map[string][]time.Time{}}
	for _, m := range meds {
		for _, c := range cfg.BPMedicationClasses {
			if strings.EqualFold(strings.TrimSpace(m.Class), strings.TrimSpace(c)) {
				e.bpMeds[m.ID] = true
			}
		}
	}
	for _, d := range cfg.Devices {
		addr, _ := vital.NormalizeAddress(d.Address)
		e.devices[addr] = d
	}
	return e
}

// BPMedications reports the ids of the medications the cross-rule watches.
func (e *Engine) BPMedications() map[string]bool { return e.bpMeds }

// perDevice are the rules with one latch per device.
var perDevice = map[string]bool{RuleDeviceSilent: true, RuleDeviceProblem: true}

func latchID(rule, device string) string {
	if perDevice[rule] {
		return rule + ":" + device
	}
	return rule
}

// realert is how long an alert of rule stays open with no abnormal
// reading: a device problem for the quality step's window, so that a
// device that keeps failing is reported once, not once a Realert.
func (e *Engine) realert(rule string) time.Duration {
	if rule == RuleDeviceProblem {
		return quality.ProblemWindow
	}
	return e.th.Realert
}

// step feeds one verdict, observed at at, to the rule's latch and returns
// the alert changes it causes. a carries the alert's descriptive fields.
func (e *Engine) step(v verdict, at time.Time, a Alert, clearReason string) []Alert {
	id := latchID(a.Rule, a.Device)
	l := e.latches[id]
	var out []Alert
	if l != nil && at.Before(l.last) && v.state != abnormal {
		return nil // an older reading arriving late says nothing of now
	}
	if l != nil && v.state == abnormal && at.Sub(l.last) > e.realert(a.Rule) {
		out = append(out, Alert{Rule: a.Rule, Key: l.key, Cleared: true, Reason: "expired", Device: a.Device})
		delete(e.latches, id)
		l = nil
	}
	switch v.state {
	case abnormal:
		if l == nil {
			l = &latch{key: alertKey(a.Rule, a.Device, at), last: at}
			e.latches[id] = l
		}
		if v.priority > l.priority { // a new alert, or a higher level of it
			l.priority = v.priority
			a.Key, a.Priority, a.Text = l.key, v.priority, sentence(v.summary)
			out = append(out, a)
		}
		if at.After(l.last) {
			l.last = at
		}
	case normal:
		if l != nil {
			delete(e.latches, id)
			out = append(out, Alert{Rule: a.Rule, Key: l.key, Cleared: true, Reason: clearReason, Device: a.Device})
		}
	}
	return out
}

// reliable reports whether r is a sound patient value: no quality flag
// excludes it and the device had no doubt about it.
func reliable(r vital.Reading) bool { return r.Clinical() && len(r.Unreliable) == 0 }

// Measurement runs the rules over the readings of one measurement (one
// device, one time), already stored, and returns the alert changes.
// Readings older than MaxAge are stored history but raise nothing; a
// reading the device flagged unreliable neither raises nor clears an alert
// on its own; a reading the quality step excluded (implausible, a device
// fault, a control-solution test) is no patient value at all, and only
// counts towards the device problem rule.
func (e *Engine) Measurement(ctx context.Context, rs []vital.Reading) ([]Alert, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	dev, at := rs[0].Device, rs[0].Time
	out := e.heard(dev, at)
	if e.clock.Now().Sub(at) > e.th.MaxAge {
		return out, nil
	}
	problems, err := e.deviceProblem(ctx, dev, at, rs)
	out = append(out, problems...)
	if err != nil {
		return out, err
	}
	byQ := map[vital.Quantity]vital.Reading{}
	for _, r := range rs {
		if r.Clinical() {
			byQ[r.Quantity] = r
		}
	}

	if g, ok := byQ[vital.Glucose]; ok && reliable(g) {
		out = append(out, e.step(glucoseLow(g.Value, e.th), at, Alert{Rule: RuleGlucoseLow}, "normal")...)
		out = append(out, e.step(glucoseHigh(g.Value, e.th), at, Alert{Rule: RuleGlucoseHigh}, "normal")...)
	}

	sys, hasSys := byQ[vital.Systolic]
	dia, hasDia := byQ[vital.Diastolic]
	if hasSys && hasDia {
		cur := bp{at: at, sys: sys.Value, dia: dia.Value, unreliable: !reliable(sys) || !reliable(dia)}
		earlier, err := e.bpBetween(ctx, at.Add(-e.th.CrisisConfirmWithin), at)
		if err != nil {
			return out, err
		}
		out = append(out, e.step(bpCrisis(cur, earlier, e.th), at, Alert{Rule: RuleBPCrisis}, "normal")...)
	}

	alerts, err := e.news2(ctx, at, byQ)
	if err != nil {
		return out, err
	}
	out = append(out, alerts...)

	if w, ok := byQ[vital.Weight]; ok && reliable(w) && len(e.cfg.WeightGain) > 0 {
		var longest time.Duration
		for _, g := range e.cfg.WeightGain {
			longest = max(longest, g.Within)
		}
		earlier, err := e.hist.ReadingsBetween(ctx, vital.Weight, at.Add(-longest-longest/4), at)
		if err != nil {
			return out, err
		}
		out = append(out, e.step(weightGain(w.Value, at, onlyReliable(earlier), e.cfg.WeightGain), at,
			Alert{Rule: RuleWeightGain}, "normal")...)
	}

	if hasSys && reliable(sys) {
		alerts, err := e.crossRule(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, alerts...)
	}
	return out, nil
}

func onlyReliable(rs []vital.Reading) []vital.Reading {
	var out []vital.Reading
	for _, r := range rs {
		if reliable(r) {
			out = append(out, r)
		}
	}
	return out
}

// bpBetween pairs the stored systolic and diastolic readings measured in
// [from, to) into measurements.
func (e *Engine) bpBetween(ctx context.Context, from, to time.Time) ([]bp, error) {
	sys, err := e.hist.ReadingsBetween(ctx, vital.Systolic, from, to)
	if err != nil {
		return nil, err
	}
	dia, err := e.hist.ReadingsBetween(ctx, vital.Diastolic, from, to)
	if err != nil {
		return nil, err
	}
	type key struct {
		dev string
		at  int64
	}
	d := map[key]vital.Reading{}
	for _, r := range dia {
		if r.Clinical() {
			d[key{r.Device, r.Time.UnixMilli()}] = r
		}
	}
	var out []bp
	for _, s := range sys {
		if p, ok := d[key{s.Device, s.Time.UnixMilli()}]; ok && s.Clinical() {
			out = append(out, bp{at: s.Time, sys: s.Value, dia: p.Value, unreliable: !reliable(s) || !reliable(p)})
		}
	}
	return out, nil
}

// news2 scores the observation set around a measurement that carries a
// NEWS2 parameter: the measurement's own reliable values, and for the other
// parameters the latest reliable reading within NEWS2Window before it.
func (e *Engine) news2(ctx context.Context, at time.Time, byQ map[vital.Quantity]vital.Reading) ([]Alert, error) {
	obs := map[vital.Quantity]float64{}
	for _, q := range news2Quantities {
		if r, ok := byQ[q]; ok && e.news2Source(r) {
			obs[q] = r.Value
		}
	}
	if len(obs) == 0 {
		return nil, nil // no sound NEWS2 value in this measurement
	}
	for _, q := range news2Quantities {
		if _, ok := obs[q]; ok {
			continue
		}
		rs, err := e.hist.ReadingsBetween(ctx, q, at.Add(-e.th.NEWS2Window), at.Add(time.Millisecond))
		if err != nil {
			return nil, err
		}
		for i := len(rs) - 1; i >= 0; i-- {
			if e.news2Source(rs[i]) {
				obs[q] = rs[i].Value
				break
			}
		}
	}
	score, red := news2Partial(obs, e.th.SpO2Scale)
	return e.step(news2(score, red, len(obs)), at, Alert{Rule: RuleNEWS2}, "normal"), nil
}

// news2Source reports whether r may count in a NEWS2 observation set: a
// sound value, and not from a device worn during exercise such as a
// heart-rate strap (NEWS2 scores a patient at rest; a pulse of 135 on a
// walk is not a red parameter).
func (e *Engine) news2Source(r vital.Reading) bool {
	k, _ := vital.KindNamed(e.devices[r.Device].Kind)
	return reliable(r) && !k.Exercise
}

// crossRule evaluates missed blood-pressure medication with a rising
// systolic trend, now.
func (e *Engine) crossRule(ctx context.Context) ([]Alert, error) {
	if len(e.bpMeds) == 0 {
		return nil, nil
	}
	now := e.clock.Now()
	evs, err := e.doses.SinceTime(ctx, now.Add(-time.Duration(e.th.MissedDays+1)*24*time.Hour))
	if err != nil {
		return nil, err
	}
	count, span := missedStreak(evs, e.bpMeds)
	sys, err := e.hist.ReadingsBetween(ctx, vital.Systolic, now.Add(-e.th.TrendWindow), now.Add(time.Millisecond))
	if err != nil {
		return nil, err
	}
	slope, ok := slopePerDay(onlyReliable(sys), e.th.TrendMinReadings)
	v := bpMissedTrend(count, span, slope, ok, e.th)
	return e.step(v, now, Alert{Rule: RuleBPMissedTrend}, "dose_taken"), nil
}

// Doses runs the cross-rule when evs (newly committed events) include a
// missed or dispensed dose of a blood-pressure medication.
func (e *Engine) Doses(ctx context.Context, evs []dispenser.Event) ([]Alert, error) {
	relevant := false
	for _, ev := range evs {
		switch ev.Kind {
		case dispenser.KindMissed, dispenser.KindDispensed, dispenser.KindTaken:
			relevant = relevant || e.bpMeds[ev.Medication]
		}
	}
	if !relevant {
		return nil, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.crossRule(ctx)
}

// Silent raises the no-data alarm of device (low priority), once until the
// device reports again.
func (e *Engine) Silent(device string) []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := e.devices[device]
	text := fmt.Sprintf("the %s has sent no reading for %s", d.Label(), silence(d.SilentAfter))
	v := verdict{state: abnormal, level: 1, priority: Low, summary: text}
	return e.step(v, e.clock.Now(), Alert{Rule: RuleDeviceSilent, Device: device}, "")
}

// deviceProblem judges whether device keeps sending readings that are
// implausible or that it marks as faulty (quality.Keeps): the caregiver is
// told once, at low priority; the alert clears when a sound measurement
// comes and the device no longer keeps failing. It looks at the stored
// readings only when the measurement is a problem or the alert is open.
func (e *Engine) deviceProblem(ctx context.Context, device string, at time.Time, rs []vital.Reading) ([]Alert, error) {
	problem := slices.ContainsFunc(rs, quality.Problem)
	_, open := e.latches[latchID(RuleDeviceProblem, device)]
	if !problem && !open {
		return nil, nil
	}
	n, err := e.problemCount(ctx, device, at, problem)
	if err != nil {
		return nil, err
	}
	v := verdict{state: hold}
	switch {
	case quality.Keeps(n):
		d := e.devices[device]
		v = verdict{state: abnormal, level: 1, priority: Low, summary: fmt.Sprintf(
			"the %s keeps sending impossible or faulty readings (%d in %s), kept out of the alerts: check it, its strips or batteries, and how it is used",
			d.Label(), n, quality.Duration(quality.ProblemWindow))}
	case !problem:
		v = verdict{state: normal}
	}
	return e.step(v, at, Alert{Rule: RuleDeviceProblem, Device: device}, "normal"), nil
}

// problemCount returns how many of device's measurements within
// quality.ProblemWindow up to at were problems, the one at at included
// when problem. The first call for a device reads them from the store
// (where the measurement at at already is); later ones keep the list.
func (e *Engine) problemCount(ctx context.Context, device string, at time.Time, problem bool) (int, error) {
	times, loaded := e.problems[device]
	if !loaded {
		hist, err := e.hist.DeviceReadings(ctx, device, at.Add(-quality.ProblemWindow), at.Add(time.Millisecond))
		if err != nil {
			return 0, err
		}
		times = quality.ProblemTimes(hist)
	} else if problem && !slices.ContainsFunc(times, at.Equal) {
		times = append(times, at)
	}
	// Keep what a later measurement's window, or an older record's, may
	// still count.
	times = slices.DeleteFunc(times, func(t time.Time) bool { return t.Before(at.Add(-2 * quality.ProblemWindow)) })
	if times == nil {
		times = []time.Time{}
	}
	e.problems[device] = times
	return quality.ProblemsWithin(times, at), nil
}

// heard clears the no-data alarm of device, which just reported.
func (e *Engine) heard(device string, at time.Time) []Alert {
	l, ok := e.latches[latchID(RuleDeviceSilent, device)]
	if !ok {
		return nil
	}
	delete(e.latches, latchID(RuleDeviceSilent, device))
	return []Alert{{Rule: RuleDeviceSilent, Key: l.key, Cleared: true, Reason: "resumed", Device: device}}
}

func silence(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	return fmt.Sprintf("%d hours", int(d/time.Hour))
}

// Restore rebuilds the latches from alert events already in the log (the
// last Realert or more of them), so that a restart neither raises an open
// alert again nor forgets to clear it.
func (e *Engine) Restore(evs []dispenser.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range evs {
		a, err := ParseAlert(ev)
		if err != nil {
			continue // not one of ours, or from an older format: nothing to restore
		}
		id := latchID(a.Rule, a.Device)
		if a.Cleared {
			if l, ok := e.latches[id]; ok && l.key == a.Key {
				delete(e.latches, id)
			}
			continue
		}
		l := e.latches[id]
		if l == nil || l.key != a.Key {
			l = &latch{key: a.Key}
			e.latches[id] = l
		}
		l.priority = max(l.priority, a.Priority)
		if ev.Time.After(l.last) {
			l.last = ev.Time
		}
	}
}
