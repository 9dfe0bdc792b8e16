package gatt

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

// subsets returns every flags value that sets only bits of mask.
func subsets(mask uint8) []uint8 {
	var out []uint8
	for v := 0; v < 256; v++ {
		if uint8(v)&^mask == 0 {
			out = append(out, uint8(v))
		}
	}
	return out
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func asJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

var stamp = DateTime{Year: 2024, Month: 3, Day: 5, Hours: 14, Minutes: 7, Seconds: 9}

// A characteristic's flag space: every value of defined is a valid
// combination, and build returns the measurement a payload with those flags
// should decode to.
type flagSpace struct {
	char    UUID
	defined uint8
	build   func(flags uint8) Measurement
}

func measurement(char UUID) Measurement { return Measurement{Char: char, Name: char.Name()} }

func heartRateFor(flags uint8) Measurement {
	m := measurement(HeartRateMeasurement)
	h := &HeartRate{Flags: flags, BPM: 72, SensorContact: ContactUnsupported}
	if flags&hrValue16 != 0 {
		h.BPM = 300
	}
	if flags&hrContactSupp != 0 {
		h.SensorContact = ContactNotDetected
		if flags&hrContactStatus != 0 {
			h.SensorContact = ContactDetected
		}
	}
	if flags&hrEnergy != 0 {
		h.EnergyExpended = ptr(uint16(1234))
	}
	if flags&hrRR != 0 {
		h.RRIntervals = []uint16{1024, 820, 901}
	}
	m.HeartRate = h
	return m
}

func bloodPressureFor(char UUID) func(uint8) Measurement {
	return func(flags uint8) Measurement {
		m := measurement(char)
		b := &BloodPressure{Flags: flags, Intermediate: char == IntermediateCuffPressure, Unit: "mmHg",
			Systolic: Dec(1205, -1), Diastolic: Dec(80, 0), MeanArterial: Dec(93, 0)}
		if flags&bpKPa != 0 {
			b.Unit = "kPa"
			b.Systolic, b.Diastolic, b.MeanArterial = Dec(160, -1), Dec(107, -1), Dec(124, -1)
		}
		if b.Intermediate {
			b.Diastolic, b.MeanArterial = Float{Special: NaN}, Float{Special: NaN}
		}
		if flags&bpTimeStamp != 0 {
			b.TimeStamp = ptr(stamp)
		}
		if flags&bpPulseRate != 0 {
			b.PulseRate = ptr(Dec(72, 0))
		}
		if flags&bpUserID != 0 {
			b.UserID = ptr(uint8(3))
		}
		if flags&bpStatus != 0 {
			b.Status = &Status{Raw: 0x0029, Conditions: []string{BodyMovement, PulseAboveRange, ImproperPosition}}
		}
		m.BloodPressure = b
		return m
	}
}

func glucoseFor(flags uint8) Measurement {
	m := measurement(GlucoseMeasurement)
	g := &Glucose{Flags: flags, Sequence: 513, BaseTime: stamp, ContextFollows: flags&glContextFollows != 0}
	if flags&glTimeOffset != 0 {
		g.TimeOffset = ptr(int16(-90))
	}
	if flags&glConcentration != 0 {
		g.Concentration, g.Unit = ptr(Dec(95, -5)), "kg/L"
		if flags&glMolPerL != 0 {
			g.Concentration, g.Unit = ptr(Dec(55, -4)), "mol/L"
		}
		g.Type = &Code{2, "capillary plasma"}
		g.SampleLocation = &Code{1, "finger"}
	}
	if flags&glStatus != 0 {
		g.Status = &Status{Raw: 0x0822, Conditions: []string{"sensor malfunction", "result higher than device can process", TimeFault}}
	}
	m.Glucose = g
	return m
}

func glucoseContextFor(flags uint8) Measurement {
	m := measurement(GlucoseMeasurementContext)
	c := &GlucoseContext{Flags: flags, Sequence: 513}
	if flags&gcExtended != 0 {
		c.ExtendedFlags = ptr(uint8(0))
	}
	if flags&gcCarbohydrate != 0 {
		c.CarbohydrateID, c.Carbohydrate = &Code{1, "breakfast"}, ptr(Dec(50, -3))
	}
	if flags&gcMeal != 0 {
		c.Meal = &Code{1, "preprandial"}
	}
	if flags&gcTesterHealth != 0 {
		c.Tester, c.Health = &Code{1, "self"}, &Code{5, "no health issues"}
	}
	if flags&gcExercise != 0 {
		c.ExerciseDuration, c.ExerciseIntensity = ptr(uint16(1800)), ptr(uint8(60))
	}
	if flags&gcMedication != 0 {
		c.MedicationID, c.Medication, c.MedicationUnit = &Code{1, "rapid acting insulin"}, ptr(Dec(4, -6)), "kg"
		if flags&gcMedLitres != 0 {
			c.MedicationUnit = "L"
		}
	}
	if flags&gcHbA1c != 0 {
		c.HbA1c = ptr(Dec(65, -1))
	}
	m.GlucoseContext = c
	return m
}

func temperatureFor(flags uint8) Measurement {
	m := measurement(TemperatureMeasurement)
	t := &Temperature{Flags: flags, Unit: "Cel", Value: Dec(364, -1)}
	if flags&tmFahrenheit != 0 {
		t.Unit, t.Value = "[degF]", Dec(986, -1)
	}
	if flags&tmTimeStamp != 0 {
		t.TimeStamp = ptr(stamp)
	}
	if flags&tmType != 0 {
		t.Type = &Code{6, "mouth"}
	}
	m.Temperature = t
	return m
}

var (
	plxMeasStatus = &Status{Raw: 0x0180, Conditions: []string{"validated data", "fully qualified data"}}
	plxDevStatus  = &Status{Raw: 0x002020, Conditions: []string{"low perfusion", "sensor displaced"}}
)

func plxSpotFor(flags uint8) Measurement {
	m := measurement(PLXSpotCheckMeasurement)
	p := &PLXSpotCheck{Flags: flags, SpO2PR: SpO2PR{Dec(97, 0), Dec(64, 0)}, ClockNotSet: flags&spClockNotSet != 0}
	if flags&spTimeStamp != 0 {
		p.TimeStamp = ptr(stamp)
	}
	if flags&spMeasStatus != 0 {
		p.MeasurementStatus = plxMeasStatus
	}
	if flags&spDeviceStatus != 0 {
		p.DeviceSensorStatus = plxDevStatus
	}
	if flags&spPAI != 0 {
		p.PulseAmplitudeIndex = ptr(Dec(53, -1))
	}
	m.PLXSpotCheck = p
	return m
}

func plxContinuousFor(flags uint8) Measurement {
	m := measurement(PLXContinuousMeasurement)
	p := &PLXContinuous{Flags: flags, Normal: SpO2PR{Dec(97, 0), Dec(64, 0)}}
	if flags&ctFast != 0 {
		p.Fast = &SpO2PR{Dec(96, 0), Dec(66, 0)}
	}
	if flags&ctSlow != 0 {
		p.Slow = &SpO2PR{Dec(98, 0), Dec(63, 0)}
	}
	if flags&ctMeasStatus != 0 {
		p.MeasurementStatus = plxMeasStatus
	}
	if flags&ctDeviceStatus != 0 {
		p.DeviceSensorStatus = plxDevStatus
	}
	if flags&ctPAI != 0 {
		p.PulseAmplitudeIndex = ptr(Dec(53, -1))
	}
	m.PLXContinuous = p
	return m
}

func weightFor(flags uint8) Measurement {
	m := measurement(WeightMeasurement)
	w := &Weight{Flags: flags, WeightUnit: "kg", HeightUnit: "m", Weight: ptr(Dec(70000, -3))}
	imperial := flags&wtImperial != 0
	if imperial {
		w.WeightUnit, w.HeightUnit, w.Weight = "lb", "in", ptr(Dec(15432, -2))
	}
	if flags&wtTimeStamp != 0 {
		w.TimeStamp = ptr(stamp)
	}
	if flags&wtUserID != 0 {
		w.UserID = ptr(uint8(255))
	}
	if flags&wtBMI != 0 {
		w.BMI, w.Height = ptr(Dec(229, -1)), ptr(Dec(1750, -3))
		if imperial {
			w.Height = ptr(Dec(689, -1))
		}
	}
	m.Weight = w
	return m
}

var flagSpaces = []flagSpace{
	{HeartRateMeasurement, hrDefined, heartRateFor},
	{BloodPressureMeasurement, bpDefined, bloodPressureFor(BloodPressureMeasurement)},
	{IntermediateCuffPressure, bpDefined, bloodPressureFor(IntermediateCuffPressure)},
	{GlucoseMeasurement, glDefined, glucoseFor},
	{GlucoseMeasurementContext, 0xFF, glucoseContextFor},
	{TemperatureMeasurement, tmDefined, temperatureFor},
	{PLXSpotCheckMeasurement, spDefined, plxSpotFor},
	{PLXContinuousMeasurement, ctDefined, plxContinuousFor},
	{WeightMeasurement, wtDefined, weightFor},
}

// TestEveryFlagCombination decodes a payload for every flags value each
// characteristic defines, built from the expected measurement by the test
// encoder.
func TestEveryFlagCombination(t *testing.T) {
	for _, fs := range flagSpaces {
		for _, flags := range subsets(fs.defined) {
			t.Run(fmt.Sprintf("%s/flags=0x%02X", fs.char, flags), func(t *testing.T) {
				want := fs.build(flags)
				payload, err := encode(want)
				if err != nil {
					t.Fatal(err)
				}
				got, err := Decode(uint16(fs.char), payload)
				if err != nil {
					t.Fatalf("Decode(%s, % X) error: %v", fs.char, payload, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Decode(%s, % X) =\n%s\nwant\n%s", fs.char, payload, asJSON(got), asJSON(want))
				}
				if _, err := json.Marshal(got); err != nil {
					t.Errorf("json.Marshal(Decode(%s, % X)): %v", fs.char, payload, err)
				}
				if _, err := json.Marshal(got.Readings()); err != nil {
					t.Errorf("json.Marshal(Readings()): %v", err)
				}
			})
		}
	}
}

var truncatedMsg = regexp.MustCompile(`^[0-9A-F]{4}: truncated: [A-Za-z0-9 -]+ needs \d+ bytes?, \d+ left$`)

// TestTruncatedAtEveryByte cuts every flag combination's payload at every
// length short of its end: each cut must fail with a message naming the
// field, except where a heart-rate payload ends after a whole RR interval
// (RR intervals fill the rest of the value, so that is a valid payload).
func TestTruncatedAtEveryByte(t *testing.T) {
	for _, fs := range flagSpaces {
		for _, flags := range subsets(fs.defined) {
			want := fs.build(flags)
			payload, err := encode(want)
			if err != nil {
				t.Fatal(err)
			}
			rrStart := -1
			if h := want.HeartRate; h != nil && h.RRIntervals != nil {
				rrStart = len(payload) - 2*len(h.RRIntervals)
			}
			for n := range len(payload) {
				name := fmt.Sprintf("%s/flags=0x%02X/len=%d", fs.char, flags, n)
				got, err := Decode(uint16(fs.char), payload[:n])
				if rrStart >= 0 && n >= rrStart+2 && (n-rrStart)%2 == 0 {
					if err != nil {
						t.Errorf("%s: Decode error %v, want %d RR intervals", name, err, (n-rrStart)/2)
					} else if k := len(got.HeartRate.RRIntervals); k != (n-rrStart)/2 {
						t.Errorf("%s: %d RR intervals, want %d", name, k, (n-rrStart)/2)
					}
					continue
				}
				if !errors.Is(err, ErrTruncated) {
					t.Errorf("%s: Decode(% X) error %v, want ErrTruncated", name, payload[:n], err)
					continue
				}
				if !truncatedMsg.MatchString(err.Error()) || !strings.HasPrefix(err.Error(), fs.char.String()+":") {
					t.Errorf("%s: message %q does not name characteristic and field", name, err)
				}
			}
		}
	}
}

// TestOverlong appends a byte to every flag combination's payload: bytes
// after the last announced field are an error, except that a heart-rate
// payload with RR intervals reads them as a further (here half) interval.
func TestOverlong(t *testing.T) {
	for _, fs := range flagSpaces {
		for _, flags := range subsets(fs.defined) {
			want := fs.build(flags)
			payload, _ := encode(want)
			long := append(payload, 0xAB)
			_, err := Decode(uint16(fs.char), long)
			wantErr := ErrTrailing
			if want.HeartRate != nil && want.HeartRate.RRIntervals != nil {
				wantErr = ErrTruncated
			}
			if !errors.Is(err, wantErr) {
				t.Errorf("%s/flags=0x%02X: Decode(% X) error %v, want %v", fs.char, flags, long, err, wantErr)
			}
		}
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		char UUID
		hex  string
		want string
	}{
		{BloodPressureMeasurement, "02 78 00 50 00 5D 00 E8 07 03",
			"2A35: truncated: time stamp needs 7 bytes, 3 left"},
		{BloodPressureMeasurement, "",
			"2A35: truncated: flags needs 1 byte, 0 left"},
		{BloodPressureMeasurement, "00 78 00 50 00 5D 00 01",
			"2A35: trailing bytes: 1 byte after mean arterial pressure, the last field the flags announce"},
		{HeartRateMeasurement, "01 48",
			"2A37: truncated: heart rate needs 2 bytes, 1 left"},
		{HeartRateMeasurement, "10 48",
			"2A37: truncated: RR interval needs 2 bytes, 0 left"},
		{HeartRateMeasurement, "10 48 00 04 34",
			"2A37: truncated: RR interval needs 2 bytes, 1 left"},
		{HeartRateMeasurement, "00 48 00 00",
			"2A37: trailing bytes: 2 bytes after heart rate, the last field the flags announce"},
		{GlucoseMeasurement, "02 01 00 E8 07 03 05 07 1E 00 5F B0",
			"2A18: truncated: type-sample location needs 1 byte, 0 left"},
		{PLXContinuousMeasurement, "03 61 00 40 00 60 00 42 00 62",
			"2A5F: truncated: slow SpO2 needs 2 bytes, 1 left"},
		{PLXSpotCheckMeasurement, "04 61 00 40 00 00 20",
			"2A5E: truncated: device and sensor status needs 3 bytes, 2 left"},
		{TemperatureMeasurement, "00 DA 03 00",
			"2A1C: truncated: temperature needs 4 bytes, 3 left"},
		{WeightMeasurement, "08 B0 36 E5 00 D6",
			"2A9D: truncated: height needs 2 bytes, 1 left"},
		{GlucoseMeasurementContext, "80 01 00",
			"2A34: truncated: extended flags needs 1 byte, 0 left"},
		{0x2A00, "00",
			"2A00: unsupported characteristic: not a characteristic this decoder knows (2A08, 2A18, 2A1C, 2A2B, 2A34, 2A35, 2A36, 2A37, 2A5E, 2A5F, 2A9D, 2A9E)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := Decode(uint16(tt.char), mustHex(t, tt.hex))
			if err == nil || err.Error() != tt.want {
				t.Errorf("Decode(%s, %s) error = %v, want %q", tt.char, tt.hex, err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Char != tt.char {
				t.Errorf("Decode(%s, %s) error %T does not carry the characteristic", tt.char, tt.hex, err)
			}
		})
	}
}

// TestReservedBits: reserved flag bits are ignored with a note, and the
// bytes after the known fields are taken to be what they announce;
// reserved status bits and enumeration values are kept and noted.
func TestReservedBits(t *testing.T) {
	tests := []struct {
		name      string
		char      UUID
		hex       string
		wantNotes []string
	}{
		{"BP flag bit 5 with extra bytes", BloodPressureMeasurement, "20 78 00 50 00 5D 00 AA BB", []string{
			"flags bit 5 is reserved for future use; ignored",
			"skipped 2 bytes after the known fields: announced by reserved flag bits"}},
		{"BP flag bit 7 alone", BloodPressureMeasurement, "80 78 00 50 00 5D 00", []string{
			"flags bit 7 is reserved for future use; ignored"}},
		{"BP status reserved bit and pulse range 3", BloodPressureMeasurement, "10 78 00 50 00 5D 00 58 00", []string{
			"measurement status bit 6 is reserved for future use; ignored",
			"measurement status pulse rate range value 3 is reserved for future use; ignored"}},
		{"HR flag bits 5-7", HeartRateMeasurement, "E0 48", []string{
			"flags bit 5 is reserved for future use; ignored",
			"flags bit 6 is reserved for future use; ignored",
			"flags bit 7 is reserved for future use; ignored"}},
		{"glucose reserved type and location", GlucoseMeasurement, "02 01 00 E8 07 03 05 07 1E 00 5F B0 5B", []string{
			"type value 11 is reserved for future use",
			"sample location value 5 is reserved for future use"}},
		{"glucose status bit 12", GlucoseMeasurement, "08 01 00 E8 07 03 05 07 1E 00 00 10", []string{
			"sensor status annunciation bit 12 is reserved for future use; ignored"}},
		{"context extended flags set with extra byte", GlucoseMeasurementContext, "80 01 00 01 FF", []string{
			"extended flags bit 0 is reserved for future use; ignored",
			"skipped 1 byte after the known fields: announced by reserved flag bits"}},
		{"temperature type 0", TemperatureMeasurement, "04 6C 01 00 FF 00", []string{
			"temperature type value 0 is reserved for future use"}},
		{"PLX measurement status bit 0, device status bit 16", PLXSpotCheckMeasurement, "06 61 00 40 00 01 00 00 00 01", []string{
			"measurement status bit 0 is reserved for future use; ignored",
			"device and sensor status bit 16 is reserved for future use; ignored"}},
		{"weight flag bit 4", WeightMeasurement, "10 B0 36", []string{
			"flags bit 4 is reserved for future use; ignored"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(uint16(tt.char), mustHex(t, tt.hex))
			if err != nil {
				t.Fatalf("Decode(%s, %s) error: %v", tt.char, tt.hex, err)
			}
			if !reflect.DeepEqual(m.Notes, tt.wantNotes) {
				t.Errorf("Decode(%s, %s).Notes = %q, want %q", tt.char, tt.hex, m.Notes, tt.wantNotes)
			}
		})
	}
}

func TestBloodPressureReservedPulseRangeDropsConditions(t *testing.T) {
	m, err := Decode(BloodPressureMeasurement, mustHex(t, "10 78 00 50 00 5D 00 19 00"))
	if err != nil {
		t.Fatal(err)
	}
	s := m.BloodPressure.Status
	if s.Raw != 0x19 || !reflect.DeepEqual(s.Conditions, []string{BodyMovement}) {
		t.Errorf("status = %+v, want raw 0x19 with only %q", s, BodyMovement)
	}
}

func TestParseUUID(t *testing.T) {
	tests := []struct {
		in      string
		want    UUID
		wantErr bool
	}{
		{"2A35", 0x2A35, false},
		{"2a35", 0x2A35, false},
		{"0x2A35", 0x2A35, false},
		{" 2A9D ", 0x2A9D, false},
		{"", 0, true},
		{"0x", 0, true},
		{"12345", 0, true},
		{"zz", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseUUID(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseUUID(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
