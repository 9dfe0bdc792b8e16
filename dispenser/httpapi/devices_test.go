package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

// deviceReadings is a DeviceReadings over a slice, or an error; it keeps
// the period it was asked for.
type deviceReadings struct {
	rs       []vital.Reading
	err      error
	from, to *time.Time
}

func (s deviceReadings) DeviceReadings(_ context.Context, device string, from, to time.Time) ([]vital.Reading, error) {
	*s.from, *s.to = from, to
	if s.err != nil {
		return nil, s.err
	}
	var out []vital.Reading
	for _, r := range s.rs {
		if r.Device == device && !r.Time.Before(from) && r.Time.Before(to) {
			out = append(out, r)
		}
	}
	return out, nil
}

func TestVitalDevices(t *testing.T) {
	now := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	const cuff, strap = "AA:BB:CC:DD:EE:01", "AA:BB:CC:DD:EE:02"
	rs := []vital.Reading{
		{Device: cuff, Quantity: vital.Systolic, Value: 120, Time: now.Add(-time.Hour)},
		{Device: cuff, Quantity: vital.Systolic, Value: 125, Time: now.Add(-10 * 24 * time.Hour)},
		{Device: "sim", Quantity: vital.Pulse, Value: 72, Time: now.Add(-time.Minute)},
	}
	tests := []struct {
		name     string
		query    string
		err      error
		code     int
		want     string // address:measurements of each device, in order
		wantDays int    // the period asked of the store
	}{
		{"configured devices, 30 days", "", nil, 200, cuff + ":2 " + strap + ":0", 30},
		{"one week", "?days=7", nil, 200, cuff + ":1 " + strap + ":0", 7},
		{"one device, written in lower case with dashes", "?device=aa-bb-cc-dd-ee-01", nil, 200, cuff + ":2", 30},
		{"a device not configured", "?device=sim", nil, 200, "sim:1", 30},
		{"no days", "?days=0", nil, 400, "", 0},
		{"too many days", "?days=367", nil, 400, "", 0},
		{"days not a number", "?days=week", nil, 400, "", 0},
		{"device too long", "?device=" + strings.Repeat("x", 65), nil, 400, "", 0},
		{"store fails", "", errors.New("database is locked at /var/lib/pillbox"), 500, "", 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var from, to time.Time
			h := VitalDevices{
				Devices: []VitalDevice{{Address: cuff, Kind: "blood_pressure", Name: "Cuff"}, {Address: strap, Kind: "heart_rate"}},
				Store:   deviceReadings{rs: rs, err: tt.err, from: &from, to: &to},
				Clocks:  func() map[string]any { return map[string]any{cuff: map[string]float64{"offset_s": -3}} },
				Zone:    time.UTC, Clock: fixedNow(now), Logger: slog.New(slog.DiscardHandler),
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/vitals/devices"+tt.query, nil))
			if w.Code != tt.code {
				t.Fatalf("GET /api/vitals/devices%s = %d %s, want %d", tt.query, w.Code, w.Body, tt.code)
			}
			if strings.Contains(w.Body.String(), "/var/lib") {
				t.Errorf("the answer %s shows the store's error", w.Body)
			}
			if tt.wantDays > 0 && !from.Equal(now.Add(-time.Duration(tt.wantDays)*24*time.Hour)) {
				t.Errorf("GET /api/vitals/devices%s asked the store from %v, want %d days before %v", tt.query, from, tt.wantDays, now)
			}
			if tt.code != 200 {
				return
			}
			var got []struct {
				Address string `json:"address"`
				Quality struct {
					Measurements int `json:"measurements"`
				} `json:"quality"`
				Clock *struct {
					OffsetS float64 `json:"offset_s"`
				} `json:"clock"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %s: %v", w.Body, err)
			}
			var summary []string
			for _, d := range got {
				summary = append(summary, fmt.Sprintf("%s:%d", d.Address, d.Quality.Measurements))
				if (d.Clock != nil) != (d.Address == cuff) || d.Clock != nil && d.Clock.OffsetS != -3 {
					t.Errorf("device %s shows clock %+v, want the cuff's alone", d.Address, d.Clock)
				}
			}
			if s := strings.Join(summary, " "); s != tt.want {
				t.Errorf("GET /api/vitals/devices%s = %s, want %s", tt.query, s, tt.want)
			}
		})
	}
}

// fixedNow is a clock that does not move.
type fixedNow time.Time

func (c fixedNow) Now() time.Time { return time.Time(c) }
