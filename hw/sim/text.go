package sim

import (
	"math/bits"
	"strings"
	"sync"

	"github.com/pillbox/pillbox/hw/driver"
)

// The glyph recogniser reads what the panel shows with the font burned
// into the device: driver.Glyph's 5x7 shapes (bit 0 the top row), ASCII
// and the accented letters, in 6x8 cells, at single size, double size or
// double width and quadruple height (large-text mode). It knows nothing
// else of the driver's layout: lines and glyphs may sit anywhere on the
// panel.

const (
	glyphCols = 5 // columns of a glyph
	glyphRows = 8 // rows of a glyph box: 7 of shape and the blank row below
	cellCols  = 6 // glyph pitch: 5 columns and one of spacing
)

// textScale is how many panel pixels across and down a glyph pixel takes.
type textScale struct{ x, y int }

// textScales are the sizes the drivers draw, largest first.
var textScales = []textScale{{2, 4}, {2, 2}, {1, 1}}

type glyph struct {
	r    rune
	lead int // blank columns before the first lit one
	// cols[i][c] is glyph column c/s.x at textScales[i], rows scaled, as a
	// column mask with the box's top row at bit 0.
	cols [][]uint64
}

// glyphs are the recognisable shapes, letters and digits first so that an
// ambiguous shape reads as the likelier character.
var glyphs = sync.OnceValue(func() []glyph {
	var order []rune
	for _, rg := range [][2]rune{{'A', 'Z'}, {'a', 'z'}, {'0', '9'}, {'!', '~'}} {
		for r := rg[0]; r <= rg[1]; r++ {
			order = append(order, r)
		}
	}
	order = append(order, driver.LatinRunes()...)
	seen := map[[5]byte]bool{{}: true} // a blank shape is a space, or a missing glyph
	var gs []glyph
	for _, r := range order {
		shape := driver.Glyph(r)
		if seen[shape] {
			continue
		}
		seen[shape] = true
		g := glyph{r: r}
		for shape[g.lead] == 0 {
			g.lead++
		}
		for _, s := range textScales {
			var cs []uint64
			for _, b := range shape {
				var m uint64
				for row := range glyphRows {
					if b>>row&1 != 0 {
						m |= (1<<s.y - 1) << (row * s.y)
					}
				}
				for range s.x {
					cs = append(cs, m)
				}
			}
			g.cols = append(g.cols, cs)
		}
		gs = append(gs, g)
	}
	return gs
})

// readText recognises the text lines on a panel given as column masks.
func readText(cols *[OLEDWidth]uint64) []string {
	lines := []string{}
	for y := 0; y < OLEDHeight; {
		band := firstLitRow(cols, y)
		if band < 0 {
			break
		}
		best := lineRead{top: band, scale: len(textScales) - 1, unexplained: 1 << 30}
		for si, s := range textScales {
			for top := max(band-(glyphRows*s.y-1), y); top <= band; top++ {
				if l := readLine(cols, top, si); l.better(best) {
					best = l
				}
			}
		}
		if t := strings.TrimSpace(best.text); t != "" {
			lines = append(lines, t)
		}
		y = best.top + glyphRows*textScales[best.scale].y
	}
	return lines
}

// firstLitRow returns the first row at or below y with a lit pixel, or -1.
func firstLitRow(cols *[OLEDWidth]uint64, y int) int {
	var any uint64
	for _, c := range cols {
		any |= c
	}
	any >>= y
	if any == 0 {
		return -1
	}
	return y + bits.TrailingZeros64(any)
}

type lineRead struct {
	text                   string
	top                    int
	scale                  int // index in textScales
	explained, unexplained int // lit pixels inside / outside matched glyphs
}

// better ranks two readings of the same line: fewest stray pixels, then
// most pixels read, then the larger size, then a line on a RAM page
// boundary (where drivers put them), then the higher one.
func (l lineRead) better(o lineRead) bool {
	switch {
	case l.unexplained != o.unexplained:
		return l.unexplained < o.unexplained
	case l.explained != o.explained:
		return l.explained > o.explained
	case l.scale != o.scale:
		return l.scale < o.scale // textScales runs largest first
	case (l.top%8 == 0) != (o.top%8 == 0):
		return l.top%8 == 0
	}
	return l.top < o.top
}

// readLine reads the strip of glyph boxes whose top row is top at
// textScales[si].
func readLine(cols *[OLEDWidth]uint64, top, si int) lineRead {
	l := lineRead{top: top, scale: si}
	s := textScales[si]
	strip := stripMask(top, glyphRows*s.y)
	pitch := cellCols * s.x
	var b strings.Builder
	last := 0 // origin of the previous glyph + pitch: where a next one would start
	first := true
	for x := 0; x < OLEDWidth; {
		if cols[x]&strip == 0 {
			x++
			continue
		}
		g, origin := matchAt(cols, x, top, si)
		if g == nil {
			// A blob that is no glyph: one "?" up to the next blank column.
			if !first {
				b.WriteString(strings.Repeat(" ", max(0, (x-last+pitch/2)/pitch)))
			}
			b.WriteByte('?')
			for ; x < OLEDWidth && cols[x]&strip != 0; x++ {
				l.unexplained += bits.OnesCount64(cols[x] & strip)
			}
			last, first = x+s.x, false
			continue
		}
		if !first {
			b.WriteString(strings.Repeat(" ", max(0, (origin-last+pitch/2)/pitch)))
		}
		b.WriteRune(g.r)
		end := min(origin+glyphCols*s.x, OLEDWidth)
		for ; x < end; x++ {
			l.explained += bits.OnesCount64(cols[x] & strip)
		}
		last, first = origin+pitch, false
	}
	l.text = b.String()
	return l
}

// stripMask is the column mask of n rows from top, clipped to the panel.
func stripMask(top, n int) uint64 {
	if n >= 64 {
		return ^uint64(0) << top
	}
	return (1<<n - 1) << top
}

// matchAt finds the glyph whose first lit column is at x, with its box
// top at top, at textScales[si].
func matchAt(cols *[OLEDWidth]uint64, x, top, si int) (*glyph, int) {
	s := textScales[si]
	strip := stripMask(top, glyphRows*s.y)
	gs := glyphs()
next:
	for i := range gs {
		g := &gs[i]
		origin := x - g.lead*s.x
		for c, want := range g.cols[si] {
			// Rows of the box below the panel must be blank in the glyph.
			if top+glyphRows*s.y > OLEDHeight && want>>(OLEDHeight-top) != 0 {
				continue next
			}
			want <<= top
			px := origin + c
			if px < 0 || px >= OLEDWidth {
				if want != 0 {
					continue next
				}
				continue
			}
			if cols[px]&strip != want {
				continue next
			}
		}
		return g, origin
	}
	return nil, 0
}
