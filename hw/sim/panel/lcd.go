package panel

import (
	"image"
	"image/color"

	"github.com/pillbox/pillbox/hw/driver"
)

// The character LCD drawn dot by dot: the HD44780 model holds characters,
// not pixels, so the picture is made the way the module's glass makes it,
// each character a 5x8 dot matrix from the controller's font ROM (the
// driver's font is the same ROM's shapes), with a gap between cells and
// the unlit dots faintly visible.
const (
	lcdDot      = 4 // pixels per dot side
	lcdDotGap   = 1 // pixels between dots
	lcdCellGap  = 4 // extra pixels between character cells
	lcdMargin   = 16
	lcdCellDots = 8 // rows of dots per cell: 7 of glyph, 1 for the cursor line

	lcdPitch = lcdDot + lcdDotGap
	lcdCellW = driver.GlyphWidth*lcdPitch + lcdCellGap
	lcdCellH = lcdCellDots*lcdPitch + lcdCellGap
	lcdW     = 2*lcdMargin + driver.LCDCols*lcdCellW - lcdCellGap
	lcdH     = 2*lcdMargin + driver.LCDRows*lcdCellH - lcdCellGap
)

// Colours of a yellow-green STN module: lit by its backlight or not.
var (
	lcdGlassLit   = color.RGBA{0xa8, 0xc6, 0x3c, 0xff}
	lcdGlassDark  = color.RGBA{0x5e, 0x6b, 0x2e, 0xff}
	lcdDotOn      = color.RGBA{0x1d, 0x2b, 0x0e, 0xff}
	lcdDotOffLit  = color.RGBA{0x9a, 0xb8, 0x36, 0xff}
	lcdDotOffDark = color.RGBA{0x57, 0x63, 0x2b, 0xff}
)

// lcdImage draws the 16x2 panel showing lines; a display that is off
// shows its dots all unlit.
func lcdImage(lines []string, on, backlight bool) *image.RGBA {
	glass, off := lcdGlassDark, lcdDotOffDark
	if backlight {
		glass, off = lcdGlassLit, lcdDotOffLit
	}
	img := image.NewRGBA(image.Rect(0, 0, lcdW, lcdH))
	fill(img, img.Rect, glass)
	for row := range driver.LCDRows {
		var text []rune
		if on && row < len(lines) {
			text = []rune(lines[row])
		}
		for col := range driver.LCDCols {
			var glyph [driver.GlyphWidth]byte
			if col < len(text) {
				glyph = driver.Glyph(text[col])
			}
			x0 := lcdMargin + col*lcdCellW
			y0 := lcdMargin + row*lcdCellH
			for dx := range driver.GlyphWidth {
				for dy := range lcdCellDots {
					c := off
					if glyph[dx]>>dy&1 != 0 {
						c = lcdDotOn
					}
					x, y := x0+dx*lcdPitch, y0+dy*lcdPitch
					fill(img, image.Rect(x, y, x+lcdDot, y+lcdDot), c)
				}
			}
		}
	}
	return img
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}
