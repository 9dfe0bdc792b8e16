package sim

import (
	"image"
	"image/color"
	"image/png"
	"io"
	"sync"
)

// SSD1306 panel geometry: a 128x64 module, RAM in 8 pages of 8 rows.
const (
	OLEDWidth  = 128
	OLEDHeight = 64
	oledPages  = OLEDHeight / 8
)

// Addressing modes of command 0x20 (datasheet 10.1.3).
const (
	HorizontalAddressing = 0
	VerticalAddressing   = 1
	PageAddressing       = 2
)

// ssd1306Params is how many parameter bytes follow each multi-byte command
// (Solomon Systech SSD1306 datasheet rev 1.1, table 9-1). Every other byte
// is a command on its own.
var ssd1306Params = map[byte]int{
	0x81: 1,          // contrast
	0x20: 1,          // memory addressing mode
	0x21: 2,          // column address range
	0x22: 2,          // page address range
	0xA8: 1,          // multiplex ratio
	0xD3: 1,          // display offset
	0xD5: 1,          // clock divide / oscillator
	0xD9: 1,          // pre-charge period
	0xDA: 1,          // COM pins hardware configuration
	0xDB: 1,          // VCOMH deselect level
	0x8D: 1,          // charge pump (application note)
	0x26: 6, 0x27: 6, // horizontal scroll setup
	0x29: 5, 0x2A: 5, // vertical and horizontal scroll setup
	0xA3: 2, // vertical scroll area
	0x23: 1, // fade out / blink (rev 1.5 parts)
	0xD6: 1, // zoom in (rev 1.5 parts)
}

// SSD1306State is the controller state decoded from the command stream.
type SSD1306State struct {
	On         bool // 0xAF
	ChargePump bool // 0x8D 0x14; the module's panel is dark without it
	Inverse    bool // 0xA7
	EntireOn   bool // 0xA5: every pixel lit regardless of RAM
	SegRemap   bool // 0xA1: column 127 on SEG0
	COMRemap   bool // 0xC8: scan from COM[N-1] to COM0
	Scrolling  bool // 0x2F
	Contrast   byte
	Mode       int // HorizontalAddressing, VerticalAddressing or PageAddressing
	Mux        int // rows driven, 16..64
	Offset     int // 0xD3
	StartLine  int // 0x40..0x7F
	COMPins    byte
	ClockDiv   byte
	Precharge  byte
	VCOMH      byte
	Columns    [2]int // 0x21 window
	Pages      [2]int // 0x22 window
	// Unknown counts command bytes the datasheet does not define, control
	// bytes with reserved bits set, and page-addressing commands sent in
	// another mode (the datasheet says they only apply in page mode).
	Unknown int
}

// SSD1306Model decodes the I2C traffic of a 128x64 SSD1306 OLED module
// into its display RAM and settings, from the datasheet alone. Each
// transaction starts with a control byte: Co (bit 7) set means one byte
// follows before the next control byte, clear means the rest of the
// transaction is a stream; D/C# (bit 6) selects data (RAM) or commands.
type SSD1306Model struct {
	mu  sync.Mutex
	ram [oledPages][OLEDWidth]byte
	st  SSD1306State

	cmd  []byte // multi-byte command being collected (across transactions)
	need int    // parameter bytes still expected

	col, page    int // RAM pointer
	pageModeCol  int // column start of page addressing mode (0x00-0x1F)
	gen, textGen uint64
	text         []string
}

// NewSSD1306Model returns a module in its reset state: display off, charge
// pump off, page addressing, RAM cleared.
func NewSSD1306Model() *SSD1306Model {
	return &SSD1306Model{st: SSD1306State{
		Contrast:  0x7F,
		Mode:      PageAddressing,
		Mux:       64,
		COMPins:   0x12,
		ClockDiv:  0x80,
		Precharge: 0x22,
		VCOMH:     0x20,
		Columns:   [2]int{0, OLEDWidth - 1},
		Pages:     [2]int{0, oledPages - 1},
	}}
}

// Tx implements Device. A read returns the status byte (bit 6: display off).
func (m *SSD1306Model) Tx(w, r []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < len(w); {
		ctrl := w[i]
		i++
		if ctrl&0x3F != 0 {
			m.st.Unknown++
		}
		data := ctrl&0x40 != 0
		if ctrl&0x80 != 0 { // Co: one byte, then another control byte
			if i < len(w) {
				m.byteLocked(data, w[i])
				i++
			}
			continue
		}
		for ; i < len(w); i++ {
			m.byteLocked(data, w[i])
		}
	}
	for i := range r {
		r[i] = 0
		if !m.st.On {
			r[i] = 0x40
		}
	}
	return nil
}

func (m *SSD1306Model) byteLocked(data bool, b byte) {
	m.gen++
	if data {
		m.dataLocked(b)
		return
	}
	if m.need > 0 {
		m.cmd = append(m.cmd, b)
		if m.need--; m.need == 0 {
			m.execLocked(m.cmd)
		}
		return
	}
	if n := ssd1306Params[b]; n > 0 {
		m.cmd, m.need = append(m.cmd[:0], b), n
		return
	}
	m.execLocked([]byte{b})
}

func (m *SSD1306Model) execLocked(c []byte) {
	s := &m.st
	op := c[0]
	switch {
	case op == 0x81:
		s.Contrast = c[1]
	case op == 0x20:
		if c[1]&3 == 3 {
			s.Unknown++ // invalid mode
			return
		}
		s.Mode = int(c[1] & 3)
	case op == 0x21:
		s.Columns = [2]int{int(c[1] & 0x7F), int(c[2] & 0x7F)}
		m.col = s.Columns[0]
	case op == 0x22:
		s.Pages = [2]int{int(c[1] & 7), int(c[2] & 7)}
		m.page = s.Pages[0]
	case op == 0xA8:
		if c[1]&0x3F < 15 {
			s.Unknown++ // 0..14 are invalid
			return
		}
		s.Mux = int(c[1]&0x3F) + 1
	case op == 0xD3:
		s.Offset = int(c[1] & 0x3F)
	case op == 0xD5:
		s.ClockDiv = c[1]
	case op == 0xD9:
		s.Precharge = c[1]
	case op == 0xDA:
		s.COMPins = c[1]
	case op == 0xDB:
		s.VCOMH = c[1]
	case op == 0x8D:
		s.ChargePump = c[1]&0x04 != 0
	case op == 0x26, op == 0x27, op == 0x29, op == 0x2A, op == 0xA3, op == 0x23, op == 0xD6:
		// scroll, fade and zoom set-up: accepted, not rendered
	case op == 0x2E:
		s.Scrolling = false
	case op == 0x2F:
		s.Scrolling = true
	case op == 0xA4, op == 0xA5:
		s.EntireOn = op == 0xA5
	case op == 0xA6, op == 0xA7:
		s.Inverse = op == 0xA7
	case op == 0xAE, op == 0xAF:
		s.On = op == 0xAF
	case op == 0xA0, op == 0xA1:
		s.SegRemap = op == 0xA1
	case op&0xF7 == 0xC0: // C0h/C8h, bits 0..2 don't care
		s.COMRemap = op&0x08 != 0
	case op >= 0x40 && op <= 0x7F:
		s.StartLine = int(op & 0x3F)
	case op >= 0xB0 && op <= 0xB7, op <= 0x1F:
		if s.Mode != PageAddressing {
			s.Unknown++
			return
		}
		switch {
		case op >= 0xB0:
			m.page = int(op & 7)
		case op <= 0x0F:
			m.pageModeCol = m.pageModeCol&0xF0 | int(op)
			m.col = m.pageModeCol
		default:
			m.pageModeCol = (m.pageModeCol&0x0F | int(op&0x0F)<<4) & 0x7F
			m.col = m.pageModeCol
		}
	case op == 0xE3: // NOP
	default:
		s.Unknown++
	}
}

// dataLocked stores one RAM byte and moves the pointer as the addressing
// mode says (datasheet 10.1.3).
func (m *SSD1306Model) dataLocked(b byte) {
	s := &m.st
	m.ram[m.page][m.col] = b
	switch s.Mode {
	case HorizontalAddressing:
		if m.col++; m.col > s.Columns[1] || m.col >= OLEDWidth {
			m.col = s.Columns[0]
			if m.page++; m.page > s.Pages[1] || m.page >= oledPages {
				m.page = s.Pages[0]
			}
		}
	case VerticalAddressing:
		if m.page++; m.page > s.Pages[1] || m.page >= oledPages {
			m.page = s.Pages[0]
			if m.col++; m.col > s.Columns[1] || m.col >= OLEDWidth {
				m.col = s.Columns[0]
			}
		}
	default:
		if m.col++; m.col >= OLEDWidth {
			m.col = m.pageModeCol
		}
	}
}

// State returns the decoded controller state.
func (m *SSD1306Model) State() SSD1306State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st
}

// RAM returns the display RAM: 8 pages of 128 columns, bit 0 the top row
// of each page.
func (m *SSD1306Model) RAM() [oledPages][OLEDWidth]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ram
}

// panelLocked returns the pixels as a person sees them, column by column
// (bit y of cols[x] is the pixel at x, y; y = 0 at the top).
//
// The glass of the common 128x64 modules is wired so that the image is
// upright with segment remap (0xA1) and reversed COM scan (0xC8), with the
// rows on alternating COM pins (0xDA 0x12), which is what the widely used
// Adafruit and u8g2 initialisations send. Other settings mirror, flip or
// interleave the picture here as they would on the module. A panel that is
// off, or whose charge pump is off (these modules have no external VCC),
// is dark.
func (m *SSD1306Model) panelLocked() (cols [OLEDWidth]uint64) {
	s := &m.st
	if !s.On || !s.ChargePump {
		return cols
	}
	for y := range OLEDHeight {
		pos := OLEDHeight - 1 - y // position of the COM pin driving this glass row
		var com int
		alt := s.COMPins&0x10 != 0
		lr := s.COMPins&0x20 != 0
		switch {
		case alt && !lr:
			com = pos
		case alt:
			com = pos ^ 1
		case !lr:
			com = pos/2 + pos%2*32
		default:
			com = pos/2 + (1-pos%2)*32
		}
		if com >= s.Mux {
			continue // not scanned: blank
		}
		row := com
		if s.COMRemap {
			row = s.Mux - 1 - com
		}
		row = (row + s.StartLine + s.Offset) % OLEDHeight
		for x := range OLEDWidth {
			c := OLEDWidth - 1 - x // SEG127 is on the left edge
			if s.SegRemap {
				c = x
			}
			lit := m.ram[row/8][c]>>(row%8)&1 != 0
			if s.EntireOn {
				lit = true
			}
			if lit != s.Inverse {
				cols[x] |= 1 << y
			}
		}
	}
	return cols
}

// Image returns the panel as a person sees it: lit pixels white.
func (m *SSD1306Model) Image() *image.Gray {
	m.mu.Lock()
	cols := m.panelLocked()
	m.mu.Unlock()
	img := image.NewGray(image.Rect(0, 0, OLEDWidth, OLEDHeight))
	for x, c := range cols {
		for y := range OLEDHeight {
			if c>>y&1 != 0 {
				img.SetGray(x, y, color.Gray{Y: 0xFF})
			}
		}
	}
	return img
}

// WritePNG encodes img scaled up by scale (nearest neighbour, so pixels
// stay crisp) as a PNG.
func WritePNG(w io.Writer, img *image.Gray, scale int) error {
	scale = max(scale, 1)
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx()*scale, b.Dy()*scale))
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			out.SetGray(x, y, img.GrayAt(b.Min.X+x/scale, b.Min.Y+y/scale))
		}
	}
	return png.Encode(w, out)
}

// Text reads the lines of text the panel shows, by recognising the
// driver's font in the picture (at double and single size); blobs that are
// no glyph read as "?". A dark panel shows no lines.
func (m *SSD1306Model) Text() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.text == nil || m.textGen != m.gen {
		cols := m.panelLocked()
		m.text = readText(&cols)
		m.textGen = m.gen
	}
	return append([]string{}, m.text...)
}

var _ Device = (*SSD1306Model)(nil)
