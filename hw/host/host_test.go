package host

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/hw"
)

// This machine has no GPIO header: Open must fail closed, naming the part.
func TestOpenWithoutHardwareFailsClosed(t *testing.T) {
	cfg := hw.BoardConfig{
		Button: hw.InputConfig{Pin: "GPIO17", ActiveLow: true},
		Drop:   hw.InputConfig{Pin: "GPIO27"},
	}
	comps := []hw.CompartmentConfig{{ID: 1, Capacity: 10, Motor: hw.MotorConfig{
		Kind: "uln2003", Pins: []string{"GPIO5", "GPIO6", "GPIO13", "GPIO19"}, StepsPerUnit: 512}}}
	b, err := Open(cfg, comps, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		b.Close()
		t.Skip("this machine has GPIO5: the test is meant for machines without a header")
	}
	if !errors.Is(err, hw.ErrHardware) || !strings.Contains(err.Error(), "GPIO5") {
		t.Errorf("Open() = %v, want an error wrapping hw.ErrHardware naming GPIO5", err)
	}
}

func TestOpenRejectsInvalidConfig(t *testing.T) {
	_, err := Open(hw.BoardConfig{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || errors.Is(err, hw.ErrHardware) || !strings.Contains(err.Error(), "board.button.pin") {
		t.Errorf("Open(empty config) = %v, want a configuration error naming board.button.pin", err)
	}
}
