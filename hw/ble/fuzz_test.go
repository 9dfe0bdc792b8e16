package ble

import (
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw/gatt"
	"github.com/pillbox/pillbox/hw/vital/quality"
)

// FuzzParseRACP: a meter's RACP indications are outside input.
func FuzzParseRACP(f *testing.F) {
	f.Add([]byte{0x06, 0x00, 0x01, 0x01})
	f.Add([]byte{0x05, 0x00, 0x03, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRACP(b)
		if err != nil {
			return
		}
		if len(b) != 4 || b[0] != racpResponseCode || r.Request != b[2] || r.Code != b[3] {
			t.Errorf("parseRACP(% X) = %+v, want the request and code of a 4-byte response", b, r)
		}
		x := newRecordTransfer(5, true)
		x.first()
		x.done(r) // must not panic whatever the code
	})
}

// FuzzAssembler: two values in a row from one device, whatever their
// bytes and characteristics, give readings or errors, never a panic, and
// leave nothing pending that Flush cannot release.
func FuzzAssembler(f *testing.F) {
	f.Add(uint16(0x2A18), glucose(7, 95, true, at0), uint16(0x2A34), glucoseContext(7, 1))
	f.Add(uint16(0x2A18), glucose(7, 95, true, at0), uint16(0x2A34), []byte{0x02, 0x07})
	f.Add(uint16(0x2A37), []byte{0x10, 0x48, 0x00, 0x04}, uint16(0x2A37), []byte{0x00, 0x48})
	f.Fuzz(func(t *testing.T, c1 uint16, b1 []byte, c2 uint16, b2 []byte) {
		a := &Assembler{MinInterval: time.Minute}
		a.Add(Payload{"d", c1, b1}, at0)
		rs, _ := a.Add(Payload{"d", c2, b2}, at0.Add(time.Second))
		for _, r := range rs {
			if r.Device != "d" || r.Unit != r.Quantity.Unit() {
				t.Errorf("reading %+v: want device d and the canonical unit", r)
			}
		}
		a.Flush("d")
		if a.Pending("d") {
			t.Errorf("still pending after Flush")
		}
	})
}

// FuzzAssemblerClock: a device's clock value read on connection is
// outside input. Whatever its bytes, Clock gives an error or a verdict that
// agrees with the times themselves (off when the clock shows more than the
// tolerance either way from the controller's, however far), and a value to
// set the clock that reads back as the controller's time.
func FuzzAssemblerClock(f *testing.F) {
	f.Add(uint16(gatt.CurrentTime), currentTime3DaysLate, true)
	f.Add(uint16(gatt.DateTimeChar), gatt.DateTimeValue(at0.Add(-72*time.Hour)), true)
	f.Add(uint16(gatt.DateTimeChar), gatt.DateTimeValue(at0.Add(time.Minute)), false)
	f.Fuzz(func(t *testing.T, char uint16, b []byte, trusted bool) {
		zone := time.FixedZone("EST", -5*3600)
		a := &Assembler{Zone: zone}
		set, err := a.Clock(Payload{"d", char, b}, at0, trusted)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "ble: device clock: ") {
				t.Errorf("Clock(%04X, % X) error %q does not say what failed", char, b, err)
			}
			if _, ok := a.Offset("d"); ok {
				t.Errorf("Clock(%04X, % X) failed but kept an offset", char, b)
			}
			return
		}
		m, _ := gatt.Decode(char, b)
		shows, _ := m.Clock.At(zone)
		tol := quality.ClockTolerance
		off := shows.Before(at0.Add(-tol)) || shows.After(at0.Add(tol))
		c := a.Clocks()["d"]
		if c.Off != off || (c.OffsetS < 0) != shows.Before(at0) {
			t.Errorf("Clock(%04X, % X): the device shows %v at %v; verdict off %v, offset %v s",
				char, b, shows, at0, c.Off, c.OffsetS)
		}
		if (set != nil) != (off && trusted) {
			t.Errorf("Clock(%04X, % X) (off %v, trusted %v) = % X, want a value to set only when off and trusted",
				char, b, off, trusted, set)
		}
		if set == nil {
			return
		}
		sm, err := gatt.Decode(char, set)
		if err != nil || sm.Clock == nil {
			t.Fatalf("the value that sets the clock, % X, does not decode: %v", set, err)
		}
		if got, err := sm.Clock.At(zone); err != nil || got.Sub(at0).Abs() >= time.Second {
			t.Errorf("the value that sets the clock reads %v, %v; want %v", got, err, at0)
		}
	})
}
