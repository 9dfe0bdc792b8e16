package gatt

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary payloads to every characteristic. A payload
// must either decode or fail with an *Error naming its characteristic;
// a decoded measurement must marshal, flatten to readings in canonical
// units, and, when nothing reserved was ignored, encode back to exactly
// the input bytes; a clock that reads as a time sets as the same bytes.
func FuzzDecode(f *testing.F) {
	for _, fs := range flagSpaces {
		p, err := encode(fs.build(fs.defined))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint16(fs.char), p)
	}
	for _, c := range readOnConnection {
		f.Add(c.char, mustHex(f, c.hex))
	}
	f.Fuzz(func(t *testing.T, uuid uint16, payload []byte) {
		m, err := Decode(uuid, payload)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Char != UUID(uuid) || !strings.HasPrefix(err.Error(), UUID(uuid).String()+": ") {
				t.Fatalf("Decode(%04X, % X) error %q does not name the characteristic", uuid, payload, err)
			}
			return
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("json.Marshal(Decode(%04X, % X)): %v", uuid, payload, err)
		}
		rs := m.Readings()
		for _, r := range rs {
			if r.Unit != r.Quantity.Unit() || r.Unit == "" {
				t.Errorf("reading %s in %q, want %q", r.Quantity, r.Unit, r.Quantity.Unit())
			}
			if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || (r.Absent != "" && r.Value != 0) {
				t.Errorf("reading %s = %v with absent %q", r.Quantity, r.Value, r.Absent)
			}
		}
		if _, err := json.Marshal(rs); err != nil {
			t.Fatalf("json.Marshal(Readings()) of %04X % X: %v", uuid, payload, err)
		}
		// A clock that reads as a time is that time: the value that would
		// set a clock to it is the payload's date and time.
		if m.Clock != nil {
			if at, err := m.Clock.At(nil); err == nil && !bytes.Equal(DateTimeValue(at), payload[:7]) {
				t.Errorf("clock % X reads %v, which sets as % X", payload, at, DateTimeValue(at))
			}
		}
		if len(m.Notes) > 0 {
			return
		}
		back, err := encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back, payload) {
			t.Errorf("Decode(%04X, % X) encodes back to % X", uuid, payload, back)
		}
	})
}
