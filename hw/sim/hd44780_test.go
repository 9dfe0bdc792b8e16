package sim

import (
	"slices"
	"testing"
)

// nib is the backpack port sequence that clocks nibble n in: E high with
// the data, then E low. rs selects data; bl is the backlight bit.
func nib(n byte, rs, bl bool) []byte {
	b := n << 4
	if rs {
		b |= lcdRS
	}
	if bl {
		b |= lcdBacklight
	}
	return []byte{b | lcdE, b}
}

// lcdBytes sends whole bytes as two nibbles each, high first.
func lcdBytes(rs bool, bs ...byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, nib(b>>4, rs, true)...)
		out = append(out, nib(b&0x0F, rs, true)...)
	}
	return out
}

func cat(parts ...[]byte) []byte { return slices.Concat(parts...) }

// lcdInit is the datasheet's "initializing by instruction" for 4 bits,
// then 2 lines, display on, clear, increment.
var lcdInit = cat(nib(3, false, true), nib(3, false, true), nib(3, false, true), nib(2, false, true),
	lcdBytes(false, 0x28, 0x0C, 0x01, 0x06))

func TestHD44780Decodes(t *testing.T) {
	tests := []struct {
		name      string
		port      []byte
		want      []string
		backlight bool
	}{
		{"two rows", cat(lcdInit, lcdBytes(true, 'H', 'i'), lcdBytes(false, 0xC0), lcdBytes(true, []byte("there")...)),
			[]string{"Hi", "there"}, true},
		{"second row by address only", cat(lcdInit, lcdBytes(false, 0xC3), lcdBytes(true, 'x')),
			[]string{"", "   x"}, true},
		{"clear erases", cat(lcdInit, lcdBytes(true, 'a', 'b'), lcdBytes(false, 0x01), lcdBytes(true, 'c')),
			[]string{"c"}, true},
		{"display off shows nothing", cat(lcdInit, lcdBytes(true, 'a'), lcdBytes(false, 0x08)),
			[]string{}, true},
		{"backlight off", cat(lcdInit, lcdBytes(true, 'a'), []byte{0x00}), []string{"a"}, false},
		{"row 0 runs on into its hidden columns", cat(lcdInit, lcdBytes(true, []byte("0123456789abcdefXY")...)),
			[]string{"0123456789abcdef"}, true},
		{"display shift left", cat(lcdInit, lcdBytes(true, 'a', 'b'), lcdBytes(false, 0x18)),
			[]string{"b"}, true},
		{"special characters", cat(lcdInit, lcdBytes(true, 0x5C, 0x7E, 0xDF, 0x01)),
			[]string{"¥→°\uFFFD"}, true},
		// Without the 8-bit to 4-bit switch every nibble is a whole
		// 8-bit instruction: the text never arrives.
		{"no 4-bit switch", cat(lcdBytes(false, 0x28, 0x0C, 0x01), lcdBytes(true, 'H', 'i')),
			[]string{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewHD44780Model()
			if err := m.Tx(tt.port, nil); err != nil {
				t.Fatalf("Tx: %v", err)
			}
			if got := m.Lines(); !slices.Equal(got, tt.want) {
				t.Errorf("Lines() = %q, want %q", got, tt.want)
			}
			if got := m.State().Backlight; got != tt.backlight {
				t.Errorf("Backlight = %t, want %t", got, tt.backlight)
			}
		})
	}
}

func TestHD44780State(t *testing.T) {
	m := NewHD44780Model()
	if err := m.Tx(lcdInit, nil); err != nil {
		t.Fatal(err)
	}
	want := HD44780State{FourBit: true, TwoLines: true, On: true, Increment: true, Backlight: true, Nibbles: 12}
	if got := m.State(); got != want {
		t.Errorf("State() = %+v, want %+v", got, want)
	}
	// A nibble latches on E falling only: data held with E low is ignored.
	if err := m.Tx([]byte{'Z'&0xF0 | lcdRS | lcdBacklight}, nil); err != nil {
		t.Fatal(err)
	}
	if got := m.State().Nibbles; got != 12 {
		t.Errorf("Nibbles after a write with E low = %d, want 12", got)
	}
	// Reading the busy flag: RW high, E high puts BF and the address on
	// D4..D7 (high nibble first).
	if err := m.Tx(cat(lcdBytes(false, 0x85)), nil); err != nil {
		t.Fatal(err)
	}
	r := make([]byte, 1)
	if err := m.Tx([]byte{0xF0 | lcdRW | lcdE | lcdBacklight}, r); err != nil {
		t.Fatal(err)
	}
	if got := r[0] >> 4; got != 0 {
		t.Errorf("busy read high nibble = %#x, want 0 (not busy, address 0x05)", got)
	}
}
