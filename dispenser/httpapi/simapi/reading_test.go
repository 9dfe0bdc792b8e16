package simapi

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseReading(t *testing.T) {
	now := time.Date(2026, 3, 5, 12, 40, 0, 0, time.UTC)
	tests := []struct {
		name string
		body string
		want string // payload or readings, summarised; or the error
	}{
		{"raw", `{"char":"2a35","hex":"1E:78"}`, "sim 2A35 1e78"},
		{"raw with device", `{"char":"0x2A37","hex":"00 48","device":"strap"}`, "strap 2A37 0048"},
		{"decoded canonical", `{"quantity":"glucose","value":52,"unit":"mg/dL"}`, "sim glucose 52 mg/dL 12:40"},
		{"decoded default unit", `{"quantity":"pulse","value":52}`, "sim pulse 52 /min 12:40"},
		{"mmol/L", `{"quantity":"glucose","value":2.9,"unit":"mmol/L"}`, "sim glucose 52 mg/dL 12:40"},
		{"fahrenheit", `{"quantity":"temperature","value":100.4,"unit":"°F"}`, "sim temperature 38 Cel 12:40"},
		{"pounds", `{"quantity":"weight","value":176,"unit":"lb"}`, "sim weight 79.8 kg 12:40"},
		{"mmHg", `{"quantity":"systolic","value":120,"unit":"mmHg","time":"2026-03-05T07:00:00-05:00"}`, "sim systolic 120 mm[Hg] 12:00"},
		{"list", `{"readings":[{"quantity":"systolic","value":185},{"quantity":"diastolic","value":100}]}`, "sim systolic 185 mm[Hg] 12:40; sim diastolic 100 mm[Hg] 12:40"},
		{"unreliable", `{"quantity":"spo2","value":85,"unreliable":["low perfusion"]}`, "sim spo2 85 % 12:40 unreliable"},
		{"both kinds", `{"char":"2A35","hex":"00","quantity":"pulse","value":1}`, "error: either"},
		{"nothing", `{}`, "error: give"},
		{"bad uuid", `{"char":"xyz","hex":"00"}`, "error: char:"},
		{"bad hex", `{"char":"2A35","hex":"0"}`, "error: hex:"},
		{"raw with time", `{"char":"2A35","hex":"00","time":"2026-03-05T07:00:00Z"}`, "error: \"time\""},
		{"no value", `{"quantity":"pulse"}`, "error: value is missing"},
		{"out of range after conversion", `{"quantity":"temperature","value":1e308,"unit":"°F"}`, "error: value is out of range"},
		{"wrong unit", `{"quantity":"pulse","value":60,"unit":"mmHg"}`, "error: unit \"mmHg\" is not one for pulse"},
		{"bad time", `{"quantity":"pulse","value":60,"time":"7am"}`, "error: time:"},
		{"one and a list", `{"quantity":"pulse","value":60,"readings":[{"quantity":"pulse","value":1}]}`, "error: not both"},
		{"list item", `{"readings":[{"quantity":"pulse","value":1},{"quantity":"x","value":1}]}`, "error: readings[1]: unknown quantity"},
		{"unknown field", `{"quantity":"pulse","value":60,"note":"x"}`, "error: body is not a reading"},
		{"two values", `{"quantity":"pulse","value":60} {}`, "error: more than one"},
		{"control in device", `{"quantity":"pulse","value":60,"device":"a\u0007"}`, "error: device"},
		{"raw with a device clock", `{"char":"2A18","hex":"02","clock_offset":"-72h"}`, "sim 2A18 02 offset -72h0m0s"},
		{"clock offset on decoded values", `{"quantity":"pulse","value":60,"clock_offset":"-72h"}`, "error: \"clock_offset\" goes with a raw value"},
		{"clock offset not a duration", `{"char":"2A18","hex":"02","clock_offset":"3 days"}`, "error: clock_offset:"},
		{"clock offset of a century", `{"char":"2A18","hex":"02","clock_offset":"876000h"}`, "error: clock_offset:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := parseReading([]byte(tt.body), now)
			var got string
			switch {
			case err != nil:
				got = "error: " + err.Error()
			case in.payload != nil:
				got = fmt.Sprintf("%s %04X %x", in.payload.Device, in.payload.Char, in.payload.Data)
				if in.clockOffset != nil {
					got += " offset " + in.clockOffset.String()
				}
			default:
				var parts []string
				for _, r := range in.readings {
					s := fmt.Sprintf("%s %s %g %s %s", r.Device, r.Quantity, r.Value, r.Unit, r.Time.UTC().Format("15:04"))
					if len(r.Unreliable) > 0 {
						s += " unreliable"
					}
					parts = append(parts, s)
				}
				got = strings.Join(parts, "; ")
			}
			if !strings.HasPrefix(got, tt.want) && !(strings.HasPrefix(tt.want, "error: ") && strings.HasPrefix(got, "error: ") && strings.Contains(got, strings.TrimPrefix(tt.want, "error: "))) {
				t.Errorf("parseReading(%s) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

// FuzzParseReading: the sim endpoint's body is outside input; it gets a
// clear error or a reading the store accepts, never a panic.
func FuzzParseReading(f *testing.F) {
	f.Add([]byte(`{"char":"2A35","hex":"1E 78 00 50 00 5D 00"}`))
	f.Add([]byte(`{"quantity":"glucose","value":52,"unit":"mg/dL"}`))
	f.Add([]byte(`{"readings":[{"quantity":"weight","value":176,"unit":"lb"}],"time":"2026-03-05T07:00:00Z"}`))
	f.Add([]byte(`{"char":"2A18","hex":"02 01 00 EA 07 03 02 07 28 00 1E 00 11","clock_offset":"-72h"}`))
	now := time.Date(2026, 3, 5, 12, 40, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := parseReading(body, now)
		if err != nil {
			if err.Error() == "" {
				t.Errorf("empty error for %q", body)
			}
			return
		}
		if in.payload == nil && len(in.readings) == 0 {
			t.Errorf("parseReading(%q) gave neither a payload nor readings", body)
		}
		if in.clockOffset != nil && (in.payload == nil || *in.clockOffset > maxClockOffset || *in.clockOffset < -maxClockOffset) {
			t.Errorf("parseReading(%q) = clock offset %v: want one within 50 years, with a raw value", body, *in.clockOffset)
		}
		for _, r := range in.readings {
			if r.Unit != r.Quantity.Unit() || r.Device == "" || r.Time.IsZero() || math.IsInf(r.Value, 0) || math.IsNaN(r.Value) {
				t.Errorf("reading %+v from %q: want the canonical unit, a device and a time", r, body)
			}
		}
	})
}
