package sim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/hw/driver"
	"github.com/pillbox/pillbox/internal/i18n"
)

// TestCatalogueScreensOnTheDisplays shows every screen message of every
// language with the real drivers and reads the models back: the letters
// the LCD and the OLED show are the message's (the LCD's only fallbacks
// are its documented ones, and a screen has at most 8 letters for CGRAM,
// so none here). With PILLBOX_ARTIFACTS set, it saves the OLED pictures
// of the dose-due screen.
func TestCatalogueScreensOnTheDisplays(t *testing.T) {
	letters := func(ls []string) string { return strings.Join(strings.Fields(strings.Join(ls, " ")), "") }
	for _, lang := range i18n.Supported() {
		l := i18n.Lookup(lang.Tag)
		args := i18n.Args{"time": l.Clock(time.Date(2026, 3, 2, 20, 30, 0, 0, time.UTC), i18n.LocaleClock), "box": 2, "n": 1}
		for _, id := range i18n.IDs() {
			if !strings.HasPrefix(id, "screen.") {
				continue
			}
			text := l.Text(id, args)
			t.Run(lang.Tag+"/"+id, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					r := newRig(t, "ssd1306")
					d, err := driver.NewSSD1306(r.w.bus, 0x3C)
					if err != nil {
						t.Fatal(err)
					}
					if err := d.Show(text); err != nil {
						t.Fatal(err)
					}
					if got := r.w.OLED().Text(); letters(got) != letters([]string{text}) {
						t.Errorf("OLED shows %q, want the letters of %q", got, text)
					}
					if dir := os.Getenv("PILLBOX_ARTIFACTS"); dir != "" && id == "screen.dose_due" {
						f, err := os.Create(filepath.Join(dir, "oled-dose-due-"+lang.Tag+".png"))
						if err != nil {
							t.Fatal(err)
						}
						defer f.Close()
						if err := WritePNG(f, r.w.OLED().Image(), 4); err != nil {
							t.Fatal(err)
						}
					}
				})
				synctest.Test(t, func(t *testing.T) {
					r := newRig(t, "hd44780")
					d, err := driver.NewHD44780(r.w.bus, 0x27)
					if err != nil {
						t.Fatal(err)
					}
					if err := d.Show(text); err != nil {
						t.Fatal(err)
					}
					// The LCD shows the first two rows of 16.
					rows := wrapRows(text, driver.LCDCols)
					want := rows[:min(len(rows), driver.LCDRows)]
					if got := r.w.LCD().Lines(); letters(got) != letters(want) {
						t.Errorf("LCD shows %q, want the letters of %q", got, want)
					}
				})
			})
		}
	}
}

// wrapRows word-wraps text at width the way the drivers do, for the
// expected LCD rows (every word of a screen fits 16 columns; a no-break
// space joins two words).
func wrapRows(text string, width int) []string {
	var rows []string
	for _, line := range strings.Split(text, "\n") {
		cur := ""
		for _, w := range strings.Fields(strings.ReplaceAll(line, "\u00a0", "_")) {
			w = strings.ReplaceAll(w, "_", " ")
			switch {
			case cur == "":
				cur = w
			case len([]rune(cur))+1+len([]rune(w)) <= width:
				cur += " " + w
			default:
				rows, cur = append(rows, cur), w
			}
		}
		rows = append(rows, cur)
	}
	return rows
}
