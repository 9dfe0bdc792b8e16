// Package backtest scores the insights package on a synthetic cohort
// (package cohort), the way it would have done in use: every dose's risk
// is judged Horizon before it was due, by a model trained at the last
// weekly origin before that on what had settled by then (rolling origin,
// no look-ahead; TestNoLookAhead holds it), against two baselines and a
// Bayesian slot rate; the personal vital-sign warnings are run reading by
// reading against the fixed rules of the device, and both are scored on
// the cohort's labelled events. docs/insights.md reports the figures.
package backtest

import (
	"cmp"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
	"github.com/pillbox/pillbox/adherence/insights/cohort"
)

// Options say how to score.
type Options struct {
	// Prior is the population model every patient starts from.
	Prior insights.Prior
	// Retrain is the interval between origins (default 7 days).
	Retrain time.Duration
	// Threshold is the risk from which a heads-up would be given (default
	// 0.5): the backtest says how many doses pass it and how many of those
	// are missed.
	Threshold float64
	// Workers is how many patients are scored at once (default GOMAXPROCS).
	Workers int
	// VitalsOnly skips the missed-dose risk (the costly part), to score
	// the vital-sign rules on a larger cohort.
	VitalsOnly bool
}

func (o Options) withDefaults() Options {
	if o.Retrain <= 0 {
		o.Retrain = 7 * 24 * time.Hour
	}
	if o.Threshold <= 0 {
		o.Threshold = 0.5
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// Generated scores patients [first, first+n) of the cohort (params, seed),
// generating each on a worker.
func Generated(params cohort.Params, seed uint64, first, n int, opts Options) (*Report, error) {
	if err := params.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	results := make([]patientResult, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range opts.Workers {
		wg.Go(func() {
			for i := range next {
				p := cohort.Generate(params, seed, first+i)
				results[i] = score(&p, opts)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return merge(results, opts), nil
}

// File scores every patient of a cohort file.
func File(r io.Reader, opts Options) (*Report, cohort.Header, error) {
	opts = opts.withDefaults()
	var (
		mu      sync.Mutex
		results []patientResult
		wg      sync.WaitGroup
	)
	next := make(chan *cohort.Patient, opts.Workers)
	for range opts.Workers {
		wg.Go(func() {
			for p := range next {
				res := score(p, opts)
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
			}
		})
	}
	order := 0
	h, err := cohort.Read(r, func(p *cohort.Patient) error {
		p.Index = order // the file's order decides, whatever it says
		order++
		next <- p
		return nil
	})
	close(next)
	wg.Wait()
	if err != nil {
		return nil, h, err
	}
	slices.SortFunc(results, func(a, b patientResult) int { return cmp.Compare(a.index, b.index) })
	return merge(results, opts), h, nil
}

// FitPrior fits the population model on patients [0, n) of a development
// cohort, which the scored cohort must not share.
func FitPrior(params cohort.Params, seed uint64, n int, base insights.Prior) insights.Prior {
	hs := make([]*insights.History, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				p := cohort.Generate(params, seed, i)
				hs[i] = p.History()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return insights.FitPrior(hs, base)
}

// patientResult is one patient's scores, merged in patient order.
type patientResult struct {
	index  int
	years  float64
	doses  []scored
	vitals []ruleRun
}

func merge(rs []patientResult, opts Options) *Report {
	rep := &Report{Patients: len(rs), Threshold: opts.Threshold, RetrainDays: int(opts.Retrain.Hours() / 24)}
	var all []scored
	runs := map[string][]ruleRun{}
	var names []string
	for _, r := range rs {
		rep.PatientYears += r.years
		all = append(all, r.doses...)
		for _, v := range r.vitals {
			if _, ok := runs[v.rule]; !ok {
				names = append(names, v.rule)
			}
			runs[v.rule] = append(runs[v.rule], v)
		}
	}
	rep.Risk = riskReport(all, opts.Threshold, rep.PatientYears)
	for _, n := range names {
		rep.Rules = append(rep.Rules, ruleReport(n, runs[n]))
	}
	return rep
}
