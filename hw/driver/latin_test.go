package driver

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"
)

// The letters and signs the catalogues of internal/i18n need.
const wantLatin = "áéíóúàèùâêîôûäëïöüñçßãõÁÉÍÓÚÀÈÙÂÊÎÔÛÄËÏÖÜÑÇẞÃÕ¿¡«»€"

func TestLatinGlyphs(t *testing.T) {
	for _, r := range wantLatin {
		if !HasGlyph(r) || Glyph(r) == Glyph('?') {
			t.Errorf("HasGlyph(%q) = %v, Glyph is '?': want a glyph of its own", r, HasGlyph(r))
		}
	}
	// Two glyphs worked out by hand from their pictures (bit 0 on top).
	tests := []struct {
		r    rune
		want [GlyphWidth]byte
	}{
		// é: acute in rows 0-1 over ASCII e.
		{'é', [GlyphWidth]byte{0x38, 0x54, 0x56, 0x55, 0x18}},
		// ñ: tilde in rows 0-1 over ASCII n.
		{'ñ', [GlyphWidth]byte{0x7E, 0x09, 0x05, 0x06, 0x79}},
	}
	for _, tt := range tests {
		if got := Glyph(tt.r); got != tt.want {
			t.Errorf("Glyph(%q) = % x, want % x", tt.r, got, tt.want)
		}
	}
	// A lower-case accented letter is its ASCII letter under an accent.
	for _, pair := range []string{"áa", "ée", "úu", "ñn", "ïi", "ûu"} {
		rs := []rune(pair)
		acc, base := Glyph(rs[0]), Glyph(rs[1])
		for x := range GlyphWidth {
			if acc[x]&^3 != base[x]&^3 {
				t.Errorf("Glyph(%q) rows 2-6 differ from Glyph(%q) in column %d", rs[0], rs[1], x)
			}
		}
	}
	for r, want := range map[rune]rune{'é': 'e', 'Ç': 'C', '¿': '?', '«': '<', '€': 'E', 'a': 'a', '✓': '✓'} {
		if got := Base(r); got != want {
			t.Errorf("Base(%q) = %q, want %q", r, got, want)
		}
	}
}

func TestRenderLatin(t *testing.T) {
	words := strings.Fields("¿Tomó sus píldoras? Prochaine prise demain Nächste Dosis morgen " +
		"Próxima dose amanhã ÁÉÍÓÚ ÀÈÙ ÂÊÎÔÛ ÄËÏÖÜ ÑÇẞÃÕ àèù âêîôû äëïöü ñçß ãõ ¡Sí! «oui» 5€")
	for i := 0; i < len(words); i += 3 {
		lines := words[i:min(i+3, len(words))]
		for _, size := range []struct {
			name   string
			render func(...string) [OLEDBytes]byte
		}{
			{"large", func(l ...string) [OLEDBytes]byte { f, _ := Render(l...); return f }},
			{"small", func(l ...string) [OLEDBytes]byte { f, _ := Render(append(l, "1", "2", "3", "4", "5")...); return f }},
			{"tall", func(l ...string) [OLEDBytes]byte { f, _ := RenderTall(l[0]); return f }},
		} {
			frame := size.render(lines...)
			got, ok := ReadText(frame)
			if !ok || len(got) == 0 || got[0] != lines[0] {
				t.Errorf("%s: ReadText(Render(%q)) = %q, %v; want it to start with %q", size.name, lines, got, ok, lines[0])
			}
		}
	}
}

func TestRenderTall(t *testing.T) {
	tests := []struct {
		name     string
		lines    []string
		wantTall bool
		want     []string
	}{
		{"one short line", []string{"Too soon"}, true, []string{"Too soon"}},
		{"two rows", []string{"Pills held back"}, true, []string{"Pills held", "back"}},
		{"accents", []string{"Trop tôt"}, true, []string{"Trop tôt"}},
		{"three rows fall back", []string{"Time for pills", "Press the button"}, false, []string{"Time for", "pills", "Press the", "button"}},
		{"long word falls back", []string{"Unbelievable"}, false, []string{"Unbelievable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, tall := RenderTall(tt.lines...)
			got, ok := ReadText(frame)
			if tall != tt.wantTall || !ok || !slices.Equal(got, tt.want) {
				t.Errorf("RenderTall(%q) = %q (tall %v, read %v), want %q (tall %v)", tt.lines, got, tall, ok, tt.want, tt.wantTall)
			}
		})
	}
	// 'T' column 0 is 0x01 (row 0 only): at 2x4 it fills rows 0-3 of
	// columns 0 and 1; column 2 (0x7F) fills rows 0-27.
	frame, _ := RenderTall("T")
	for _, c := range []struct {
		x, page int
		want    byte
	}{{0, 0, 0x0F}, {1, 0, 0x0F}, {0, 1, 0x00}, {4, 0, 0xFF}, {4, 3, 0x0F}, {4, 4, 0x00}} {
		if got := frame[c.page*OLEDWidth+c.x]; got != c.want {
			t.Errorf("RenderTall(T) page %d x %d = %#02x, want %#02x", c.page, c.x, got, c.want)
		}
	}
}

func TestSSD1306LargeText(t *testing.T) {
	bus := &recBus{}
	d, err := NewSSD1306(bus, 0x3C)
	if err != nil {
		t.Fatal(err)
	}
	d.SetLargeText(true)
	if err := d.Show("Trop tôt"); err != nil {
		t.Fatal(err)
	}
	if want, _ := RenderTall("Trop tôt"); d.Frame() != want {
		t.Errorf("large-text Show(Trop tôt) sent another frame than RenderTall")
	}
	d.SetLargeText(false)
	if err := d.Show("Trop tôt"); err != nil {
		t.Fatal(err)
	}
	if want, _ := Render("Trop tôt"); d.Frame() != want {
		t.Errorf("Show(Trop tôt) after large text off sent another frame than Render")
	}
}

// showLCD shows each screen in turn on a fresh driver and returns the
// model of the LCD after the last, and the CGRAM bytes written for it.
func showLCD(t *testing.T, screens ...[]string) (m *lcd, cgWrites int) {
	t.Helper()
	bus := &recBus{}
	d, err := NewHD44780(bus, 0x27)
	if err != nil {
		t.Fatal(err)
	}
	m = &lcd{prev: 0xFF}
	for _, s := range screens {
		before := m.cgWrites
		if err := d.Show(s...); err != nil {
			t.Fatal(err)
		}
		for _, op := range bus.take() {
			for _, b := range op.w {
				m.write(b)
			}
		}
		cgWrites = m.cgWrites - before
	}
	return m, cgWrites
}

func TestHD44780Latin(t *testing.T) {
	oAcute := [8]byte{0x02, 0x04, 0x00, 0x0E, 0x11, 0x11, 0x0E, 0x00} // ó worked out by hand
	if got := LCDGlyph('ó'); got != oAcute {
		t.Errorf("LCDGlyph(ó) = % x, want % x", got, oAcute)
	}
	tests := []struct {
		name  string
		lines []string
		rows  [2]string // DDRAM, with \x00..\x07 for CGRAM slots
		slots []rune    // CGRAM slots 0.. after the screen
	}{
		{"ROM letters need no slot", []string{"Próxima toma", "mañana 20:00"},
			[2]string{"Pr\x00xima toma    ", "ma\xEEana 20:00    "}, []rune{'ó'}},
		{"most frequent first, the rest as base letters", []string{"çíóúàáâãéééèèêë"},
			[2]string{"\x02\x03\x04\x05\x06\x07aa\x00\x00\x00\x01\x01ee ", strings.Repeat(" ", 16)},
			[]rune("éèçíóúàá")},
		{"ß in a slot while there is one", []string{"Straße Größe"},
			[2]string{"Stra\x00e Gr\xEF\x00e    ", strings.Repeat(" ", 16)}, []rune{'ß'}},
		{"ß as β when the slots are full", []string{"àáâãèéêëß"},
			[2]string{"\x00\x01\x02\x03\x04\x05\x06\x07\xE2       ", strings.Repeat(" ", 16)}, []rune("àáâãèéêë")},
		{"signs", []string{"¿Sí? ¡Ya! «5€»"},
			[2]string{"\x00S\x01? \x02Ya! \x03" + "5\x04\x05  ", strings.Repeat(" ", 16)}, []rune("¿í¡«€»")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m, _ := showLCD(t, tt.lines)
				if got := [2]string{m.row(0), m.row(1)}; got != tt.rows {
					t.Errorf("Show(%q) DDRAM = %q, want %q", tt.lines, got, tt.rows)
				}
				for i, r := range tt.slots {
					want := LCDGlyph(r)
					if got := m.cgram[i*8 : i*8+8]; string(got) != string(want[:]) {
						t.Errorf("CGRAM slot %d = % x, want %q's % x", i, got, r, want)
					}
				}
			})
		})
	}
}

func TestHD44780SlotsKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// é keeps its slot, so only à is loaded for the second screen.
		m, cg := showLCD(t, []string{"é"}, []string{"àé"})
		if got, want := m.row(0)[:2], "\x01\x00"; got != want {
			t.Errorf("second screen row 0 = %q, want %q", got, want)
		}
		if cg != 8 {
			t.Errorf("second screen wrote %d CGRAM bytes, want 8 (one slot)", cg)
		}
		// A screen already loaded writes no CGRAM at all.
		if _, cg := showLCD(t, []string{"àé"}, []string{"éà"}); cg != 0 {
			t.Errorf("showing the same letters again wrote %d CGRAM bytes, want 0", cg)
		}
	})
}
