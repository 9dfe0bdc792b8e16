package sim

import (
	"errors"
	"testing"

	"periph.io/x/conn/v3/physic"
)

func TestBus(t *testing.T) {
	b := NewBus("1")
	oled := NewSSD1306Model()
	b.Attach(0x3C, oled)
	tests := []struct {
		name  string
		addr  uint16
		close bool
		noAck bool
		ok    bool
	}{
		{"device present", 0x3C, false, false, true},
		{"no device is a missing acknowledge", 0x3D, false, true, false},
		{"closed bus", 0x3C, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.close {
				if err := b.Close(); err != nil {
					t.Fatal(err)
				}
			}
			err := b.Tx(tt.addr, []byte{0x00, 0xAF}, nil)
			if (err == nil) != tt.ok || errors.Is(err, ErrNoAck) != tt.noAck {
				t.Errorf("Tx(%#x) = %v, want ok %t, no-ack %t", tt.addr, err, tt.ok, tt.noAck)
			}
		})
	}
	if err := b.SetSpeed(400 * physic.KiloHertz); err != nil {
		t.Errorf("SetSpeed(400kHz) = %v, want nil", err)
	}
	if err := b.SetSpeed(0); err == nil {
		t.Errorf("SetSpeed(0) = nil, want an error")
	}
}

// FuzzI2CModels feeds arbitrary transactions to every device model: a
// driver bug must show up as a wrong picture or count, never as a panic
// that takes the simulator down.
func FuzzI2CModels(f *testing.F) {
	f.Add([]byte{0x00, 0xAE, 0x20, 0x00, 0x21, 0x00, 0x7F, 0x22, 0x00, 0x07, 0x8D, 0x14, 0xAF}, []byte{0x40, 0xFF, 0x81, 0x7E}, uint8(1))
	f.Add([]byte{0x3C, 0x38, 0x3C, 0x38, 0x2C, 0x28}, []byte{0x8C, 0x88, 0x0C, 0x08, 0x4D, 0x49, 0x1D, 0x19}, uint8(0))
	f.Add([]byte{0x00, 0x10}, []byte{0xFE, 0x79, 0x00, 0x20, 0x06, 0, 0, 0x33, 0x01}, uint8(2))
	f.Fuzz(func(t *testing.T, a, b []byte, nr uint8) {
		oled, lcd, pca := NewSSD1306Model(), NewHD44780Model(), NewPCA9685Model()
		pca.OnChange(func(int, PWM) {})
		r := make([]byte, nr%8)
		for _, d := range []Device{oled, lcd, pca} {
			for _, w := range [][]byte{a, b, a} {
				if err := d.Tx(w, r); err != nil {
					t.Errorf("%T.Tx: %v", d, err)
				}
			}
		}
		_ = oled.Text()
		_ = oled.Image()
		if got := lcd.Lines(); len(got) > LCDRows {
			t.Errorf("HD44780 Lines() = %d lines, want at most %d", len(got), LCDRows)
		}
		for ch := range pcaChannels {
			if p := pca.Output(ch); p.Width < 0 || p.Width > p.Period {
				t.Errorf("PCA9685 Output(%d) = %+v, want 0 <= width <= period", ch, p)
			}
		}
	})
}
