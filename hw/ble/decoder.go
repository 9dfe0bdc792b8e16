package ble

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

// Decoder is the Sink between a transport and the vital-sign rules: each
// value a device sends goes through the Assembler (over package gatt's
// decoders), and the readings of every complete measurement go to Ingest,
// the rules' way in (vitals.Monitor.Ingest stores and judges them). It
// also answers where a glucometer's record transfer resumes, from the
// readings already stored.
type Decoder struct {
	Assembler *Assembler
	Clock     interface{ Now() time.Time }
	// Ingest stores and judges readings; its error is logged.
	Ingest func(ctx context.Context, rs []vital.Reading) error
	// Stored is where readings are kept.
	Stored interface {
		LastReading(ctx context.Context, device string, q vital.Quantity) (vital.Reading, bool, error)
	}
	Logger *slog.Logger
}

var _ Sink = (*Decoder)(nil)

// Payload decodes p and hands on what it completed.
func (d *Decoder) Payload(p Payload) {
	rs, err := d.Assembler.Add(p, d.Clock.Now())
	if err != nil {
		// What failed to decode, not the bytes: they may hold a reading.
		d.Logger.Warn("vitals: a device sent a value that does not decode", "device", p.Device, "err", err)
	}
	d.ingest(rs)
}

// Disconnected releases a glucose measurement still waiting for a context
// that will not come.
func (d *Decoder) Disconnected(device string) { d.ingest(d.Assembler.Flush(device)) }

func (d *Decoder) ingest(rs []vital.Reading) {
	if len(rs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Ingest(ctx, rs); err != nil {
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
