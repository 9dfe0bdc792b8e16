package driver

import "slices"

// The accented letters and signs of the languages the dispenser speaks
// (see internal/i18n), in the style of the 5x7 font: a lower-case letter
// keeps its ASCII shape in rows 2..6 with the accent in rows 0..1; a
// capital is squashed to rows 2..6 under the same accent (as the HD44780's
// European ROM draws them). The o family sits one row lower than ASCII 'o'
// so that ó and Ó stay different shapes: text is read back by shape.
// Nothing uses row 7, the blank row between text rows.

// Accents, rows 0 and 1.
var (
	acute      = [2]string{"...#.", "..#.."}
	grave      = [2]string{".#...", "..#.."}
	circumflex = [2]string{"..#..", ".#.#."}
	diaeresis  = [2]string{".#.#.", "....."}
	tilde      = [2]string{".##.#", "#..#."}
)

// Bodies, rows 2..6.
var bodies = map[rune][5]string{
	'a': {".###.", "....#", ".####", "#...#", ".####"},
	'e': {".###.", "#...#", "#####", "#....", ".###."},
	'i': {".##..", "..#..", "..#..", "..#..", ".###."},
	'o': {".....", ".###.", "#...#", "#...#", ".###."},
	'u': {"#...#", "#...#", "#...#", "#..##", ".##.#"},
	'n': {"#.##.", "##..#", "#...#", "#...#", "#...#"},
	'A': {".###.", "#...#", "#####", "#...#", "#...#"},
	'E': {"#####", "#....", "####.", "#....", "#####"},
	'I': {".###.", "..#..", "..#..", "..#..", ".###."},
	'O': {".###.", "#...#", "#...#", "#...#", ".###."},
	'U': {"#...#", "#...#", "#...#", "#...#", ".###."},
	'N': {"#...#", "##..#", "#.#.#", "#..##", "#...#"},
}

// latinGlyph is one extra glyph and what a display without it shows: the
// base letter or the nearest ASCII sign.
type latinGlyph struct {
	r, base rune
	rows    [GlyphHeight]string
}

func accented(r, base rune, accent [2]string) latinGlyph {
	b := bodies[base]
	return latinGlyph{r, base, [GlyphHeight]string{accent[0], accent[1], b[0], b[1], b[2], b[3], b[4]}}
}

var latinGlyphs = []latinGlyph{
	accented('á', 'a', acute), accented('à', 'a', grave), accented('â', 'a', circumflex),
	accented('ä', 'a', diaeresis), accented('ã', 'a', tilde),
	accented('é', 'e', acute), accented('è', 'e', grave), accented('ê', 'e', circumflex), accented('ë', 'e', diaeresis),
	accented('í', 'i', acute), accented('î', 'i', circumflex), accented('ï', 'i', diaeresis),
	accented('ó', 'o', acute), accented('ô', 'o', circumflex), accented('ö', 'o', diaeresis), accented('õ', 'o', tilde),
	accented('ú', 'u', acute), accented('ù', 'u', grave), accented('û', 'u', circumflex), accented('ü', 'u', diaeresis),
	accented('ñ', 'n', tilde),
	accented('Á', 'A', acute), accented('À', 'A', grave), accented('Â', 'A', circumflex),
	accented('Ä', 'A', diaeresis), accented('Ã', 'A', tilde),
	accented('É', 'E', acute), accented('È', 'E', grave), accented('Ê', 'E', circumflex), accented('Ë', 'E', diaeresis),
	accented('Í', 'I', acute), accented('Î', 'I', circumflex), accented('Ï', 'I', diaeresis),
	accented('Ó', 'O', acute), accented('Ô', 'O', circumflex), accented('Ö', 'O', diaeresis), accented('Õ', 'O', tilde),
	accented('Ú', 'U', acute), accented('Ù', 'U', grave), accented('Û', 'U', circumflex), accented('Ü', 'U', diaeresis),
	accented('Ñ', 'N', tilde),
	{'ç', 'c', [GlyphHeight]string{".....", ".###.", "#....", "#....", "#...#", ".###.", "..##."}},
	{'Ç', 'C', [GlyphHeight]string{".###.", "#...#", "#....", "#....", "#...#", ".###.", "..##."}},
	{'ß', 's', [GlyphHeight]string{".##..", "#..#.", "#..#.", "#.#..", "#..#.", "#...#", "#.##."}},
	{'ẞ', 'S', [GlyphHeight]string{".###.", "#...#", "#..#.", "#.#..", "#..#.", "#...#", "#.##."}},
	{'¿', '?', [GlyphHeight]string{"..#..", ".....", "..#..", ".#...", "#....", "#...#", ".###."}},
	{'¡', '!', [GlyphHeight]string{"..#..", ".....", "..#..", "..#..", "..#..", "..#..", "..#.."}},
	{'«', '<', [GlyphHeight]string{".....", "..#.#", ".#.#.", "#.#..", ".#.#.", "..#.#", "....."}},
	{'»', '>', [GlyphHeight]string{".....", "#.#..", ".#.#.", "..#.#", ".#.#.", "#.#..", "....."}},
	{'β', 'ß', [GlyphHeight]string{".##..", "#..#.", "###..", "#..#.", "#..#.", "###..", "#...."}},
	{'€', 'E', [GlyphHeight]string{"..###", ".#...", "####.", ".#...", "####.", ".#...", "..###"}},
}

type latinEntry struct {
	cols [GlyphWidth]byte
	base rune
}

// latin maps each extra rune to its glyph columns and base.
var latin = func() map[rune]latinEntry {
	m := make(map[rune]latinEntry, len(latinGlyphs))
	for _, g := range latinGlyphs {
		var cols [GlyphWidth]byte
		for y, row := range g.rows {
			for x, c := range row {
				if c == '#' {
					cols[x] |= 1 << y
				}
			}
		}
		m[g.r] = latinEntry{cols, g.base}
	}
	return m
}()

// LatinRunes lists the runes beyond ASCII that the font draws, in the
// order they are defined (lower case first within each family).
func LatinRunes() []rune {
	out := make([]rune, len(latinGlyphs))
	for i, g := range latinGlyphs {
		out[i] = g.r
	}
	return out
}

// HasGlyph reports whether the font draws r (rather than '?').
func HasGlyph(r rune) bool {
	if r >= firstGlyph && r <= lastGlyph {
		return true
	}
	_, ok := latin[r]
	return ok
}

// Base is what a display that cannot draw r shows instead: the letter
// without its accent, or the nearest ASCII sign; r itself for ASCII.
func Base(r rune) rune {
	if g, ok := latin[r]; ok {
		return g.base
	}
	return r
}

// glyphRunes is every rune with a glyph: ASCII, then the extra ones.
var glyphRunes = func() []rune {
	rs := makeRange(firstGlyph, lastGlyph)
	return slices.Concat(rs, LatinRunes())
}()

func makeRange(from, to rune) []rune {
	var r []rune
	for c := from; c <= to; c++ {
		r = append(r, c)
	}
	return r
}
