package sim

import (
	"math/bits"
	"strings"
	"sync"

	"github.com/pillbox/pillbox/hw/driver"
)

// The glyph recogniser reads what the panel shows with the font burned
// into the device: driver.Glyph's 5x7 shapes (bit 0 the top row) in 6x8
// cells, at double or single size. It knows nothing else of the driver's
// layout: lines and glyphs may sit anywhere on the panel.

const (
	glyphCols = 5 // columns of a glyph
	glyphRows = 8 // rows of a glyph box: 7 of shape and the blank row below
	cellCols  = 6 // glyph pitch: 5 columns and one of spacing
)

var textScales = []int{2, 1}

type glyph struct {
	r    rune
	lead int // blank columns before the first lit one
	// cols[s-1][c] is glyph column c/s at scale s, rows scaled, as a
	// column mask with the box's top row at bit 0.
	cols [2][]uint64
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
						m |= (1<<s - 1) << (row * s)
					}
				}
				for range s {
					cs = append(cs, m)
				}
			}
			g.cols[s-1] = cs
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
		best := lineRead{top: band, scale: 1, unexplained: 1 << 30}
		for _, s := range textScales {
			for top := max(band-(glyphRows*s-1), y); top <= band; top++ {
				if l := readLine(cols, top, s); l.better(best) {
					best = l
				}
			}
		}
		if t := strings.TrimSpace(best.text); t != "" {
			lines = append(lines, t)
		}
		y = best.top + glyphRows*best.scale
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
	top, scale             int
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
		return l.scale > o.scale
	case (l.top%8 == 0) != (o.top%8 == 0):
		return l.top%8 == 0
	}
	return l.top < o.top
}

// readLine reads the strip of glyph boxes whose top row is top at scale s.
func readLine(cols *[OLEDWidth]uint64, top, s int) lineRead {
	l := lineRead{top: top, scale: s}
	strip := stripMask(top, glyphRows*s)
	pitch := cellCols * s
	var b strings.Builder
	last := 0 // origin of the previous glyph + pitch: where a next one would start
	first := true
	for x := 0; x < OLEDWidth; {
		if cols[x]&strip == 0 {
			x++
			continue
		}
		g, origin := matchAt(cols, x, top, s)
		if g == nil {
			// A blob that is no glyph: one "?" up to the next blank column.
			if !first {
				b.WriteString(strings.Repeat(" ", max(0, (x-last+pitch/2)/pitch)))
			}
			b.WriteByte('?')
			for ; x < OLEDWidth && cols[x]&strip != 0; x++ {
				l.unexplained += bits.OnesCount64(cols[x] & strip)
			}
			last, first = x+s, false
			continue
		}
		if !first {
			b.WriteString(strings.Repeat(" ", max(0, (origin-last+pitch/2)/pitch)))
		}
		b.WriteRune(g.r)
		end := min(origin+glyphCols*s, OLEDWidth)
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
// top at top, at scale s.
func matchAt(cols *[OLEDWidth]uint64, x, top, s int) (*glyph, int) {
	strip := stripMask(top, glyphRows*s)
	gs := glyphs()
next:
	for i := range gs {
		g := &gs[i]
		origin := x - g.lead*s
		for c, want := range g.cols[s-1] {
			// Rows of the box below the panel must be blank in the glyph.
			if top+glyphRows*s > OLEDHeight && want>>(OLEDHeight-top) != 0 {
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
