package driver

import (
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/internal/i18n"
)

// screenArgs are sample arguments for the screen messages, long forms.
func screenArgs(l *i18n.Locale) i18n.Args {
	return i18n.Args{"time": l.Clock(time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC), i18n.LocaleClock), "box": 12, "n": 2}
}

// TestCataloguesFitTheDisplays: every screen a translation shows fits each
// display layout the English fits (no more rows, no word split), and
// every character of it is in the font.
func TestCataloguesFitTheDisplays(t *testing.T) {
	var screens [][]string // ids shown together, one line each
	for _, id := range i18n.IDs() {
		if strings.HasPrefix(id, "screen.") {
			screens = append(screens, []string{id})
		}
	}
	for _, refusal := range []string{"screen.prn_too_soon", "screen.prn_daily_max"} {
		screens = append(screens, []string{refusal, "screen.next_at"})
	}
	grids := []struct {
		name          string
		width, height int
	}{
		{"16x2 LCD", LCDCols, LCDRows},
		{"OLED large letters", LargeCols, LargeRows},
		{"OLED small letters", SmallCols, SmallRows},
	}
	en := i18n.Lookup(i18n.Base)
	render := func(l *i18n.Locale, ids []string) []string {
		var lines []string
		for _, id := range ids {
			lines = append(lines, l.Text(id, screenArgs(l)))
		}
		return lines
	}
	for _, lang := range i18n.Supported()[1:] {
		l := i18n.Lookup(lang.Tag)
		for _, ids := range screens {
			lines := render(l, ids)
			for _, r := range strings.Join(lines, "") {
				if r != '\n' && r != '\u00a0' && !HasGlyph(r) {
					t.Errorf("%s %v: %q has no glyph in the display font", lang.Tag, ids, r)
				}
			}
			for _, g := range grids {
				if _, enFits := layout(render(en, ids), g.width, g.height); !enFits {
					continue
				}
				if rows, fits := layout(lines, g.width, g.height); !fits {
					t.Errorf("%s %v does not fit the %s as the English does: %q", lang.Tag, ids, g.name, rows)
				}
			}
		}
	}
}
