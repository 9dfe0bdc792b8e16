package sim

import (
	"strings"
	"sync"

	"github.com/pillbox/pillbox/hw/driver"
)

// PCF8574 port bits as LCD backpacks wire them to the HD44780.
const (
	lcdRS        = 1 << 0 // P0: register select (1 = data)
	lcdRW        = 1 << 1 // P1: read/write (1 = read)
	lcdE         = 1 << 2 // P2: enable, latched on the falling edge
	lcdBacklight = 1 << 3 // P3: backlight transistor
	// P4..P7 are D4..D7; D0..D3 of the LCD are not connected.
)

// LCD geometry: a 16x2 module; DDRAM rows start at 0x00 and 0x40 and are
// 40 characters long in two-line mode.
const (
	LCDCols    = 16
	LCDRows    = 2
	lcdLineLen = 40
)

// HD44780State is the controller state decoded from the port writes.
type HD44780State struct {
	FourBit   bool // DL = 0
	TwoLines  bool // N = 1
	On        bool // D
	Cursor    bool // C
	Blink     bool // B
	Increment bool // I/D
	Shift     bool // S: the display shifts on each write
	Backlight bool // P3
	Address   int  // address counter
	// Nibbles counts nibbles latched (E falling edges with RW low).
	Nibbles int
}

// HD44780Model is a 16x2 HD44780 character LCD behind a PCF8574 I2C port
// expander, decoded from the port writes alone: every byte written sets
// the eight port pins, and the controller latches D4..D7 (with RS and RW)
// when E falls. It starts as after power-on reset (Hitachi HD44780U
// datasheet, "Initializing by Internal Reset Circuit"): 8-bit interface,
// one line, display off, increment, DDRAM cleared.
type HD44780Model struct {
	mu       sync.Mutex
	port     byte
	st       HD44780State
	high     byte // first nibble of a byte in 4-bit mode
	haveHigh bool
	readLow  bool // next E pulse of a read delivers the low nibble
	cgram    bool // data goes to CGRAM (after a set-CGRAM-address)
	shift    int  // display shift, in characters
	ddram    [0x80]byte
	cgramMem [64]byte
}

// NewHD44780Model returns an LCD in its power-on state, port pins high
// (the PCF8574's reset state).
func NewHD44780Model() *HD44780Model {
	m := &HD44780Model{port: 0xFF}
	m.st.Increment = true
	m.clearLocked()
	return m
}

// Tx implements Device: each written byte is a port write; each read byte
// returns the port, with D4..D7 driven by the LCD during a read cycle
// (busy flag always clear: the model executes instantly).
func (m *HD44780Model) Tx(w, r []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range w {
		prev := m.port
		m.port = b
		m.st.Backlight = b&lcdBacklight != 0
		if prev&lcdE != 0 && b&lcdE == 0 {
			// The controller samples RS, RW and data while E is high.
			m.latchLocked(prev&lcdRS != 0, prev&lcdRW != 0, prev>>4)
		}
	}
	for i := range r {
		v := m.port
		if v&lcdRW != 0 && v&lcdE != 0 {
			out := byte(m.st.Address & 0x7F) // BF = 0
			if m.st.FourBit && m.readLow {
				out <<= 4
			}
			v = v&0x0F | out&0xF0
		}
		r[i] = v
	}
	return nil
}

func (m *HD44780Model) latchLocked(rs, rw bool, nibble byte) {
	if rw {
		if m.st.FourBit {
			m.readLow = !m.readLow
		}
		return
	}
	m.st.Nibbles++
	if !m.st.FourBit {
		m.execLocked(rs, nibble<<4) // D0..D3 unconnected: read as 0
		return
	}
	if !m.haveHigh {
		m.high, m.haveHigh = nibble, true
		return
	}
	m.haveHigh = false
	m.execLocked(rs, m.high<<4|nibble)
}

func (m *HD44780Model) execLocked(rs bool, b byte) {
	s := &m.st
	if rs {
		m.writeLocked(b)
		return
	}
	switch {
	case b&0x80 != 0: // set DDRAM address
		s.Address, m.cgram = int(b&0x7F), false
	case b&0x40 != 0: // set CGRAM address
		s.Address, m.cgram = int(b&0x3F), true
	case b&0x20 != 0: // function set
		s.FourBit = b&0x10 == 0
		s.TwoLines = b&0x08 != 0
		m.haveHigh, m.readLow = false, false
	case b&0x10 != 0: // cursor or display shift
		right := b&0x04 != 0
		if b&0x08 != 0 {
			m.shiftDisplayLocked(right)
		} else {
			m.moveLocked(right)
		}
	case b&0x08 != 0: // display control
		s.On, s.Cursor, s.Blink = b&0x04 != 0, b&0x02 != 0, b&0x01 != 0
	case b&0x04 != 0: // entry mode
		s.Increment, s.Shift = b&0x02 != 0, b&0x01 != 0
	case b&0x02 != 0: // return home
		s.Address, m.cgram, m.shift = 0, false, 0
	case b&0x01 != 0:
		m.clearLocked()
	}
}

// clearLocked is "clear display": spaces everywhere, address 0, no shift,
// and I/D set to increment.
func (m *HD44780Model) clearLocked() {
	for i := range m.ddram {
		m.ddram[i] = ' '
	}
	m.st.Address, m.cgram, m.shift, m.st.Increment = 0, false, 0, true
}

func (m *HD44780Model) writeLocked(b byte) {
	s := &m.st
	if m.cgram {
		m.cgramMem[s.Address&0x3F] = b
		if s.Increment {
			s.Address = (s.Address + 1) & 0x3F
		} else {
			s.Address = (s.Address - 1) & 0x3F
		}
		return
	}
	m.ddram[s.Address&0x7F] = b
	m.moveLocked(s.Increment)
	if s.Shift {
		m.shiftDisplayLocked(!s.Increment)
	}
}

// moveLocked steps the DDRAM address, wrapping between the lines as the
// datasheet describes (0x27 -> 0x40 and 0x67 -> 0x00 with two lines).
func (m *HD44780Model) moveLocked(up bool) {
	a := m.st.Address
	if !m.st.TwoLines {
		if up {
			a = (a + 1) % 0x50
		} else {
			a = (a + 0x50 - 1) % 0x50
		}
		m.st.Address = a
		return
	}
	line, col := a&0x40, a&0x3F
	if up {
		if col++; col >= lcdLineLen {
			col, line = 0, line^0x40
		}
	} else {
		if col--; col < 0 {
			col, line = lcdLineLen-1, line^0x40
		}
	}
	m.st.Address = line | col
}

func (m *HD44780Model) shiftDisplayLocked(right bool) {
	n := lcdLineLen
	if !m.st.TwoLines {
		n = 80
	}
	if right {
		m.shift = (m.shift + n - 1) % n
	} else {
		m.shift = (m.shift + 1) % n
	}
}

// State returns the decoded controller state.
func (m *HD44780Model) State() HD44780State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st
}

// Lines returns what the 16x2 panel shows, right-trimmed: the visible
// window of each DDRAM line, nothing while the display is off, and a blank
// second row in one-line mode.
func (m *HD44780Model) Lines() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.st.On {
		return []string{}
	}
	rows := 1
	if m.st.TwoLines {
		rows = LCDRows
	}
	var out []string
	for row := range rows {
		var b strings.Builder
		for c := range LCDCols {
			a := (c + m.shift) % 0x50 // one line: 80 characters at 0x00..0x4F
			if m.st.TwoLines {
				a = row*0x40 + (c+m.shift)%lcdLineLen
			}
			b.WriteRune(m.charLocked(m.ddram[a]))
		}
		out = append(out, strings.TrimRight(b.String(), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// CGRAM returns the 64 bytes of character generator RAM: 8 custom
// characters of 8 rows, top first, the leftmost dot in bit 4.
func (m *HD44780Model) CGRAM() [64]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cgramMem
}

// charLocked is what a character code shows: codes 0x00..0x0F are the
// CGRAM characters (0x08..0x0F repeat 0x00..0x07), read back as the font
// letter their dots draw, or U+FFFD for a pattern that is none.
func (m *HD44780Model) charLocked(c byte) rune {
	if c < 0x10 {
		var dots [8]byte
		copy(dots[:], m.cgramMem[int(c&7)*8:])
		if r, ok := cgramFont()[dots]; ok {
			return r
		}
		return '\uFFFD'
	}
	return lcdChar(c)
}

// cgramFont maps the dot pattern of each letter the driver can load into
// CGRAM back to the letter.
var cgramFont = sync.OnceValue(func() map[[8]byte]rune {
	m := map[[8]byte]rune{}
	for _, r := range driver.LatinRunes() {
		m[driver.LCDGlyph(r)] = r
	}
	return m
})

// lcdChar maps a character code to what the A00 (Japanese) character ROM
// of the common modules shows (datasheet table 4).
func lcdChar(c byte) rune {
	switch {
	case c == 0x5C:
		return '¥'
	case c == 0x7E:
		return '→'
	case c == 0x7F:
		return '←'
	case c == 0xDF:
		return '°'
	case c == 0xE1:
		return 'ä'
	case c == 0xE2:
		return 'β'
	case c == 0xEE:
		return 'ñ'
	case c == 0xEF:
		return 'ö'
	case c == 0xF5:
		return 'ü'
	case c >= 0x20 && c < 0x7E:
		return rune(c)
	}
	return '\uFFFD' // katakana and the symbols no text uses
}

var _ Device = (*HD44780Model)(nil)
