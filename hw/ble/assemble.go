package ble

import (
	"fmt"
	"sync"
	"time"

	"github.com/pillbox/pillbox/hw/gatt"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/hw/vital/quality"
)

// Assembler turns characteristic values into readings. It holds a glucose
// measurement that announces a context until the context arrives (or the
// next value, or a disconnection, says it will not), and keeps one value
// per MinInterval of the continuous streams (heart rate, continuous
// oximetry), which a device sends every second or so: the record needs a
// pulse a minute, not 86,400 a day. It keeps what each device's clock
// showed on connection (Clock; the offset corrects that connection's
// times) and a scale's Weight Scale Feature (its weights are rounded to
// its resolution). It is safe for concurrent use.
type Assembler struct {
	// Zone is the zone device clocks run in (the patient's); nil means UTC.
	Zone *time.Location
	// MinInterval thins the continuous characteristics; 0 keeps every value.
	MinInterval time.Duration

	mu       sync.Mutex
	pending  map[string]gatt.Measurement // by device: glucose awaiting its context
	kept     map[streamKey]time.Time     // last value kept of a continuous stream
	clocks   map[string]*DeviceClock
	features map[string]*gatt.WeightScaleFeature
}

// DeviceClock is what the controller last learnt of a device's clock.
type DeviceClock struct {
	// ReadAt is the controller's time when the clock was read; OffsetS
	// the device's clock minus the controller's, in seconds.
	ReadAt  time.Time `json:"read_at"`
	OffsetS float64   `json:"offset_s"`
	// Off says the offset was beyond quality.ClockTolerance: the readings
	// of that connection were corrected.
	Off bool `json:"off"`
	// SetAt is when the controller last set the clock; SetError why the
	// last attempt failed ("" when it did not).
	SetAt    time.Time `json:"set_at,omitzero"`
	SetError string    `json:"set_error,omitempty"`

	offset    time.Duration
	connected bool // the offset applies to the connection's values
}

type streamKey struct {
	device string
	char   uint16
}

// DefaultMinInterval is the thinning the daemon uses.
const DefaultMinInterval = time.Minute

// continuous are the characteristics a device streams.
var continuous = map[uint16]bool{gatt.HeartRateMeasurement: true, gatt.PLXContinuousMeasurement: true}

// Add decodes p, received at, and returns the readings that are complete.
// A value that does not decode is an error naming the device's
// characteristic, never a panic; a pending measurement is released all the
// same.
func (a *Assembler) Add(p Payload, received time.Time) ([]vital.Reading, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.init()
	m, err := gatt.Decode(p.Char, p.Data)
	if err != nil {
		return a.flushLocked(p.Device), fmt.Errorf("ble: %s: %w", gatt.UUID(p.Char), err)
	}
	m.Device, m.Received, m.Zone, m.ScaleFeature = p.Device, received, a.Zone, a.features[p.Device]
	if m.WeightScaleFeature != nil {
		a.features[p.Device] = m.WeightScaleFeature
		return nil, nil
	}

	prev, waiting := a.pending[p.Device]
	if waiting && m.GlucoseContext != nil && m.GlucoseContext.Sequence == prev.Glucose.Sequence {
		delete(a.pending, p.Device)
		if err := prev.AttachContext(m); err != nil {
			return prev.Readings(), fmt.Errorf("ble: %w", err)
		}
		return prev.Readings(), nil
	}
	out := a.flushLocked(p.Device)
	if m.Glucose != nil && m.Glucose.ContextFollows {
		a.pending[p.Device] = m
		return out, nil
	}
	if continuous[p.Char] && a.MinInterval > 0 {
		k := streamKey{p.Device, p.Char}
		if last, ok := a.kept[k]; ok && received.Sub(last) < a.MinInterval && !received.Before(last) {
			return out, nil
		}
		a.kept[k] = received
	}
	return append(out, m.Readings()...), nil
}

func (a *Assembler) init() {
	if a.pending == nil {
		a.pending = map[string]gatt.Measurement{}
		a.kept = map[streamKey]time.Time{}
		a.clocks = map[string]*DeviceClock{}
		a.features = map[string]*gatt.WeightScaleFeature{}
	}
}

// Flush releases the glucose measurement still waiting for its context
// from device, without it.
func (a *Assembler) Flush(device string) []vital.Reading {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.flushLocked(device)
}

// Disconnected ends a device's connection: it releases the glucose
// measurement still waiting for its context, and the offset its clock
// showed no longer applies (the next connection reads it again).
func (a *Assembler) Disconnected(device string) []vital.Reading {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.clocks[device]; ok {
		c.connected = false
	}
	return a.flushLocked(device)
}

// Clock takes the value of a device's clock characteristic read on
// connection at the controller's time at (trusted: the controller's clock
// is), judges it (quality.JudgeClock) and keeps the offset for the
// connection's values. It returns the value that sets the device's clock
// to the controller's, when it is off and the controller's is trusted.
func (a *Assembler) Clock(p Payload, at time.Time, trusted bool) ([]byte, error) {
	m, err := gatt.Decode(p.Char, p.Data)
	if err == nil && m.Clock == nil {
		err = fmt.Errorf("%s is not a clock", gatt.UUID(p.Char))
	}
	var shows time.Time
	if err == nil {
		shows, err = m.Clock.At(a.Zone)
	}
	if err != nil {
		return nil, fmt.Errorf("ble: device clock: %w", err)
	}
	v := quality.JudgeClock(shows, at, trusted)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.init()
	c := a.clocks[p.Device]
	if c == nil {
		c = &DeviceClock{}
		a.clocks[p.Device] = c
	}
	c.ReadAt, c.offset, c.OffsetS, c.Off, c.connected = at, v.Offset, v.Offset.Seconds(), v.Off, true
	if !v.Set {
		return nil, nil
	}
	zone := a.Zone
	if zone == nil {
		zone = time.UTC
	}
	return gatt.ClockValue(p.Char, at.In(zone)), nil
}

// ClockSet records how setting device's clock at at went.
func (a *Assembler) ClockSet(device string, at time.Time, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.clocks[device]
	if c == nil {
		return
	}
	if err != nil {
		c.SetError = err.Error()
		return
	}
	c.SetAt, c.SetError = at, ""
}

// Offset returns the offset of device's clock read on its current
// connection; ok is false when none was read.
func (a *Assembler) Offset(device string) (time.Duration, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.clocks[device]; ok && c.connected {
		return c.offset, true
	}
	return 0, false
}

// Clocks returns what is known of each device's clock, by device.
func (a *Assembler) Clocks() map[string]DeviceClock {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]DeviceClock, len(a.clocks))
	for d, c := range a.clocks {
		out[d] = *c
	}
	return out
}

func (a *Assembler) flushLocked(device string) []vital.Reading {
	m, ok := a.pending[device]
	if !ok {
		return nil
	}
	delete(a.pending, device)
	return m.Readings()
}

// Pending reports whether a glucose measurement from device waits for its
// context.
func (a *Assembler) Pending(device string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.pending[device]
	return ok
}
