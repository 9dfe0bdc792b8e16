// Package ble owns the link to the patient's Bluetooth LE health devices:
// the Transport interface the daemon reads characteristic values through,
// its BlueZ implementation over D-Bus (bonded devices, notifications and
// indications, reconnection with backoff, a glucometer's stored records
// through the Record Access Control Point, the device's clock read and set
// on connection, what a kind's profile reads once), a Replay transport for
// tests and the simulator, and the Assembler that turns the values into
// vital.Readings with hw/gatt (joining a glucose measurement to its
// context, thinning continuous streams, rounding a scale's weights) and
// keeps what each device's clock showed. Pairing is the installer's job,
// done once with bluetoothctl (docs/vitals.md).
package ble

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/pillbox/pillbox/hw/vital"
)

// Payload is one characteristic value a device sent.
type Payload struct {
	Device string // Bluetooth address, "A4:C1:38:12:34:56"
	Char   uint16 // characteristic UUID, e.g. 0x2A35
	Data   []byte
}

// Sink receives what a transport reads. Its methods may be called from
// several goroutines, one per device; each may block while a value is
// stored, which holds back that device's next value.
type Sink interface {
	// Payload hands over one notified or indicated value.
	Payload(p Payload)
	// Disconnected says the device's link dropped: nothing more belongs
	// with the values already sent (a glucose measurement still waiting for
	// its context will not get it).
	Disconnected(device string)
	// LastRecord returns the sequence number of the last glucose record
	// stored from device, so that a record transfer resumes after it; ok is
	// false when none was.
	LastRecord(device string) (seq uint16, ok bool)
	// Clock hands over the value of the device's clock characteristic
	// (Current Time 0x2A2B or Date Time 0x2A08) read on connection, before
	// any other value of the connection, and returns the value to write to
	// set the clock, or nil to leave it as it is.
	Clock(p Payload) (set []byte)
	// ClockSet says how writing the value Clock returned went.
	ClockSet(device string, err error)
}

// ClockChars are where a device's clock is read and set, in the order
// tried: the Current Time Service's Current Time, then a Date Time in the
// device's own service (0 stands for the kind's service).
var ClockChars = []struct{ Service, Char uint16 }{{0x1805, 0x2A2B}, {0, 0x2A08}}

// Device is one configured device and what to read from it: its kind's
// profile (vital.Kind).
type Device struct {
	Address string
	Profile vital.Profile
}

// Transport connects to devices and hands their values to a sink.
type Transport interface {
	// Run serves devices until ctx ends, reconnecting as they come and go;
	// it returns nil then. It returns an error only when it cannot work at
	// all (no Bluetooth adapter, no system bus).
	Run(ctx context.Context, devices []Device, sink Sink) error
}

// RACPChar is the Record Access Control Point characteristic.
const RACPChar = 0x2A52

// UUID128 writes a 16-bit Bluetooth UUID in the 128-bit form BlueZ uses.
func UUID128(u uint16) string {
	return fmt.Sprintf("0000%04x-0000-1000-8000-00805f9b34fb", u)
}

// ParseHex reads a characteristic value written as hex digits, as
// bluetoothctl and nRF Connect show them: "1E 78 00", "1e:78:00",
// "0x1E7800". Spaces, colons and dashes between bytes are ignored.
func ParseHex(s string) ([]byte, error) {
	t := strings.NewReplacer(" ", "", ":", "", "-", "", "\t", "", "\n", "").Replace(strings.TrimSpace(s))
	t = strings.TrimPrefix(strings.TrimPrefix(t, "0x"), "0X")
	if len(t)%2 != 0 {
		return nil, fmt.Errorf("ble: %d hex digits is not a whole number of bytes", len(t))
	}
	b, err := hex.DecodeString(t)
	if err != nil {
		var ie hex.InvalidByteError
		if errors.As(err, &ie) {
			return nil, fmt.Errorf("ble: %q is not a hex digit", rune(ie))
		}
		return nil, fmt.Errorf("ble: %w", err)
	}
	return b, nil
}
