package vitals

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/hw/vital/quality"
	"github.com/pillbox/pillbox/schedule"
)

var (
	_ Store = (*adherence.Store)(nil)
	_ Log   = (*adherence.Store)(nil)
)

const (
	meter = "00:11:22:33:44:01"
	cuff  = "00:11:22:33:44:02"
	scale = "00:11:22:33:44:03"
	oxi   = "00:11:22:33:44:04"
)

var start = time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)

type rig struct {
	t     *testing.T
	clock *schedule.SimClock
	store *adherence.Store
	mon   *Monitor
}

func newRig(t *testing.T, cfg Config, meds ...dispenser.Medication) *rig {
	t.Helper()
	s, err := adherence.OpenMemory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := &rig{t: t, clock: schedule.NewSimClock(start), store: s}
	r.restart(cfg, meds...)
	return r
}

// restart builds a new monitor on the same store, as a daemon restart does.
func (r *rig) restart(cfg Config, meds ...dispenser.Medication) {
	r.t.Helper()
	if r.mon != nil {
		r.mon.Stop()
	}
	r.mon = NewMonitor(cfg, meds, r.clock, r.store, r.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := r.mon.Start(r.t.Context()); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(r.mon.Stop)
}

// ingest stores readings taken now and returns the alerts they raised, as
// "rule priority" or "rule cleared=reason".
func (r *rig) ingest(rs ...vital.Reading) []string {
	r.t.Helper()
	for i := range rs {
		if rs[i].Time.IsZero() {
			rs[i].Time = r.clock.Now()
		}
	}
	_, evs, err := r.mon.Ingest(r.t.Context(), rs, quality.Reception{At: r.clock.Now(), Trusted: true})
	if err != nil {
		r.t.Fatalf("Ingest: %v", err)
	}
	return describe(r.t, evs)
}

func describe(t *testing.T, evs []dispenser.Event) []string {
	t.Helper()
	var out []string
	for _, ev := range evs {
		a, err := ParseAlert(ev)
		if err != nil {
			t.Fatalf("ParseAlert(%+v): %v", ev, err)
		}
		if a.Cleared {
			out = append(out, a.Rule+" cleared="+a.Reason)
		} else {
			out = append(out, a.Rule+" "+a.Priority.String())
		}
	}
	return out
}

func rd(dev string, q vital.Quantity, v float64, unreliable ...string) vital.Reading {
	return vital.Reading{Device: dev, Quantity: q, Value: v, Unit: q.Unit(), Unreliable: unreliable}
}

func bpReading(sys, dia float64, unreliable ...string) []vital.Reading {
	return []vital.Reading{rd(cuff, vital.Systolic, sys, unreliable...), rd(cuff, vital.Diastolic, dia, unreliable...)}
}

// step is one action of a scripted scenario: advance the clock, then
// ingest readings, and expect these alert changes.
type step struct {
	advance time.Duration
	rs      []vital.Reading
	want    string // alert changes joined by "; "
}

func runScript(t *testing.T, r *rig, steps []step) {
	t.Helper()
	for i, s := range steps {
		r.clock.Advance(s.advance)
		got := strings.Join(r.ingest(s.rs...), "; ")
		if got != s.want {
			t.Errorf("step %d (%v): alerts %q, want %q", i, values(s.rs), got, s.want)
		}
	}
}

func values(rs []vital.Reading) []string {
	var out []string
	for _, r := range rs {
		s := fmt.Sprintf("%s=%g", r.Quantity, r.Value)
		if len(r.Unreliable) > 0 {
			s += "(unreliable)"
		}
		out = append(out, s)
	}
	return out
}

func TestMonitorLatches(t *testing.T) {
	g := func(v float64, unreliable ...string) []vital.Reading {
		return []vital.Reading{rd(meter, vital.Glucose, v, unreliable...)}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"repeated lows latch one alert", []step{
			{0, g(65), "glucose_low medium"},
			{10 * time.Minute, g(62), ""},
			{10 * time.Minute, g(66), ""},
			{10 * time.Minute, g(72), ""}, // within the hysteresis margin
			{10 * time.Minute, g(68), ""},
			{10 * time.Minute, g(80), "glucose_low cleared=normal"},
			{10 * time.Minute, g(90), ""},
			{10 * time.Minute, g(60), "glucose_low medium"},
		}},
		{"a lower level escalates once", []step{
			{0, g(65), "glucose_low medium"},
			{5 * time.Minute, g(50), "glucose_low high"},
			{5 * time.Minute, g(45), ""},
			{5 * time.Minute, g(65), ""}, // back to level 1: still the same alert
			{5 * time.Minute, g(100), "glucose_low cleared=normal"},
		}},
		{"an unreliable reading neither raises nor clears", []step{
			{0, g(40, "control solution"), ""},
			{5 * time.Minute, g(65), "glucose_low medium"},
			{5 * time.Minute, g(120, "sample size insufficient"), ""},
			{5 * time.Minute, g(64), ""},
		}},
		{"an alert expires after realert without abnormal readings", []step{
			{0, g(65), "glucose_low medium"},
			{11 * time.Hour, g(66), ""},
			{12*time.Hour + time.Minute, g(64), "glucose_low cleared=expired; glucose_low medium"},
		}},
		{"high and low are separate rules", []step{
			{0, g(300), "glucose_high medium"},
			{time.Hour, g(60), "glucose_low medium; glucose_high cleared=normal"},
		}},
		{"crisis blood pressure alerts only on the confirming reading", []step{
			{0, bpReading(190, 110), ""},
			{3 * time.Minute, bpReading(185, 105), "bp_crisis high"},
			{3 * time.Minute, bpReading(188, 100), ""},
			{time.Hour, bpReading(140, 90), "bp_crisis cleared=normal"},
		}},
		{"crisis readings 10 minutes apart do not confirm", []step{
			{0, bpReading(190, 110), ""},
			{10 * time.Minute, bpReading(185, 105), ""},
		}},
		{"an unreliable crisis reading does not confirm", []step{
			{0, bpReading(190, 110), ""},
			{3 * time.Minute, bpReading(185, 105, "cuff fit loose"), ""},
		}},
		{"partial NEWS2 across devices", []step{
			{0, []vital.Reading{rd(oxi, vital.SpO2, 93), rd(oxi, vital.Pulse, 115)}, ""}, // 2 + 2 = 4
			{10 * time.Minute, []vital.Reading{rd(meter, vital.Temperature, 38.5)}, "news2 medium"},
			{2 * time.Hour, []vital.Reading{rd(oxi, vital.SpO2, 97), rd(oxi, vital.Pulse, 80)}, "news2 cleared=normal"},
		}},
		{"unreliable oximetry is left out of NEWS2", []step{
			{0, []vital.Reading{rd(oxi, vital.SpO2, 85, "low perfusion"), rd(oxi, vital.Pulse, 70, "low perfusion")}, ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runScript(t, newRig(t, Config{}), tt.steps)
		})
	}
}

func TestMonitorHeartRateStrapStaysOutOfNEWS2(t *testing.T) {
	const strap = "00:11:22:33:44:05"
	r := newRig(t, Config{Devices: []Device{{Address: strap, Kind: vital.KindHeartRate.Name}}})
	if got := r.ingest(rd(strap, vital.Pulse, 140)); len(got) != 0 {
		t.Errorf("a strap's pulse of 140: %v, want nothing", got)
	}
	r.clock.Advance(time.Minute)
	if got := r.ingest(rd(oxi, vital.SpO2, 97), rd(oxi, vital.Pulse, 72)); len(got) != 0 {
		t.Errorf("a normal oximeter reading after the strap's: %v, want nothing", got)
	}
	r.clock.Advance(time.Minute)
	if got := strings.Join(r.ingest(rd(oxi, vital.SpO2, 97), rd(oxi, vital.Pulse, 135)), ";"); got != "news2 medium" {
		t.Errorf("an oximeter's pulse of 135: %q, want news2 medium", got)
	}
}

func TestMonitorStaleReadingsStoreWithoutAlert(t *testing.T) {
	r := newRig(t, Config{})
	old := rd(meter, vital.Glucose, 40)
	old.Time, old.DeviceTime = start.Add(-13*time.Hour), true
	if got := r.ingest(old); len(got) != 0 {
		t.Errorf("a 13-hour-old low raised %v, want nothing", got)
	}
	recent := rd(meter, vital.Glucose, 40)
	recent.Time, recent.DeviceTime = start.Add(-11*time.Hour), true
	if got := r.ingest(recent); strings.Join(got, ";") != "glucose_low high" {
		t.Errorf("an 11-hour-old low raised %v, want glucose_low high", got)
	}
	if rs, _ := r.store.ReadingsSince(t.Context(), 0, 10); len(rs) != 2 {
		t.Errorf("store holds %d readings, want 2", len(rs))
	}
}

func TestMonitorRepeatsOfStoredReadingsRaiseNothing(t *testing.T) {
	r := newRig(t, Config{})
	low := rd(meter, vital.Glucose, 50)
	low.Time, low.DeviceTime, low.Context = start, true, map[string]string{"sequence": "7"}
	r.ingest(low)
	r.clock.Advance(time.Minute)
	cleared := rd(meter, vital.Glucose, 110)
	r.ingest(cleared)
	r.clock.Advance(time.Minute)
	// The meter sends its stored record 7 again after a reconnection.
	if got := r.ingest(low); len(got) != 0 {
		t.Errorf("a repeat of a stored record raised %v, want nothing", got)
	}
}

func TestMonitorRestartKeepsLatches(t *testing.T) {
	r := newRig(t, Config{})
	if got := r.ingest(rd(meter, vital.Glucose, 60)); len(got) != 1 {
		t.Fatalf("first low raised %v, want one alert", got)
	}
	r.restart(Config{})
	r.clock.Advance(time.Minute)
	if got := r.ingest(rd(meter, vital.Glucose, 62)); len(got) != 0 {
		t.Errorf("after a restart the same low raised %v, want nothing", got)
	}
	r.clock.Advance(time.Minute)
	if got := strings.Join(r.ingest(rd(meter, vital.Glucose, 50)), ";"); got != "glucose_low high" {
		t.Errorf("after a restart a level 2 low raised %q, want glucose_low high", got)
	}
	r.clock.Advance(time.Minute)
	if got := strings.Join(r.ingest(rd(meter, vital.Glucose, 100)), ";"); got != "glucose_low cleared=normal" {
		t.Errorf("after a restart a normal reading raised %q, want glucose_low cleared=normal", got)
	}
}

func TestMonitorDeviceSilent(t *testing.T) {
	cfg := Config{Devices: []Device{
		{Address: "00:11:22:33:44:03", Kind: vital.KindScale.Name, SilentAfter: 36 * time.Hour},
		{Address: cuff, Kind: vital.KindBloodPressure.Name}, // no alarm
	}}
	r := newRig(t, cfg)
	alerts := func(since int64) []string {
		evs, err := r.store.Since(t.Context(), since, 100)
		if err != nil {
			t.Fatal(err)
		}
		return describe(t, evs)
	}
	r.clock.Advance(35 * time.Hour)
	if got := alerts(0); len(got) != 0 {
		t.Fatalf("after 35h: %v, want nothing", got)
	}
	r.clock.Advance(time.Hour)
	if got := strings.Join(alerts(0), ";"); got != "device_silent low" {
		t.Fatalf("after 36h of silence: %q, want device_silent low", got)
	}
	evs, _ := r.store.Since(t.Context(), 0, 10)
	if a, _ := ParseAlert(evs[0]); !strings.Contains(a.Text, "scale has sent no reading for 36 hours") || a.Device != scale {
		t.Errorf("no-data alert = %+v, want it to name the scale, its address and 36 hours", a)
	}
	r.clock.Advance(time.Hour)
	if got := strings.Join(r.ingest(rd(scale, vital.Weight, 80)), ";"); got != "device_silent cleared=resumed" {
		t.Errorf("a reading from the silent scale raised %q, want device_silent cleared=resumed", got)
	}
	// Reporting re-arms the full period.
	r.clock.Advance(35 * time.Hour)
	if got := alerts(2); len(got) != 0 {
		t.Errorf("35h after the scale reported: %v, want nothing", got)
	}

	// After a restart the timer counts from the last reading, but gives the
	// device at least an hour.
	r.restart(cfg)
	r.clock.Advance(59 * time.Minute)
	if got := alerts(2); len(got) != 0 {
		t.Errorf("59 minutes after a restart: %v, want nothing", got)
	}
	r.clock.Advance(time.Minute)
	if got := strings.Join(alerts(2), ";"); got != "device_silent low" {
		t.Errorf("an hour after a restart, 36h after its reading: %q, want device_silent low", got)
	}
}

func TestMonitorCrossRule(t *testing.T) {
	meds := []dispenser.Medication{
		{ID: "lisinopril", Class: "ACE inhibitor"},
		{ID: "metformin", Class: "biguanide"},
	}
	r := newRig(t, Config{}, meds...)
	if bp := r.mon.Engine().BPMedications(); !bp["lisinopril"] || bp["metformin"] {
		t.Fatalf("BPMedications() = %v, want lisinopril only", bp)
	}
	day := 24 * time.Hour
	// A rising trend: 130, 136, 142 over three days.
	for i, sys := range []float64{130, 136, 142} {
		if i > 0 {
			r.clock.Advance(day)
		}
		if got := r.ingest(bpReading(sys, 85)...); len(got) != 0 {
			t.Fatalf("systolic %v: %v, want nothing (no dose missed yet)", sys, got)
		}
	}
	missed := func(at time.Time) {
		t.Helper()
		evs, err := r.store.Append(t.Context(), dispenser.Event{Time: r.clock.Now(), Kind: dispenser.KindMissed,
			Medication: "lisinopril", DoseID: "lisinopril@" + at.Format(time.RFC3339), Scheduled: at})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.mon.doses(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
	}
	alerts := func() string {
		evs, _ := r.store.SinceTime(t.Context(), start)
		var keep []dispenser.Event
		for _, ev := range evs {
			if ev.Kind == KindVitalAlert || ev.Kind == KindVitalAlertCleared {
				keep = append(keep, ev)
			}
		}
		return strings.Join(describe(t, keep), "; ")
	}
	missed(r.clock.Now().Add(-day))
	if got := alerts(); got != "" {
		t.Fatalf("one missed dose: %q, want nothing", got)
	}
	missed(r.clock.Now())
	if got := alerts(); got != "bp_missed_trend medium" {
		t.Fatalf("two days missed and systolic rising: %q, want bp_missed_trend medium", got)
	}
	r.clock.Advance(time.Hour)
	if got := r.ingest(bpReading(150, 90)...); len(got) != 0 {
		t.Errorf("another rising reading: %v, want nothing (latched)", got)
	}
	evs, _ := r.store.Append(t.Context(), dispenser.Event{Time: r.clock.Now(), Kind: dispenser.KindDispensed, Medication: "lisinopril", DoseID: "x"})
	if err := r.mon.doses(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	if got := alerts(); got != "bp_missed_trend medium; bp_missed_trend cleared=dose_taken" {
		t.Errorf("after a dose was dispensed: %q, want the alert cleared", got)
	}
}

// risingBPRig is a patient on amlodipine whose systolic rose over a day:
// one missed dose is enough for the cross-rule's alert.
func risingBPRig(t *testing.T) *rig {
	t.Helper()
	r := newRig(t, Config{Thresholds: Thresholds{MissedDays: 1, TrendMinReadings: 2}},
		dispenser.Medication{ID: "amlodipine", Class: "Calcium Channel Blocker"})
	r.ingest(bpReading(130, 80)...)
	r.clock.Advance(25 * time.Hour)
	r.ingest(bpReading(140, 80)...)
	return r
}

// TestMonitorOnCommitQueuesDoseEvents runs the cross-rule through OnCommit
// and Run, as the daemon wires them.
func TestMonitorOnCommitQueuesDoseEvents(t *testing.T) {
	r := risingBPRig(t)
	evs, err := r.store.Append(t.Context(),
		dispenser.Event{Time: r.clock.Now(), Kind: dispenser.KindMissed, Medication: "metformin", DoseID: "m"},
		dispenser.Event{Time: r.clock.Now(), Kind: dispenser.KindMissed, Medication: "amlodipine", DoseID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	r.mon.OnCommit(evs[:1])
	select {
	case <-r.mon.wake:
		t.Fatalf("OnCommit(a metformin dose) woke Run, want it left alone")
	default:
	}
	r.mon.OnCommit(evs)
	select {
	case <-r.mon.wake:
	default:
		t.Fatalf("OnCommit(an amlodipine dose) did not wake Run")
	}
	if err := r.mon.Settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	all, _ := r.store.Since(t.Context(), evs[1].Seq, 10)
	if got := describe(t, all); strings.Join(got, ";") != "bp_missed_trend medium" {
		t.Errorf("after a missed amlodipine dose via OnCommit: %v, want bp_missed_trend medium", got)
	}
}

// Settle returns once the dose events committed before it went through the
// cross-rule, even when Run took them from the queue first.
func TestMonitorSettleWaitsForRun(t *testing.T) {
	r := risingBPRig(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.mon.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	evs, err := r.store.Append(t.Context(), dispenser.Event{Time: r.clock.Now(), Kind: dispenser.KindMissed, Medication: "amlodipine", DoseID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	r.mon.OnCommit(evs)
	if err := r.mon.Settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	all, _ := r.store.Since(t.Context(), evs[0].Seq, 10)
	if got := describe(t, all); strings.Join(got, ";") != "bp_missed_trend medium" {
		t.Errorf("after OnCommit and Settle, with Run running: %v, want bp_missed_trend medium", got)
	}
}

// TestMonitorReplayedMemoryIsNotANewMeasurement: a device that only sends
// records already stored stays silent.
func TestMonitorReplayedMemoryIsNotANewMeasurement(t *testing.T) {
	cfg := Config{Devices: []Device{{Address: scale, Kind: vital.KindScale.Name, SilentAfter: 36 * time.Hour}}}
	r := newRig(t, cfg)
	w := rd(scale, vital.Weight, 80)
	w.Time, w.DeviceTime = start, true
	r.ingest(w)
	r.clock.Advance(30 * time.Hour)
	r.ingest(w) // the scale replays its memory
	r.clock.Advance(6 * time.Hour)
	evs, _ := r.store.Since(t.Context(), 0, 10)
	if got := strings.Join(describe(t, evs), ";"); got != "device_silent low" {
		t.Errorf("36h after the last new weight, with a replay at 30h: %q, want device_silent low", got)
	}
}
