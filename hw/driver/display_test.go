package driver

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestLayout(t *testing.T) {
	tests := []struct {
		name          string
		lines         []string
		width, height int
		want          []string
		fits          bool
	}{
		{"short", []string{"Hi"}, 10, 4, []string{"Hi"}, true},
		{"wrap at word", []string{"Take 2 pills now"}, 10, 4, []string{"Take 2", "pills now"}, true},
		{"exact width", []string{"abcde fghij"}, 5, 4, []string{"abcde", "fghij"}, true},
		{"spaces collapse", []string{"  a \t  b  "}, 10, 4, []string{"a b"}, true},
		{"each line starts a row", []string{"a", "b"}, 10, 4, []string{"a", "b"}, true},
		{"newline starts a row", []string{"a\nb"}, 10, 4, []string{"a", "b"}, true},
		{"empty line kept", []string{"a", "", "b"}, 10, 4, []string{"a", "", "b"}, true},
		{"long word split", []string{"Unbelievable x"}, 5, 4, []string{"Unbel", "ievab", "le x"}, false},
		{"too many rows cut", []string{"a b c"}, 1, 2, []string{"a", "b"}, false},
		{"no glyph shown as ?", []string{"Café ✓\x01"}, 10, 4, []string{"Café ??"}, true},
		{"accents count one cell", []string{"Pastillas listas"}, 9, 4, []string{"Pastillas", "listas"}, true},
		{"accented word split by rune", []string{"Vérification"}, 5, 4, []string{"Vérif", "icati", "on"}, false},
		{"no-break space joins", []string{"échec\u00a0: numéro\u00a0?"}, 8, 4, []string{"échec :", "numéro ?"}, true},
		{"typographic signs", []string{"l\u2019aidant \u2013 ok\u2026"}, 21, 4, []string{"l'aidant - ok..."}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, fits := layout(tt.lines, tt.width, tt.height)
			if !slices.Equal(got, tt.want) || fits != tt.fits {
				t.Errorf("layout(%q, %d, %d) = %q, %v, want %q, %v", tt.lines, tt.width, tt.height, got, fits, tt.want, tt.fits)
			}
		})
	}
}

func TestFontGlyphs(t *testing.T) {
	seen := map[[GlyphWidth]byte]rune{}
	for _, r := range glyphRunes {
		g := Glyph(r)
		if other, dup := seen[g]; dup {
			t.Errorf("Glyph(%q) = Glyph(%q): text could not be read back", r, other)
		}
		seen[g] = r
		for _, col := range g {
			if col&0x80 != 0 {
				t.Errorf("Glyph(%q) uses row 7, the blank row between text rows", r)
			}
		}
	}
	if Glyph('✓') != Glyph('?') || Glyph('\n') != Glyph('?') {
		t.Errorf("unprintable runes are not drawn as '?'")
	}
	if got, want := Glyph('H'), [5]byte{0x7F, 0x08, 0x08, 0x08, 0x7F}; got != want {
		t.Errorf("Glyph('H') = % x, want % x", got, want)
	}
	if LargeCols != 10 || LargeRows != 4 || SmallCols != 21 || SmallRows != 8 {
		t.Errorf("text grid = %dx%d large, %dx%d small; want 10x4, 21x8", LargeCols, LargeRows, SmallCols, SmallRows)
	}
}

func TestRender(t *testing.T) {
	var all []string // every printable character, 21 per row
	for r := rune(firstGlyph + 1); r <= lastGlyph; r += SmallCols {
		all = append(all, string(makeRange(r, min(r+SmallCols-1, lastGlyph))))
	}
	tests := []struct {
		name      string
		lines     []string
		wantScale int
		want      []string
	}{
		{"blank", nil, LargeScale, nil},
		{"large", []string{"Take 2 pills now"}, LargeScale, []string{"Take 2", "pills now"}},
		{"four rows", []string{"Dose due", "press the", "button"}, LargeScale, []string{"Dose due", "press the", "button"}},
		{"long word falls back", []string{"Unbelievable"}, 1, []string{"Unbelievable"}},
		{"five rows fall back", []string{"a", "b", "c", "d", "e"}, 1, []string{"a", "b", "c", "d", "e"}},
		{"charset", all[:4], 1, all[:4]},
		{"charset rest fits large", all[4:], LargeScale, all[4:]},
		{"cut at scale 1", []string{strings.Repeat("word ", 60)}, 1, slices.Repeat([]string{"word word word word"}, SmallRows)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, scale := Render(tt.lines...)
			if scale != tt.wantScale {
				t.Errorf("Render(%q) scale = %d, want %d", tt.lines, scale, tt.wantScale)
			}
			got, ok := ReadText(frame)
			if !ok || !slices.Equal(got, tt.want) {
				t.Errorf("ReadText(Render(%q)) = %q, %v, want %q, true", tt.lines, got, ok, tt.want)
			}
		})
	}
}

func TestRenderPixels(t *testing.T) {
	frame, _ := Render("Hi")
	// 'H' column 0 is 0x7F: rows 0..6, doubled to rows 0..13 at x=0,1.
	// Column 1 is 0x08: row 3, doubled to rows 6,7 at x=2,3.
	// 'i' starts at x=12; its column 2 is 0x7D: rows 0,2..6 -> 0,1,4..13.
	checks := []struct {
		x, page int
		want    byte
	}{
		{0, 0, 0xFF}, {1, 0, 0xFF}, {0, 1, 0x3F}, {1, 1, 0x3F},
		{2, 0, 0xC0}, {3, 0, 0xC0}, {2, 1, 0x00},
		{10, 0, 0x00}, {11, 0, 0x00}, // blank spacing column, doubled
		{16, 0, 0xF3}, {17, 0, 0xF3}, {16, 1, 0x3F},
		{0, 2, 0x00}, // row 7 of the glyph is blank: nothing below row 13
	}
	for _, c := range checks {
		if got := frame[c.page*OLEDWidth+c.x]; got != c.want {
			t.Errorf("frame page %d x %d = %#02x, want %#02x", c.page, c.x, got, c.want)
		}
	}
	if _, ok := ReadText([OLEDBytes]byte{0: 0x01}); ok {
		t.Errorf("ReadText(one stray pixel) ok, want not ok")
	}
}

// oledInitBytes is the init sequence as the task and the datasheet's
// application note give it, written out independently of the driver.
var oledInitBytes = []byte{0x00,
	0xAE, 0xD5, 0x80, 0xA8, 0x3F, 0xD3, 0x00, 0x40, 0x8D, 0x14, 0x20, 0x00,
	0xA1, 0xC8, 0xDA, 0x12, 0x81, 0xCF, 0xD9, 0xF1, 0xDB, 0x40, 0xA4, 0xA6, 0xAF}

// checkOLEDFrame checks that ops are one whole-screen frame write and
// returns the frame.
func checkOLEDFrame(t *testing.T, ops []busOp) [OLEDBytes]byte {
	t.Helper()
	var frame [OLEDBytes]byte
	if len(ops) != 9 {
		t.Fatalf("frame written in %d transfers, want 1 window command + 8 pages", len(ops))
	}
	if want := []byte{0x00, 0x21, 0x00, 0x7F, 0x22, 0x00, 0x07}; !bytes.Equal(ops[0].w, want) {
		t.Errorf("window command = % x, want % x", ops[0].w, want)
	}
	for i, op := range ops[1:] {
		if op.addr != 0x3C || len(op.w) != 129 || op.w[0] != 0x40 {
			t.Fatalf("page %d write = addr %#x, %d bytes starting %#x; want 0x3c, 0x40 + 128 bytes", i, op.addr, len(op.w), op.w[0])
		}
		copy(frame[i*128:], op.w[1:])
	}
	return frame
}

func TestSSD1306(t *testing.T) {
	bus := &recBus{}
	d, err := NewSSD1306(bus, 0x3C)
	if err != nil {
		t.Fatal(err)
	}
	ops := bus.take()
	if len(ops) < 1 || ops[0].addr != 0x3C || !bytes.Equal(ops[0].w, oledInitBytes) {
		t.Fatalf("first write = %v, want init % x", ops[:1], oledInitBytes)
	}
	if frame := checkOLEDFrame(t, ops[1:]); frame != [OLEDBytes]byte{} {
		t.Errorf("frame after init is not blank")
	}
	if err := d.Show("Take 2 pills now"); err != nil {
		t.Fatal(err)
	}
	frame := checkOLEDFrame(t, bus.take())
	if want, _ := Render("Take 2 pills now"); frame != want || d.Frame() != want {
		t.Errorf("frame sent or Frame() differs from Render of the same text")
	}
	if got, _ := ReadText(d.Frame()); !slices.Equal(got, []string{"Take 2", "pills now"}) {
		t.Errorf("screen reads %q, want [Take 2 pills now] wrapped", got)
	}
}

func TestSSD1306Errors(t *testing.T) {
	if _, err := NewSSD1306(&recBus{failAt: 1}, 0x3C); !errors.Is(err, errBus) || !strings.Contains(err.Error(), "0x3c") {
		t.Errorf("NewSSD1306(no device) = %v, want an error naming 0x3c", err)
	}
	bus := &recBus{}
	d, err := NewSSD1306(bus, 0x3C)
	if err != nil {
		t.Fatal(err)
	}
	before := d.Frame()
	bus.take()
	bus.failAt = 5 // window, pages 0..2, then page 3 fails
	if err := d.Show("Hello"); !errors.Is(err, errBus) || !strings.Contains(err.Error(), "page 3") {
		t.Errorf("Show(bus failing) = %v, want an error naming page 3", err)
	}
	if d.Frame() != before {
		t.Errorf("Frame() changed after a failed Show, want the last frame sent completely")
	}
}

// lcd is a model of an HD44780 in 4-bit mode behind a PCF8574, written from
// the datasheet, to check what the driver's bytes do: it latches a nibble
// on each falling edge of E.
type lcd struct {
	prev     byte
	fourBit  bool
	high     *byte // first nibble of a byte in 4-bit mode
	addr     byte
	ddram    [0x80]byte
	cgram    [64]byte
	inCGRAM  bool // data goes to CGRAM (after a set-CGRAM-address)
	cgWrites int
	nibbles  []byte // every nibble latched, with RS in bit 4
	rwHigh   bool
	noLight  bool
}

func (l *lcd) write(b byte) {
	if b&lcdRW != 0 {
		l.rwHigh = true
	}
	if b&lcdBacklight == 0 {
		l.noLight = true
	}
	if l.prev&lcdE != 0 && b&lcdE == 0 {
		n, rs := l.prev>>4, l.prev&lcdRS
		l.nibbles = append(l.nibbles, n|rs<<4)
		if !l.fourBit { // 8-bit mode: D0..D3 float, only the high nibble counts
			if n == 0x2 {
				l.fourBit = true
			}
		} else if l.high == nil {
			l.high = &n
		} else {
			v := *l.high<<4 | n
			l.high = nil
			switch {
			case rs != 0 && l.inCGRAM:
				l.cgram[l.addr&0x3F] = v
				l.addr++
				l.cgWrites++
			case rs != 0:
				l.ddram[l.addr&0x7F] = v
				l.addr++
			case v&0x80 != 0:
				l.addr, l.inCGRAM = v&0x7F, false
			case v&0x40 != 0:
				l.addr, l.inCGRAM = v&0x3F, true
			case v == lcdClear:
				for i := range l.ddram {
					l.ddram[i] = ' '
				}
				l.addr = 0
			}
		}
	}
	l.prev = b
}

func (l *lcd) row(r int) string { return string(l.ddram[lcdRowAddr[r] : lcdRowAddr[r]+LCDCols]) }

func TestHD44780Init(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := &recBus{}
		start := time.Now()
		if _, err := NewHD44780(bus, 0x27); err != nil {
			t.Fatal(err)
		}
		// Every nibble: data with E low, E high, E low (latched on the fall).
		// P3 (0x08) keeps the backlight on.
		want := []struct {
			w       []byte
			minWait time.Duration // before the next write (datasheet figure 24, table 6)
		}{
			{[]byte{0x08}, 40 * time.Millisecond},                                 // all ports low, wait for power-on
			{[]byte{0x38, 0x3C, 0x38}, 4100 * time.Microsecond},                   // 0x3
			{[]byte{0x38, 0x3C, 0x38}, 100 * time.Microsecond},                    // 0x3
			{[]byte{0x38, 0x3C, 0x38}, 37 * time.Microsecond},                     // 0x3
			{[]byte{0x28, 0x2C, 0x28}, 37 * time.Microsecond},                     // 0x2: 4-bit
			{[]byte{0x28, 0x2C, 0x28, 0x88, 0x8C, 0x88}, 37 * time.Microsecond},   // 0x28 function set
			{[]byte{0x08, 0x0C, 0x08, 0xC8, 0xCC, 0xC8}, 37 * time.Microsecond},   // 0x0C display on
			{[]byte{0x08, 0x0C, 0x08, 0x18, 0x1C, 0x18}, 1520 * time.Microsecond}, // 0x01 clear
			{[]byte{0x08, 0x0C, 0x08, 0x68, 0x6C, 0x68}, 37 * time.Microsecond},   // 0x06 entry mode
		}
		ops := bus.take()
		if len(ops) != len(want) {
			t.Fatalf("init wrote %d times, want %d", len(ops), len(want))
		}
		end := time.Now()
		for i, op := range ops {
			if op.addr != 0x27 || !bytes.Equal(op.w, want[i].w) {
				t.Errorf("write %d = %#x % x, want 0x27 % x", i, op.addr, op.w, want[i].w)
			}
			next := end
			if i+1 < len(ops) {
				next = ops[i+1].at
			}
			if gap := next.Sub(op.at); gap < want[i].minWait {
				t.Errorf("after write %d (% x) waited %v, want >= %v", i, op.w, gap, want[i].minWait)
			}
		}
		if ops[1].at.Sub(start) < 40*time.Millisecond {
			t.Errorf("first instruction %v after start, want >= 40ms", ops[1].at.Sub(start))
		}
	})
}

func TestHD44780ShowHi(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := &recBus{}
		d, err := NewHD44780(bus, 0x27)
		if err != nil {
			t.Fatal(err)
		}
		bus.take()
		if err := d.Show("Hi"); err != nil {
			t.Fatal(err)
		}
		space := []byte{0x29, 0x2D, 0x29, 0x09, 0x0D, 0x09} // ' ' = 0x20 as data (RS = P0)
		want := [][]byte{
			{0x88, 0x8C, 0x88, 0x08, 0x0C, 0x08}, // set DDRAM 0x00 (0x80)
			{0x49, 0x4D, 0x49, 0x89, 0x8D, 0x89}, // 'H' = 0x48
			{0x69, 0x6D, 0x69, 0x99, 0x9D, 0x99}, // 'i' = 0x69
		}
		for range 14 {
			want = append(want, space)
		}
		want = append(want, []byte{0xC8, 0xCC, 0xC8, 0x08, 0x0C, 0x08}) // set DDRAM 0x40 (0xC0)
		for range 16 {
			want = append(want, space)
		}
		ops := bus.take()
		if len(ops) != len(want) {
			t.Fatalf("Show(Hi) wrote %d times, want %d", len(ops), len(want))
		}
		for i, op := range ops {
			if !bytes.Equal(op.w, want[i]) {
				t.Errorf("write %d = % x, want % x", i, op.w, want[i])
			}
		}
	})
}

func TestHD44780Show(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  [2]string
	}{
		{"wrap", []string{"Take 2 pills now please"}, [2]string{"Take 2 pills now", "please          "}},
		{"two lines", []string{"Dose due", "Press button"}, [2]string{"Dose due        ", "Press button    "}},
		{"cut", []string{"a", "b", "c"}, [2]string{"a               ", "b               "}},
		{"long word split", []string{"Pharmacotherapeutics"}, [2]string{"Pharmacotherapeu", "tics            "}},
		{"ROM gaps", []string{`a\b~c`}, [2]string{"a-b-c           ", "                "}},
		{"blank", nil, [2]string{"                ", "                "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				bus := &recBus{}
				d, err := NewHD44780(bus, 0x27)
				if err != nil {
					t.Fatal(err)
				}
				if err := d.Show("old text on", "both rows"); err != nil {
					t.Fatal(err)
				}
				if err := d.Show(tt.lines...); err != nil {
					t.Fatal(err)
				}
				m := &lcd{prev: 0xFF} // PCF8574 ports are high at power-on
				for _, op := range bus.take() {
					for _, b := range op.w {
						m.write(b)
					}
				}
				if m.rwHigh || m.noLight || !m.fourBit {
					t.Errorf("model: RW driven high %v, backlight off %v, 4-bit mode %v", m.rwHigh, m.noLight, m.fourBit)
				}
				if got := [2]string{m.row(0), m.row(1)}; got != tt.want {
					t.Errorf("Show(%q) rows = %q, want %q", tt.lines, got, tt.want)
				}
			})
		})
	}
}

func TestHD44780Errors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		if _, err := NewHD44780(&recBus{failAt: 1}, 0x27); !errors.Is(err, errBus) || !strings.Contains(err.Error(), "0x27") {
			t.Errorf("NewHD44780(no device) = %v, want an error naming 0x27", err)
		}
		bus := &recBus{}
		d, err := NewHD44780(bus, 0x27)
		if err != nil {
			t.Fatal(err)
		}
		bus.take()
		bus.failAt = 18 // setting the second row's address
		if err := d.Show("x"); !errors.Is(err, errBus) || !strings.Contains(err.Error(), "row 1") {
			t.Errorf("Show(bus failing) = %v, want an error naming row 1", err)
		}
	})
}
