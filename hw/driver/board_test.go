package driver

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/pillbox/pillbox/hw"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
)

// testPorts serves gpiotest pins for every header GPIO not in absent, and
// bus (or openErr).
type testPorts struct {
	log     *pinLog
	pins    map[string]*recPin
	bus     *recBus
	openErr error
}

func newTestPorts(absent ...string) *testPorts {
	tp := &testPorts{log: &pinLog{}, pins: map[string]*recPin{}, bus: &recBus{}}
	for _, h := range hw.Header {
		if h.GPIO() && !slices.Contains(absent, h.Name) {
			p := newRecPin(tp.log, h.Name)
			p.EdgesChan = make(chan gpio.Level, 4)
			tp.pins[h.Name] = p
		}
	}
	return tp
}

func (tp *testPorts) ports() Ports {
	return Ports{
		Pin: func(name string) gpio.PinIO {
			if p, ok := tp.pins[name]; ok {
				return p
			}
			return nil
		},
		OpenI2C: func(string) (i2c.BusCloser, error) {
			if tp.openErr != nil {
				return nil, tp.openErr
			}
			return tp.bus, nil
		},
	}
}

func fullConfig() (hw.BoardConfig, []hw.CompartmentConfig) {
	return hw.BoardConfig{
			I2CBus:       "1",
			Display:      &hw.DisplayConfig{Kind: "ssd1306", Address: 0x3c},
			ServoDriver:  &hw.ServoDriverConfig{Address: 0x40},
			Button:       hw.InputConfig{Pin: "GPIO17", ActiveLow: true},
			Drop:         hw.InputConfig{Pin: "GPIO27"},
			Lid:          &hw.InputConfig{Pin: "GPIO22", ActiveLow: true},
			Cup:          &hw.InputConfig{Pin: "GPIO23"},
			Buzzer:       &hw.OutputConfig{Pin: "GPIO18"},
			LEDReady:     &hw.OutputConfig{Pin: "GPIO24"},
			LEDAttention: &hw.OutputConfig{Pin: "GPIO25"},
			LEDFault:     &hw.OutputConfig{Pin: "GPIO12", ActiveLow: true},
		}, []hw.CompartmentConfig{
			{ID: 1, Capacity: 30, Count: 30, Motor: hw.MotorConfig{Kind: "uln2003", Pins: []string{"GPIO5", "GPIO6", "GPIO13", "GPIO19"}, StepsPerUnit: 8}},
			{ID: 2, Capacity: 30, Count: 30, Motor: hw.MotorConfig{Kind: "stepdir", Step: "GPIO20", Dir: "GPIO21", Enable: "GPIO26", StepsPerUnit: 4}},
			{ID: 3, Capacity: 30, Count: 30, Motor: hw.MotorConfig{Kind: "servo", Channel: 2, DispenseAngle: 90}},
		}
}

func TestNewBoardFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tp := newTestPorts()
		cfg, comps := fullConfig()
		var logs bytes.Buffer
		b, err := NewBoard(cfg, comps, tp.ports(), slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Missing) != 0 || logs.Len() != 0 {
			t.Errorf("Missing = %v, log %q; want nothing missing", b.Missing, logs.String())
		}
		if _, ok := b.Display.(*SSD1306); !ok {
			t.Errorf("Display is %T, want *SSD1306", b.Display)
		}
		for i, want := range []string{"*driver.ULN2003", "*driver.StepDir", "*driver.Servo"} {
			if got := typeName(b.Compartments[i].Motor); got != want || b.Compartments[i].ID != i+1 {
				t.Errorf("compartment %d = id %d %s, want id %d %s", i, b.Compartments[i].ID, got, i+1, want)
			}
		}
		for i, c := range b.Compartments {
			if err := c.Motor.DispenseOne(t.Context()); err != nil {
				t.Errorf("compartment %d: DispenseOne() = %v", i, err)
			}
		}
		if err := b.Fault.Set(hw.On); err != nil || tp.pins["GPIO12"].Read() != gpio.Low {
			t.Errorf("active-low fault LED on: Set = %v, pin %v; want nil, Low", err, tp.pins["GPIO12"].Read())
		}
		b.Attention.Set(hw.Blink)
		// Default debounce and pull reached the button: pulled up, idle.
		if tp.pins["GPIO17"].P != gpio.PullUp || tp.pins["GPIO27"].P != gpio.PullDown {
			t.Errorf("pulls: button %v, drop %v; want Up, Down", tp.pins["GPIO17"].P, tp.pins["GPIO27"].P)
		}
		tp.bus.take()
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Errorf("second Close() = %v, want nil", err)
		}
		for _, name := range []string{"GPIO5", "GPIO6", "GPIO13", "GPIO19", "GPIO24", "GPIO25"} {
			if tp.pins[name].Read() != gpio.Low {
				t.Errorf("%s = High after Close, want Low", name)
			}
		}
		if tp.pins["GPIO26"].Read() != gpio.High || tp.pins["GPIO12"].Read() != gpio.High {
			t.Errorf("after Close: stepdir enable %v, fault LED %v; want High (disabled), High (off, active low)", tp.pins["GPIO26"].Read(), tp.pins["GPIO12"].Read())
		}
		var allOff bool
		for _, op := range tp.bus.take() {
			allOff = allOff || op.addr == 0x40 && bytes.Equal(op.w, []byte{0xFA, 0, 0, 0, 0x10})
		}
		if !allOff || tp.bus.closed != 1 {
			t.Errorf("after Close: PCA9685 all off %v, bus closed %d times; want true, 1", allOff, tp.bus.closed)
		}
	})
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }

func TestNewBoardMissingParts(t *testing.T) {
	tests := []struct {
		name        string
		absent      []string // pins the board lacks
		edit        func(*hw.BoardConfig, *[]hw.CompartmentConfig, *testPorts)
		wantErr     string // "" for success
		wantMissing []string
	}{
		{"display not answering", nil, func(c *hw.BoardConfig, _ *[]hw.CompartmentConfig, tp *testPorts) {
			tp.bus.nack = map[uint16]bool{0x3c: true}
		}, "", []string{"display"}},
		{"optional parts left out", nil, func(c *hw.BoardConfig, comps *[]hw.CompartmentConfig, _ *testPorts) {
			*c = hw.BoardConfig{Button: c.Button, Drop: c.Drop}
			*comps = (*comps)[:2]
		}, "", []string{"lid", "cup", "display", "buzzer", "led_ready", "led_attention", "led_fault"}},
		{"buzzer and lid pins absent", []string{"GPIO18", "GPIO22"}, nil, "", []string{"lid", "buzzer"}},
		{"no I2C bus without servos", nil, func(c *hw.BoardConfig, comps *[]hw.CompartmentConfig, tp *testPorts) {
			tp.openErr = errors.New("no /dev/i2c-1")
			*comps = (*comps)[:2]
		}, "", []string{"display"}},
		{"motor pin absent", []string{"GPIO13"}, nil, "compartments[0] (id 1): hardware: no pin GPIO13", nil},
		{"button pin absent", []string{"GPIO17"}, nil, "hardware: button sensor: no pin GPIO17", nil},
		{"drop pin absent", []string{"GPIO27"}, nil, "hardware: drop sensor: no pin GPIO27", nil},
		{"servo driver not answering", nil, func(_ *hw.BoardConfig, _ *[]hw.CompartmentConfig, tp *testPorts) {
			tp.bus.nack = map[uint16]bool{0x40: true}
		}, "compartments[2] (id 3): hardware: servo driver not available", nil},
		{"invalid config", nil, func(c *hw.BoardConfig, _ *[]hw.CompartmentConfig, _ *testPorts) {
			c.Drop.Pin = "GPIO17"
		}, "invalid configuration: board.drop.pin: GPIO17 is already used", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tp := newTestPorts(tt.absent...)
				cfg, comps := fullConfig()
				if tt.edit != nil {
					tt.edit(&cfg, &comps, tp)
				}
				var logs bytes.Buffer
				b, err := NewBoard(cfg, comps, tp.ports(), slog.New(slog.NewTextHandler(&logs, nil)))
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("NewBoard() = %v, want error containing %q", err, tt.wantErr)
					}
					if !strings.HasPrefix(tt.name, "invalid") && !errors.Is(err, hw.ErrHardware) {
						t.Errorf("NewBoard() = %v, want it to wrap hw.ErrHardware", err)
					}
					// What was built is released: coils low, bus closed.
					for _, n := range []string{"GPIO5", "GPIO6", "GPIO19"} {
						if p := tp.pins[n]; p != nil && p.Read() != gpio.Low {
							t.Errorf("%s = High after a failed NewBoard", n)
						}
					}
					if !strings.HasPrefix(tt.name, "invalid") && tp.openErr == nil && tp.bus.closed != 1 {
						t.Errorf("bus closed %d times after a failed NewBoard, want 1", tp.bus.closed)
					}
					return
				}
				if err != nil {
					t.Fatalf("NewBoard() = %v, want nil", err)
				}
				defer b.Close()
				if !slices.Equal(b.Missing, tt.wantMissing) {
					t.Errorf("Missing = %v, want %v", b.Missing, tt.wantMissing)
				}
				for _, part := range tt.wantMissing {
					if !strings.Contains(logs.String(), "part="+part) {
						t.Errorf("log does not mention missing %s:\n%s", part, logs.String())
					}
				}
				// No-op parts stand in, and work.
				if err := b.Display.Show("x"); err != nil {
					t.Errorf("Display.Show = %v", err)
				}
				if err := b.Buzzer.Set(hw.On); err != nil {
					t.Errorf("Buzzer.Set = %v", err)
				}
				if b.Lid == nil || b.Cup == nil || b.Ready == nil || b.Attention == nil || b.Fault == nil {
					t.Errorf("a part is nil: %+v", b)
				}
			})
		})
	}
}

// fakeSpeaker records its settings and whether the board closed it.
type fakeSpeaker struct {
	NopSpeaker
	cfg    hw.SpeakerConfig
	closed bool
}

func (f *fakeSpeaker) Close() error { f.closed = true; return nil }

func TestNewBoardSpeaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, comps := fullConfig()
		cfg.Speaker = &hw.SpeakerConfig{Volume: 80}
		cfg.Display.LargeText = true
		tests := []struct {
			name        string
			open        func(hw.SpeakerConfig, *slog.Logger) (hw.Speaker, error)
			wantMissing bool
		}{
			{"opens", nil, false},
			{"cannot speak", func(hw.SpeakerConfig, *slog.Logger) (hw.Speaker, error) {
				return nil, errors.New("espeak-ng not found")
			}, true},
			{"no speaker on the ports", nil, true},
		}
		for _, tt := range tests {
			tp := newTestPorts()
			ports := tp.ports()
			fake := &fakeSpeaker{}
			switch {
			case tt.open != nil:
				ports.OpenSpeaker = tt.open
			case tt.name == "opens":
				ports.OpenSpeaker = func(c hw.SpeakerConfig, _ *slog.Logger) (hw.Speaker, error) {
					fake.cfg = c
					return fake, nil
				}
			}
			var logs bytes.Buffer
			b, err := NewBoard(cfg, comps, ports, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatalf("%s: NewBoard: %v", tt.name, err)
			}
			if got := slices.Contains(b.Missing, "speaker"); got != tt.wantMissing {
				t.Errorf("%s: speaker missing %v, want %v (log %q)", tt.name, got, tt.wantMissing, logs.String())
			}
			if tt.wantMissing {
				if _, nop := b.Speaker.(NopSpeaker); !nop || !strings.Contains(logs.String(), "speaker") {
					t.Errorf("%s: Speaker %T, log %q; want the no-op speaker, logged", tt.name, b.Speaker, logs.String())
				}
			} else if b.Speaker != hw.Speaker(fake) || fake.cfg != (hw.SpeakerConfig{Device: "default", Volume: 80, Rate: 140}) {
				t.Errorf("%s: Speaker %v opened with %+v, want the port's speaker with the defaults filled in", tt.name, b.Speaker, fake.cfg)
			}
			if oled, ok := b.Display.(*SSD1306); !ok || !oled.tall {
				t.Errorf("%s: display %T not in large-text mode, want large_text applied", tt.name, b.Display)
			}
			b.Close()
			if !tt.wantMissing && !fake.closed {
				t.Errorf("%s: speaker not closed with the board", tt.name)
			}
		}
	})
}

// TestEveryMotorKind builds each declared motor kind from its example and
// turns it one unit: every kind has a driver for its drive, on the pins
// the kind lists (each driven) or its PCA9685 channel.
func TestEveryMotorKind(t *testing.T) {
	for _, k := range hw.MotorKinds() {
		t.Run(k.Name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tp := newTestPorts()
				cfg, _ := fullConfig()
				cfg.Display = nil
				b, err := NewBoard(cfg, []hw.CompartmentConfig{{ID: 1, Capacity: 10, Motor: k.Example}}, tp.ports(), slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatalf("NewBoard(example %s): %v", k.Name, err)
				}
				defer b.Close()
				tp.log.take()
				tp.bus.take()
				if err := b.Compartments[0].Motor.DispenseOne(t.Context()); err != nil {
					t.Fatalf("%s: DispenseOne() = %v", k.Name, err)
				}
				driven := map[string]bool{}
				for _, op := range tp.log.take() {
					driven[op.pin] = true
				}
				pins := k.Pins(k.Example.Defaulted())
				for _, p := range pins {
					if !driven[p.Pin] {
						t.Errorf("%s: %s (%s) was not driven", k.Name, p.Pin, p.Label)
					}
				}
				if len(driven) > len(pins) {
					t.Errorf("%s: drove %v, more than its pins %v", k.Name, driven, pins)
				}
				if wrote := len(tp.bus.take()) > 0; wrote != (len(pins) == 0) {
					t.Errorf("%s: wrote to the PCA9685 %v with %d pins", k.Name, wrote, len(pins))
				}
			})
		})
	}
}
