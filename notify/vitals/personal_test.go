package vitals

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

// morningBP is a cuff's measurement with a pulse, of systolic sys with a
// little day-to-day noise (day i).
func morningBP(i int, sys float64) []vital.Reading {
	noise := 5 * math.Sin(float64(i)*2.1)
	return append(bpReading(sys+noise, sys/1.6+noise/2), rd(cuff, vital.Pulse, 68+noise/2))
}

// A drift of systolic pressure from the patient's own normal, well below
// the crisis threshold, raises one low-priority early warning, which the
// fixed rules would not; it closes when the pressure is back, and a
// restart neither raises it again nor loses it.
func TestBaselineWarning(t *testing.T) {
	r := newRig(t, Config{})
	if err := r.mon.WatchBaselines(t.Context(), time.UTC); err != nil {
		t.Fatal(err)
	}
	var got []string
	day := func(i int, sys float64) {
		r.clock.Advance(24 * time.Hour)
		got = append(got, r.ingest(morningBP(i, sys)...)...)
	}
	for i := range 40 {
		day(i, 128)
	}
	if len(got) != 0 {
		t.Fatalf("alerts in 40 steady days = %v, want none", got)
	}
	for i := 40; i < 55; i++ {
		day(i, 150)
	}
	if want := []string{"baseline_systolic low", "baseline_diastolic low"}; !slices.Equal(onlyOpened(got), want) {
		t.Fatalf("alerts of a rise to 150 = %v, want %v", got, want)
	}
	for _, a := range got {
		if !strings.HasPrefix(a, RuleBaselinePrefix) {
			t.Errorf("a fixed rule fired at 150 mmHg: %v", got)
		}
	}

	// A restart rebuilds the baselines from the store: nothing new.
	r.restart(Config{})
	if err := r.mon.WatchBaselines(t.Context(), time.UTC); err != nil {
		t.Fatal(err)
	}
	evs, err := r.store.SinceTime(t.Context(), start)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(evs); n != len(got) {
		t.Errorf("alert events after a restart = %d, want %d (%v)", n, len(got), got)
	}
	if a, err := ParseAlert(evs[0]); err != nil || a.Text != "Systolic blood pressure rising above the usual (early warning)." {
		t.Errorf("the warning's text = %q (%v), want the catalogue's sentence", a.Text, err)
	}

	got = nil
	for i := 55; i < 90; i++ {
		day(i, 128)
	}
	if !slices.Contains(got, "baseline_systolic cleared=normal") {
		t.Errorf("alerts once back to normal = %v, want the warning cleared", got)
	}
}

// The fixed rules stay in force beside the baselines: a crisis reading is
// the crisis alert at its priority, whatever the baselines say.
func TestBaselinesKeepFixedAlerts(t *testing.T) {
	r := newRig(t, Config{})
	if err := r.mon.WatchBaselines(t.Context(), time.UTC); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		r.clock.Advance(24 * time.Hour)
		r.ingest(morningBP(i, 128)...)
	}
	r.clock.Advance(24 * time.Hour)
	r.ingest(bpReading(190, 110)...)
	r.clock.Advance(5 * time.Minute)
	got := r.ingest(bpReading(192, 112)...)
	if !slices.Contains(got, "bp_crisis high") {
		t.Errorf("alerts of a confirmed crisis with baselines on = %v, want bp_crisis high", got)
	}
}

func onlyOpened(as []string) []string {
	var out []string
	for _, a := range as {
		if !strings.Contains(a, "cleared=") {
			out = append(out, a)
		}
	}
	return out
}
