package clinic

import (
	"context"
	"fmt"
	"time"

	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/notify/vitals"
)

// SeedSynthetic registers a dispenser for the patient and syncs days of a
// synthetic log to it (report.Synthetic, in loc, ending the day before
// the service's clock), with its profile, in batches as a dispenser sends
// them: for demos, tests and benchmarks. It returns the events and
// readings sent.
func (s *Service) SeedSynthetic(ctx context.Context, a Actor, patientID string, days int, seed uint64, loc *time.Location) ([]dispenser.Event, []vital.Reading, error) {
	dev, tok, err := s.RegisterDevice(ctx, a, patientID, "synthetic")
	if err != nil {
		return nil, nil, err
	}
	p, err := s.Authenticate(ctx, tok)
	if err != nil {
		return nil, nil, err
	}
	start := s.Now().In(loc).AddDate(0, 0, -days)
	evs, rs := report.Synthetic(seed, start, days, 0.8)
	setup := report.SyntheticSetup(loc)
	var meters []vitals.Device
	for _, m := range setup.Meters {
		meters = append(meters, vitals.Device{Address: m.Address, Kind: m.Kind, Name: m.Name})
	}
	prof := uplink.NewProfile(dispenser.Patient{Timezone: loc.String()}, setup.Medications, setup.Regimens, meters)
	const batch = 500
	for i := 0; i < max(len(evs), len(rs)); i += batch {
		b := &uplink.Batch{Version: uplink.Version, Device: dev.ID, Log: fmt.Sprintf("synthetic-%d", seed),
			Heartbeat: uplink.Heartbeat{Time: s.Now(), Software: "synthetic", Profile: prof}}
		for _, ev := range evs[min(i, len(evs)):min(i+batch, len(evs))] {
			b.Events = append(b.Events, uplink.FromEvent(ev))
		}
		for _, r := range rs[min(i, len(rs)):min(i+batch, len(rs))] {
			b.Readings = append(b.Readings, uplink.FromReading(r))
		}
		if err := b.Validate(); err != nil {
			return nil, nil, fmt.Errorf("clinic: seed: %w", err)
		}
		if _, err := s.Ingest(ctx, p, b, ""); err != nil {
			return nil, nil, err
		}
	}
	return evs, rs, nil
}
