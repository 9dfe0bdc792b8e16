package sim

import (
	"bytes"
	"image/png"
	"slices"
	"testing"

	"github.com/pillbox/pillbox/hw/driver"
)

// adafruitInit is the 128x64 initialisation the Adafruit and u8g2
// libraries send, written out from the datasheet for this test.
var adafruitInit = []byte{
	0xAE, 0xD5, 0x80, 0xA8, 0x3F, 0xD3, 0x00, 0x40, 0x8D, 0x14, 0x20, 0x00,
	0xA1, 0xC8, 0xDA, 0x12, 0x81, 0xCF, 0xD9, 0xF1, 0xDB, 0x40, 0xA4, 0xA6, 0xAF,
}

var wantInitState = SSD1306State{
	On: true, ChargePump: true, SegRemap: true, COMRemap: true,
	Contrast: 0xCF, Mode: HorizontalAddressing, Mux: 64, COMPins: 0x12,
	ClockDiv: 0x80, Precharge: 0xF1, VCOMH: 0x40,
	Columns: [2]int{0, 127}, Pages: [2]int{0, 7},
}

func txAll(t *testing.T, d Device, txs ...[]byte) {
	t.Helper()
	for _, w := range txs {
		if err := d.Tx(w, nil); err != nil {
			t.Fatalf("Tx(% x): %v", w, err)
		}
	}
}

func TestSSD1306DecodesInit(t *testing.T) {
	coEach := []byte{}
	for _, b := range adafruitInit {
		coEach = append(coEach, 0x80, b) // Co=1: one command byte per control byte
	}
	tests := []struct {
		name string
		txs  [][]byte
	}{
		{"one command stream", [][]byte{append([]byte{0x00}, adafruitInit...)}},
		{"control byte before each byte", [][]byte{coEach}},
		{"parameters in later transactions", func() (txs [][]byte) {
			for _, b := range adafruitInit {
				txs = append(txs, []byte{0x00, b})
			}
			return txs
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewSSD1306Model()
			txAll(t, m, tt.txs...)
			if got := m.State(); got != wantInitState {
				t.Errorf("State() = %+v, want %+v", got, wantInitState)
			}
		})
	}
}

func TestSSD1306Addressing(t *testing.T) {
	seq := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i + 1)
		}
		return b
	}
	type cell struct{ page, col int }
	tests := []struct {
		name string
		cmds []byte
		data []byte
		want map[cell]byte
	}{
		{"horizontal wraps to the next page", []byte{0x20, 0x00, 0x21, 0, 127, 0x22, 0, 7}, seq(130),
			map[cell]byte{{0, 0}: 1, {0, 127}: 128, {1, 0}: 129, {1, 1}: 130}},
		{"horizontal window", []byte{0x20, 0x00, 0x21, 10, 12, 0x22, 2, 3}, seq(6),
			map[cell]byte{{2, 10}: 1, {2, 12}: 3, {3, 10}: 4, {3, 12}: 6, {2, 11}: 2, {0, 0}: 0}},
		{"window wraps back to its start", []byte{0x20, 0x00, 0x21, 10, 11, 0x22, 2, 2}, seq(3),
			map[cell]byte{{2, 10}: 3, {2, 11}: 2}},
		{"vertical", []byte{0x20, 0x01, 0x21, 5, 6, 0x22, 0, 1}, seq(4),
			map[cell]byte{{0, 5}: 1, {1, 5}: 2, {0, 6}: 3, {1, 6}: 4}},
		{"page mode start address", []byte{0x20, 0x02, 0xB3, 0x05, 0x12}, seq(2),
			map[cell]byte{{3, 0x25}: 1, {3, 0x26}: 2}},
		{"page mode stays on its page", []byte{0x20, 0x02, 0xB1, 0x0E, 0x17}, seq(2),
			map[cell]byte{{1, 126}: 1, {1, 127}: 2, {2, 0}: 0, {1, 0}: 0}},
		{"page commands ignored in horizontal mode", []byte{0x20, 0x00, 0xB3, 0x05}, seq(1),
			map[cell]byte{{0, 0}: 1, {3, 5}: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewSSD1306Model()
			txAll(t, m, append([]byte{0x00}, tt.cmds...), append([]byte{0x40}, tt.data...))
			ram := m.RAM()
			for c, want := range tt.want {
				if got := ram[c.page][c.col]; got != want {
					t.Errorf("RAM[page %d][col %d] = %d, want %d", c.page, c.col, got, want)
				}
			}
		})
	}
	// Page mode wraps to its column start: 0x7E, 0x7F, then 0x7E again.
	m := NewSSD1306Model()
	txAll(t, m, []byte{0x00, 0xB1, 0x0E, 0x17}, []byte{0x40, 1, 2, 3})
	if got := m.RAM()[1][0x7E]; got != 3 {
		t.Errorf("page mode third byte at column 0x7E = %d, want 3 (wrapped to the column start)", got)
	}
}

// pixelsAt lists the lit pixels of the panel image.
func pixelsAt(m *SSD1306Model) [][2]int {
	img := m.Image()
	var px [][2]int
	for y := range OLEDHeight {
		for x := range OLEDWidth {
			if img.GrayAt(x, y).Y != 0 {
				px = append(px, [2]int{x, y})
			}
		}
	}
	return px
}

func TestSSD1306Panel(t *testing.T) {
	// RAM: pixel at column 0, row 1 (page 0, bit 1).
	tests := []struct {
		name     string
		override []byte // commands after the standard init
		want     [][2]int
	}{
		{"upright", nil, [][2]int{{0, 1}}},
		{"no segment remap mirrors", []byte{0xA0}, [][2]int{{127, 1}}},
		{"normal COM scan flips", []byte{0xC0}, [][2]int{{0, 62}}},
		{"start line scrolls up", []byte{0x41}, [][2]int{{0, 0}}},
		{"sequential COM pins interleave", []byte{0xDA, 0x02}, [][2]int{{0, 2}}},
		{"display off is dark", []byte{0xAE}, nil},
		{"charge pump off is dark", []byte{0x8D, 0x10}, nil},
		{"entire display on", []byte{0xA5}, nil}, // checked by count below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewSSD1306Model()
			txAll(t, m, append([]byte{0x00}, adafruitInit...), []byte{0x40, 0x02}, append([]byte{0x00}, tt.override...))
			got := pixelsAt(m)
			if tt.name == "entire display on" {
				if len(got) != OLEDWidth*OLEDHeight {
					t.Errorf("lit pixels = %d, want all %d", len(got), OLEDWidth*OLEDHeight)
				}
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("lit pixels = %v, want %v", got, tt.want)
			}
		})
	}
}

// drawText draws s with driver.Glyph at pixel x, y and scale into a frame
// laid out as the SSD1306 RAM (horizontal addressing, 8 pages).
func drawText(f *[oledPages * OLEDWidth]byte, x, y, scale int, s string) {
	for i, r := range s {
		g := driver.Glyph(r)
		for c, bits := range g {
			for row := range 8 {
				if bits>>row&1 == 0 {
					continue
				}
				for dx := range scale {
					for dy := range scale {
						px, py := x+(i*6+c)*scale+dx, y+row*scale+dy
						if px < OLEDWidth && py < OLEDHeight {
							f[py/8*OLEDWidth+px] |= 1 << (py % 8)
						}
					}
				}
			}
		}
	}
}

func TestSSD1306Text(t *testing.T) {
	type text struct {
		x, y, scale int
		s           string
	}
	tests := []struct {
		name  string
		texts []text
		extra func(f *[oledPages * OLEDWidth]byte)
		want  []string
	}{
		{"two large lines", []text{{0, 0, 2, "Take your"}, {0, 16, 2, "8:00 pills"}}, nil, []string{"Take your", "8:00 pills"}},
		{"eight small lines", []text{
			{0, 0, 1, "line one"}, {0, 8, 1, "line two"}, {0, 16, 1, "3"}, {0, 24, 1, "four"},
			{0, 32, 1, "five!"}, {0, 40, 1, "(six)"}, {0, 48, 1, "seven, 7"}, {0, 56, 1, "EIGHT-8"},
		}, nil, []string{"line one", "line two", "3", "four", "five!", "(six)", "seven, 7", "EIGHT-8"}},
		{"centred and off the page grid", []text{{17, 3, 2, "Hi"}, {40, 29, 1, "a  b"}}, nil, []string{"Hi", "a  b"}},
		{"lowercase only, blank top rows", []text{{0, 8, 1, "ace"}}, nil, []string{"ace"}},
		{"mixed sizes", []text{{0, 0, 2, "Dose"}, {0, 24, 1, "metformin 500"}}, nil, []string{"Dose", "metformin 500"}},
		{"a blob that is no glyph", []text{{0, 0, 1, "ok"}}, func(f *[oledPages * OLEDWidth]byte) {
			f[OLEDWidth+60] = 0xFF
			f[OLEDWidth+61] = 0xFF
		}, []string{"ok", "?"}},
		{"blank panel", nil, nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f [oledPages * OLEDWidth]byte
			for _, x := range tt.texts {
				drawText(&f, x.x, x.y, x.scale, x.s)
			}
			if tt.extra != nil {
				tt.extra(&f)
			}
			m := NewSSD1306Model()
			txAll(t, m, append([]byte{0x00}, adafruitInit...), append([]byte{0x40}, f[:]...))
			if got := m.Text(); !slices.Equal(got, tt.want) {
				t.Errorf("Text() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWritePNG(t *testing.T) {
	m := NewSSD1306Model()
	txAll(t, m, append([]byte{0x00}, adafruitInit...), []byte{0x40, 0x01})
	var buf bytes.Buffer
	if err := WritePNG(&buf, m.Image(), 4); err != nil {
		t.Fatalf("WritePNG: %v", err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("decode PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 4*OLEDWidth || b.Dy() != 4*OLEDHeight {
		t.Errorf("PNG size = %dx%d, want %dx%d", b.Dx(), b.Dy(), 4*OLEDWidth, 4*OLEDHeight)
	}
	for _, p := range []struct {
		x, y int
		lit  bool
	}{{0, 0, true}, {3, 3, true}, {4, 0, false}, {0, 4, false}} {
		r, _, _, _ := img.At(p.x, p.y).RGBA()
		if (r != 0) != p.lit {
			t.Errorf("PNG pixel (%d,%d) lit = %t, want %t", p.x, p.y, r != 0, p.lit)
		}
	}
}

// BenchmarkSSD1306Text measures reading two large lines back from the
// panel (the work a status poll does after each Show; repeated polls hit
// the cache), against rendering the panel image as the baseline.
func BenchmarkSSD1306Text(b *testing.B) {
	var f [oledPages * OLEDWidth]byte
	drawText(&f, 0, 0, 2, "Take your")
	drawText(&f, 0, 16, 2, "8:00 pills")
	m := NewSSD1306Model()
	if err := m.Tx(append([]byte{0x00}, adafruitInit...), nil); err != nil {
		b.Fatal(err)
	}
	if err := m.Tx(append([]byte{0x40}, f[:]...), nil); err != nil {
		b.Fatal(err)
	}
	b.Run("image-baseline", func(b *testing.B) {
		for b.Loop() {
			m.Image()
		}
	})
	b.Run("recognise", func(b *testing.B) {
		for b.Loop() {
			m.mu.Lock()
			m.gen++ // defeat the cache
			m.mu.Unlock()
			m.Text()
		}
	})
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			m.Text()
		}
	})
}
