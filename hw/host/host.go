// Package host opens the dispenser's real board on a single-board computer:
// it loads periph.io's host drivers (GPIO through the Linux character
// device, I2C through /dev/i2c-N) and hands their pins and bus to
// driver.NewBoard. Everything else lives in package driver, where the
// simulator exercises it.
package host

import (
	"fmt"
	"log/slog"

	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/hw/driver"
	"github.com/pillbox/pillbox/hw/speech"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/host/v3"
)

// Ports are periph's registries, filled by host.Init.
var Ports = driver.Ports{
	Pin:     func(name string) gpio.PinIO { return gpioreg.ByName(name) },
	OpenI2C: i2creg.Open,
	OpenSpeaker: func(c hw.SpeakerConfig, log *slog.Logger) (hw.Speaker, error) {
		return speech.Open(c, log)
	},
}

// Open initialises periph and builds the board (see driver.NewBoard for
// what is required and what may be missing). An error wraps hw.ErrHardware
// when the hardware, not the configuration, is at fault.
func Open(cfg hw.BoardConfig, comps []hw.CompartmentConfig, log *slog.Logger) (*hw.Board, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("host: load periph drivers: %w: %w", hw.ErrHardware, err)
	}
	b, err := driver.NewBoard(cfg, comps, Ports, log)
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	return b, nil
}
