package main

import (
	"encoding/json"
	"net/http"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify/vitals"
	"github.com/pillbox/pillbox/schedule"
)

var (
	_ uplink.Source        = (*adherence.Store)(nil)
	_ uplink.ReadingSource = (*adherence.Store)(nil)
)

func meters(v *vitals.Config) []vitals.Device {
	if v == nil {
		return nil
	}
	return v.Devices
}

// wireSync wires, with a sync: section, the pusher of the log to the
// clinic service (package uplink), on its own goroutine: the dose loop
// only nudges it after each commit and never waits for the network. GET
// /api/sync shows how far the clinic has acknowledged.
func wireSync(r *running) (*uplink.Pusher, error) {
	c := r.file.Sync
	if c == nil {
		return nil, nil
	}
	token, err := c.ReadToken()
	if err != nil {
		return nil, err
	}
	if err := c.CheckTokenFile(); err != nil {
		r.log.Warn("sync: the device token file is readable by others; chmod 600 it", "file", c.TokenFile, "err", err)
	}
	client, err := c.HTTPClient()
	if err != nil {
		return nil, err
	}
	o := uplink.Options{
		BaseURL: c.URL, Device: c.Device, Token: token, Source: r.store,
		// Network retries and heartbeats run on real time even in sim
		// mode, whose clock may stand still.
		Clock:  schedule.NewRealClock(),
		Client: client, Logger: r.log, Interval: c.Interval, Batch: c.Batch, Software: "dispenserd " + version,
		// Vitals readings go along; they are appended outside the event
		// log, so they leave with the next event or heartbeat.
		Readings: r.store,
		// The clinic's reports need the regimens, the zone and the vitals
		// thresholds the rules apply (docs/reports.md).
		Profile: uplink.NewProfile(r.file.Patient, r.file.Medications, r.file.Regimens, meters(r.file.Vitals)).WithThresholds(r.file.Vitals),
	}
	p, err := uplink.NewPusher(o)
	if err != nil {
		return nil, err
	}
	r.events.subscribe(func([]dispenser.Event) { p.Nudge() })
	r.events.readings = append(r.events.readings, p.Nudge)
	r.services = append(r.services, p.Run)
	r.routes["GET /api/sync"] = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(p.Status())
	})
	return p, nil
}
