package gatt

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"
)

func TestSFLOAT(t *testing.T) {
	tests := []struct {
		raw  uint16
		want Float
		str  string
	}{
		// Examples of the HL7 Personal Health Device IG's SFLOAT table.
		{0x0002, Dec(2, 0), "2"},
		{0xF014, Dec(20, -1), "2.0"},
		{0xE0C8, Dec(200, -2), "2.00"},
		{0x1002, Dec(2, 1), "20"},
		{0xF4B5, Dec(1205, -1), "120.5"},
		{0x0078, Dec(120, 0), "120"},
		{0xF0A0, Dec(160, -1), "16.0"},
		{0xB05F, Dec(95, -5), "0.00095"},
		{0x0FFF, Dec(-1, 0), "-1"},
		{0xFFFB, Dec(-5, -1), "-0.5"},
		{0x7001, Dec(1, 7), "10000000"},
		{0x8001, Dec(1, -8), "0.00000001"},
		{0x07FD, Dec(2045, 0), "2045"},
		{0x0803, Dec(-2045, 0), "-2045"},
		{0x0000, Dec(0, 0), "0"},
		{0xE000, Dec(0, -2), "0.00"},
		{0x3000, Dec(0, 3), "0"},
		// The special values, defined at exponent 0.
		{0x07FF, Float{Special: NaN}, "NaN"},
		{0x0800, Float{Special: NRes}, "NRes"},
		{0x07FE, Float{Special: PosInf}, "+INF"},
		{0x0802, Float{Special: NegInf}, "-INF"},
		{0x0801, Float{Special: Reserved}, "reserved"},
		// The same mantissas with another exponent are numbers.
		{0x17FF, Dec(2047, 1), "20470"},
		{0xF800, Dec(-2048, -1), "-204.8"},
		{0x1802, Dec(-2046, 1), "-20460"},
	}
	for _, tt := range tests {
		t.Run(strconv.FormatUint(uint64(tt.raw), 16), func(t *testing.T) {
			got := SFLOAT(tt.raw)
			if got != tt.want {
				t.Errorf("SFLOAT(0x%04X) = %+v, want %+v", tt.raw, got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("SFLOAT(0x%04X).String() = %q, want %q", tt.raw, s, tt.str)
			}
			if back := sfloatRaw(got); back != tt.raw {
				t.Errorf("encode(SFLOAT(0x%04X)) = 0x%04X", tt.raw, back)
			}
		})
	}
}

func TestFLOAT(t *testing.T) {
	tests := []struct {
		raw  uint32
		want Float
		str  string
	}{
		{0xFF00016C, Dec(364, -1), "36.4"},
		{0xFF0003DA, Dec(986, -1), "98.6"},
		{0xFE000E42, Dec(3650, -2), "36.50"},
		{0x00FFFFFF, Dec(-1, 0), "-1"},
		{0x007FFFFD, Dec(8388605, 0), "8388605"},
		{0x80000001, Dec(1, -128), "0." + zeros(127) + "1"},
		{0x7F000001, Dec(1, 127), "1" + zeros(127)},
		{0x007FFFFF, Float{Special: NaN}, "NaN"},
		{0x00800000, Float{Special: NRes}, "NRes"},
		{0x007FFFFE, Float{Special: PosInf}, "+INF"},
		{0x00800002, Float{Special: NegInf}, "-INF"},
		{0x00800001, Float{Special: Reserved}, "reserved"},
		{0x017FFFFF, Dec(8388607, 1), "83886070"},
		{0xFF800000, Dec(-8388608, -1), "-838860.8"},
	}
	for _, tt := range tests {
		t.Run(strconv.FormatUint(uint64(tt.raw), 16), func(t *testing.T) {
			got := FLOAT(tt.raw)
			if got != tt.want {
				t.Errorf("FLOAT(0x%08X) = %+v, want %+v", tt.raw, got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("FLOAT(0x%08X).String() = %q, want %q", tt.raw, s, tt.str)
			}
			if back := floatRaw(got); back != tt.raw {
				t.Errorf("encode(FLOAT(0x%08X)) = 0x%08X", tt.raw, back)
			}
		})
	}
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

// TestFloat64 checks that the float64 is the one nearest the decimal,
// i.e. the one strconv parses from the printed digits.
func TestFloat64(t *testing.T) {
	tests := []Float{
		Dec(1205, -1), Dec(1, -1), Dec(986, -1), Dec(95, -5), Dec(-2048, 7),
		Dec(8388607, -128), Dec(1, 127), Dec(-5, -23), Dec(7, 23), Dec(0, -3),
	}
	for _, f := range tests {
		t.Run(f.String(), func(t *testing.T) {
			want, err := strconv.ParseFloat(f.String(), 64)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Float64(); got != want {
				t.Errorf("%s.Float64() = %v, want %v", f, got, want)
			}
		})
	}
	if got := Dec(1205, -1).Float64(); got != 120.5 || strconv.FormatFloat(got, 'f', -1, 64) != "120.5" {
		t.Errorf("1205e-1 = %v, want exactly 120.5", got)
	}
	for _, s := range []Special{NaN, NRes, PosInf, NegInf, Reserved} {
		if got := (Float{Special: s}).Float64(); !math.IsNaN(got) {
			t.Errorf("%v.Float64() = %v, want NaN", s, got)
		}
	}
}

func TestFloatJSON(t *testing.T) {
	tests := []struct {
		f    Float
		want string
	}{
		{Dec(1205, -1), `120.5`},
		{Dec(200, -2), `2.00`},
		{Dec(-5, -3), `-0.005`},
		{Dec(12, 2), `1200`},
		{Dec(0, 3), `0`},
		{Float{Special: NaN}, `"NaN"`},
		{Float{Special: NegInf}, `"-INF"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			b, err := json.Marshal(tt.f)
			if err != nil || string(b) != tt.want {
				t.Errorf("json.Marshal(%+v) = %s, %v; want %s", tt.f, b, err, tt.want)
			}
			if !json.Valid(b) {
				t.Errorf("json.Marshal(%+v) = %s is not valid JSON", tt.f, b)
			}
		})
	}
}

func TestDateTime(t *testing.T) {
	tests := []struct {
		d       DateTime
		str     string
		wantErr bool
	}{
		{stamp, "2024-03-05T14:07:09", false},
		{DateTime{0, 3, 5, 14, 7, 9}, "????-03-05T14:07:09", true},
		{DateTime{2024, 0, 5, 14, 7, 9}, "2024-??-05T14:07:09", true},
		{DateTime{2024, 3, 0, 14, 7, 9}, "2024-03-??T14:07:09", true},
		{DateTime{2024, 2, 30, 0, 0, 0}, "2024-02-30T00:00:00", true},
		{DateTime{2024, 2, 29, 23, 59, 59}, "2024-02-29T23:59:59", false},
		{DateTime{2023, 2, 29, 0, 0, 0}, "2023-02-29T00:00:00", true},
		{DateTime{2024, 13, 1, 0, 0, 0}, "2024-13-01T00:00:00", true},
		{DateTime{2024, 1, 1, 24, 0, 0}, "2024-01-01T24:00:00", true},
		{DateTime{2024, 1, 1, 0, 60, 0}, "2024-01-01T00:60:00", true},
		{DateTime{2024, 1, 1, 0, 0, 60}, "2024-01-01T00:00:60", true},
		{DateTime{1581, 1, 1, 0, 0, 0}, "1581-01-01T00:00:00", true},
		{DateTime{1582, 1, 1, 0, 0, 0}, "1582-01-01T00:00:00", false},
		{DateTime{10000, 1, 1, 0, 0, 0}, "10000-01-01T00:00:00", true},
	}
	for _, tt := range tests {
		t.Run(tt.str, func(t *testing.T) {
			if s := tt.d.String(); s != tt.str {
				t.Errorf("String() = %q, want %q", s, tt.str)
			}
			got, err := tt.d.Time(nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Time() error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && got.Format("2006-01-02T15:04:05") != tt.str {
				t.Errorf("Time() = %v, want %s", got, tt.str)
			}
		})
	}
}
