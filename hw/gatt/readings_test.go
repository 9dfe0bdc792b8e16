package gatt

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

var received = time.Date(2024, 3, 5, 20, 0, 0, 0, time.UTC)

// deviceAt is the example time stamp read in UTC.
var deviceAt = time.Date(2024, 3, 5, 14, 7, 9, 0, time.UTC)

func reading(q vital.Quantity, v float64, orig string) vital.Reading {
	return vital.Reading{Device: "dev1", Quantity: q, Value: v, Unit: q.Unit(), Original: orig, Time: received}
}

func atDevice(r vital.Reading, t time.Time) vital.Reading {
	r.Time, r.DeviceTime = t, true
	return r
}

func with(r vital.Reading, unreliable []string, ctx map[string]string) vital.Reading {
	r.Unreliable, r.Context = unreliable, ctx
	return r
}

func flagged(r vital.Reading, code vital.FlagCode, reason string) vital.Reading {
	r.Flags = append(r.Flags, vital.Flag{Code: code, Reason: reason})
	return r
}

func absent(q vital.Quantity, orig, why string) vital.Reading {
	r := reading(q, 0, orig)
	r.Absent = why
	return r
}

// TestReadings decodes hand-built payloads, written byte by byte from the
// specifications' field tables, and checks the flattened readings.
func TestReadings(t *testing.T) {
	userCtx := map[string]string{"user_id": "1"}
	tests := []struct {
		name string
		char UUID
		hex  string
		want []vital.Reading
	}{
		{"BP mmHg with every field", BloodPressureMeasurement,
			// flags 1E; 120, 80, 93 mmHg; 2024-03-05 14:07:09; pulse 72; user 1; status body movement + irregular pulse
			"1E 78 00 50 00 5D 00 E8 07 03 05 0E 07 09 48 00 01 05 00",
			[]vital.Reading{
				atDevice(with(reading(vital.Systolic, 120, "120 mmHg"), []string{BodyMovement}, map[string]string{"user_id": "1", "irregular_pulse": "detected"}), deviceAt),
				atDevice(with(reading(vital.Diastolic, 80, "80 mmHg"), []string{BodyMovement}, map[string]string{"user_id": "1", "irregular_pulse": "detected"}), deviceAt),
				atDevice(with(reading(vital.MeanArterial, 93, "93 mmHg"), []string{BodyMovement}, map[string]string{"user_id": "1", "irregular_pulse": "detected"}), deviceAt),
				atDevice(with(reading(vital.Pulse, 72, "72 bpm"), []string{BodyMovement}, map[string]string{"user_id": "1", "irregular_pulse": "detected"}), deviceAt),
			}},
		{"BP kPa, MAP NaN", BloodPressureMeasurement,
			// 16.0 kPa, 10.7 kPa, NaN
			"01 A0 F0 6B F0 FF 07",
			[]vital.Reading{
				reading(vital.Systolic, 120.0, "16.0 kPa"),
				reading(vital.Diastolic, 80.3, "10.7 kPa"),
				absent(vital.MeanArterial, "NaN kPa", "NaN (not a number)"),
			}},
		{"BP pulse out of range only marks the pulse", BloodPressureMeasurement,
			"14 78 00 50 00 5D 00 48 00 10 00",
			[]vital.Reading{
				reading(vital.Systolic, 120, "120 mmHg"),
				reading(vital.Diastolic, 80, "80 mmHg"),
				reading(vital.MeanArterial, 93, "93 mmHg"),
				with(reading(vital.Pulse, 72, "72 bpm"), []string{PulseBelowRange}, nil),
			}},
		{"BP year unknown falls back to reception time", BloodPressureMeasurement,
			"02 78 00 50 00 5D 00 00 00 03 05 0E 07 09",
			[]vital.Reading{
				reading(vital.Systolic, 120, "120 mmHg"),
				reading(vital.Diastolic, 80, "80 mmHg"),
				reading(vital.MeanArterial, 93, "93 mmHg"),
			}},
		{"intermediate cuff pressure gives no reading", IntermediateCuffPressure,
			"00 64 00 FF 07 FF 07", nil},
		{"HR uint8, contact detected, RR", HeartRateMeasurement,
			// 72 bpm; RR 1024/1024 s and 820/1024 s
			"16 48 00 04 34 03",
			[]vital.Reading{
				reading(vital.Pulse, 72, "72 bpm"),
				reading(vital.RRInterval, 1000, "1024/1024 s"),
				reading(vital.RRInterval, 800.8, "820/1024 s"),
			}},
		{"HR uint16 no skin contact, energy", HeartRateMeasurement,
			"0D 2C 01 D2 04",
			[]vital.Reading{
				with(reading(vital.Pulse, 300, "300 bpm"), []string{NoSkinContact}, nil),
			}},
		{"temperature 98.6 F in the mouth", TemperatureMeasurement,
			"05 DA 03 00 FF 06",
			[]vital.Reading{
				with(reading(vital.Temperature, 37.0, "98.6 °F"), nil, map[string]string{"body_site": "mouth"}),
			}},
		{"temperature 36.4 C with time stamp", TemperatureMeasurement,
			"02 6C 01 00 FF E8 07 03 05 0E 07 09",
			[]vital.Reading{
				atDevice(reading(vital.Temperature, 36.4, "36.4 °C"), deviceAt),
			}},
		{"temperature NRes", TemperatureMeasurement,
			"00 00 00 80 00",
			[]vital.Reading{absent(vital.Temperature, "NRes °C", "NRes (not at this resolution)")}},
		{"glucose kg/L with offset", GlucoseMeasurement,
			// seq 1; base 2024-03-05 07:30:00; +5 min; 95e-5 kg/L; capillary whole blood, finger
			"03 01 00 E8 07 03 05 07 1E 00 05 00 5F B0 11",
			[]vital.Reading{
				atDevice(with(reading(vital.Glucose, 95, "0.00095 kg/L"), nil, map[string]string{
					"sequence": "1", "sample_type": "capillary whole blood", "sample_location": "finger"}),
					time.Date(2024, 3, 5, 7, 35, 0, 0, time.UTC)),
			}},
		{"glucose mol/L, strip pulled early", GlucoseMeasurement,
			// 55e-4 mol/L = 5.5 mmol/L; capillary plasma, finger; annunciation bit 9 (a fault) and battery low
			"0E 02 00 E8 07 03 05 07 1E 00 37 C0 12 01 02",
			[]vital.Reading{
				flagged(atDevice(with(reading(vital.Glucose, 99, "0.0055 mol/L"), []string{"sensor read interrupted"}, map[string]string{
					"sequence": "2", "sample_type": "capillary plasma", "sample_location": "finger"}),
					time.Date(2024, 3, 5, 7, 30, 0, 0, time.UTC)), vital.DeviceFault, "the device reported sensor read interrupted"),
			}},
		{"glucose HI: doubtful, not a fault", GlucoseMeasurement,
			// 600 mg/dL (6e-3 kg/L); annunciation bit 5, result higher than the device can process
			"0A 05 00 E8 07 03 05 07 1E 00 06 D0 11 20 00",
			[]vital.Reading{
				atDevice(with(reading(vital.Glucose, 600, "0.006 kg/L"), []string{"result higher than device can process"}, map[string]string{
					"sequence": "5", "sample_type": "capillary whole blood", "sample_location": "finger"}),
					time.Date(2024, 3, 5, 7, 30, 0, 0, time.UTC)),
			}},
		{"glucose control solution", GlucoseMeasurement,
			"02 03 00 E8 07 03 05 07 1E 00 5F B0 4A",
			[]vital.Reading{
				flagged(atDevice(with(reading(vital.Glucose, 95, "0.00095 kg/L"), nil, map[string]string{
					"sequence": "3", "sample_type": "control solution", "sample_location": "control solution"}),
					time.Date(2024, 3, 5, 7, 30, 0, 0, time.UTC)), vital.ControlSolution, "a control-solution test (the meter's sample type), not the patient's blood"),
			}},
		{"glucose control solution by location only", GlucoseMeasurement,
			// capillary whole blood (1), sample location control solution (4)
			"02 04 00 E8 07 03 05 07 1E 00 5F B0 41",
			[]vital.Reading{
				flagged(atDevice(with(reading(vital.Glucose, 95, "0.00095 kg/L"), nil, map[string]string{
					"sequence": "4", "sample_type": "capillary whole blood", "sample_location": "control solution"}),
					time.Date(2024, 3, 5, 7, 30, 0, 0, time.UTC)), vital.ControlSolution, "a control-solution test (the meter's sample location), not the patient's blood"),
			}},
		{"glucose without concentration", GlucoseMeasurement,
			"00 04 00 E8 07 03 05 07 1E 00", nil},
		{"glucose context HbA1c", GlucoseMeasurementContext,
			"40 01 00 41 F0",
			[]vital.Reading{
				with(reading(vital.HbA1c, 6.5, "6.5 %"), nil, map[string]string{"sequence": "1"}),
			}},
		{"PLX spot-check, sensor displaced", PLXSpotCheckMeasurement,
			"07 61 00 40 00 E8 07 03 05 0E 07 09 00 00 00 20 00",
			[]vital.Reading{
				atDevice(with(reading(vital.SpO2, 97, "97 %"), []string{"sensor displaced"}, nil), deviceAt),
				atDevice(with(reading(vital.Pulse, 64, "64 bpm"), []string{"sensor displaced"}, nil), deviceAt),
			}},
		{"PLX spot-check, clock not set", PLXSpotCheckMeasurement,
			"11 61 00 40 00 E8 07 03 05 0E 07 09",
			[]vital.Reading{
				reading(vital.SpO2, 97, "97 %"),
				reading(vital.Pulse, 64, "64 bpm"),
			}},
		{"PLX spot-check, equipment malfunction", PLXSpotCheckMeasurement,
			// device and sensor status bit 1
			"04 61 00 40 00 02 00 00",
			[]vital.Reading{
				flagged(with(reading(vital.SpO2, 97, "97 %"), []string{"equipment malfunction"}, nil), vital.DeviceFault, "the device reported equipment malfunction"),
				flagged(with(reading(vital.Pulse, 64, "64 bpm"), []string{"equipment malfunction"}, nil), vital.DeviceFault, "the device reported equipment malfunction"),
			}},
		{"PLX continuous, questionable, low perfusion, fast ignored", PLXContinuousMeasurement,
			"0D 60 00 FF 07 5F 00 41 00 00 40 20 00 00",
			[]vital.Reading{
				with(reading(vital.SpO2, 96, "96 %"), []string{"questionable measurement", "low perfusion"}, nil),
				with(absent(vital.Pulse, "NaN bpm", "NaN (not a number)"), []string{"questionable measurement", "low perfusion"}, nil),
			}},
		{"weight SI with BMI and height", WeightMeasurement,
			// 14000 × 0.005 kg; BMI 22.9; 1.750 m
			"08 B0 36 E5 00 D6 06",
			[]vital.Reading{
				reading(vital.Weight, 70, "70.000 kg"),
				reading(vital.BMI, 22.9, "22.9 kg/m2"),
				reading(vital.Height, 1.75, "1.750 m"),
			}},
		{"weight imperial, user 1", WeightMeasurement,
			// 154.32 lb; user 1; BMI 22.9; 68.9 in
			"0D 48 3C 01 E5 00 B1 02",
			[]vital.Reading{
				with(reading(vital.Weight, 69.998, "154.32 lb"), nil, userCtx),
				with(reading(vital.BMI, 22.9, "22.9 kg/m2"), nil, userCtx),
				with(reading(vital.Height, 1.750, "68.9 in"), nil, userCtx),
			}},
		{"weight unsuccessful", WeightMeasurement,
			"00 FF FF",
			[]vital.Reading{{Device: "dev1", Quantity: vital.Weight, Unit: "kg", Time: received, Absent: MeasurementUnsuccessful}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(uint16(tt.char), mustHex(t, tt.hex))
			if err != nil {
				t.Fatalf("Decode(%s, %s): %v", tt.char, tt.hex, err)
			}
			if len(m.Notes) > 0 {
				t.Errorf("Decode(%s, %s) notes %q, want none", tt.char, tt.hex, m.Notes)
			}
			m.Device, m.Received = "dev1", received.In(time.FixedZone("X", 3600))
			got := m.Readings()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Readings() of %s %s =\n%s\nwant\n%s", tt.char, tt.hex, asJSON(got), asJSON(tt.want))
			}
		})
	}
}

// TestConversions checks the unit conversions against values worked out by
// hand, to within the reported resolution.
func TestConversions(t *testing.T) {
	tests := []struct {
		name string
		f    Float
		c    conv
		want float64
		tol  float64
	}{
		{"16.0 kPa = 120.0 mmHg", Dec(160, -1), kPaToMmHg, 120.0, 0},
		{"98.6 F = 37.0 C", Dec(986, -1), degFToCel, 37.0, 0},
		{"154.32 lb = 70.0 kg within 0.01 lb", Dec(15432, -2), lbToKg, 70.0, 0.005},
		{"154.32 lb = 69.998 kg", Dec(15432, -2), lbToKg, 69.998, 0},
		{"32 F = 0 C", Dec(32, 0), degFToCel, 0, 0},
		{"-40.0 F = -40.0 C", Dec(-400, -1), degFToCel, -40, 0},
		{"5.5 mmol/L = 99 mg/dL", Dec(55, -4), molLToMgDL, 99, 0},
		{"7.25 mmol/L = 130.6 mg/dL", Dec(725, -5), molLToMgDL, 130.6, 0},
		{"33.3 mmol/L = 600 mg/dL", Dec(333, -4), molLToMgDL, 600, 0},
		{"1.1 mmol/L = 20 mg/dL", Dec(11, -4), molLToMgDL, 20, 0},
		{"95e-5 kg/L = 95 mg/dL exactly", Dec(95, -5), kgLToMgDL, 95, 0},
		{"1234e-7 kg/L = 12.34 mg/dL", Dec(1234, -7), kgLToMgDL, 12.34, 0},
		{"70.0 in = 1.778 m", Dec(700, -1), inToM, 1.778, 0},
		{"512/1024 s = 500 ms", Dec(512, 0), rrToMs, 500, 0},
		{"120.5 mmHg unchanged", Dec(1205, -1), identity, 120.5, 0},
		{"exponent past int8 scales in binary", Dec(3, 125), kgLToMgDL, 3e130, 1e116},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.c.apply(tt.f)
			if math.IsNaN(got) || math.Abs(got-tt.want) > tt.tol {
				t.Errorf("convert %s = %v, want %v (±%v)", tt.f, got, tt.want, tt.tol)
			}
		})
	}
}

func TestAttachContext(t *testing.T) {
	g, err := Decode(GlucoseMeasurement, mustHex(t, "12 07 00 E8 07 03 05 07 1E 00 5F B0 11"))
	if err != nil {
		t.Fatal(err)
	}
	if !g.Glucose.ContextFollows {
		t.Fatalf("ContextFollows = false, want true")
	}
	// seq 7; meal postprandial; tester self, health minor issues; HbA1c 6.5 %
	ctx, err := Decode(GlucoseMeasurementContext, mustHex(t, "46 07 00 02 11 41 F0"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := Decode(GlucoseMeasurementContext, mustHex(t, "02 08 00 02"))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.AttachContext(other); err == nil {
		t.Errorf("AttachContext(sequence 8) to sequence 7: no error")
	}
	if err := ctx.AttachContext(g); err == nil {
		t.Errorf("AttachContext on a context measurement: no error")
	}
	if err := g.AttachContext(ctx); err != nil {
		t.Fatalf("AttachContext: %v", err)
	}
	g.Received = received
	ctxOnly := map[string]string{
		"sequence": "7", "meal": "postprandial", "tester": "self", "health": "minor health issues",
	}
	withSample := map[string]string{
		"sequence": "7", "sample_type": "capillary whole blood", "sample_location": "finger",
		"meal": "postprandial", "tester": "self", "health": "minor health issues",
	}
	at := time.Date(2024, 3, 5, 7, 30, 0, 0, time.UTC)
	want := []vital.Reading{
		{Quantity: vital.Glucose, Value: 95, Unit: "mg/dL", Original: "0.00095 kg/L", Time: at, DeviceTime: true, Context: withSample},
		{Quantity: vital.HbA1c, Value: 6.5, Unit: "%", Original: "6.5 %", Time: at, DeviceTime: true, Context: ctxOnly},
	}
	if got := g.Readings(); !reflect.DeepEqual(got, want) {
		t.Errorf("Readings() after AttachContext =\n%s\nwant\n%s", asJSON(got), asJSON(want))
	}
}

// TestReadingsDoNotShareSlices: a rule that edits one reading's
// Unreliable or Context must not change its siblings.
func TestReadingsDoNotShareSlices(t *testing.T) {
	m, err := Decode(BloodPressureMeasurement, mustHex(t, "18 78 00 50 00 5D 00 07 01 00"))
	if err != nil {
		t.Fatal(err)
	}
	rs := m.Readings()
	rs[0].Unreliable[0] = "edited"
	rs[0].Context["user_id"] = "edited"
	if rs[1].Unreliable[0] == "edited" || rs[1].Context["user_id"] == "edited" {
		t.Errorf("readings share Unreliable or Context: %+v", rs[1])
	}
}

func TestDeviceZone(t *testing.T) {
	m, err := Decode(TemperatureMeasurement, mustHex(t, "02 6C 01 00 FF E8 07 03 05 0E 07 09"))
	if err != nil {
		t.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	m.Zone = ny
	got := m.Readings()[0].Time
	want := time.Date(2024, 3, 5, 19, 7, 9, 0, time.UTC) // EST is UTC-5
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("time in New York = %v, want %v in UTC", got, want)
	}
}
