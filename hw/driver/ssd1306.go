package driver

import (
	"errors"
	"fmt"
	"sync"

	"github.com/pillbox/pillbox/hw"
	"periph.io/x/conn/v3/i2c"
)

// OLED geometry of a 128x64 SSD1306 module.
const (
	OLEDWidth  = 128
	OLEDHeight = 64
	OLEDBytes  = OLEDWidth * OLEDHeight / 8 // 8 pages of 128 columns

	// OLEDChunk is how many frame bytes go in one I2C write. One page per
	// write stays far below the Linux i2c-dev limit and lets a failing
	// write name the page.
	OLEDChunk = OLEDWidth
)

// SSD1306 I2C control bytes (Solomon Systech SSD1306 datasheet rev 1.1,
// 8.1.5.2 "Write mode for I2C": Co=0, D/C#=0 for a stream of commands,
// D/C#=1 for a stream of display data).
const (
	oledCommand = 0x00
	oledData    = 0x40
)

// oledInit is the power-on sequence of the datasheet's application note
// ("Software initialization" flow chart, and the 128x64 module's
// recommended values), one command per line with its arguments.
var oledInit = []byte{
	0xAE,       // display off (10.1.12)
	0xD5, 0x80, // clock divide ratio 1, oscillator frequency 8 (10.1.16)
	0xA8, 0x3F, // multiplex ratio 64 (10.1.11)
	0xD3, 0x00, // display offset 0 (10.1.15)
	0x40,       // display start line 0 (10.1.6)
	0x8D, 0x14, // charge pump on: the module has no external VCC (app note SSD1306 charge pump)
	0x20, 0x00, // horizontal addressing mode (10.1.3)
	0xA1,       // segment remap: column 127 is SEG0, so x=0 is on the left (10.1.8)
	0xC8,       // COM scan from COM63 down: row 0 on top (10.1.14)
	0xDA, 0x12, // COM pins: alternative configuration, no left/right remap (10.1.18)
	0x81, 0xCF, // contrast (10.1.7)
	0xD9, 0xF1, // pre-charge period, internal charge pump values (10.1.17)
	0xDB, 0x40, // VCOMH deselect level (10.1.19)
	0xA4, // display follows RAM (10.1.9)
	0xA6, // normal, not inverted (10.1.10)
	0xAF, // display on (10.1.12)
}

// oledWindow selects the whole screen before a frame is written: columns
// 0..127 (21h, 10.1.4) and pages 0..7 (22h, 10.1.5), so the RAM pointer
// starts at 0,0 whatever was written before.
var oledWindow = []byte{0x21, 0x00, OLEDWidth - 1, 0x22, 0x00, OLEDHeight/8 - 1}

// SSD1306 is a 128x64 monochrome OLED on I2C that shows text in large
// letters (see Render for the layout).
type SSD1306 struct {
	mu    sync.Mutex
	dev   i2c.Dev
	frame [OLEDBytes]byte
	tall  bool // large-text mode
}

// NewSSD1306 initialises the display at addr (0x3C, or 0x3D with the
// address jumper) and clears it.
func NewSSD1306(bus i2c.Bus, addr uint16) (*SSD1306, error) {
	if bus == nil {
		return nil, errors.New("ssd1306: no I2C bus")
	}
	d := &SSD1306{dev: i2c.Dev{Bus: bus, Addr: addr}}
	if err := d.dev.Tx(append([]byte{oledCommand}, oledInit...), nil); err != nil {
		return nil, fmt.Errorf("ssd1306 at %#x: init: %w", addr, err)
	}
	// The controller's RAM holds noise after power-on.
	if err := d.write([OLEDBytes]byte{}); err != nil {
		return nil, err
	}
	return d, nil
}

// Show replaces the screen with lines, word-wrapped, in large letters if
// every word fits whole at LargeScale, or in large-text mode as
// RenderTall draws them.
func (d *SSD1306) Show(lines ...string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	frame, _ := Render(lines...)
	if d.tall {
		frame, _ = RenderTall(lines...)
	}
	return d.write(frame)
}

// SetLargeText turns large-text mode (board.display.large_text) on or off
// for the next Show.
func (d *SSD1306) SetLargeText(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tall = on
}

// write sends a whole frame; callers hold d.mu or own d exclusively.
func (d *SSD1306) write(frame [OLEDBytes]byte) error {
	if err := d.dev.Tx(append([]byte{oledCommand}, oledWindow...), nil); err != nil {
		return fmt.Errorf("ssd1306: set window: %w", err)
	}
	buf := make([]byte, 1+OLEDChunk)
	buf[0] = oledData
	for i := 0; i < OLEDBytes; i += OLEDChunk {
		copy(buf[1:], frame[i:i+OLEDChunk])
		if err := d.dev.Tx(buf, nil); err != nil {
			return fmt.Errorf("ssd1306: write page %d: %w", i/OLEDChunk, err)
		}
	}
	d.frame = frame
	return nil
}

// Frame returns the last frame sent completely.
func (d *SSD1306) Frame() [OLEDBytes]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.frame
}

var _ hw.Display = (*SSD1306)(nil)
