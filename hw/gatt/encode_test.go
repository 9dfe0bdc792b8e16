package gatt

import (
	"fmt"
)

// The test encoder writes a payload from a decoded Measurement, following
// the flags the detail carries. The flag-combination tests build expected
// measurements, encode them and decode them back; the fuzz target checks
// that decoding then encoding gives back the input bytes. Hand-written hex
// payloads in decode_test.go guard against the encoder and the decoder
// sharing a misreading of the specification.

type enc struct{ b []byte }

func (e *enc) u8(v uint8)   { e.b = append(e.b, v) }
func (e *enc) u16(v uint16) { e.b = append(e.b, byte(v), byte(v>>8)) }
func (e *enc) u24(v uint32) { e.b = append(e.b, byte(v), byte(v>>8), byte(v>>16)) }
func (e *enc) u32(v uint32) { e.b = append(e.b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24)) }

func (e *enc) dt(d DateTime) {
	e.u16(d.Year)
	e.b = append(e.b, d.Month, d.Day, d.Hours, d.Minutes, d.Seconds)
}

func sfloatRaw(f Float) uint16 {
	switch f.Special {
	case NaN:
		return sfloatNaN
	case NRes:
		return sfloatNRes
	case PosInf:
		return sfloatPosInf
	case NegInf:
		return sfloatNegInf
	case Reserved:
		return sfloatReserved
	}
	return uint16(f.Exponent)<<12 | uint16(f.Mantissa)&0x0FFF
}

func floatRaw(f Float) uint32 {
	switch f.Special {
	case NaN:
		return floatNaN
	case NRes:
		return floatNRes
	case PosInf:
		return floatPosInf
	case NegInf:
		return floatNegInf
	case Reserved:
		return floatReserved
	}
	return uint32(uint8(f.Exponent))<<24 | uint32(f.Mantissa)&0x00FFFFFF
}

func (e *enc) sfloat(f Float) { e.u16(sfloatRaw(f)) }
func (e *enc) float(f Float)  { e.u32(floatRaw(f)) }

// encode writes m's detail as its characteristic's payload.
func encode(m Measurement) ([]byte, error) {
	e := &enc{}
	switch {
	case m.HeartRate != nil:
		h := m.HeartRate
		e.u8(h.Flags)
		if h.Flags&hrValue16 != 0 {
			e.u16(h.BPM)
		} else {
			e.u8(uint8(h.BPM))
		}
		if h.EnergyExpended != nil {
			e.u16(*h.EnergyExpended)
		}
		for _, rr := range h.RRIntervals {
			e.u16(rr)
		}
	case m.BloodPressure != nil:
		b := m.BloodPressure
		e.u8(b.Flags)
		e.sfloat(b.Systolic)
		e.sfloat(b.Diastolic)
		e.sfloat(b.MeanArterial)
		if b.TimeStamp != nil {
			e.dt(*b.TimeStamp)
		}
		if b.PulseRate != nil {
			e.sfloat(*b.PulseRate)
		}
		if b.UserID != nil {
			e.u8(*b.UserID)
		}
		if b.Status != nil {
			e.u16(uint16(b.Status.Raw))
		}
	case m.Glucose != nil:
		g := m.Glucose
		e.u8(g.Flags)
		e.u16(g.Sequence)
		e.dt(g.BaseTime)
		if g.TimeOffset != nil {
			e.u16(uint16(*g.TimeOffset))
		}
		if g.Concentration != nil {
			e.sfloat(*g.Concentration)
			e.u8(g.Type.Value | g.SampleLocation.Value<<4)
		}
		if g.Status != nil {
			e.u16(uint16(g.Status.Raw))
		}
	case m.GlucoseContext != nil:
		c := m.GlucoseContext
		e.u8(c.Flags)
		e.u16(c.Sequence)
		if c.ExtendedFlags != nil {
			e.u8(*c.ExtendedFlags)
		}
		if c.CarbohydrateID != nil {
			e.u8(c.CarbohydrateID.Value)
			e.sfloat(*c.Carbohydrate)
		}
		if c.Meal != nil {
			e.u8(c.Meal.Value)
		}
		if c.Tester != nil {
			e.u8(c.Tester.Value | c.Health.Value<<4)
		}
		if c.ExerciseDuration != nil {
			e.u16(*c.ExerciseDuration)
			e.u8(*c.ExerciseIntensity)
		}
		if c.MedicationID != nil {
			e.u8(c.MedicationID.Value)
			e.sfloat(*c.Medication)
		}
		if c.HbA1c != nil {
			e.sfloat(*c.HbA1c)
		}
	case m.Temperature != nil:
		t := m.Temperature
		e.u8(t.Flags)
		e.float(t.Value)
		if t.TimeStamp != nil {
			e.dt(*t.TimeStamp)
		}
		if t.Type != nil {
			e.u8(t.Type.Value)
		}
	case m.PLXSpotCheck != nil:
		p := m.PLXSpotCheck
		e.u8(p.Flags)
		e.sfloat(p.SpO2)
		e.sfloat(p.PulseRate)
		if p.TimeStamp != nil {
			e.dt(*p.TimeStamp)
		}
		e.statuses(p.MeasurementStatus, p.DeviceSensorStatus)
		if p.PulseAmplitudeIndex != nil {
			e.sfloat(*p.PulseAmplitudeIndex)
		}
	case m.PLXContinuous != nil:
		p := m.PLXContinuous
		e.u8(p.Flags)
		e.sfloat(p.Normal.SpO2)
		e.sfloat(p.Normal.PulseRate)
		for _, v := range []*SpO2PR{p.Fast, p.Slow} {
			if v != nil {
				e.sfloat(v.SpO2)
				e.sfloat(v.PulseRate)
			}
		}
		e.statuses(p.MeasurementStatus, p.DeviceSensorStatus)
		if p.PulseAmplitudeIndex != nil {
			e.sfloat(*p.PulseAmplitudeIndex)
		}
	case m.Weight != nil:
		w := m.Weight
		e.u8(w.Flags)
		switch {
		case w.Unsuccessful:
			e.u16(wtUnsuccessful)
		case w.Flags&wtImperial != 0:
			e.u16(uint16(w.Weight.Mantissa))
		default:
			e.u16(uint16(w.Weight.Mantissa / 5))
		}
		if w.TimeStamp != nil {
			e.dt(*w.TimeStamp)
		}
		if w.UserID != nil {
			e.u8(*w.UserID)
		}
		if w.BMI != nil {
			e.u16(uint16(w.BMI.Mantissa))
			e.u16(uint16(w.Height.Mantissa))
		}
	case m.Clock != nil:
		c := m.Clock
		e.dt(c.Time)
		if c.DayOfWeek != nil {
			e.u8(c.DayOfWeek.Value)
			e.u8(*c.Fractions256)
			e.u8(*c.AdjustReason)
		}
	case m.WeightScaleFeature != nil:
		e.u32(m.WeightScaleFeature.Raw)
	default:
		return nil, fmt.Errorf("encode: measurement %s has no detail", m.Char)
	}
	return e.b, nil
}

func (e *enc) statuses(ms, ds *Status) {
	if ms != nil {
		e.u16(uint16(ms.Raw))
	}
	if ds != nil {
		e.u24(ds.Raw)
	}
}
