package driver

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pillbox/pillbox/hw"
	"periph.io/x/conn/v3/i2c"
)

// LCD geometry of a 16x2 HD44780 module.
const (
	LCDCols = 16
	LCDRows = 2
)

// PCF8574 port bits on the common "LCM1602" I2C backpack.
const (
	lcdRS        = 1 << 0 // register select: 0 instruction, 1 data
	lcdRW        = 1 << 1 // always 0: the driver never reads the busy flag
	lcdE         = 1 << 2 // enable: the HD44780 latches on its falling edge
	lcdBacklight = 1 << 3
	// P4..P7 carry D4..D7: a nibble is shifted left by 4.
)

// HD44780 instructions (Hitachi HD44780U datasheet ADE-207-272, table 6).
const (
	lcdClear        = 0x01 // clear display, cursor home; 1.52 ms
	lcdEntryMode    = 0x06 // increment, no display shift
	lcdDisplayOn    = 0x0C // display on, cursor off, blink off
	lcdFunction4Bit = 0x28 // 4-bit interface, 2 lines, 5x8 dots
	lcdSetCGRAM     = 0x40
	lcdSetDDRAM     = 0x80
)

// Execution times (table 6, fosc = 270 kHz) with margin for slow modules.
const (
	lcdExec      = 50 * time.Microsecond // 37 us for most instructions
	lcdClearExec = 2 * time.Millisecond  // 1.52 ms for clear and return home
)

// lcdRowAddr is the DDRAM address of the first character of each row of a
// 2-line display (datasheet, "Display Data RAM", figure 4).
var lcdRowAddr = [LCDRows]byte{0x00, 0x40}

// HD44780 is a 16x2 character LCD driven in 4-bit mode through a PCF8574
// I2C port expander, backlight on.
//
// Letters beyond ASCII: ä, ö, ü and ñ come from the A00 character ROM;
// the others the font draws (see HasGlyph) are loaded into the 8 CGRAM
// slots, per screen, the most frequent first. When a screen needs more
// than 8, the least frequent show as their base letter (Base: é as e, ¿ as
// ?), and ß as the ROM's β: a word stays readable and its length is kept.
type HD44780 struct {
	mu    sync.Mutex
	dev   i2c.Dev
	slots [lcdSlots]rune // what each CGRAM slot holds; 0 when unknown
}

// NewHD44780 resets the LCD at addr (0x27, or 0x3F for the PCF8574A) by the
// "initializing by instruction" procedure of the datasheet (figure 24), which
// works whatever state the controller was left in, and clears it.
func NewHD44780(bus i2c.Bus, addr uint16) (*HD44780, error) {
	if bus == nil {
		return nil, errors.New("hd44780: no I2C bus")
	}
	d := &HD44780{dev: i2c.Dev{Bus: bus, Addr: addr}}
	fail := func(err error) (*HD44780, error) {
		return nil, fmt.Errorf("hd44780 at %#x: init: %w", addr, err)
	}
	// The PCF8574 powers up with every port high (E and RW included):
	// bring them low, then give the LCD the >40 ms after power-on that
	// figure 24 asks for.
	if err := d.dev.Tx([]byte{lcdBacklight}, nil); err != nil {
		return fail(err)
	}
	time.Sleep(50 * time.Millisecond)
	// Function set "8-bit" three times, as a lone high nibble each, with
	// the waits of figure 24 (>4.1 ms, >100 us, then on), then "4-bit".
	for _, s := range []struct {
		nibble byte
		wait   time.Duration
	}{
		{0x3, 4500 * time.Microsecond},
		{0x3, 150 * time.Microsecond},
		{0x3, 150 * time.Microsecond},
		{0x2, 150 * time.Microsecond},
	} {
		if err := d.dev.Tx(lcdNibble(s.nibble, 0), nil); err != nil {
			return fail(err)
		}
		time.Sleep(s.wait)
	}
	for _, c := range []byte{lcdFunction4Bit, lcdDisplayOn, lcdClear, lcdEntryMode} {
		if err := d.send(c, 0); err != nil {
			return fail(err)
		}
	}
	return d, nil
}

// lcdNibble is the PCF8574 byte sequence that clocks one nibble into the
// LCD: data and RS set up with E low (tAS >= 40 ns before E rises), E high
// (PWEH >= 230 ns: one I2C byte is ~10 us even at 1 MHz), E low to latch.
func lcdNibble(n, rs byte) []byte {
	b := n<<4 | rs | lcdBacklight
	return []byte{b, b | lcdE, b}
}

// send writes one instruction (rs 0) or data byte (rs lcdRS), high nibble
// first, and waits for the LCD to execute it: with RW tied low the busy flag
// cannot be read.
func (d *HD44780) send(v, rs byte) error {
	w := append(lcdNibble(v>>4, rs), lcdNibble(v&0x0F, rs)...)
	if err := d.dev.Tx(w, nil); err != nil {
		return err
	}
	if rs == 0 && v <= 0x03 { // clear display, return home
		time.Sleep(lcdClearExec)
	} else {
		time.Sleep(lcdExec)
	}
	return nil
}

// Show word-wraps lines onto the two rows, overwriting every cell (no
// clear, so no flicker). Text that does not fit is cut.
func (d *HD44780) Show(lines ...string) error {
	rows, _ := layout(lines, LCDCols, LCDRows)
	d.mu.Lock()
	defer d.mu.Unlock()
	codes, load := d.plan(rows)
	for _, slot := range load {
		r := codes.slotRune[slot]
		d.slots[slot] = 0 // unknown until all 8 rows are written
		if err := d.send(lcdSetCGRAM|byte(slot)<<3, 0); err != nil {
			return fmt.Errorf("hd44780: CGRAM slot %d: %w", slot, err)
		}
		for _, b := range LCDGlyph(r) {
			if err := d.send(b, lcdRS); err != nil {
				return fmt.Errorf("hd44780: CGRAM slot %d: %w", slot, err)
			}
		}
		d.slots[slot] = r
	}
	for r, addr := range lcdRowAddr {
		if err := d.send(lcdSetDDRAM|addr, 0); err != nil {
			return fmt.Errorf("hd44780: row %d: %w", r, err)
		}
		for _, c := range codes.rows[r] {
			if err := d.send(c, lcdRS); err != nil {
				return fmt.Errorf("hd44780: row %d: %w", r, err)
			}
		}
	}
	return nil
}

const lcdSlots = 8

// lcdROM are the letters beyond ASCII that the A00 ROM has (datasheet
// table 4), and β, which stands in for ß.
var lcdROM = map[rune]byte{'ä': 0xE1, 'ö': 0xEF, 'ü': 0xF5, 'ñ': 0xEE, 'β': 0xE2}

// lcdScreen is a screen as character codes, and the rune each CGRAM slot
// must hold for it.
type lcdScreen struct {
	rows     [LCDRows][LCDCols]byte
	slotRune [lcdSlots]rune
}

// plan turns rows into character codes and picks the CGRAM slots to
// (re)load: up to 8 runes that need one, most frequent first (then first
// seen), keeping a rune in the slot it already has so that what is on the
// screen does not change shape while the new screen is written.
func (d *HD44780) plan(rows []string) (s lcdScreen, load []int) {
	count := map[rune]int{}
	var order []rune
	for _, row := range rows {
		for _, r := range row {
			if _, rom := lcdROM[r]; r > lastGlyph && !rom {
				if count[r] == 0 {
					order = append(order, r)
				}
				count[r]++
			}
		}
	}
	slices.SortStableFunc(order, func(a, b rune) int { return count[b] - count[a] })
	order = order[:min(len(order), lcdSlots)]

	s.slotRune = d.slots
	slot := map[rune]int{}
	var unplaced []rune
	for _, r := range order {
		if i := slices.Index(d.slots[:], r); i >= 0 {
			slot[r] = i
		} else {
			unplaced = append(unplaced, r)
		}
	}
	for i := range lcdSlots {
		if len(unplaced) == 0 {
			break
		}
		if _, keep := slot[s.slotRune[i]]; keep && s.slotRune[i] != 0 {
			continue
		}
		s.slotRune[i], slot[unplaced[0]] = unplaced[0], i
		load, unplaced = append(load, i), unplaced[1:]
	}

	for i := range LCDRows {
		var rs []rune
		if i < len(rows) {
			rs = []rune(rows[i])
		}
		for c := range LCDCols {
			r := ' '
			if c < len(rs) {
				r = rs[c]
			}
			s.rows[i][c] = lcdCode(r, slot)
		}
	}
	return s, load
}

// lcdCode is the character code that shows r: ASCII from the ROM, a
// CGRAM slot, a ROM letter, or the fallback.
func lcdCode(r rune, slot map[rune]int) byte {
	if i, ok := slot[r]; ok {
		return byte(i)
	}
	if c, ok := lcdROM[r]; ok {
		return c
	}
	if r == 'ß' || r == 'ẞ' {
		return lcdROM['β']
	}
	r = Base(r)
	if r < firstGlyph || r > lastGlyph {
		return '?'
	}
	return lcdChar(byte(r))
}

// LCDGlyph is the CGRAM pattern of r: 8 rows, top first, the leftmost
// column in bit 4 (datasheet table 5), drawn from the same font as the
// OLED's; row 7, the cursor line, is blank.
func LCDGlyph(r rune) [8]byte {
	var rows [8]byte
	for x, col := range Glyph(r) {
		for y := range GlyphHeight {
			if col>>y&1 != 0 {
				rows[y] |= 1 << (GlyphWidth - 1 - x)
			}
		}
	}
	return rows
}

// lcdChar maps printable ASCII to the A00 character ROM, which has a yen
// sign at '\' and an arrow at '~' (datasheet table 4).
func lcdChar(c byte) byte {
	if c == '\\' || c == '~' {
		return '-'
	}
	return c
}

var _ hw.Display = (*HD44780)(nil)
