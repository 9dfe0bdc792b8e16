package gatt

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

// Unit conversions to the canonical units of vital.Quantity.
//
// Glucose in mol/L becomes mg/dL through mmol/L with the one factor
// vital.MgDLPerMmolL (18.016, from glucose's molar mass), rounded to the
// resolution the meter reported, as every conversion here is.
var (
	identity   = conv{factor: 1}
	kPaToMmHg  = conv{factor: 1000 / 133.322387415}           // conventional millimetre of mercury
	kgLToMgDL  = conv{pow10: 5, factor: 1}                    // 1 kg/L = 1e6 mg / 10 dL
	molLToMgDL = conv{pow10: 3, factor: vital.MgDLPerMmolL}   // mol/L → mmol/L → mg/dL
	degFToCel  = conv{factor: 5.0 / 9, offset: -32 * 5.0 / 9} // (°F − 32) × 5/9
	lbToKg     = conv{factor: 0.45359237}                     // international avoirdupois pound
	inToM      = conv{factor: 0.0254}
	rrToMs     = conv{factor: 1000.0 / 1024}
)

// conv maps a reported value x to x × 10^pow10 × factor + offset. The
// power of ten is applied in decimal, so a change of unit by a power of ten
// is exact.
type conv struct {
	pow10          int
	factor, offset float64
}

// apply converts f and rounds the result to the largest power of ten not
// coarser than the reported resolution expressed in the new unit, so the
// conversion neither invents digits (16.0 kPa is 120.0 mmHg, not
// 120.00989) nor loses any (0.1 °F steps are 0.056 °C, kept as hundredths).
func (c conv) apply(f Float) float64 {
	factor := c.factor
	if g := f.scaled(c.pow10); g.IsNumber() {
		f = g
	} else { // exponent out of range: scale in binary instead
		factor *= math.Pow10(c.pow10)
	}
	v := f.Float64()
	if factor == 1 && c.offset == 0 {
		return v
	}
	v = v*factor + c.offset
	step := math.Pow10(int(f.Exponent)) * math.Abs(factor)
	decimals := int(math.Ceil(-math.Log10(step) - 1e-9))
	if decimals < 0 || decimals > 15 || math.IsInf(v, 0) {
		return v
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'f', decimals, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// Reading conditions that do not come from a status field.
const (
	NoSkinContact           = "no skin contact"
	MeasurementUnsuccessful = "measurement unsuccessful"
)

// flattener builds the readings of one measurement.
type flattener struct {
	m          Measurement
	time       time.Time
	deviceTime bool
	out        []vital.Reading
}

// at sets the time for the readings that follow: the device's time stamp
// when it is complete and trustworthy, else the reception time. Stored
// times are UTC.
func (f *flattener) at(ts *DateTime, offset time.Duration, trusted bool) {
	f.time, f.deviceTime = f.m.Received.UTC(), false
	if ts == nil || !trusted {
		return
	}
	if t, err := ts.Time(f.m.Zone); err == nil {
		f.time, f.deviceTime = t.Add(offset).UTC(), true
	}
}

// add appends a reading of q from the reported value v in unit (as the
// device names it), converted to q's canonical unit by c, and returns it
// for the caller to flag (until the next add).
func (f *flattener) add(q vital.Quantity, v Float, unit string, c conv, unreliable []string, ctx map[string]string) *vital.Reading {
	return f.addRounded(q, v, v, unit, c, unreliable, ctx)
}

// addRounded is add for a value the device's resolution rounds: Original
// keeps what the device sent, the value is v.
func (f *flattener) addRounded(q vital.Quantity, sent, v Float, unit string, c conv, unreliable []string, ctx map[string]string) *vital.Reading {
	sep := " "
	if strings.HasPrefix(unit, "/") { // "820/1024 s"
		sep = ""
	}
	r := vital.Reading{
		Device:     f.m.Device,
		Quantity:   q,
		Unit:       q.Unit(),
		Original:   sent.String() + sep + unit,
		Time:       f.time,
		DeviceTime: f.deviceTime,
		Unreliable: slices.Clone(unreliable),
		Context:    maps.Clone(ctx),
	}
	if v.IsNumber() {
		r.Value = c.apply(v)
	} else {
		r.Absent = v.Special.String()
	}
	f.out = append(f.out, r)
	return &f.out[len(f.out)-1]
}

// faulted flags r when the device reported faults of its own.
func faulted(r *vital.Reading, faults []string) {
	if len(faults) > 0 {
		r.Flag(vital.DeviceFault, "the device reported "+strings.Join(faults, ", "))
	}
}

// Readings flattens the measurement into vital-sign readings in canonical
// units (see vital.Quantity), in payload order. What it leaves out, on
// purpose: Intermediate Cuff Pressure (a pressure on the way to a result,
// not a result), energy expended and pulse amplitude index (not vital
// signs), and the fast and slow averages of a continuous oximeter (the
// normal average already reports the same signal).
func (m Measurement) Readings() []vital.Reading {
	f := &flattener{m: m}
	switch {
	case m.HeartRate != nil:
		f.heartRate(m.HeartRate)
	case m.BloodPressure != nil:
		f.bloodPressure(m.BloodPressure)
	case m.Glucose != nil:
		f.glucose(m.Glucose)
	case m.GlucoseContext != nil:
		f.at(nil, 0, false)
		f.hba1c(m.GlucoseContext, map[string]string{"sequence": strconv.Itoa(int(m.GlucoseContext.Sequence))})
	case m.Temperature != nil:
		f.temperature(m.Temperature)
	case m.PLXSpotCheck != nil:
		p := m.PLXSpotCheck
		f.at(p.TimeStamp, 0, !p.ClockNotSet)
		f.spo2pr(p.SpO2PR, p.MeasurementStatus, p.DeviceSensorStatus)
	case m.PLXContinuous != nil:
		p := m.PLXContinuous
		f.at(nil, 0, false)
		f.spo2pr(p.Normal, p.MeasurementStatus, p.DeviceSensorStatus)
	case m.Weight != nil:
		f.weight(m.Weight)
	}
	return f.out
}

func (f *flattener) heartRate(h *HeartRate) {
	f.at(nil, 0, false)
	var unreliable []string
	if h.SensorContact == ContactNotDetected {
		unreliable = []string{NoSkinContact}
	}
	f.add(vital.Pulse, Dec(int32(h.BPM), 0), "bpm", identity, unreliable, nil)
	for _, rr := range h.RRIntervals {
		f.add(vital.RRInterval, Dec(int32(rr), 0), "/1024 s", rrToMs, unreliable, nil)
	}
}

func (f *flattener) bloodPressure(b *BloodPressure) {
	if b.Intermediate {
		return
	}
	f.at(b.TimeStamp, 0, true)
	c := identity
	if b.Unit == "kPa" {
		c = kPaToMmHg
	}
	var ctx map[string]string
	if b.UserID != nil {
		ctx = map[string]string{"user_id": strconv.Itoa(int(*b.UserID))}
	}
	if b.Status.has(IrregularPulse) {
		if ctx == nil {
			ctx = map[string]string{}
		}
		ctx["irregular_pulse"] = "detected"
	}
	all := b.Status.unreliable(bpStatusBits)
	pressure := without(all, PulseAboveRange, PulseBelowRange)
	f.add(vital.Systolic, b.Systolic, b.Unit, c, pressure, ctx)
	f.add(vital.Diastolic, b.Diastolic, b.Unit, c, pressure, ctx)
	f.add(vital.MeanArterial, b.MeanArterial, b.Unit, c, pressure, ctx)
	if b.PulseRate != nil {
		f.add(vital.Pulse, *b.PulseRate, "bpm", identity, all, ctx)
	}
}

func (f *flattener) glucose(g *Glucose) {
	var offset time.Duration
	if g.TimeOffset != nil {
		offset = time.Duration(*g.TimeOffset) * time.Minute
	}
	f.at(&g.BaseTime, offset, true)
	ctx := map[string]string{"sequence": strconv.Itoa(int(g.Sequence))}
	if g.Status.has(TimeFault) {
		ctx["time_fault"] = "device reported its time may be inaccurate"
	}
	if c := g.Context; c != nil {
		addCode(ctx, "carbohydrate_id", c.CarbohydrateID)
		addFloat(ctx, "carbohydrate", c.Carbohydrate, "kg")
		addCode(ctx, "meal", c.Meal)
		addCode(ctx, "tester", c.Tester)
		addCode(ctx, "health", c.Health)
		if c.ExerciseDuration != nil {
			ctx["exercise_duration_s"] = strconv.Itoa(int(*c.ExerciseDuration))
			ctx["exercise_intensity_pct"] = strconv.Itoa(int(*c.ExerciseIntensity))
		}
		addCode(ctx, "medication_id", c.MedicationID)
		addFloat(ctx, "medication", c.Medication, c.MedicationUnit)
	}
	if g.Concentration != nil {
		gctx := maps.Clone(ctx)
		addCode(gctx, "sample_type", g.Type)
		addCode(gctx, "sample_location", g.SampleLocation)
		c := kgLToMgDL
		if g.Unit == "mol/L" {
			c = molLToMgDL
		}
		r := f.add(vital.Glucose, *g.Concentration, g.Unit, c, g.Status.unreliable(glucoseStatusBits), gctx)
		faulted(r, g.Status.faults(glucoseStatusBits))
		// A meter marks a control-solution test in the sample type or the
		// sample location (the user picks "control" on the meter, or the
		// meter recognises the solution).
		switch {
		case g.Type.Value == glucoseTypeControl:
			r.Flag(vital.ControlSolution, "a control-solution test (the meter's sample type), not the patient's blood")
		case g.SampleLocation.Value == sampleLocationControl:
			r.Flag(vital.ControlSolution, "a control-solution test (the meter's sample location), not the patient's blood")
		}
	}
	if g.Context != nil {
		f.hba1c(g.Context, ctx)
	}
}

func (f *flattener) hba1c(c *GlucoseContext, ctx map[string]string) {
	if c.HbA1c != nil {
		f.add(vital.HbA1c, *c.HbA1c, "%", identity, nil, ctx)
	}
}

func addCode(ctx map[string]string, key string, c *Code) {
	if c != nil {
		ctx[key] = c.Name
	}
}

func addFloat(ctx map[string]string, key string, v *Float, unit string) {
	if v != nil {
		ctx[key] = v.String() + " " + unit
	}
}

func (f *flattener) temperature(t *Temperature) {
	f.at(t.TimeStamp, 0, true)
	c, unit := identity, "°C"
	if t.Unit == "[degF]" {
		c, unit = degFToCel, "°F"
	}
	var ctx map[string]string
	if t.Type != nil {
		ctx = map[string]string{"body_site": t.Type.Name}
	}
	f.add(vital.Temperature, t.Value, unit, c, nil, ctx)
}

func (f *flattener) spo2pr(v SpO2PR, meas, dev *Status) {
	unreliable := append(meas.unreliable(plxMeasurementStatusBits), dev.unreliable(plxDeviceStatusBits)...)
	faults := append(meas.faults(plxMeasurementStatusBits), dev.faults(plxDeviceStatusBits)...)
	faulted(f.add(vital.SpO2, v.SpO2, "%", identity, unreliable, nil), faults)
	faulted(f.add(vital.Pulse, v.PulseRate, "bpm", identity, unreliable, nil), faults)
}

func (f *flattener) weight(w *Weight) {
	f.at(w.TimeStamp, 0, true)
	var ctx map[string]string
	if w.UserID != nil {
		ctx = map[string]string{"user_id": strconv.Itoa(int(*w.UserID))}
	}
	wc, hc := identity, identity
	if w.WeightUnit == "lb" {
		wc, hc = lbToKg, inToM
	}
	if w.Weight != nil {
		v := *w.Weight
		if step, ok := f.m.ScaleFeature.weightStep(w.WeightUnit); ok {
			v = v.roundTo(step)
		}
		f.addRounded(vital.Weight, *w.Weight, v, w.WeightUnit, wc, nil, ctx)
	} else {
		f.out = append(f.out, vital.Reading{
			Device: f.m.Device, Quantity: vital.Weight, Unit: vital.Weight.Unit(),
			Time: f.time, DeviceTime: f.deviceTime, Absent: MeasurementUnsuccessful,
			Context: maps.Clone(ctx),
		})
	}
	if w.BMI != nil {
		f.add(vital.BMI, *w.BMI, "kg/m2", identity, nil, ctx)
		h := *w.Height
		if step, ok := f.m.ScaleFeature.heightStep(w.HeightUnit); ok {
			h = h.roundTo(step)
		}
		f.addRounded(vital.Height, *w.Height, h, w.HeightUnit, hc, nil, ctx)
	}
}
