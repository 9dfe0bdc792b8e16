package dispenser

import "testing"

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
