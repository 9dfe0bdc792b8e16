package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/ble"
	"github.com/pillbox/pillbox/hw/gatt"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/hw/vital/quality"
	"github.com/pillbox/pillbox/notify"
)

// The payloads are those of hw/vital/quality/testdata/payloads.txt, where
// each is annotated field by field: derived from the Bluetooth SIG field
// tables, as seen at 2026-03-05 07:40 in New York.
const (
	// 30 kg/L (SFLOAT 1E 00, exponent 0) stamped 2026-03-02 07:40 by a
	// meter whose clock is 3 days late.
	glucose30kgLLate = "02 01 00 EA 07 03 02 07 28 00 1E 00 11"
	// 52 mg/dL (34 B0) stamped a minute earlier by the same late clock,
	// sequence 2.
	glucose52Late = "02 02 00 EA 07 03 02 07 27 00 34 B0 11"
	// A control-solution test of 120 mg/dL (type 10, location 4).
	glucoseControl = "02 04 00 EA 07 03 05 07 28 00 78 B0 4A"
)

type deviceQuality struct {
	Address string           `json:"address"`
	Quality quality.Summary  `json:"quality"`
	Clock   *ble.DeviceClock `json:"clock"`
}

// decode reads JSON the daemon answered, or fails the test.
func decodeJSON[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("answer %s: %v", b, err)
	}
	return v
}

// TestSimImplausibleGlucoseLateClock is issue 16's case through the real
// daemon: the 30 kg/L glucose from a meter whose clock is 3 days late is
// stored flagged (implausible, its time corrected, the meter's kept), the
// meter's clock is set, and no clinical alert is raised; the same meter's
// 52 mg/dL, corrected to now, does raise one.
func TestSimImplausibleGlucoseLateClock(t *testing.T) {
	d := startVitalsDaemon(t)
	_, seq := d.alerts(0)
	now := time.Date(2026, 3, 5, 7, 40, 0, 0, time.FixedZone("EST", -5*3600))

	res := decodeJSON[simReadingResult](t, d.do("POST", "/api/sim/reading",
		`{"char":"2A18","hex":"`+glucose30kgLLate+`","device":"`+meterAddr+`","clock_offset":"-72h"}`, 200))
	if len(res.Stored) != 1 || len(res.Alerts) != 0 || !res.ClockSet {
		t.Fatalf("the 30 kg/L glucose: %+v, want one reading stored, no alert, the clock set", res)
	}
	r := res.Stored[0]
	if !r.Flagged(vital.Implausible) || !r.Flagged(vital.ClockCorrected) || r.Value != 3e6 ||
		!r.Time.Equal(now) || !r.DeviceClock.Equal(now.Add(-72*time.Hour)) {
		t.Errorf("stored %+v, want 3000000 mg/dL flagged implausible and clock_corrected, at %v, the meter's %v kept",
			r, now, now.Add(-72*time.Hour))
	}
	if got, _ := d.alerts(seq); len(got) != 0 {
		t.Errorf("alerts after the 30 kg/L glucose: %q, want none", got)
	}

	// The same late clock's 52 mg/dL of a minute before is corrected to
	// then: a real low.
	res = decodeJSON[simReadingResult](t, d.do("POST", "/api/sim/reading",
		`{"char":"2A18","hex":"`+glucose52Late+`","device":"`+meterAddr+`"}`, 200))
	if len(res.Stored) != 1 || !res.Stored[0].Time.Equal(now.Add(-time.Minute)) || len(res.Alerts) != 1 ||
		!strings.Contains(res.Alerts[0].Detail, "key=glucose_low:") {
		t.Errorf("52 mg/dL from the late clock: %+v, want it at %v and a glucose_low alert", res, now.Add(-time.Minute))
	}

	devs := decodeJSON[[]deviceQuality](t, d.do("GET", "/api/vitals/devices", "", 200))
	if len(devs) != 2 || devs[0].Address != meterAddr {
		t.Fatalf("GET /api/vitals/devices = %+v, want the meter and the cuff", devs)
	}
	m := devs[0]
	if m.Quality.Measurements != 2 || m.Quality.Implausible != 1 || m.Quality.ClockCorrected != 2 ||
		m.Quality.ClockOffsetS == nil || *m.Quality.ClockOffsetS != -72*3600 {
		t.Errorf("meter quality %+v, want 2 measurements, 1 implausible, 2 clock-corrected at -259200 s", m.Quality)
	}
	if m.Clock == nil || m.Clock.OffsetS != -72*3600 || !m.Clock.Off || m.Clock.SetAt.IsZero() {
		t.Errorf("meter clock %+v, want 3 days behind and set", m.Clock)
	}
	d.do("GET", "/api/vitals/devices?days=0", "", 400)
}

// TestVitalsQualityThroughTransport drives the cases through the transport
// path: the clock read on connection corrects a stored record, the record
// sent again is counted, a control-solution test is a meter check, a meter
// that keeps sending impossible values is reported once (one alert, one
// text in the day's digest), and a cuff's measurement repeated on
// reconnection is stored once.
func TestVitalsQualityThroughTransport(t *testing.T) {
	d := startVitalsDaemon(t)
	_, seq := d.alerts(0)
	now := time.Date(2026, 3, 5, 7, 40, 0, 0, time.FixedZone("EST", -5*3600))
	ny := now.Add(-72 * time.Hour)
	set, err := d.replay.ReadClock(t.Context(), ble.Payload{Device: meterAddr, Char: gatt.CurrentTime, Data: gatt.CurrentTimeValue(ny)})
	if err != nil || set == nil {
		t.Fatalf("ReadClock of a clock 3 days late = % X, %v; want the value that sets it", set, err)
	}
	m, err := gatt.Decode(gatt.CurrentTime, set)
	if err != nil {
		t.Fatal(err)
	}
	if at, err := m.Clock.At(now.Location()); err != nil || at.Sub(now).Abs() > time.Second {
		t.Errorf("the clock is set to %v, %v; want %v", at, err, now)
	}

	d.send(meterAddr, 0x2A18, glucose52Late)
	d.send(meterAddr, 0x2A18, glucose52Late) // the record again (a second RACP read)
	got, seq := d.alerts(seq)
	if strings.Join(got, ";") != "high glucose_low" {
		t.Errorf("alerts after the late record and its repeat: %q, want one high glucose_low", got)
	}
	d.send(meterAddr, 0x2A18, glucoseControl)
	if got, _ := d.alerts(seq); len(got) != 0 {
		t.Errorf("alerts after a control-solution test: %q, want none", got)
	}
	rs := decodeJSON[[]vital.Reading](t, d.do("GET", "/api/readings", "", 200))
	if len(rs) != 2 || rs[0].Repeats != 1 || !rs[0].Time.Equal(now.Add(-time.Minute)) || !rs[1].Flagged(vital.ControlSolution) {
		t.Fatalf("GET /api/readings = %+v, want the corrected record with one repeat and the control test", rs)
	}

	// The connection ends: the next one reads the clock again, and the
	// offset of this one corrects nothing more.
	if err := d.replay.Disconnect(t.Context(), meterAddr); err != nil {
		t.Fatal(err)
	}
	// 30 kg/L, three times, stamped 07:34, 07:35 and 07:36 by the meter's
	// clock, now right.
	for i, hex := range []string{"02 05 00 EA 07 03 05 07 22 00 1E 00 11", "02 06 00 EA 07 03 05 07 23 00 1E 00 11", "02 07 00 EA 07 03 05 07 24 00 1E 00 11"} {
		d.send(meterAddr, 0x2A18, hex)
		got, seq = d.alerts(seq)
		want := ""
		if i == 2 {
			want = "low device_problem"
		}
		if strings.Join(got, ";") != want {
			t.Errorf("after implausible value %d: alerts %q, want %q", i+1, got, want)
		}
	}
	// A fourth tells no one again: the alert is open.
	d.send(meterAddr, 0x2A18, "02 08 00 EA 07 03 05 07 25 00 1E 00 11")
	if got, seq = d.alerts(seq); len(got) != 0 {
		t.Errorf("after a fourth implausible value: alerts %q, want none (told once)", got)
	}
	dq := decodeJSON[[]deviceQuality](t, d.do("GET", "/api/vitals/devices?device="+strings.ToLower(meterAddr), "", 200))
	if len(dq) != 1 || dq[0].Quality.Implausible != 4 || dq[0].Quality.ControlSolution != 1 || dq[0].Quality.Repeats != 1 ||
		dq[0].Quality.LastMeterCheck == nil || dq[0].Quality.LastMeterCheck.Value != 120 {
		t.Errorf("meter quality = %+v, want 4 implausible, 1 meter check of 120 mg/dL, 1 repeat", dq)
	}

	// The cuff reconnects and sends its last measurement (timed on
	// arrival) again: stored once, the repeat counted.
	before := seq
	d.send(cuffAddr, 0x2A35, "00 78 00 50 00 5D 00") // 120/80
	d.send(cuffAddr, 0x2A35, "00 78 00 50 00 5D 00")
	rs = decodeJSON[[]vital.Reading](t, d.do("GET", "/api/readings?since=6", "", 200))
	if len(rs) != 3 || rs[0].Quantity != vital.Systolic || rs[0].Repeats != 1 || rs[2].Repeats != 1 {
		t.Errorf("GET /api/readings after the cuff's repeat = %+v, want one systolic, diastolic and mean, each with one repeat", rs)
	}

	// The caregiver reads of the meter in the day's digest (09:00), once.
	d.do("POST", "/api/sim/clock", `{"advance": "1h21m"}`, 200)
	d.waitUntil(before, "the digest about the meter", func(ev dispenser.Event) bool {
		return ev.Kind == notify.KindSMSQueued && strings.Contains(ev.Detail, "device_problem")
	})
	var told []string
	for _, text := range d.texts() {
		if strings.Contains(text.Body, "keeps sending impossible or faulty readings") {
			told = append(told, text.Body)
		}
	}
	if len(told) != 1 || !strings.Contains(told[0], "glucose meter") {
		t.Errorf("texts about the meter = %q, want one about the glucose meter", told)
	}
}
