package sim

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/pillbox/pillbox/hw/driver"
)

func TestHD44780DecodesCGRAM(t *testing.T) {
	oAcute := []byte{0x02, 0x04, 0x00, 0x0E, 0x11, 0x11, 0x0E, 0x00} // ó, by hand
	noLetter := []byte{0x1F, 0, 0x1F, 0, 0x1F, 0, 0x1F, 0}
	port := cat(lcdInit,
		lcdBytes(false, 0x40|2<<3), lcdBytes(true, oAcute...), // CGRAM slot 2
		lcdBytes(false, 0x40|5<<3), lcdBytes(true, noLetter...), // slot 5
		lcdBytes(false, 0x80), lcdBytes(true, 'P', 'r', 0x02, 'x', 0x0A, ' ', 0xE1, 0xEF, 0xF5, 0xEE, 0xE2, ' ', 0x05))
	m := NewHD44780Model()
	if err := m.Tx(port, nil); err != nil {
		t.Fatal(err)
	}
	// 0x0A is slot 2 again; slot 5 holds no letter of the font.
	if got, want := m.Lines(), []string{"Próxó äöüñβ \uFFFD"}; !slices.Equal(got, want) {
		t.Errorf("Lines() = %q, want %q", got, want)
	}
	if cg := m.CGRAM(); string(cg[16:24]) != string(oAcute) {
		t.Errorf("CGRAM slot 2 = % x, want % x", cg[16:24], oAcute)
	}
}

// TestRealDisplayDriversLatin: the real drivers show accented text that
// the models read back, on both displays.
func TestRealDisplayDriversLatin(t *testing.T) {
	screens := []struct {
		lines []string
		lcd   []string // what the 16x2 LCD shows
	}{
		{[]string{"Próxima toma", "mañana 20:00"}, []string{"Próxima toma", "mañana 20:00"}},
		{[]string{"Vérifiez le", "gobelet"}, []string{"Vérifiez le", "gobelet"}},
		{[]string{"Straße", "GRÖSSE Ärger"}, []string{"Straße", "GRÖSSE Ärger"}},
		{[]string{"¿Sí? ¡Ya!", "«5€»"}, []string{"¿Sí? ¡Ya!", "«5€»"}},
		// 12 letters need CGRAM: à (3 times), é, è, ê (twice), then á, â, ã
		// and ç, first seen; í, ó, ú and Á fall back.
		{[]string{"ééèèêêàààáâã", "çíóúÁ"}, []string{"ééèèêêàààáâã", "çiouA"}},
	}
	for _, s := range screens {
		t.Run(strings.Join(s.lines, "/"), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, "hd44780")
				d, err := driver.NewHD44780(r.w.bus, 0x27)
				if err != nil {
					t.Fatal(err)
				}
				if err := d.Show(s.lines...); err != nil {
					t.Fatal(err)
				}
				if got := r.w.LCD().Lines(); !slices.Equal(got, s.lcd) {
					t.Errorf("LCD shows %q, want %q", got, s.lcd)
				}
			})
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, "ssd1306")
				d, err := driver.NewSSD1306(r.w.bus, 0x3C)
				if err != nil {
					t.Fatal(err)
				}
				if err := d.Show(s.lines...); err != nil {
					t.Fatal(err)
				}
				// Wrapped at 10 or 21 columns: compare the letters read.
				letters := func(ls []string) string { return strings.Join(strings.Fields(strings.Join(ls, " ")), "") }
				if got := r.w.OLED().Text(); letters(got) != letters(s.lines) {
					t.Errorf("OLED shows %q, want the letters of %q", got, s.lines)
				}
			})
		})
	}
}

func TestRealSSD1306LargeText(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "ssd1306")
		d, err := driver.NewSSD1306(r.w.bus, 0x3C)
		if err != nil {
			t.Fatal(err)
		}
		d.SetLargeText(true)
		for _, tt := range []struct {
			text   string
			want   []string
			stroke int // x of a column of the first letter lit on all 7 rows
		}{
			{"Trop tôt", []string{"Trop tôt"}, 4},
			{"Próxima: 20:00", []string{"Próxima:", "20:00"}, 0},
		} {
			if err := d.Show(tt.text); err != nil {
				t.Fatal(err)
			}
			if got := r.w.OLED().Text(); !slices.Equal(got, tt.want) {
				t.Errorf("large text %q: OLED shows %q, want %q", tt.text, got, tt.want)
			}
			// The stroke is 28 pixels tall: four times the font's 7 rows.
			img := r.w.OLED().Image()
			lit := 0
			for img.GrayAt(tt.stroke, lit).Y != 0 {
				lit++
			}
			if lit != 28 {
				t.Errorf("large text %q: the first letter's stroke is %d pixels tall, want 28", tt.text, lit)
			}
		}
	})
}
