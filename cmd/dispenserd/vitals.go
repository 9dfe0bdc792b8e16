package main

import (
	"context"
	"time"

	"github.com/pillbox/pillbox/dispenser/httpapi"
	"github.com/pillbox/pillbox/dispenser/httpapi/simapi"
	"github.com/pillbox/pillbox/hw/ble"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/hw/vital/quality"
	"github.com/pillbox/pillbox/notify/vitals"
)

// newTransport picks how devices are read: BlueZ on a real device, none
// in sim mode (readings come through POST /api/sim/reading). Tests replace
// it with a replay transport.
var newTransport = func(r *running) ble.Transport {
	if r.opts.sim {
		return nil
	}
	return &ble.BlueZ{Logger: r.log}
}

// wireVitals wires the patient's Bluetooth LE health devices: the
// transport reads them, ble.Decoder turns their values into readings and
// judges their clocks, and the vitals monitor checks, stores and judges
// the readings, appending its alerts to the event log for the notifier.
// The API lists the stored readings and each device's data quality, and in
// sim mode takes readings to inject through the same decoder and rules.
func wireVitals(ctx context.Context, r *running) error {
	cfg := vitals.Config{}
	if r.file.Vitals != nil {
		cfg = *r.file.Vitals
	}
	mon := vitals.NewMonitor(cfg, r.file.Medications, r.clock, r.events, r.events, r.log)
	if err := mon.Start(ctx); err != nil {
		return err
	}
	r.vitals = mon
	r.closers = append(r.closers, func() error { mon.Stop(); return nil })
	r.events.subscribe(mon.OnCommit)
	if r.settler != nil {
		r.settler.Add(mon.Settle)
	}
	r.services = append(r.services, mon.Run)

	asm := &ble.Assembler{Zone: r.loc, MinInterval: ble.DefaultMinInterval}
	dec := &ble.Decoder{Assembler: asm, WallClock: r.clock, Stored: r.store, Logger: r.log,
		// Device clocks are judged and set only by a trusted wall clock.
		Trusted: func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			st, err := r.ctrl.Status(ctx)
			return err == nil && st.ClockTrusted
		},
		Ingest: func(ctx context.Context, rs []vital.Reading, rc quality.Reception) error {
			_, _, err := mon.Ingest(ctx, rs, rc)
			return err
		}}
	var devices []ble.Device
	var listed []httpapi.VitalDevice
	for _, d := range cfg.Devices {
		addr, _ := vital.NormalizeAddress(d.Address) // the config checker vetted it
		kind, _ := vital.KindNamed(d.Kind)           // and the kind
		devices = append(devices, ble.Device{Address: addr, Profile: kind.Profile})
		listed = append(listed, httpapi.VitalDevice{Address: addr, Kind: d.Kind, Name: d.Name})
	}
	if t := newTransport(r); t != nil && len(devices) > 0 {
		r.services = append(r.services, func(ctx context.Context) error {
			if err := t.Run(ctx, devices, dec); err != nil {
				// Without Bluetooth the dispenser still dispenses: say so
				// and keep running.
				r.log.Error("vitals: transport stopped; health devices are not read", "err", err)
			}
			<-ctx.Done()
			return nil
		})
	}
	r.routes["GET /api/readings"] = httpapi.Readings{Store: r.store, Logger: r.log}
	r.routes["GET /api/vitals/devices"] = httpapi.VitalDevices{Devices: listed, Store: r.store, Zone: asm.Zone,
		Clock: r.clock, Logger: r.log,
		Clocks: func() map[string]any {
			clocks := asm.Clocks()
			out := make(map[string]any, len(clocks))
			for addr, c := range clocks {
				out[addr] = c
			}
			return out
		}}
	if r.opts.sim {
		r.mount((&simapi.Readings{Decoder: dec, Rules: mon, Clock: r.clock, Logger: r.log}).Routes())
	}
	return nil
}
