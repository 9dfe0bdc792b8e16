package vitals

import (
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/hw/vital/quality"
	"github.com/pillbox/pillbox/schedule"
)

// BenchmarkIngest measures what the quality step adds to a reading's way
// to the rules. The store is SQLite in memory: on a file, the commit's
// fsync (about a millisecond here, and as noisy as the disk) is most of
// either path and hides the step. Per kind of reading:
//   - "rules" stores the reading and runs the rules over it, as Ingest did
//     before the quality step (the baseline);
//   - "ingest" is Ingest: the quality step (with its look at the device's
//     last minute of readings for a reading timed on arrival, and the
//     repeat count), the store and the rules.
//
// The quality step's cost is ingest/rules of one run. A strap's pulse, one
// a minute and timed on arrival, is the case where the step reads the
// store; a meter's stamped glucose record is the case where it does not.
func BenchmarkIngest(b *testing.B) {
	const strap = "00:11:22:33:44:05"
	kinds := []struct {
		name    string
		reading func(i int, now time.Time) vital.Reading
	}{
		{"pulse timed on arrival", func(i int, now time.Time) vital.Reading {
			return vital.Reading{Device: strap, Quantity: vital.Pulse, Value: float64(60 + i%30), Unit: "/min",
				Original: "72 bpm", Time: now}
		}},
		{"glucose record", func(i int, now time.Time) vital.Reading {
			return vital.Reading{Device: meter, Quantity: vital.Glucose, Value: float64(90 + i%40), Unit: "mg/dL",
				Original: "0.001 kg/L", Time: now.Add(-time.Hour), DeviceTime: true,
				Context: map[string]string{"sequence": strconv.Itoa(i)}}
		}},
	}
	cfg := Config{Devices: []Device{{Address: meter, Kind: "glucose"}, {Address: strap, Kind: "heart_rate"}}}
	for _, kind := range kinds {
		for _, path := range []string{"rules", "ingest"} {
			b.Run(kind.name+"/"+path, func(b *testing.B) {
				s, err := adherence.OpenMemory(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				clock := schedule.NewSimClock(start)
				m := NewMonitor(cfg, nil, clock, s, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
				if err := m.Start(b.Context()); err != nil {
					b.Fatal(err)
				}
				defer m.Stop()
				for i := 0; b.Loop(); i++ {
					clock.Advance(time.Minute)
					now := clock.Now()
					r := kind.reading(i, now)
					if path == "ingest" {
						if _, _, err := m.Ingest(b.Context(), []vital.Reading{r}, quality.Reception{At: now, Trusted: true}); err != nil {
							b.Fatal(err)
						}
						continue
					}
					stored, err := s.AppendReadings(b.Context(), r)
					if err != nil {
						b.Fatal(err)
					}
					for _, group := range quality.Measurements(stored) {
						if _, err := m.Engine().Measurement(b.Context(), group); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
