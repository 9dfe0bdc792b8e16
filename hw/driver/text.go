package driver

import (
	"strings"
	"unicode/utf8"
)

// glue stands for a no-break space while lines are wrapped: it joins two
// words into one (French puts one before ":" and "?") and is drawn as a
// space. It is a private-use rune no text contains.
const glue = '\uE000'

// layout word-wraps lines into at most height rows of at most width
// characters. Each line starts a new row, and a "\n" inside a line does too.
// fits is false when a word had to be split or rows had to be dropped.
// Characters the font cannot draw become '?' (see displayable).
func layout(lines []string, width, height int) (rows []string, fits bool) {
	fits = true
	for _, l := range lines {
		for _, l := range strings.Split(l, "\n") {
			r, ok := wrap(displayable(l), width)
			rows = append(rows, r...)
			fits = fits && ok
		}
	}
	if len(rows) > height {
		rows, fits = rows[:height], false
	}
	for i, r := range rows {
		rows[i] = strings.ReplaceAll(r, string(glue), " ")
	}
	return rows, fits
}

// wrap word-wraps one line; a word longer than width is split (ok false).
// Widths count runes: every rune is one character cell.
func wrap(line string, width int) (rows []string, ok bool) {
	ok = true
	cur := ""
	for _, w := range strings.Fields(line) {
		for utf8.RuneCountInString(w) > width {
			ok = false
			if cur != "" {
				rows, cur = append(rows, cur), ""
			}
			head := []rune(w)[:width]
			rows, w = append(rows, string(head)), w[len(string(head)):]
		}
		switch {
		case cur == "":
			cur = w
		case utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(w) <= width:
			cur += " " + w
		default:
			rows, cur = append(rows, cur), w
		}
	}
	return append(rows, cur), ok
}

// typographic are signs translations use that have a plain equivalent in
// the font.
var typographic = strings.NewReplacer(
	"\u00a0", string(glue), "\u202f", string(glue), // no-break spaces
	"\u2018", "'", "\u2019", "'", "\u201c", `"`, "\u201d", `"`,
	"\u2013", "-", "\u2014", "-", "\u2026", "...", "\t", " ",
)

// displayable maps s to runes the font draws, '?' for the rest.
func displayable(s string) string {
	s = typographic.Replace(s)
	return strings.Map(func(r rune) rune {
		if r == glue || HasGlyph(r) {
			return r
		}
		return '?'
	}, s)
}
