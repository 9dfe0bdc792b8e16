package backtest

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/pillbox/pillbox/adherence/insights"
)

// Report is the backtest's figures.
type Report struct {
	Patients     int     `json:"patients"`
	PatientYears float64 `json:"patient_years"`
	RetrainDays  int     `json:"retrain_days"`
	Threshold    float64 `json:"threshold"`
	Risk         RiskReport
	Rules        []RuleReport
}

// Score is one predictor's discrimination and calibration.
type Score struct {
	Name  string  `json:"name"`
	AUC   float64 `json:"auc"`
	Brier float64 `json:"brier"`
}

// Bin is one row of a reliability table.
type Bin struct {
	From, To  float64 // predicted probability range [From, To)
	N         int
	Predicted float64 // mean prediction
	Observed  float64 // share missed
}

// RiskReport scores the missed-dose risk.
type RiskReport struct {
	// Occasions scored (doses due together count once) and the share
	// missed.
	Occasions int     `json:"occasions"`
	MissRate  float64 `json:"miss_rate"`
	Scores    []Score `json:"scores"` // in predictor order: model, baselines, slot rate, oracle
	// FirstWeeks is the model's AUC on each patient's first 4 weeks,
	// where it leans on the population prior.
	FirstWeeks  float64 `json:"first_weeks_auc"`
	Reliability []Bin   `json:"reliability"`
	// Flagged is the share of occasions at or over the heads-up threshold;
	// FlaggedMissed the share of those missed (precision); MissesFlagged
	// the share of misses flagged (sensitivity); FlaggedPerWeek per
	// patient-week.
	Flagged        float64 `json:"flagged"`
	FlaggedMissed  float64 `json:"flagged_missed"`
	MissesFlagged  float64 `json:"misses_flagged"`
	FlaggedPerWeek float64 `json:"flagged_per_week"`
}

// Model returns the insights model's score.
func (r RiskReport) Model() Score { return r.score(predModel) }

// Baselines returns the two baselines' scores.
func (r RiskReport) Baselines() (overall, lastWeek Score) {
	return r.score(predOverall), r.score(predLastWeek)
}

// SlotRate and Oracle return the Bayesian slot rate's and the generator's
// own probabilities' scores.
func (r RiskReport) SlotRate() Score { return r.score(predSlotRate) }
func (r RiskReport) Oracle() Score   { return r.score(predOracle) }

func (r RiskReport) score(k int) Score {
	if k < len(r.Scores) {
		return r.Scores[k]
	}
	return Score{Name: predictorNames[k], AUC: math.NaN(), Brier: math.NaN()}
}

// RuleReport scores one vital-sign rule on its labelled events.
type RuleReport struct {
	Rule         string  `json:"rule"`
	Events       int     `json:"events"`
	Detected     int     `json:"detected"`
	Sensitivity  float64 `json:"sensitivity"`
	Alerts       int     `json:"alerts"`
	FalseAlerts  int     `json:"false_alerts"`
	PatientYears float64 `json:"patient_years"`
	// FalsePerYear is false alerts per patient-year monitored.
	FalsePerYear float64 `json:"false_alerts_per_patient_year"`
	// MedianWarnDays is the median days from the first alert to the
	// event, over detected events.
	MedianWarnDays float64 `json:"median_warning_days"`
}

// Rule returns the report of the named rule, and whether there is one.
func (r *Report) Rule(name string) (RuleReport, bool) {
	for _, x := range r.Rules {
		if x.Rule == name {
			return x, true
		}
	}
	return RuleReport{}, false
}

func riskReport(all []scored, threshold, years float64) RiskReport {
	var rr RiskReport
	rr.Occasions = len(all)
	if len(all) == 0 {
		return rr
	}
	ys := make([]bool, len(all))
	missed := 0
	for i, s := range all {
		ys[i] = s.missed
		if s.missed {
			missed++
		}
	}
	rr.MissRate = float64(missed) / float64(len(all))
	ps := make([]float64, len(all))
	for k := range numPredictors {
		for i, s := range all {
			ps[i] = s.p[k]
		}
		rr.Scores = append(rr.Scores, Score{Name: predictorNames[k], AUC: AUC(ps, ys), Brier: Brier(ps, ys)})
	}
	for i, s := range all {
		ps[i] = s.p[predModel]
	}
	rr.Reliability = Reliability(ps, ys, 10)
	var eps []float64
	var eys []bool
	flagged, flaggedMissed := 0, 0
	for i, s := range all {
		if s.early {
			eps, eys = append(eps, ps[i]), append(eys, s.missed)
		}
		if ps[i] >= threshold {
			flagged++
			if s.missed {
				flaggedMissed++
			}
		}
	}
	rr.FirstWeeks = AUC(eps, eys)
	rr.Flagged = float64(flagged) / float64(len(all))
	if flagged > 0 {
		rr.FlaggedMissed = float64(flaggedMissed) / float64(flagged)
	}
	if missed > 0 {
		rr.MissesFlagged = float64(flaggedMissed) / float64(missed)
	}
	if years > 0 {
		rr.FlaggedPerWeek = float64(flagged) / (years * 365.25 / 7)
	}
	return rr
}

func ruleReport(name string, runs []ruleRun) RuleReport {
	t := tallyRule(runs)
	r := RuleReport{Rule: name, Events: t.events, Detected: t.detected, Alerts: t.alerts, FalseAlerts: t.falseAlerts, PatientYears: t.years}
	if t.events > 0 {
		r.Sensitivity = float64(t.detected) / float64(t.events)
	}
	if t.years > 0 {
		r.FalsePerYear = float64(t.falseAlerts) / t.years
	}
	if len(t.warnDays) > 0 {
		slices.Sort(t.warnDays)
		n := len(t.warnDays)
		r.MedianWarnDays = (t.warnDays[(n-1)/2] + t.warnDays[n/2]) / 2
	}
	return r
}

// AUC is the area under the ROC curve of predictions ps for outcomes ys:
// the chance a random missed dose was given a higher risk than a random
// taken one, ties counting half (Mann-Whitney). NaN without both kinds.
func AUC(ps []float64, ys []bool) float64 {
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ps[idx[a]] < ps[idx[b]] })
	var pos, neg, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && ps[idx[j]] == ps[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			if ys[idx[k]] {
				pos++
				rankSum += avg
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// Brier is the mean squared difference between prediction and outcome.
func Brier(ps []float64, ys []bool) float64 {
	s := 0.0
	for i, p := range ps {
		y := 0.0
		if ys[i] {
			y = 1
		}
		s += (p - y) * (p - y)
	}
	return s / float64(len(ps))
}

// Reliability bins predictions into n equal ranges of probability and
// gives each bin's mean prediction and observed share; empty bins are
// left out.
func Reliability(ps []float64, ys []bool, n int) []Bin {
	bins := make([]Bin, n)
	for i := range bins {
		bins[i].From, bins[i].To = float64(i)/float64(n), float64(i+1)/float64(n)
	}
	for i, p := range ps {
		b := min(int(p*float64(n)), n-1)
		bins[b].N++
		bins[b].Predicted += p
		if ys[i] {
			bins[b].Observed++
		}
	}
	out := bins[:0]
	for _, b := range bins {
		if b.N > 0 {
			b.Predicted /= float64(b.N)
			b.Observed /= float64(b.N)
			out = append(out, b)
		}
	}
	return out
}

// WriteText writes the report as the tables docs/insights.md shows.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "cohort: %d patients, %.0f patient-years; model retrained every %d days, each dose judged %v before it is due\n\n",
		r.Patients, r.PatientYears, r.RetrainDays, insights.Horizon)
	rr := r.Risk
	if rr.Occasions == 0 {
		fmt.Fprintf(&b, "missed-dose risk: not scored\n")
	} else {
		r.writeRisk(&b)
	}
	fmt.Fprintf(&b, "\nvital-sign rules on labelled events:\n  %-72s %7s %11s %14s %12s\n", "rule", "events", "sensitivity", "false/pt-year", "median days")
	for _, x := range r.Rules {
		fmt.Fprintf(&b, "  %-72s %7d %10.1f%% %14.2f %12.1f\n", x.Rule, x.Events, 100*x.Sensitivity, x.FalsePerYear, x.MedianWarnDays)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) writeRisk(b *strings.Builder) {
	rr := r.Risk
	fmt.Fprintf(b, "missed-dose risk: %d dose times, %.1f%% missed\n", rr.Occasions, 100*rr.MissRate)
	fmt.Fprintf(b, "  %-72s %6s %6s\n", "predictor", "AUC", "Brier")
	for _, s := range rr.Scores {
		fmt.Fprintf(b, "  %-72s %6.3f %6.4f\n", s.Name, s.AUC, s.Brier)
	}
	fmt.Fprintf(b, "  model AUC in each patient's first 4 weeks (population prior): %.3f\n", rr.FirstWeeks)
	fmt.Fprintf(b, "  heads-up at risk >= %.2f: %.1f%% of doses flagged (%.2f a patient-week), %.1f%% of them missed, %.1f%% of misses flagged\n\n",
		r.Threshold, 100*rr.Flagged, rr.FlaggedPerWeek, 100*rr.FlaggedMissed, 100*rr.MissesFlagged)
	fmt.Fprintf(b, "reliability of the model (predicted vs observed):\n  %-11s %8s %9s %8s\n", "risk", "doses", "predicted", "observed")
	for _, bin := range rr.Reliability {
		fmt.Fprintf(b, "  %.1f - %.1f   %8d %9.3f %8.3f\n", bin.From, bin.To, bin.N, bin.Predicted, bin.Observed)
	}
}
