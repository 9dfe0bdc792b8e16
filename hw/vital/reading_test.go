package vital

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestNormalizeAddress(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"a4:c1:38:12:34:56", "A4:C1:38:12:34:56", true},
		{" A4-C1-38-12-34-56 ", "A4:C1:38:12:34:56", true},
		{"A4C138123456", "", false},
		{"A4:C1:38:12:34:5G", "", false},
		{"A4:C1:38:12:34:567", "", false},
		{"A4:C1:38:12:34", "", false},
		{"A4:C1:38:12:34;56", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got, ok := NormalizeAddress(tt.in); got != tt.want || ok != tt.ok {
				t.Errorf("NormalizeAddress(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestReadingJSONWithoutValue(t *testing.T) {
	at := time.Date(2027, 1, 12, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		r    Reading
		want string // the "value" member as written
	}{
		{"value", Reading{Quantity: Temperature, Value: 36.6, Unit: "Cel", Time: at}, `"value":36.6`},
		{"zero value", Reading{Quantity: Temperature, Value: 0, Unit: "Cel", Time: at}, `"value":0`},
		{"absent", Reading{Quantity: Temperature, Unit: "Cel", Time: at, Absent: "NaN (not a number)"}, `"value":null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tt.want) || strings.Count(string(b), `"value"`) != 1 {
				t.Errorf("json.Marshal(%+v) = %s, want one %s", tt.r, b, tt.want)
			}
			var back Reading
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("json.Unmarshal(%s): %v", b, err)
			}
			if back.Value != tt.r.Value || back.Absent != tt.r.Absent || back.Quantity != tt.r.Quantity || !back.Time.Equal(tt.r.Time) {
				t.Errorf("round trip of %+v = %+v", tt.r, back)
			}
		})
	}
}
