package insights

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// synthetic draws n examples with random features from a known model.
func synthetic(rng *rand.Rand, w Weights, n int) ([]example, []float64) {
	exs := make([]example, n)
	omega := make([]float64, n)
	for i := range exs {
		x := &exs[i].x
		x[fIntercept] = 1
		for j := fIntercept + 1; j < numFeatures; j++ {
			x[j] = rng.NormFloat64()
		}
		z := 0.0
		for j := range numFeatures {
			z += w[j] * x[j]
		}
		exs[i].missed = rng.Float64() < sigmoid(z)
		omega[i] = 1
	}
	return exs, omega
}

func flatPrior(sd float64) Prior {
	var p Prior
	for j := range numFeatures {
		p.SD[j] = sd
	}
	return p
}

func TestFitRecoversWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var want Weights
	for j := range numFeatures {
		want[j] = rng.Float64()*2 - 1
	}
	exs, omega := synthetic(rng, want, 40000)
	got := fit(exs, omega, flatPrior(100), Weights{})
	for j := range numFeatures {
		if math.Abs(got[j]-want[j]) > 0.08 {
			t.Errorf("weight %d = %.3f, want %.3f +- 0.08", j, got[j], want[j])
		}
	}
}

// TestShrinkage: with little data a patient's weights stay near the
// prior's; with much they follow the data.
func TestShrinkage(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var truth, mean Weights
	truth[fWeekend], mean[fWeekend] = 2, 0
	prior := flatPrior(0.5)
	prior.Mean = mean
	few, om := synthetic(rng, truth, 20)
	many, om2 := synthetic(rng, truth, 20000)
	wf := fit(few, om, prior, prior.Mean)
	wm := fit(many, om2, prior, prior.Mean)
	if math.Abs(wf[fWeekend]) >= math.Abs(wm[fWeekend]) {
		t.Errorf("weekend weight from 20 doses %.2f, from 20,000 %.2f: want the first nearer the prior's 0", wf[fWeekend], wm[fWeekend])
	}
	if wm[fWeekend] < 1.7 {
		t.Errorf("weekend weight from 20,000 doses = %.2f, want near the true 2", wm[fWeekend])
	}
}

func TestRecencyWeighting(t *testing.T) {
	// Old doses say "never misses", recent ones "always misses": the
	// trained intercept must lean to the recent.
	var exs []example
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range 400 {
		at := now.Add(-time.Duration(400-i) * day)
		e := example{at: at, settled: at, missed: i >= 300}
		e.x[fIntercept] = 1
		exs = append(exs, e)
	}
	l := &Learner{ix: &index{loc: time.UTC}, prior: flatPrior(10), ex: exs}
	m := l.Train(now)
	if p := sigmoid(m.W[fIntercept]); p < 0.5 {
		t.Errorf("miss chance after 300 taken then 100 missed doses = %.2f, want over 0.5 (recent doses weigh more)", p)
	}
}

func TestSolve(t *testing.T) {
	var h [numFeatures][numFeatures]float64
	var want, g [numFeatures]float64
	for i := range numFeatures {
		h[i][i] = float64(i + 2)
		if i > 0 {
			h[i][i-1], h[i-1][i] = 0.5, 0.5
		}
		want[i] = float64(i) - 3
	}
	for i := range numFeatures {
		for j := range numFeatures {
			g[i] += h[i][j] * want[j]
		}
	}
	got, ok := solve(h, g)
	if !ok {
		t.Fatal("solve failed on a positive definite matrix")
	}
	for i := range numFeatures {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Errorf("x[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	h[0][0] = -1
	if _, ok := solve(h, g); ok {
		t.Error("solve succeeded on a matrix that is not positive definite")
	}
}

func TestMedian(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for n := 1; n < 60; n++ {
		for range 20 {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = float64(rng.IntN(10)) // many ties
			}
			sorted := slices.Clone(xs)
			slices.Sort(sorted)
			want := sorted[n/2]
			if n%2 == 0 {
				want = (sorted[n/2-1] + sorted[n/2]) / 2
			}
			if got := median(xs); got != want {
				t.Fatalf("median(%v) = %v, want %v", sorted, got, want)
			}
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}
