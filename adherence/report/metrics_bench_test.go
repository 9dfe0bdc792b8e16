package report

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// The panel benchmark: synthetic logs of many patients on four doses a
// day (about 4.5 events a dose), computed as the panel needs them. Run
// with `make bench`; docs/reports.md has the figures.

type benchPanel struct {
	logs  [][]dispenser.Event
	doses int
	evs   int
}

var (
	benchPanelsMu sync.Mutex
	benchPanels   = map[[2]int]*benchPanel{}
)

// panelData makes (once per size) the logs of patients over years,
// generated on all cores.
func panelData(patients, years int) *benchPanel {
	benchPanelsMu.Lock()
	defer benchPanelsMu.Unlock()
	if p := benchPanels[[2]int{patients, years}]; p != nil {
		return p
	}
	clear(benchPanels) // keep one size in memory at a time
	p := &benchPanel{logs: make([][]dispenser.Event, patients)}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, ny)
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				p.logs[i], _ = Synthetic(uint64(i), start, 365*years, 0.75+float64(i%20)/100)
			}
		})
	}
	for i := range patients {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, l := range p.logs {
		p.evs += len(l)
	}
	p.doses = patients * 365 * years * 4
	benchPanels[[2]int{patients, years}] = p
	return p
}

// panelYear is a patient's panel figures over the whole log: the dose
// figures of the period, weekly adherence and the alerts open at the end.
func panelYear(evs []dispenser.Event, years int) (DoseStats, PanelStats) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, ny)
	end := start.AddDate(years, 0, 0)
	p := PeriodOf(start, end, ny)
	ds := FoldDoses(evs)
	return Summarize(ds, p, ny, "", nil, nil), PanelOf(ds, AlertHistory(evs), ny, end.Add(-time.Hour), 30, 12)
}

func BenchmarkPanelMetrics(b *testing.B) {
	for _, size := range [][2]int{{100, 1}, {1000, 1}, {100, 2}, {1000, 2}} {
		patients, years := size[0], size[1]
		for _, par := range []bool{false, true} {
			mode := "serial"
			if par {
				mode = "parallel"
			}
			b.Run(fmt.Sprintf("patients=%d/years=%d/%s", patients, years, mode), func(b *testing.B) {
				data := panelData(patients, years)
				b.ResetTimer()
				for b.Loop() {
					if !par {
						for _, l := range data.logs {
							panelYear(l, years)
						}
						continue
					}
					var wg sync.WaitGroup
					next := make(chan []dispenser.Event, 64)
					for range runtime.GOMAXPROCS(0) {
						wg.Go(func() {
							for l := range next {
								panelYear(l, years)
							}
						})
					}
					for _, l := range data.logs {
						next <- l
					}
					close(next)
					wg.Wait()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(data.evs), "ns/event")
				b.ReportMetric(float64(data.doses), "doses")
				b.ReportMetric(float64(data.evs), "events")
			})
		}
	}
}

// BenchmarkPatientReport builds one patient-year's full report: the
// figures behind the patient page and the exports.
func BenchmarkPatientReport(b *testing.B) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, ny)
	evs, rs := Synthetic(7, start, 365, 0.85)
	in := Input{Subject: Subject{ID: "pt_bench", Name: "Bench"}, Setup: SyntheticSetup(ny), Events: evs, Readings: rs,
		From: start, To: start.AddDate(1, 0, 0), Generated: start.AddDate(1, 0, 0)}
	for b.Loop() {
		Build(in)
	}
}
