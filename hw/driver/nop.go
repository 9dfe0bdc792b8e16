package driver

import (
	"context"

	"github.com/pillbox/pillbox/hw"
)

// NopDisplay stands in for a display that is not fitted or not answering.
type NopDisplay struct{}

// Show does nothing.
func (NopDisplay) Show(...string) error { return nil }

// NopSpeaker stands in for a speaker that is not fitted or cannot speak.
type NopSpeaker struct{}

// Say does nothing.
func (NopSpeaker) Say(context.Context, string, string) error { return nil }

// Stop does nothing.
func (NopSpeaker) Stop() {}

// NopIndicator stands in for a missing LED or buzzer. Its Mode is always
// Off: nothing is shown, whatever was asked.
type NopIndicator struct{}

// Set does nothing.
func (NopIndicator) Set(hw.Mode) error { return nil }

// Mode returns Off.
func (NopIndicator) Mode() hw.Mode { return hw.Off }

// NopSensor stands in for a missing lid or cup sensor: never active, no
// edges.
type NopSensor struct{}

// Active returns false.
func (NopSensor) Active() bool { return false }

// Watch waits for ctx and returns nil.
func (NopSensor) Watch(ctx context.Context, _ chan<- hw.Edge) error {
	<-ctx.Done()
	return nil
}

var (
	_ hw.Display   = NopDisplay{}
	_ hw.Speaker   = NopSpeaker{}
	_ hw.Indicator = NopIndicator{}
	_ hw.Sensor    = NopSensor{}
)
