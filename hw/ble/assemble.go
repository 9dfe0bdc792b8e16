package ble

import (
	"fmt"
	"sync"
	"time"

	"github.com/pillbox/pillbox/hw/gatt"
	"github.com/pillbox/pillbox/hw/vital"
)

// Assembler turns characteristic values into readings. It holds a glucose
// measurement that announces a context until the context arrives (or the
// next value, or a disconnection, says it will not), and keeps one value
// per MinInterval of the continuous streams (heart rate, continuous
// oximetry), which a device sends every second or so: the record needs a
// pulse a minute, not 86,400 a day. It is safe for concurrent use.
type Assembler struct {
	// Zone is the zone device clocks run in (the patient's); nil means UTC.
	Zone *time.Location
	// MinInterval thins the continuous characteristics; 0 keeps every value.
	MinInterval time.Duration

	mu      sync.Mutex
	pending map[string]gatt.Measurement // by device: glucose awaiting its context
	kept    map[streamKey]time.Time     // last value kept of a continuous stream
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
	if a.pending == nil {
		a.pending = map[string]gatt.Measurement{}
		a.kept = map[streamKey]time.Time{}
	}
	m, err := gatt.Decode(p.Char, p.Data)
	if err != nil {
		return a.flushLocked(p.Device), fmt.Errorf("ble: %s: %w", gatt.UUID(p.Char), err)
	}
	m.Device, m.Received, m.Zone = p.Device, received, a.Zone

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

// Flush releases the glucose measurement still waiting for its context
// from device, without it.
func (a *Assembler) Flush(device string) []vital.Reading {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.flushLocked(device)
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
