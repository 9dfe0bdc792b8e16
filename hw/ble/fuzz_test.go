package ble

import (
	"testing"
	"time"
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
