package ble

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/hw/gatt"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/hw/vital/quality"
)

// currentTime3DaysLate is a Current Time (CTS 1.1, 3.1) showing
// 2026-03-02 07:30:00, a Monday: 3 days behind at0, with fractions 0 and
// no adjust reason.
var currentTime3DaysLate = []byte{0xEA, 0x07, 0x03, 0x02, 0x07, 0x1E, 0x00, 0x01, 0x00, 0x00}

// runSession serves one device over l until the first connection has
// handed over what it had, and returns that connection.
func runSession(t *testing.T, l *fakeLink, d Device, sink Sink) *fakeConn {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { serve(ctx, l, []Device{d}, sink, quiet); close(done) }()
	c := <-l.conns
	synctest.Wait()
	cancel()
	<-done
	return c
}

func TestSessionClock(t *testing.T) {
	cts, dt := [2]uint16{0x1805, 0x2A2B}, [2]uint16{0x1810, 0x2A08}
	setCTS := []byte{0xEA, 0x07, 0x03, 0x05, 0x07, 0x1E, 0x00, 0x04, 0x00, 0x02}
	tests := []struct {
		name     string
		values   map[[2]uint16][]byte
		refuse   map[[2]uint16]bool
		set      []byte // what the sink answers
		wantOps  []string
		wantRead uint16 // the clock the sink was given; 0 none
		wantErrs int    // ClockSet calls with an error
		wantSets int
	}{
		{"current time read and set", map[[2]uint16][]byte{cts: currentTime3DaysLate}, nil, setCTS,
			[]string{"read 1805/2A2B", "write 1805/2A2B EA 07 03 05 07 1E 00 04 00 02"}, 0x2A2B, 0, 1},
		{"the clock is right: read only", map[[2]uint16][]byte{cts: currentTime3DaysLate}, nil, nil,
			[]string{"read 1805/2A2B"}, 0x2A2B, 0, 0},
		{"a Date Time in the cuff's service", map[[2]uint16][]byte{dt: {0xEA, 0x07, 0x03, 0x02, 0x07, 0x1E, 0x00}}, nil,
			[]byte{0xEA, 0x07, 0x03, 0x05, 0x07, 0x1E, 0x00},
			[]string{"read 1810/2A08", "write 1810/2A08 EA 07 03 05 07 1E 00"}, 0x2A08, 0, 1},
		{"current time refuses the write", map[[2]uint16][]byte{cts: currentTime3DaysLate}, map[[2]uint16]bool{cts: true}, setCTS,
			[]string{"read 1805/2A2B"}, 0x2A2B, 1, 1},
		{"no clock", nil, nil, setCTS, nil, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := &fakeLink{has: []uint16{0x2A35}, conns: make(chan *fakeConn, 1), values: tt.values, refuse: tt.refuse}
				sink := &recSink{setClock: tt.set}
				c := runSession(t, l, Device{Address: "cuff", Profile: vital.KindBloodPressure.Profile}, sink)
				c.mu.Lock()
				ops := c.ops
				c.mu.Unlock()
				if !slices.Equal(ops, tt.wantOps) {
					t.Errorf("operations %q, want %q", ops, tt.wantOps)
				}
				var read uint16
				if len(sink.clocks) == 1 {
					read = sink.clocks[0].Char
				}
				if read != tt.wantRead || len(sink.clocks) > 1 {
					t.Errorf("clocks given to the sink %v, want one of %04X", sink.clocks, tt.wantRead)
				}
				errs := 0
				for _, err := range sink.setErrs {
					if err != nil {
						errs++
					}
				}
				if len(sink.setErrs) != tt.wantSets || errs != tt.wantErrs {
					t.Errorf("ClockSet calls %v, want %d with %d errors", sink.setErrs, tt.wantSets, tt.wantErrs)
				}
			})
		})
	}
}

// TestSessionClockBeforeRecords: the clock is read before the stored
// records are asked for, so that the offset it shows corrects them; a
// scale's feature is read and handed over before its measurements.
func TestSessionClockBeforeRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &fakeLink{has: []uint16{0x2A18, 0x2A34, RACPChar}, conns: make(chan *fakeConn, 1),
			values: map[[2]uint16][]byte{{0x1805, 0x2A2B}: currentTime3DaysLate}}
		l.onWrite = func(c *fakeConn, char uint16, v []byte) {
			if char == RACPChar {
				c.send(0x2A18, glucose(1, 90, false, at0.Add(-72*time.Hour)))
				c.send(RACPChar, []byte{0x06, 0x00, 0x01, 0x01})
			}
		}
		sink := &recSink{}
		c := runSession(t, l, Device{Address: "meter", Profile: vital.KindGlucose.Profile}, sink)
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.ops) != 2 || c.ops[0] != "read 1805/2A2B" || !strings.HasPrefix(c.ops[1], "write 1808/2A52") {
			t.Errorf("operations %q, want the clock read, then the RACP request", c.ops)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		l := &fakeLink{has: []uint16{0x2A9D}, conns: make(chan *fakeConn, 1),
			values: map[[2]uint16][]byte{{0x181D, 0x2A9E}: {0x18, 0, 0, 0}}}
		sink := &recSink{}
		runSession(t, l, Device{Address: "scale", Profile: vital.KindScale.Profile}, sink)
		if got := sink.chars(); !slices.Equal(got, []uint16{0x2A9E}) {
			t.Errorf("sink got %04X, want the Weight Scale Feature", got)
		}
	})
}

func TestAssemblerClock(t *testing.T) {
	est := time.FixedZone("EST", -5*3600)
	now := time.Date(2026, 3, 5, 7, 30, 0, 0, est)
	cts := func(t time.Time) Payload {
		return Payload{Device: "meter", Char: gatt.CurrentTime, Data: gatt.CurrentTimeValue(t)}
	}
	tests := []struct {
		name    string
		p       Payload
		trusted bool
		offset  time.Duration
		set     []byte
		err     string
	}{
		{"3 days late, trusted: set", cts(now.Add(-72 * time.Hour)), true, -72 * time.Hour, gatt.CurrentTimeValue(now), ""},
		{"3 days late, untrusted: leave it", cts(now.Add(-72 * time.Hour)), false, -72 * time.Hour, nil, ""},
		{"4 minutes fast: leave it", cts(now.Add(4 * time.Minute)), true, 4 * time.Minute, nil, ""},
		{"Date Time", Payload{Device: "meter", Char: gatt.DateTimeChar, Data: gatt.DateTimeValue(now.Add(time.Hour))}, true,
			time.Hour, gatt.DateTimeValue(now), ""},
		{"not a clock", Payload{Device: "meter", Char: 0x2A37, Data: []byte{0, 70}}, true, 0, nil, "2A37 is not a clock"},
		{"a clock with no date", cts(time.Date(0, 1, 1, 0, 0, 0, 0, est)), true, 0, nil, "date not known"},
		{"truncated", Payload{Device: "meter", Char: gatt.CurrentTime, Data: []byte{0xEA}}, true, 0, nil, "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Assembler{Zone: est}
			set, err := a.Clock(tt.p, now, tt.trusted)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("Clock error %v, want %q", err, tt.err)
				}
				if _, ok := a.Offset("meter"); ok {
					t.Errorf("a clock that does not read gives an offset")
				}
				return
			}
			if err != nil || !bytes.Equal(set, tt.set) {
				t.Fatalf("Clock = % X, %v; want % X", set, err, tt.set)
			}
			if off, ok := a.Offset("meter"); !ok || off != tt.offset {
				t.Errorf("Offset = %v, %v; want %v", off, ok, tt.offset)
			}
			c := a.Clocks()["meter"]
			if c.OffsetS != tt.offset.Seconds() || c.Off != (tt.offset < -quality.ClockTolerance || tt.offset > quality.ClockTolerance) || !c.ReadAt.Equal(now) {
				t.Errorf("Clocks()[meter] = %+v", c)
			}
		})
	}
	a := &Assembler{Zone: est}
	a.Clock(cts(now.Add(-72*time.Hour)), now, true)
	a.ClockSet("meter", now, errors.New("write not permitted"))
	if c := a.Clocks()["meter"]; c.SetError != "write not permitted" || !c.SetAt.IsZero() {
		t.Errorf("after a refused write: %+v", c)
	}
	a.ClockSet("meter", now, nil)
	if c := a.Clocks()["meter"]; c.SetError != "" || !c.SetAt.Equal(now) {
		t.Errorf("after the clock was set: %+v", c)
	}
	// The offset belongs to the connection it was read on.
	a.Disconnected("meter")
	if _, ok := a.Offset("meter"); ok {
		t.Errorf("Offset after Disconnected: still known")
	}
	if _, ok := a.Clocks()["meter"]; !ok {
		t.Errorf("Clocks() forgot the meter after Disconnected")
	}
}

// TestAssemblerRoundsToScaleResolution: after the scale's Weight Scale
// Feature (read on connection), its weights are rounded to its resolution.
func TestAssemblerRoundsToScaleResolution(t *testing.T) {
	a := &Assembler{}
	weigh := func() float64 {
		// 14003 × 0.005 kg = 70.015 kg
		rs, err := a.Add(Payload{Device: "scale", Char: gatt.WeightMeasurement, Data: []byte{0x00, 0xB3, 0x36}}, at0)
		if err != nil || len(rs) != 1 {
			t.Fatalf("Add(weight) = %v, %v", rs, err)
		}
		return rs[0].Value
	}
	if got := weigh(); got != 70.015 {
		t.Errorf("weight before the feature = %v, want 70.015", got)
	}
	// Weight resolution 3: 0.1 kg.
	if rs, err := a.Add(Payload{Device: "scale", Char: gatt.WeightScaleFeatureChar, Data: []byte{0x18, 0, 0, 0}}, at0); err != nil || rs != nil {
		t.Fatalf("Add(feature) = %v, %v; want no readings", rs, err)
	}
	if got := weigh(); got != 70.0 {
		t.Errorf("weight after the feature = %v, want 70.0", got)
	}
}

func TestReplayReadClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := NewReplay()
		sink := &recSink{setClock: []byte{1, 2}}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- r.Run(ctx, nil, sink) }()
		set, err := r.ReadClock(ctx, Payload{Device: "a", Char: gatt.CurrentTime, Data: currentTime3DaysLate})
		if err != nil || !bytes.Equal(set, []byte{1, 2}) || len(sink.setErrs) != 1 || sink.setErrs[0] != nil {
			t.Errorf("ReadClock = % X, %v; ClockSet calls %v; want the sink's value, set once", set, err, sink.setErrs)
		}
		cancel()
		<-done
	})
}
