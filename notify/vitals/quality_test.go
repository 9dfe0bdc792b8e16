package vitals

import (
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/hw/vital/quality"
)

// withFlag marks a reading as the decoder or the quality step would.
func withFlag(r vital.Reading, code vital.FlagCode) vital.Reading {
	r.Flag(code, "test")
	return r
}

// TestMonitorExcludedReadingsRaiseNothing: implausible values, device
// faults and control-solution tests are stored but no clinical rule sees
// them, not even as the first of a crisis pair or as history.
func TestMonitorExcludedReadingsRaiseNothing(t *testing.T) {
	g := func(v float64) []vital.Reading { return []vital.Reading{rd(meter, vital.Glucose, v)} }
	tests := []struct {
		name  string
		steps []step
	}{
		// 30 kg/L as a meter may encode it: 3,000,000 mg/dL.
		{"an implausible glucose raises no high alert", []step{{0, g(3e6), ""}}},
		{"an implausible glucose clears no low alert", []step{
			{0, g(60), "glucose_low medium"},
			{5 * time.Minute, g(3e6), ""},
			{5 * time.Minute, g(62), ""},
		}},
		{"a faulty glucose raises nothing", []step{
			{0, []vital.Reading{withFlag(rd(meter, vital.Glucose, 40), vital.DeviceFault)}, ""},
		}},
		{"a control-solution test is a meter check, not a low", []step{
			{0, []vital.Reading{withFlag(rd(meter, vital.Glucose, 40), vital.ControlSolution)}, ""},
			{5 * time.Minute, g(65), "glucose_low medium"},
			{5 * time.Minute, []vital.Reading{withFlag(rd(meter, vital.Glucose, 120), vital.ControlSolution)}, ""},
			{5 * time.Minute, g(64), ""},
		}},
		// A diastolic above its systolic: the step flags the measurement.
		{"swapped pressures are no crisis pair", []step{
			{0, bpReading(110, 190), ""},
			{3 * time.Minute, bpReading(185, 125), ""},
		}},
		{"an implausible systolic is not the first of a pair", []step{
			{0, bpReading(350, 125), ""},
			{3 * time.Minute, bpReading(185, 125), ""},
		}},
		{"an implausible SpO2 is left out of NEWS2", []step{
			{0, []vital.Reading{rd(oxi, vital.SpO2, 40), rd(oxi, vital.Pulse, 70)}, ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, Config{Devices: []Device{{Address: meter, Kind: "glucose"}, {Address: cuff, Kind: "blood_pressure"}}})
			runScript(t, r, tt.steps)
		})
	}
}

// TestMonitorStoresFlags: what the step found is stored with the reading.
func TestMonitorStoresFlags(t *testing.T) {
	r := newRig(t, Config{})
	r.ingest(rd(meter, vital.Glucose, 3e6))
	got, err := r.store.ReadingsSince(t.Context(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].Flagged(vital.Implausible) ||
		got[0].Flags[0].Reason != "glucose 3000000 mg/dL is outside the plausible 10-1000 mg/dL" {
		t.Errorf("stored = %+v, want the glucose flagged implausible with its reason", got)
	}
}

// TestMonitorDeviceProblem: a caregiver is told once when a device keeps
// sending implausible or faulty readings (3 in 7 days), and the alert
// clears on a sound measurement once it no longer does.
func TestMonitorDeviceProblem(t *testing.T) {
	// Fresh readings each step: the rig stamps a reading's time in place.
	bad := func() []vital.Reading { return []vital.Reading{rd(meter, vital.Glucose, 3e6)} }
	faulty := func() []vital.Reading {
		return []vital.Reading{withFlag(rd(meter, vital.Glucose, 95), vital.DeviceFault)}
	}
	sound := func() []vital.Reading { return []vital.Reading{rd(meter, vital.Glucose, 100)} }
	check := func() []vital.Reading {
		return []vital.Reading{withFlag(rd(meter, vital.Glucose, 120), vital.ControlSolution)}
	}
	r := newRig(t, Config{Devices: []Device{{Address: meter, Kind: "glucose"}}})
	runScript(t, r, []step{
		{0, bad(), ""},                 // day 0
		{24 * time.Hour, faulty(), ""}, // day 1
		{time.Hour, sound(), ""},       // two problems: not yet "keeps"
		{24 * time.Hour, check(), ""},
		{time.Hour, bad(), "device_problem low"}, // day 2: the third within 7 days
		{time.Hour, faulty(), ""},                // told once
		{time.Hour, sound(), ""},                 // still four problems in the window
		{5 * 24 * time.Hour, bad(), ""},          // hour 172
		// Hour 219: the problems of hours 50 and 51 have left the window,
		// one remains.
		{47 * time.Hour, sound(), "device_problem cleared=normal"},
		{time.Hour, bad(), ""},
		{time.Hour, bad(), "device_problem low"}, // 3 in the window again: a new episode
	})
	evs, err := r.store.SinceTime(t.Context(), start)
	if err != nil {
		t.Fatal(err)
	}
	var text string
	for _, ev := range evs {
		if a, err := ParseAlert(ev); err == nil && a.Rule == RuleDeviceProblem && !a.Cleared {
			text = a.Text
			if a.Device != meter || !strings.HasPrefix(a.Key, "device_problem:001122334401:") {
				t.Errorf("alert %+v, want the meter's", a)
			}
		}
	}
	const want = "The glucose meter keeps sending impossible or faulty readings (3 in 7 days), kept out of the alerts: check it, its strips or batteries, and how it is used."
	if text != want {
		t.Errorf("text = %q, want %q", text, want)
	}
}

// TestMonitorDeviceProblemSurvivesRestart: the latch is rebuilt from the
// log, so a restart does not tell the caregiver again.
func TestMonitorDeviceProblemSurvivesRestart(t *testing.T) {
	bad := func() []vital.Reading { return []vital.Reading{rd(meter, vital.Glucose, 3e6)} }
	r := newRig(t, Config{})
	runScript(t, r, []step{{0, bad(), ""}, {time.Hour, bad(), ""}, {time.Hour, bad(), "device_problem low"}})
	r.restart(Config{})
	runScript(t, r, []step{{time.Hour, bad(), ""}})
}

// TestMonitorRepeatsCounted: a measurement timed on arrival sent again
// within the repeat window is stored once and counted; a glucose record
// sent again is counted by the store.
func TestMonitorRepeatsCounted(t *testing.T) {
	r := newRig(t, Config{})
	temp := rd(meter, vital.Temperature, 36.5)
	temp.Original = "36.5 °C"
	r.ingest(temp)
	r.clock.Advance(10 * time.Second)
	temp.Time = time.Time{}
	r.ingest(temp)
	rec := rd(meter, vital.Glucose, 60)
	rec.Time, rec.DeviceTime, rec.Original = start.Add(-time.Minute), true, "0.0006 kg/L"
	rec.Context = map[string]string{"sequence": "12"}
	if got := r.ingest(rec); strings.Join(got, ";") != "glucose_low medium" {
		t.Fatalf("the record: %q, want glucose_low medium", got)
	}
	if got := r.ingest(rec); len(got) != 0 {
		t.Errorf("the record again: %q, want nothing", got)
	}
	got, err := r.store.ReadingsSince(t.Context(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Repeats != 1 || got[1].Repeats != 1 {
		t.Errorf("stored = %+v, want the temperature and the record, each with one repeat", got)
	}
	// A minute later the same temperature is a new measurement.
	r.clock.Advance(quality.RepeatWindow)
	temp.Time = time.Time{}
	r.ingest(temp)
	if got, _ := r.store.ReadingsSince(t.Context(), 2, 10); len(got) != 1 {
		t.Errorf("the temperature a minute later: stored %d, want 1", len(got))
	}
}

// TestMonitorCorrectsLateClock: a meter whose clock runs 3 days late
// stamps a low glucose 3 days ago. Taken at its word the reading is stale
// and raises nothing; with the offset read on connection it is corrected
// to now and raises the alert it should.
func TestMonitorCorrectsLateClock(t *testing.T) {
	late := func() vital.Reading {
		g := rd(meter, vital.Glucose, 52)
		g.Time, g.DeviceTime, g.Original = start.Add(-72*time.Hour), true, "0.00052 kg/L"
		g.Context = map[string]string{"sequence": "3"}
		return g
	}
	tests := []struct {
		name    string
		rc      quality.Reception
		want    string
		at      time.Time
		flagged bool
	}{
		{"offset read", quality.Reception{At: start, Trusted: true, Offsets: map[string]time.Duration{meter: -72 * time.Hour}},
			"glucose_low high", start, true},
		{"no offset: a stored record", quality.Reception{At: start, Trusted: true}, "", start.Add(-72 * time.Hour), false},
		{"untrusted controller clock", quality.Reception{At: start, Offsets: map[string]time.Duration{meter: -72 * time.Hour}},
			"", start.Add(-72 * time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, Config{})
			stored, evs, err := r.mon.Ingest(t.Context(), []vital.Reading{late()}, tt.rc)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(describe(t, evs), "; "); got != tt.want {
				t.Errorf("alerts %q, want %q", got, tt.want)
			}
			if len(stored) != 1 || !stored[0].Time.Equal(tt.at) || stored[0].Flagged(vital.ClockCorrected) != tt.flagged {
				t.Errorf("stored %+v, want time %v, corrected %v", stored, tt.at, tt.flagged)
			}
		})
	}
}
