package gatt

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

// readOnConnection are values of the characteristics read on connection,
// written from the field tables of the Current Time Service 1.1 (3.1:
// Exact Time 256 and Adjust Reason), the GATT Specification Supplement
// (Date Time) and the Weight Scale Service 1.0 (3.1: Weight Scale
// Feature). They seed the fuzz target too.
var readOnConnection = []struct {
	name string
	char uint16
	hex  string
	want Measurement
}{
	{"current time, set by hand", CurrentTime,
		// 2024-03-05 14:07:09, Tuesday (2), 128/256 s, adjust reason manual (bit 0)
		"E8 07 03 05 0E 07 09 02 80 01",
		Measurement{Char: CurrentTime, Name: "Current Time", Clock: &Clock{Time: stamp,
			DayOfWeek: &Code{2, "Tuesday"}, Fractions256: ptr(uint8(128)), AdjustReason: ptr(uint8(1))}}},
	{"date time", DateTimeChar,
		"E8 07 03 05 0E 07 09",
		Measurement{Char: DateTimeChar, Name: "Date Time", Clock: &Clock{Time: stamp}}},
	{"weight scale feature, 0.1 kg and 0.001 m", WeightScaleFeatureChar,
		// time stamp, multiple users and BMI supported (bits 0-2); weight
		// resolution 3 (bits 3-6): 0.1 kg or 0.2 lb; height resolution 3
		// (bits 7-9): 0.001 m or 0.1 in. 0b01_1001_1111 = 0x019F
		"9F 01 00 00",
		Measurement{Char: WeightScaleFeatureChar, Name: "Weight Scale Feature", WeightScaleFeature: &WeightScaleFeature{
			Raw: 0x019F, TimeStamp: true, MultipleUsers: true, BMI: true,
			WeightResolution: Code{3, "0.1 kg or 0.2 lb"}, HeightResolution: Code{3, "0.001 m or 0.1 in"}}}},
	{"weight scale feature, nothing specified", WeightScaleFeatureChar,
		"00 00 00 00",
		Measurement{Char: WeightScaleFeatureChar, Name: "Weight Scale Feature", WeightScaleFeature: &WeightScaleFeature{
			WeightResolution: Code{0, "not specified"}, HeightResolution: Code{0, "not specified"}}}},
}

func TestReadOnConnection(t *testing.T) {
	for _, tt := range readOnConnection {
		t.Run(tt.name, func(t *testing.T) {
			p := mustHex(t, tt.hex)
			got, err := Decode(tt.char, p)
			if err != nil {
				t.Fatalf("Decode(%04X, %s): %v", tt.char, tt.hex, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode(%04X, %s) =\n%s\nwant\n%s", tt.char, tt.hex, asJSON(got), asJSON(tt.want))
			}
			if rs := got.Readings(); len(rs) != 0 {
				t.Errorf("Readings() = %v, want none", rs)
			}
			if back, _ := encode(got); !bytes.Equal(back, p) {
				t.Errorf("encode(Decode(%s)) = % X", tt.hex, back)
			}
			for n := range len(p) {
				if _, err := Decode(tt.char, p[:n]); !errors.Is(err, ErrTruncated) {
					t.Errorf("Decode(% X) error %v, want ErrTruncated", p[:n], err)
				}
			}
			if _, err := Decode(tt.char, append(p, 0)); !errors.Is(err, ErrTrailing) {
				t.Errorf("Decode(%s 00) error %v, want ErrTrailing", tt.hex, err)
			}
		})
	}
}

func TestClockReservedNoted(t *testing.T) {
	// adjust reason bit 5; weight resolution 9 and feature bit 12 are reserved
	for _, tc := range []struct {
		char uint16
		hex  string
	}{{CurrentTime, "E8 07 03 05 0E 07 09 02 00 20"}, {WeightScaleFeatureChar, "48 10 00 00"}} {
		m, err := Decode(tc.char, mustHex(t, tc.hex))
		if err != nil || len(m.Notes) == 0 {
			t.Errorf("Decode(%04X, %s) = notes %q, error %v; want a note and no error", tc.char, tc.hex, m.Notes, err)
		}
	}
}

// TestClockValues encodes a time to set a device's clock with and reads it
// back with the decoder.
func TestClockValues(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	// Sunday 8 March 2026 07:40:30.5 in New York, the morning DST begins.
	at := time.Date(2026, 3, 8, 7, 40, 30, int(time.Second/2), ny)
	tests := []struct {
		char uint16
		want string
	}{
		{CurrentTime, "EA 07 03 08 07 28 1E 07 80 02"}, // Sunday is 7; 128/256 s; external reference
		{DateTimeChar, "EA 07 03 08 07 28 1E"},
		{0x2A35, ""},
	}
	for _, tt := range tests {
		got := ClockValue(tt.char, at)
		if want := mustHex(t, tt.want); !bytes.Equal(got, want) {
			t.Errorf("ClockValue(%04X, %v) = % X, want % X", tt.char, at, got, want)
			continue
		}
		if tt.want == "" {
			continue
		}
		m, err := Decode(tt.char, got)
		if err != nil {
			t.Fatalf("Decode(ClockValue): %v", err)
		}
		back, err := m.Clock.At(ny)
		if slack := at.Sub(back); err != nil || slack < 0 || slack >= time.Second {
			t.Errorf("%04X reads back %v, %v; want %v to the second", tt.char, back, err, at)
		}
	}
}

// TestWeightResolution rounds a scale's weights to the resolution its
// Weight Scale Feature gives, in the unit it weighs in; Original keeps what
// it sent.
func TestWeightResolution(t *testing.T) {
	feature := func(hex string) *WeightScaleFeature {
		m, err := Decode(WeightScaleFeatureChar, mustHex(t, hex))
		if err != nil {
			t.Fatal(err)
		}
		return m.WeightScaleFeature
	}
	tests := []struct {
		name        string
		feature     *WeightScaleFeature
		hex         string // Weight Measurement
		weight      float64
		orig        string
		height      float64
		heightOrig  string
		noBMIHeight bool
	}{
		// 14003 × 0.005 kg = 70.015 kg; BMI 22.9; 1.753 m
		{"none read: as sent", nil, "08 B3 36 E5 00 D9 06", 70.015, "70.015 kg", 1.753, "1.753 m", false},
		{"not specified: as sent", feature("00 00 00 00"), "08 B3 36 E5 00 D9 06", 70.015, "70.015 kg", 1.753, "1.753 m", false},
		{"0.1 kg, 0.001 m", feature("9F 01 00 00"), "08 B3 36 E5 00 D9 06", 70.0, "70.015 kg", 1.753, "1.753 m", false},
		// resolution 1: 0.5 kg; height 1: 0.01 m (0b00_1000_1100 = 0x8C)
		{"0.5 kg, 0.01 m", feature("8C 00 00 00"), "08 B3 36 E5 00 D9 06", 70.0, "70.015 kg", 1.75, "1.753 m", false},
		// 14060 × 0.005 = 70.300 kg to 0.5 kg: 70.5 (half away from zero)
		{"0.5 kg rounds half up", feature("08 00 00 00"), "00 EC 36", 70.5, "70.300 kg", 0, "", true},
		// 154.37 lb to 0.2 lb (resolution 3) = 154.4 lb = 70.0347 kg, to 0.01 kg
		{"0.2 lb", feature("18 00 00 00"), "01 4D 3C", 70.03, "154.37 lb", 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(WeightMeasurement, mustHex(t, tt.hex))
			if err != nil {
				t.Fatal(err)
			}
			m.ScaleFeature, m.Received = tt.feature, received
			rs := m.Readings()
			if rs[0].Value != tt.weight || rs[0].Original != tt.orig {
				t.Errorf("weight = %v (%q), want %v (%q)", rs[0].Value, rs[0].Original, tt.weight, tt.orig)
			}
			if tt.noBMIHeight {
				return
			}
			h := rs[2]
			if h.Quantity != vital.Height || h.Value != tt.height || h.Original != tt.heightOrig {
				t.Errorf("height = %s %v (%q), want %v (%q)", h.Quantity, h.Value, h.Original, tt.height, tt.heightOrig)
			}
		})
	}
}

func TestRoundTo(t *testing.T) {
	tests := []struct {
		f, step, want Float
	}{
		{Dec(70015, -3), Dec(1, -1), Dec(700, -1)},
		{Dec(70050, -3), Dec(1, -1), Dec(701, -1)}, // half away from zero
		{Dec(-70050, -3), Dec(1, -1), Dec(-701, -1)},
		{Dec(70300, -3), Dec(5, -1), Dec(705, -1)},
		{Dec(15437, -2), Dec(2, -1), Dec(1544, -1)},
		{Dec(15437, -2), Dec(1, 0), Dec(154, 0)},
		{Dec(15437, -2), Dec(1, -3), Dec(15437, -2)}, // finer than sent: as sent
		{Float{Special: NaN}, Dec(1, -1), Float{Special: NaN}},
		{Dec(700, -1), Dec(0, 0), Dec(700, -1)},
	}
	for _, tt := range tests {
		if got := tt.f.roundTo(tt.step); got != tt.want {
			t.Errorf("%s.roundTo(%s) = %s, want %s", tt.f, tt.step, got, tt.want)
		}
	}
}
