package sim

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/hw/driver"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
)

// TestSimRunsRealDrivers shows that the simulator checks the real driver
// code rather than trusting it: the board's drivers dispense, and the same
// drivers driving the hardware wrongly (coils in the wrong order, the
// wrong way, too fast, never enabled, a servo given too little time, a
// display that loses bytes) dispense nothing or show garbage.
func TestSimRunsRealDrivers(t *testing.T) {
	pins := func(r *rig, names ...string) []gpio.PinOut {
		var ps []gpio.PinOut
		for _, n := range names {
			ps = append(ps, r.w.Pin(n))
		}
		return ps
	}
	uln := func(order []string, delay time.Duration, reverse bool) func(r *rig) (hw.Motor, error) {
		return func(r *rig) (hw.Motor, error) {
			return driver.NewULN2003([4]gpio.PinOut(pins(r, order...)), ulnSteps, delay, reverse)
		}
	}
	board := func(i int) func(r *rig) (hw.Motor, error) {
		return func(r *rig) (hw.Motor, error) { return r.b.Compartments[i].Motor, nil }
	}
	coilOrder := []string{"GPIO5", "GPIO6", "GPIO13", "GPIO19"}
	tests := []struct {
		name        string
		compartment int
		motor       func(r *rig) (hw.Motor, error)
		pills       int
		faults      bool
	}{
		{"uln2003 as on the board", 1, board(0), 1, false},
		{"uln2003 phases on the wrong coils", 1, uln([]string{"GPIO5", "GPIO13", "GPIO6", "GPIO19"}, 2*time.Millisecond, false), 0, true},
		{"uln2003 turning the wrong way", 1, uln(coilOrder, 2*time.Millisecond, true), 0, false},
		{"uln2003 stepping faster than the rotor follows", 1, uln(coilOrder, 100*time.Microsecond, false), 0, false},
		{"stepdir as on the board", 2, board(1), 1, false},
		{"stepdir never enabled", 2, func(r *rig) (hw.Motor, error) {
			// The board's driver left ENABLE high (off); this one has no
			// enable pin, so the carrier stays off.
			return driver.NewStepDir(r.w.Pin("GPIO12"), r.w.Pin("GPIO16"), nil, stepDirSteps, time.Millisecond, true)
		}, 0, false},
		{"servo as on the board", 3, board(2), 1, false},
		{"servo not given time to swing", 3, func(r *rig) (hw.Motor, error) {
			pca, err := driver.NewPCA9685(r.w.bus, 0x40)
			if err != nil {
				return nil, err
			}
			return driver.NewServo(pca, 3, 10, 100, 500*time.Microsecond, 2500*time.Microsecond, 50*time.Millisecond)
		}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, "")
				m, err := tt.motor(r)
				if err != nil {
					t.Fatalf("driver: %v", err)
				}
				if err := m.DispenseOne(context.Background()); err != nil {
					t.Fatalf("DispenseOne: %v", err)
				}
				settle(time.Second)
				c := r.compartment(tt.compartment)
				if got := r.pills(); got != tt.pills || c.Dispensed != tt.pills {
					t.Errorf("pills seen %d, dispensed %d; want %d", got, c.Dispensed, tt.pills)
				}
				if got := c.MotorFaults > 0; got != tt.faults {
					t.Errorf("motor faults = %d, want faults: %t", c.MotorFaults, tt.faults)
				}
			})
		})
	}

	want := []string{"Take your", "8:00 pills"}
	displays := []struct {
		name  string
		bus   func(b i2c.Bus) i2c.Bus
		reads bool
	}{
		{"ssd1306 as on the board", func(b i2c.Bus) i2c.Bus { return b }, true},
		{"ssd1306 losing a byte of each data write", func(b i2c.Bus) i2c.Bus { return lossyBus{b} }, false},
	}
	for _, tt := range displays {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, "ssd1306")
				d, err := driver.NewSSD1306(tt.bus(r.w.bus), 0x3C)
				if err != nil {
					t.Fatalf("NewSSD1306: %v", err)
				}
				if err := d.Show(want...); err != nil {
					t.Fatalf("Show: %v", err)
				}
				if got := r.w.OLED().Text(); slices.Equal(got, want) != tt.reads {
					t.Errorf("Text() = %q, want it to read %q: %t", got, want, tt.reads)
				}
			})
		})
	}
}

// lossyBus drops the first data byte of every SSD1306 data write.
type lossyBus struct{ i2c.Bus }

func (b lossyBus) Tx(addr uint16, w, r []byte) error {
	if len(w) > 1 && w[0] == 0x40 {
		w = append([]byte{0x40}, w[2:]...)
	}
	return b.Bus.Tx(addr, w, r)
}
