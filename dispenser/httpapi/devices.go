package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/hw/vital/quality"
)

// DeviceReadings is where a device's vital-sign readings are kept.
type DeviceReadings interface {
	// DeviceReadings returns device's readings measured in [from, to).
	DeviceReadings(ctx context.Context, device string, from, to time.Time) ([]vital.Reading, error)
}

// VitalDevice is a configured health device.
type VitalDevice struct {
	Address string `json:"address"` // normalised (vital.NormalizeAddress)
	Kind    string `json:"kind,omitempty"`
	Name    string `json:"name,omitempty"`
}

// VitalDevices serves GET /api/vitals/devices?days=N (1 to 366, default
// 30): the data quality of each configured device over the last N days
// (quality.Summary: measurements, implausible, faulty, meter checks and
// the last one, clock corrections, repeats, days without data) and what is
// known of its clock. ?device=ADDR asks about one device, configured or
// not (the simulator's).
type VitalDevices struct {
	Devices []VitalDevice
	Store   DeviceReadings
	// Clocks is what is known of each device's clock, by address, as the
	// answer shows it (ble.Assembler.Clocks; a map of any keeps the
	// Bluetooth stack out of the packages that import this one).
	Clocks func() map[string]any
	// Zone is the patient's time zone, whose days are counted.
	Zone   *time.Location
	Clock  interface{ Now() time.Time }
	Logger *slog.Logger
}

// vitalDevice is one device in the answer.
type vitalDevice struct {
	VitalDevice
	Quality quality.Summary `json:"quality"`
	Clock   any             `json:"clock,omitempty"`
}

func (h VitalDevices) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	days := 30
	if s := q.Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 366 {
			WriteError(w, http.StatusBadRequest, "days must be a whole number from 1 to 366")
			return
		}
		days = n
	}
	out := []vitalDevice{}
	for _, d := range h.Devices {
		out = append(out, vitalDevice{VitalDevice: d})
	}
	if one := q.Get("device"); one != "" {
		if len(one) > 64 {
			WriteError(w, http.StatusBadRequest, "device must be at most 64 characters")
			return
		}
		if addr, ok := vital.NormalizeAddress(one); ok {
			one = addr
		}
		var match []vitalDevice
		for _, d := range out {
			if d.Address == one {
				match = append(match, d)
			}
		}
		if match == nil {
			match = []vitalDevice{{VitalDevice: VitalDevice{Address: one}}}
		}
		out = match
	}
	now := h.Clock.Now()
	from, to := now.Add(-time.Duration(days)*24*time.Hour), now.Add(time.Millisecond)
	var clocks map[string]any
	if h.Clocks != nil {
		clocks = h.Clocks()
	}
	for i := range out {
		rs, err := h.Store.DeviceReadings(r.Context(), out[i].Address, from, to)
		if err != nil {
			h.Logger.Error("vitals: device quality", "err", err)
			WriteError(w, http.StatusInternalServerError, "could not read the stored readings")
			return
		}
		out[i].Quality = quality.Summarize(rs, []string{out[i].Address}, from, to, h.Zone)[0]
		if c, ok := clocks[out[i].Address]; ok {
			out[i].Clock = c
		}
	}
	WriteJSON(w, http.StatusOK, out)
}
