package ble

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/pillbox/pillbox/hw/gatt"
)

// link is what a device session needs of the Bluetooth stack. The BlueZ
// transport implements it over D-Bus; tests implement it in memory, so that
// reconnection and the record transfer are tested without a radio.
type link interface {
	// connect connects to the bonded device at addr and resolves its
	// services. It returns when connected, or with an error.
	connect(ctx context.Context, addr string) (conn, error)
}

// conn is one connection to a device.
type conn interface {
	// subscribe enables notifications or indications (whichever each
	// characteristic supports) on those of chars the device's service has,
	// and returns them.
	subscribe(ctx context.Context, service uint16, chars []uint16) ([]uint16, error)
	// read reads a characteristic of a service of the device; errNoChar
	// when the device has none.
	read(ctx context.Context, service, char uint16) ([]byte, error)
	// write writes a value with response (a write request); errNoChar
	// when the device has no such characteristic.
	write(ctx context.Context, service, char uint16, value []byte) error
	// values delivers the subscribed characteristics' values; it is closed
	// when the link drops.
	values() <-chan Payload
	close() error
}

// errNoMeasurement: the device is connected but lacks the measurement
// characteristic, which no retry will fix soon.
var errNoMeasurement = errors.New("ble: the device has no measurement characteristic for its kind")

// errNoChar: the device has no such characteristic (an optional one).
var errNoChar = errors.New("ble: no such characteristic")

// Reconnection backoff. Health devices are connectable only for a short
// while after a measurement, so the wait between attempts stays short; a
// device that cannot work (unpaired, wrong kind) waits longer.
const (
	backoffBase = time.Second
	backoffMax  = 30 * time.Second
	backoffSlow = 5 * time.Minute
)

// backoff is the wait before reconnection attempt n (0 for the first
// retry): exponential up to max, with up to 20% jitter so devices that
// dropped together do not retry in step.
func backoff(n int, max time.Duration, jitter float64) time.Duration {
	d := backoffBase
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d - time.Duration(float64(d)*0.2*jitter)
}

// serve runs one session per device until ctx ends.
func serve(ctx context.Context, l link, devices []Device, sink Sink, log *slog.Logger) {
	var wg sync.WaitGroup
	for _, d := range devices {
		wg.Go(func() { runDevice(ctx, l, d, sink, log) })
	}
	wg.Wait()
}

// runDevice keeps one device connected: a session while it is, a backoff
// wait between attempts.
func runDevice(ctx context.Context, l link, d Device, sink Sink, log *slog.Logger) {
	failures := 0
	for ctx.Err() == nil {
		connected, err := session(ctx, l, d, sink, log)
		if connected {
			sink.Disconnected(d.Address)
			failures = 0
		}
		if ctx.Err() != nil {
			return
		}
		wait := backoff(failures, backoffMax, rand.Float64())
		if errors.Is(err, errNoMeasurement) || errors.Is(err, errNotPaired) {
			wait = backoffSlow // an installer has to act first
		}
		if err != nil {
			failures++
			// The address identifies a device, not a person: it may be logged.
			log.Debug("ble: device not connected", "device", d.Address, "err", err, "retry_in", wait)
		} else {
			log.Info("ble: device disconnected", "device", d.Address)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// session connects once and hands the device's values to the sink until
// the link drops or ctx ends. connected reports whether it got as far as
// a connection.
func session(ctx context.Context, l link, d Device, sink Sink, log *slog.Logger) (connected bool, err error) {
	c, err := l.connect(ctx, d.Address)
	if err != nil {
		return false, err
	}
	defer c.close()
	chars := slices.Clone(d.Profile.Chars)
	if d.Profile.RACP {
		chars = append(chars, RACPChar)
	}
	subs, err := c.subscribe(ctx, d.Profile.Service, chars)
	if err != nil {
		return true, fmt.Errorf("ble: subscribe: %w", err)
	}
	if len(d.Profile.Chars) == 0 || !slices.Contains(subs, d.Profile.Chars[0]) {
		return true, errNoMeasurement
	}
	log.Info("ble: device connected", "device", d.Address, "profile", d.Profile.Name)
	// The clock first: the offset it shows corrects the times of every
	// record that follows.
	readClock(ctx, c, d, sink, log)
	for _, ch := range d.Profile.Read {
		v, err := c.read(ctx, d.Profile.Service, ch)
		if err != nil {
			if !errors.Is(err, errNoChar) {
				log.Warn("ble: read", "device", d.Address, "char", gatt.UUID(ch).String(), "err", err)
			}
			continue
		}
		sink.Payload(Payload{Device: d.Address, Char: ch, Data: v})
	}
	var xfer *recordTransfer
	if d.Profile.RACP && slices.Contains(subs, RACPChar) {
		xfer = newRecordTransfer(sink.LastRecord(d.Address))
		if err := c.write(ctx, d.Profile.Service, RACPChar, xfer.first()); err != nil {
			// Live measurements still arrive; only the back-fill is lost.
			log.Warn("ble: record transfer not started", "device", d.Address, "err", err)
			xfer = nil
		}
	}
	values := c.values()
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case p, ok := <-values:
			if !ok {
				return true, nil
			}
			if p.Char == RACPChar {
				if xfer == nil {
					continue
				}
				next, err := racpNext(xfer, p.Data)
				if err != nil {
					log.Warn("ble: record transfer", "device", d.Address, "err", err)
				}
				if next != nil {
					if err := c.write(ctx, d.Profile.Service, RACPChar, next); err != nil {
						log.Warn("ble: record transfer", "device", d.Address, "err", err)
					}
				}
				continue
			}
			if xfer != nil && p.Char == gatt.GlucoseMeasurement {
				if m, err := gatt.Decode(p.Char, p.Data); err == nil {
					xfer.record(m.Glucose.Sequence)
				}
			}
			sink.Payload(p)
		}
	}
}

// readClock reads the device's clock, hands it to the sink and sets the
// clock when the sink says so. A device without a clock characteristic is
// common and fine; one that refuses the write (Current Time is writable
// only on some devices) keeps its clock, and its times are corrected all
// the same.
func readClock(ctx context.Context, c conn, d Device, sink Sink, log *slog.Logger) {
	for _, cc := range ClockChars {
		service := cc.Service
		if service == 0 {
			service = d.Profile.Service
		}
		v, err := c.read(ctx, service, cc.Char)
		if errors.Is(err, errNoChar) {
			continue
		}
		if err != nil {
			log.Warn("ble: device clock not read", "device", d.Address, "err", err)
			return
		}
		set := sink.Clock(Payload{Device: d.Address, Char: cc.Char, Data: v})
		if set == nil {
			return
		}
		err = c.write(ctx, service, cc.Char, set)
		sink.ClockSet(d.Address, err)
		if err != nil {
			log.Warn("ble: device clock not set; its times are corrected instead", "device", d.Address, "err", err)
		} else {
			log.Info("ble: device clock set", "device", d.Address, "char", gatt.UUID(cc.Char).String())
		}
		return
	}
}

func racpNext(x *recordTransfer, data []byte) ([]byte, error) {
	r, err := parseRACP(data)
	if err != nil {
		return nil, err
	}
	return x.done(r)
}
