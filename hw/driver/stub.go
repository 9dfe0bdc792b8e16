package driver

import (
	"context"
	"errors"
	"time"

	"github.com/pillbox/pillbox/hw"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
)

var errTODO = errors.New("driver: not implemented yet")

type ULN2003 struct{}

func NewULN2003(pins [4]gpio.PinOut, stepsPerUnit int, stepDelay time.Duration, reverse bool) (*ULN2003, error) {
	return &ULN2003{}, nil
}
func (m *ULN2003) DispenseOne(ctx context.Context) error { return errTODO }

type StepDir struct{}

func NewStepDir(step, dir, enable gpio.PinOut, stepsPerUnit int, stepDelay time.Duration, reverse bool) (*StepDir, error) {
	return &StepDir{}, nil
}
func (m *StepDir) DispenseOne(ctx context.Context) error { return errTODO }

type PCA9685 struct{}

func NewPCA9685(bus i2c.Bus, addr uint16) (*PCA9685, error)    { return &PCA9685{}, nil }
func (p *PCA9685) SetPulse(channel int, width time.Duration) error { return errTODO }

type Servo struct{}

func NewServo(p *PCA9685, channel int, restAngle, dispenseAngle float64, minPulse, maxPulse time.Duration, settle time.Duration) (*Servo, error) {
	return &Servo{}, nil
}
func (s *Servo) DispenseOne(ctx context.Context) error { return errTODO }

type SSD1306 struct{}

func NewSSD1306(bus i2c.Bus, addr uint16) (*SSD1306, error) { return &SSD1306{}, nil }
func (d *SSD1306) Show(lines ...string) error               { return errTODO }
func (d *SSD1306) Frame() [1024]byte                        { return [1024]byte{} }

// Font layout: 5x7 glyphs in 6x8 cells, scaled 2x when the text fits.
const (
	GlyphWidth  = 5
	GlyphHeight = 7
	CellWidth   = 6
	CellHeight  = 8
	LargeScale  = 2
)

func Glyph(r rune) [5]byte { return [5]byte{} }

type HD44780 struct{}

func NewHD44780(bus i2c.Bus, addr uint16) (*HD44780, error) { return &HD44780{}, nil }
func (d *HD44780) Show(lines ...string) error               { return errTODO }

type Input struct{}

func NewInput(p gpio.PinIn, in hw.Input, activeLow bool, pull gpio.Pull, debounce time.Duration) (*Input, error) {
	return &Input{}, nil
}
func (s *Input) Active() bool                                      { return false }
func (s *Input) Watch(ctx context.Context, ch chan<- hw.Edge) error { <-ctx.Done(); return nil }

type Output struct{}

func NewOutput(p gpio.PinOut, activeLow bool) *Output { return &Output{} }
func (o *Output) Set(m hw.Mode) error                { return errTODO }
func (o *Output) Mode() hw.Mode                      { return hw.Off }
func (o *Output) Close() error                       { return nil }

type NopDisplay struct{}

func (NopDisplay) Show(lines ...string) error { return nil }

type NopIndicator struct{}

func (NopIndicator) Set(hw.Mode) error { return nil }
func (NopIndicator) Mode() hw.Mode     { return hw.Off }

type NopSensor struct{}

func (NopSensor) Active() bool                                      { return false }
func (NopSensor) Watch(ctx context.Context, ch chan<- hw.Edge) error { <-ctx.Done(); return nil }

var (
	_ hw.Motor     = (*ULN2003)(nil)
	_ hw.Motor     = (*StepDir)(nil)
	_ hw.Motor     = (*Servo)(nil)
	_ hw.Display   = (*SSD1306)(nil)
	_ hw.Display   = (*HD44780)(nil)
	_ hw.Sensor    = (*Input)(nil)
	_ hw.Indicator = (*Output)(nil)
	_ hw.Display   = NopDisplay{}
	_ hw.Indicator = (*NopIndicator)(nil)
	_ hw.Sensor    = NopSensor{}
)
