package vitals

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/internal/i18n"
)

// Personal baselines (docs/insights.md): beside the fixed rules, which
// stay in force and are never changed by them, early warnings when a
// reading drifts from the patient's own normal (adherence/insights: a
// baseline per quantity, a CUSUM or a moving-average crossover, with the
// hysteresis that keeps a warning from flapping). Each warning is an
// alert of low priority, below every threshold alert, on the same ladder:
// the daily digest. Its rule is "baseline_" and the quantity
// ("baseline_weight", "baseline_glucose_variability").

// RuleBaselinePrefix starts the rule of every personal-baseline warning.
const RuleBaselinePrefix = "baseline_"

// baselineQuantities are the quantities with personal baselines.
var baselineQuantities = []vital.Quantity{vital.Weight, vital.Systolic, vital.Diastolic, vital.Pulse, vital.Glucose}

// baselineHistory is how far back the baselines are rebuilt at a start.
const baselineHistory = 180 * 24 * time.Hour

// personal is the engine's personal-baseline state.
type personal struct {
	mon *insights.Monitor
}

// baselineRule is the rule of a warning.
func baselineRule(w insights.Warning) string {
	if w.Kind == insights.WarningGlucoseVariability {
		return RuleBaselinePrefix + "glucose_variability"
	}
	return RuleBaselinePrefix + string(w.Quantity)
}

// baselineAlert is the alert change of a warning that opened or closed.
func baselineAlert(w insights.Warning) Alert {
	rule := baselineRule(w)
	a := Alert{Rule: rule, Key: alertKey(rule, "", w.Opened)}
	if !w.Open() {
		a.Cleared, a.Reason = true, "normal"
		return a
	}
	a.Priority, a.Text = Low, sentence(i18n.Lookup().Text("vital."+rule, nil))
	return a
}

// personalReadings are the readings of one measurement the baselines
// take: reliable ones, and a pulse only from a cuff (with a pressure),
// where it is a resting pulse; a strap's are not.
func personalReadings(byQ map[vital.Quantity]vital.Reading) []insights.Reading {
	var out []insights.Reading
	for _, q := range baselineQuantities {
		r, ok := byQ[q]
		if !ok || !reliable(r) {
			continue
		}
		if _, cuff := byQ[vital.Systolic]; q == vital.Pulse && !cuff {
			continue
		}
		out = append(out, insights.Reading{Quantity: insights.Quantity(q), Value: r.Value, Unit: r.Unit, Time: r.Time})
	}
	return out
}

// personalStep feeds one measurement to the baselines. The caller holds mu.
func (e *Engine) personalStep(byQ map[vital.Quantity]vital.Reading) []Alert {
	if e.personal == nil {
		return nil
	}
	var out []Alert
	for _, r := range personalReadings(byQ) {
		for _, w := range e.personal.mon.Add(r) {
			out = append(out, baselineAlert(w))
		}
	}
	return out
}

// WatchBaselines turns the personal baselines on: it rebuilds them from
// the stored readings (their warnings as they stand, silently) and returns
// the alert changes that bring the log in line with them: a warning open
// with no alert in the log is raised, an alert whose warning has closed
// is cleared. Call it after Restore.
func (e *Engine) WatchBaselines(ctx context.Context, loc *time.Location) ([]Alert, error) {
	now := e.clock.Now()
	// Group the stored readings into measurements (a device, a time), as
	// they came, so that a pulse counts only beside a pressure.
	type measurement struct {
		device string
		at     int64
	}
	var order []measurement
	byM := map[measurement]map[vital.Quantity]vital.Reading{}
	for _, q := range baselineQuantities {
		got, err := e.hist.ReadingsBetween(ctx, q, now.Add(-baselineHistory), now.Add(time.Millisecond))
		if err != nil {
			return nil, fmt.Errorf("vitals: baselines: %w", err)
		}
		for _, r := range got {
			m := measurement{r.Device, r.Time.UnixNano()}
			if byM[m] == nil {
				byM[m] = map[vital.Quantity]vital.Reading{}
				order = append(order, m)
			}
			byM[m][q] = r
		}
	}
	var rs []insights.Reading
	for _, m := range order {
		rs = append(rs, personalReadings(byM[m])...)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.personal = &personal{mon: insights.Watch(loc, rs)}
	open := map[string]insights.Warning{}
	for _, w := range e.personal.mon.Warnings() {
		if w.Open() {
			open[alertKey(baselineRule(w), "", w.Opened)] = w
		}
	}
	var out []Alert
	for id, l := range e.latches {
		if !strings.HasPrefix(id, RuleBaselinePrefix) {
			continue
		}
		if _, still := open[l.key]; still {
			delete(open, l.key)
			continue
		}
		out = append(out, Alert{Rule: id, Key: l.key, Cleared: true, Reason: "normal"})
		delete(e.latches, id)
	}
	for _, key := range slices.Sorted(maps.Keys(open)) {
		out = append(out, baselineAlert(open[key]))
	}
	return out, nil
}
