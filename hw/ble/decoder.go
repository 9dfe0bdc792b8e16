package ble

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/hw/vital/quality"
)

// Decoder is the Sink between a transport and the vital-sign rules: each
// value a device sends goes through the Assembler (over package gatt's
// decoders), and the readings of every complete measurement go to Ingest,
// the rules' way in (vitals.Monitor.Ingest checks, stores and judges
// them), with what the quality step needs of their reception. It judges a
// device's clock read on connection and says whether to set it, and
// answers where a glucometer's record transfer resumes, from the readings
// already stored.
type Decoder struct {
	Assembler *Assembler
	// WallClock is the dispenser's clock, which stamps receptions.
	WallClock interface{ Now() time.Time }
	// Trusted says whether the dispenser trusts its wall clock: only then
	// are device clocks judged and set. Nil is never.
	Trusted func() bool
	// Ingest checks, stores and judges readings; its error is logged.
	Ingest func(ctx context.Context, rs []vital.Reading, rc quality.Reception) error
	// Stored is where readings are kept.
	Stored interface {
		LastReading(ctx context.Context, device string, q vital.Quantity) (vital.Reading, bool, error)
	}
	Logger *slog.Logger
}

var _ Sink = (*Decoder)(nil)

// Payload decodes p and hands on what it completed.
func (d *Decoder) Payload(p Payload) {
	now := d.WallClock.Now()
	rs, err := d.Assembler.Add(p, now)
	if err != nil {
		// What failed to decode, not the bytes: they may hold a reading.
		d.Logger.Warn("vitals: a device sent a value that does not decode", "device", p.Device, "err", err)
	}
	if len(rs) > 0 { // most of a strap's values are thinned away
		d.ingest(rs, d.Reception(p.Device, now))
	}
}

// Disconnected releases a glucose measurement still waiting for a context
// that will not come; the device's clock offset ends with its connection.
func (d *Decoder) Disconnected(device string) {
	rc := d.Reception(device, d.WallClock.Now())
	d.ingest(d.Assembler.Disconnected(device), rc)
}

// Clock judges a device's clock read on connection and says whether to
// set it (docs/vitals.md, "Device clocks").
func (d *Decoder) Clock(p Payload) []byte {
	set, err := d.Assembler.Clock(p, d.WallClock.Now(), d.trusted())
	if err != nil {
		d.Logger.Warn("vitals: a device's clock does not read", "device", p.Device, "err", err)
	}
	return set
}

// ClockSet records whether the device's clock was set.
func (d *Decoder) ClockSet(device string, err error) {
	d.Assembler.ClockSet(device, d.WallClock.Now(), err)
}

// Reception is what the quality step is told of readings from device
// received at at: whether the wall clock is trusted, and the device
// clock's offset from it when it was read on this connection.
func (d *Decoder) Reception(device string, at time.Time) quality.Reception {
	rc := quality.Reception{At: at, Trusted: d.trusted()}
	if off, ok := d.Assembler.Offset(device); ok {
		rc.Offsets = map[string]time.Duration{device: off}
	}
	return rc
}

func (d *Decoder) trusted() bool { return d.Trusted != nil && d.Trusted() }

func (d *Decoder) ingest(rs []vital.Reading, rc quality.Reception) {
	if len(rs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Ingest(ctx, rs, rc); err != nil {
		d.Logger.Error("vitals: store readings", "err", err)
	}
}

// LastRecord is the sequence number of the last glucose record stored
// from device (gatt keeps it in the reading's "sequence" context).
func (d *Decoder) LastRecord(device string) (uint16, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, ok, err := d.Stored.LastReading(ctx, device, vital.Glucose)
	if err != nil || !ok {
		return 0, false
	}
	seq, err := strconv.ParseUint(r.Context["sequence"], 10, 16)
	if err != nil {
		return 0, false
	}
	return uint16(seq), true
}
