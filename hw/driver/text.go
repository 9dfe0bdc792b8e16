package driver

import "strings"

// layout word-wraps lines into at most height rows of at most width
// characters. Each line starts a new row, and a "\n" inside a line does too.
// fits is false when a word had to be split or rows had to be dropped.
// Characters a display cannot show become '?'.
func layout(lines []string, width, height int) (rows []string, fits bool) {
	fits = true
	for _, l := range lines {
		for _, l := range strings.Split(l, "\n") {
			r, ok := wrap(printable(l), width)
			rows = append(rows, r...)
			fits = fits && ok
		}
	}
	if len(rows) > height {
		rows, fits = rows[:height], false
	}
	return rows, fits
}

// wrap word-wraps one line; a word longer than width is split (ok false).
func wrap(line string, width int) (rows []string, ok bool) {
	ok = true
	cur := ""
	for _, w := range strings.Fields(line) {
		for len(w) > width {
			ok = false
			if cur != "" {
				rows, cur = append(rows, cur), ""
			}
			rows, w = append(rows, w[:width]), w[width:]
		}
		switch {
		case cur == "":
			cur = w
		case len(cur)+1+len(w) <= width:
			cur += " " + w
		default:
			rows, cur = append(rows, cur), w
		}
	}
	return append(rows, cur), ok
}

// printable maps s to printable ASCII, one byte per rune, '?' for the rest.
func printable(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r == '\t':
			b = append(b, ' ')
		case r < 0x20 || r > 0x7e:
			b = append(b, '?')
		default:
			b = append(b, byte(r))
		}
	}
	return string(b)
}
