package driver

import "strings"

// The SSD1306 text layout, for anyone who reads a frame back as text (the
// simulator does, through ReadText):
//
//   - Glyphs are 5 columns by 7 rows (Glyph). A column byte has the top
//     row in bit 0 and bit 7 always clear, which is the SSD1306's own page
//     layout, so a glyph is copied into a page unchanged at scale 1.
//   - Each character occupies a cell of CellWidth x CellHeight pixels: the
//     glyph at the cell's top left, one blank column on its right and one
//     blank row below it.
//   - At LargeScale every pixel becomes a LargeScale x LargeScale block:
//     cells are 12x16, giving LargeCols x LargeRows = 10 x 4 characters.
//     At scale 1 cells are 6x8: SmallCols x SmallRows = 21 x 8.
//   - Row r, column c of text starts at pixel x = c*CellWidth*scale,
//     y = r*CellHeight*scale from the top left corner; there is no margin.
//   - Text is shown at LargeScale when every word fits whole; otherwise
//     the whole screen is drawn at scale 1.
//   - Large-text mode (RenderTall) doubles the height again: each pixel
//     a LargeScale x 2*LargeScale block, cells 12x32, TallCols x TallRows
//     = 10 x 2 characters.
//   - Beyond ASCII, the font draws the accented letters and signs of
//     font_latin.go; anything else is drawn as '?'.
const (
	GlyphWidth  = 5
	GlyphHeight = 7
	CellWidth   = GlyphWidth + 1
	CellHeight  = GlyphHeight + 1
	LargeScale  = 2

	LargeCols = OLEDWidth / (CellWidth * LargeScale)   // 10
	LargeRows = OLEDHeight / (CellHeight * LargeScale) // 4
	SmallCols = OLEDWidth / CellWidth                  // 21
	SmallRows = OLEDHeight / CellHeight                // 8

	firstGlyph = ' '
	lastGlyph  = '~'
)

// font5x7 is the classic 5x7 LCD font (the HD44780 ROM and the Adafruit GFX
// "glcdfont" use the same shapes) for ' ' to '~'.
var font5x7 = [lastGlyph - firstGlyph + 1][GlyphWidth]byte{
	{0x00, 0x00, 0x00, 0x00, 0x00}, // ' '
	{0x00, 0x00, 0x5F, 0x00, 0x00}, // !
	{0x00, 0x07, 0x00, 0x07, 0x00}, // "
	{0x14, 0x7F, 0x14, 0x7F, 0x14}, // #
	{0x24, 0x2A, 0x7F, 0x2A, 0x12}, // $
	{0x23, 0x13, 0x08, 0x64, 0x62}, // %
	{0x36, 0x49, 0x55, 0x22, 0x50}, // &
	{0x00, 0x05, 0x03, 0x00, 0x00}, // '
	{0x00, 0x1C, 0x22, 0x41, 0x00}, // (
	{0x00, 0x41, 0x22, 0x1C, 0x00}, // )
	{0x14, 0x08, 0x3E, 0x08, 0x14}, // *
	{0x08, 0x08, 0x3E, 0x08, 0x08}, // +
	{0x00, 0x50, 0x30, 0x00, 0x00}, // ,
	{0x08, 0x08, 0x08, 0x08, 0x08}, // -
	{0x00, 0x60, 0x60, 0x00, 0x00}, // .
	{0x20, 0x10, 0x08, 0x04, 0x02}, // /
	{0x3E, 0x51, 0x49, 0x45, 0x3E}, // 0
	{0x00, 0x42, 0x7F, 0x40, 0x00}, // 1
	{0x42, 0x61, 0x51, 0x49, 0x46}, // 2
	{0x21, 0x41, 0x45, 0x4B, 0x31}, // 3
	{0x18, 0x14, 0x12, 0x7F, 0x10}, // 4
	{0x27, 0x45, 0x45, 0x45, 0x39}, // 5
	{0x3C, 0x4A, 0x49, 0x49, 0x30}, // 6
	{0x01, 0x71, 0x09, 0x05, 0x03}, // 7
	{0x36, 0x49, 0x49, 0x49, 0x36}, // 8
	{0x06, 0x49, 0x49, 0x29, 0x1E}, // 9
	{0x00, 0x36, 0x36, 0x00, 0x00}, // :
	{0x00, 0x56, 0x36, 0x00, 0x00}, // ;
	{0x08, 0x14, 0x22, 0x41, 0x00}, // <
	{0x14, 0x14, 0x14, 0x14, 0x14}, // =
	{0x00, 0x41, 0x22, 0x14, 0x08}, // >
	{0x02, 0x01, 0x51, 0x09, 0x06}, // ?
	{0x32, 0x49, 0x79, 0x41, 0x3E}, // @
	{0x7E, 0x11, 0x11, 0x11, 0x7E}, // A
	{0x7F, 0x49, 0x49, 0x49, 0x36}, // B
	{0x3E, 0x41, 0x41, 0x41, 0x22}, // C
	{0x7F, 0x41, 0x41, 0x22, 0x1C}, // D
	{0x7F, 0x49, 0x49, 0x49, 0x41}, // E
	{0x7F, 0x09, 0x09, 0x09, 0x01}, // F
	{0x3E, 0x41, 0x49, 0x49, 0x7A}, // G
	{0x7F, 0x08, 0x08, 0x08, 0x7F}, // H
	{0x00, 0x41, 0x7F, 0x41, 0x00}, // I
	{0x20, 0x40, 0x41, 0x3F, 0x01}, // J
	{0x7F, 0x08, 0x14, 0x22, 0x41}, // K
	{0x7F, 0x40, 0x40, 0x40, 0x40}, // L
	{0x7F, 0x02, 0x0C, 0x02, 0x7F}, // M
	{0x7F, 0x04, 0x08, 0x10, 0x7F}, // N
	{0x3E, 0x41, 0x41, 0x41, 0x3E}, // O
	{0x7F, 0x09, 0x09, 0x09, 0x06}, // P
	{0x3E, 0x41, 0x51, 0x21, 0x5E}, // Q
	{0x7F, 0x09, 0x19, 0x29, 0x46}, // R
	{0x46, 0x49, 0x49, 0x49, 0x31}, // S
	{0x01, 0x01, 0x7F, 0x01, 0x01}, // T
	{0x3F, 0x40, 0x40, 0x40, 0x3F}, // U
	{0x1F, 0x20, 0x40, 0x20, 0x1F}, // V
	{0x3F, 0x40, 0x38, 0x40, 0x3F}, // W
	{0x63, 0x14, 0x08, 0x14, 0x63}, // X
	{0x07, 0x08, 0x70, 0x08, 0x07}, // Y
	{0x61, 0x51, 0x49, 0x45, 0x43}, // Z
	{0x00, 0x7F, 0x41, 0x41, 0x00}, // [
	{0x02, 0x04, 0x08, 0x10, 0x20}, // backslash
	{0x00, 0x41, 0x41, 0x7F, 0x00}, // ]
	{0x04, 0x02, 0x01, 0x02, 0x04}, // ^
	{0x40, 0x40, 0x40, 0x40, 0x40}, // _
	{0x00, 0x01, 0x02, 0x04, 0x00}, // `
	{0x20, 0x54, 0x54, 0x54, 0x78}, // a
	{0x7F, 0x48, 0x44, 0x44, 0x38}, // b
	{0x38, 0x44, 0x44, 0x44, 0x20}, // c
	{0x38, 0x44, 0x44, 0x48, 0x7F}, // d
	{0x38, 0x54, 0x54, 0x54, 0x18}, // e
	{0x08, 0x7E, 0x09, 0x01, 0x02}, // f
	{0x0C, 0x52, 0x52, 0x52, 0x3E}, // g
	{0x7F, 0x08, 0x04, 0x04, 0x78}, // h
	{0x00, 0x44, 0x7D, 0x40, 0x00}, // i
	{0x20, 0x40, 0x44, 0x3D, 0x00}, // j
	{0x7F, 0x10, 0x28, 0x44, 0x00}, // k
	{0x00, 0x41, 0x7F, 0x40, 0x00}, // l
	{0x7C, 0x04, 0x18, 0x04, 0x78}, // m
	{0x7C, 0x08, 0x04, 0x04, 0x78}, // n
	{0x38, 0x44, 0x44, 0x44, 0x38}, // o
	{0x7C, 0x14, 0x14, 0x14, 0x08}, // p
	{0x08, 0x14, 0x14, 0x18, 0x7C}, // q
	{0x7C, 0x08, 0x04, 0x04, 0x08}, // r
	{0x48, 0x54, 0x54, 0x54, 0x20}, // s
	{0x04, 0x3F, 0x44, 0x40, 0x20}, // t
	{0x3C, 0x40, 0x40, 0x20, 0x7C}, // u
	{0x1C, 0x20, 0x40, 0x20, 0x1C}, // v
	{0x3C, 0x40, 0x30, 0x40, 0x3C}, // w
	{0x44, 0x28, 0x10, 0x28, 0x44}, // x
	{0x0C, 0x50, 0x50, 0x50, 0x3C}, // y
	{0x44, 0x64, 0x54, 0x4C, 0x44}, // z
	{0x00, 0x08, 0x36, 0x41, 0x00}, // {
	{0x00, 0x00, 0x7F, 0x00, 0x00}, // |
	{0x00, 0x41, 0x36, 0x08, 0x00}, // }
	{0x08, 0x04, 0x08, 0x10, 0x08}, // ~
}

// Glyph returns the 5 column bytes of r (bit 0 = top row); runes the font
// does not draw (see HasGlyph) are drawn as '?'.
func Glyph(r rune) [GlyphWidth]byte {
	if r >= firstGlyph && r <= lastGlyph {
		return font5x7[r-firstGlyph]
	}
	if g, ok := latin[r]; ok {
		return g.cols
	}
	return font5x7['?'-firstGlyph]
}

// textScale is how many pixels across and down each glyph pixel takes.
type textScale struct{ x, y int }

var (
	// tallScale is large-text mode: double the height of large letters.
	tallScale  = textScale{LargeScale, 2 * LargeScale}
	largeScale = textScale{LargeScale, LargeScale}
	smallScale = textScale{1, 1}
)

// The grid of large-text mode: 12x32-pixel cells.
const (
	TallCols = OLEDWidth / (CellWidth * LargeScale)       // 10
	TallRows = OLEDHeight / (CellHeight * 2 * LargeScale) // 2
)

func (s textScale) grid() (cols, rows int) {
	return OLEDWidth / (CellWidth * s.x), OLEDHeight / (CellHeight * s.y)
}

// Render draws lines into an SSD1306 frame (OLEDWidth x OLEDHeight, page
// major: byte x + 128*page holds rows 8*page..8*page+7, bit 0 on top),
// word-wrapped at LargeScale if every word fits whole, else at scale 1,
// where text that still does not fit is cut. It returns the scale used.
func Render(lines ...string) (frame [OLEDBytes]byte, scale int) {
	rows, fits := layout(lines, LargeCols, LargeRows)
	s := largeScale
	if !fits {
		rows, _ = layout(lines, SmallCols, SmallRows)
		s = smallScale
	}
	draw(&frame, rows, s)
	return frame, s.x
}

// RenderTall is Render for large-text mode: letters twice as tall as
// Render's large ones (12x32-pixel cells, TallCols x TallRows), for a
// patient who sees poorly, when the whole text fits that grid with every
// word whole ("Too soon"); otherwise it draws as Render does, so that no
// word is lost. tall reports which.
func RenderTall(lines ...string) (frame [OLEDBytes]byte, tall bool) {
	rows, fits := layout(lines, TallCols, TallRows)
	if !fits {
		frame, _ = Render(lines...)
		return frame, false
	}
	draw(&frame, rows, tallScale)
	return frame, true
}

func draw(f *[OLEDBytes]byte, rows []string, s textScale) {
	for r, row := range rows {
		for c, ch := range []rune(row) {
			drawGlyph(f, Glyph(ch), c*CellWidth*s.x, r*CellHeight*s.y, s)
		}
	}
}

// drawGlyph draws g with its top left corner at x0, y0, each pixel an
// s.x by s.y block.
func drawGlyph(f *[OLEDBytes]byte, g [GlyphWidth]byte, x0, y0 int, s textScale) {
	for gx, col := range g {
		for gy := range GlyphHeight {
			if col&(1<<gy) == 0 {
				continue
			}
			for dx := range s.x {
				for dy := range s.y {
					setPixel(f, x0+gx*s.x+dx, y0+gy*s.y+dy)
				}
			}
		}
	}
}

func setPixel(f *[OLEDBytes]byte, x, y int) {
	f[y/8*OLEDWidth+x] |= 1 << (y % 8)
}

func pixel(f *[OLEDBytes]byte, x, y int) bool {
	return f[y/8*OLEDWidth+x]&(1<<(y%8)) != 0
}

// ReadText reads a frame drawn by Render or RenderTall back as text rows,
// trailing blanks trimmed and trailing empty rows dropped. It tries the
// tall, large and small sizes in turn; ok is false when none reads every
// cell as a glyph (a frame neither drew).
func ReadText(frame [OLEDBytes]byte) (rows []string, ok bool) {
	for _, s := range []textScale{tallScale, largeScale, smallScale} {
		if rows, ok := readAt(&frame, s); ok {
			return rows, true
		}
	}
	return nil, false
}

var glyphIndex = func() map[[GlyphWidth]byte]rune {
	m := make(map[[GlyphWidth]byte]rune, len(glyphRunes))
	for _, r := range glyphRunes {
		m[Glyph(r)] = r
	}
	return m
}()

func readAt(f *[OLEDBytes]byte, s textScale) ([]string, bool) {
	cols, nrows := s.grid()
	// Every lit pixel must belong to a glyph cell drawn at this scale.
	var redraw [OLEDBytes]byte
	rows := make([]string, nrows)
	for r := range nrows {
		line := make([]rune, cols)
		for c := range cols {
			x0, y0 := c*CellWidth*s.x, r*CellHeight*s.y
			var g [GlyphWidth]byte
			for gx := range GlyphWidth {
				for gy := range GlyphHeight {
					if pixel(f, x0+gx*s.x, y0+gy*s.y) {
						g[gx] |= 1 << gy
					}
				}
			}
			ch, found := glyphIndex[g]
			if !found {
				return nil, false
			}
			line[c] = ch
			drawGlyph(&redraw, g, x0, y0, s)
		}
		rows[r] = strings.TrimRight(string(line), " ")
	}
	if redraw != *f {
		return nil, false
	}
	for len(rows) > 0 && rows[len(rows)-1] == "" {
		rows = rows[:len(rows)-1]
	}
	return rows, true
}
