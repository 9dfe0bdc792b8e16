// Package hw owns the dispenser's view of its hardware: small interfaces
// named for what each part does for the patient (a compartment that
// dispenses one unit, a pill-drop sensor, a lid, a button, a display, a
// speaker, an indicator), the Board that groups them, and the board section of the
// config file. Drivers live in subpackages: driver (real periph.io drivers),
// host (opening them on a Raspberry Pi) and sim (the same drivers on
// simulated pins and a simulated I2C bus).
package hw

import (
	"context"
	"errors"
)

// Input names a sensor the controller listens to.
type Input int

const (
	Button Input = iota // the patient's button; active = pressed
	Drop                // IR break beam under the chute; active = beam broken by a pill
	Lid                 // lid switch; active = lid open
	Cup                 // cup/tray sensor; active = cup present in the tray
)

func (i Input) String() string {
	switch i {
	case Button:
		return "button"
	case Drop:
		return "drop"
	case Lid:
		return "lid"
	case Cup:
		return "cup"
	}
	return "input?"
}

// Edge is one debounced change of a sensor.
type Edge struct {
	Input  Input
	Active bool
}

// Sensor is a binary input with debounced edges.
type Sensor interface {
	// Active reports the current debounced state.
	Active() bool
	// Watch sends each debounced change on ch until ctx is done. It returns
	// when ctx is done or the sensor fails; it never sends after returning.
	Watch(ctx context.Context, ch chan<- Edge) error
}

// Motor moves one compartment's mechanism.
type Motor interface {
	// DispenseOne moves the mechanism by exactly one unit (one pill slot)
	// and returns when the motion is complete. It does not know whether a
	// pill fell: the drop sensor tells. The motor is left de-energised.
	DispenseOne(ctx context.Context) error
}

// Mode is what an indicator or buzzer is doing.
type Mode int

const (
	Off       Mode = iota
	On             // steady
	Blink          // slow blink / slow chime: attention
	FastBlink      // fast blink / alarm: something is wrong
)

func (m Mode) String() string {
	switch m {
	case Off:
		return "off"
	case On:
		return "on"
	case Blink:
		return "blink"
	case FastBlink:
		return "fast-blink"
	}
	return "mode?"
}

// Indicator is an LED or a buzzer; it runs its own blink timing.
type Indicator interface {
	Set(Mode) error
	Mode() Mode
}

// Display shows short plain messages to the patient in large letters.
type Display interface {
	// Show replaces the screen with lines. Each line is word-wrapped to the
	// display's width; text that does not fit is cut, so callers put the
	// most important words first.
	Show(lines ...string) error
}

// Speaker says short prompts aloud to the patient, in the patient's
// language. It is one more output beside Display and Indicator; a speaker
// that fails is a fault to report, never a reason to stop a dispense.
type Speaker interface {
	// Say queues text to be spoken in lang (a BCP 47 tag, "es") and
	// returns at once: it never waits for the audio. A prompt not yet
	// started is replaced by a newer one, and one being spoken is cut
	// short by a different one, since the newest state is what the patient
	// needs to hear; saying the prompt already queued or being spoken does
	// nothing. The prompt is dropped, or cut short, when ctx is done.
	// Failures to speak are the speaker's to log and report; Say returns
	// an error only for a prompt it cannot take (empty, speaker closed).
	Say(ctx context.Context, text, lang string) error
	// Stop silences the prompt being spoken and drops the queued one (the
	// patient pressed the button).
	Stop()
}

// Compartment is one medication cassette.
type Compartment struct {
	ID    int // as numbered in the config, from 1
	Motor Motor
}

// Board groups the parts the controller drives. Display, Speaker, Buzzer,
// Cup, Lid and LEDs are optional: the opener fills missing ones with no-op
// parts and logs it loudly. Compartments and Drop are required: without them the
// device cannot know what it dispensed and refuses to start.
type Board struct {
	Compartments []Compartment
	Button       Sensor
	Drop         Sensor
	Lid          Sensor
	Cup          Sensor
	Display      Display
	Speaker      Speaker
	Buzzer       Indicator
	Ready        Indicator // green: nothing to do
	Attention    Indicator // amber ring: a dose is waiting
	Fault        Indicator // red: something needs a caregiver
	// Close releases the hardware and de-energises every actuator.
	Close func() error
	// Missing lists optional parts that were not found, for the status API.
	Missing []string
}

// ErrHardware marks failures of a required part.
var ErrHardware = errors.New("hardware")
