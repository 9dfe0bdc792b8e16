package clinic

import (
	"encoding/json"
	"fmt"

	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/hw/vital"
)

// readingExtra is what a backend keeps of a synced reading beyond the
// columns both have: one JSON text, the same in SQLite and PostgreSQL, so
// that pillctl clinic migrate copies it as it is. The quality part is the
// dispenser's data-quality findings: without it a synced 30 kg/L glucose
// the dispenser flagged implausible would read back as a patient value.
type readingExtra struct {
	Device     string                 `json:"device,omitempty"`
	Original   string                 `json:"original,omitempty"`
	Unreliable []string               `json:"unreliable,omitempty"`
	Context    map[string]string      `json:"context,omitempty"`
	Quality    *uplink.ReadingQuality `json:"quality,omitempty"`
}

// ReadingExtra is the JSON a backend stores of r beyond its columns, ""
// when there is nothing to keep.
func ReadingExtra(r vital.Reading) (string, error) {
	x := readingExtra{Device: r.Device, Original: r.Original, Unreliable: r.Unreliable, Context: r.Context}
	if len(r.Flags) > 0 || !r.DeviceClock.IsZero() || r.Repeats > 0 {
		x.Quality = &uplink.ReadingQuality{Version: uplink.QualityVersion, Flags: r.Flags, DeviceClock: r.DeviceClock, Repeats: r.Repeats}
	}
	if x.Device == "" && x.Original == "" && len(x.Unreliable) == 0 && len(x.Context) == 0 && x.Quality == nil {
		return "", nil
	}
	j, err := json.Marshal(x)
	if err != nil {
		return "", fmt.Errorf("clinic: reading %s: %w", r.ID, err)
	}
	return string(j), nil
}

// RestoreReadingExtra sets r's fields from what ReadingExtra made.
func RestoreReadingExtra(r *vital.Reading, extra string) error {
	var x readingExtra
	if err := json.Unmarshal([]byte(extra), &x); err != nil {
		return fmt.Errorf("clinic: reading %s: %w", r.ID, err)
	}
	r.Device, r.Original, r.Unreliable, r.Context = x.Device, x.Original, x.Unreliable, x.Context
	if q := x.Quality; q != nil {
		r.Flags, r.DeviceClock, r.Repeats = q.Flags, q.DeviceClock, q.Repeats
	}
	return nil
}
