package gatt

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/pillbox/pillbox/hw/vital"
)

// writtenUnits are the units a person may write a value of a quantity in
// (the simulator's reading route takes them), beside the canonical one,
// with the decoders' conversion of each.
var writtenUnits = map[vital.Quantity]map[string]conv{
	vital.Systolic:     {"mmHg": identity},
	vital.Diastolic:    {"mmHg": identity},
	vital.MeanArterial: {"mmHg": identity},
	vital.Pulse:        {"bpm": identity, "beats/min": identity},
	vital.Glucose:      {"mmol/L": mmolLToMgDL},
	vital.Temperature:  {"°C": identity, "C": identity, "°F": degFToCel, "F": degFToCel, "[degF]": degFToCel},
	vital.Weight:       {"lb": lbToKg, "[lb_av]": lbToKg},
}

// mmolLToMgDL is molLToMgDL from millimoles.
var mmolLToMgDL = conv{factor: molLToMgDL.factor}

// Errors of ToCanonical.
var (
	ErrUnknownUnit = errors.New("gatt: not a unit of this quantity")
	ErrOutOfRange  = errors.New("gatt: value out of range")
)

// ToCanonical converts v, a value of q written in unit, to q's canonical
// unit (vital.Quantity.Unit), by the decoders' conversion and rounding: v's
// resolution is that of its shortest decimal form (to 9 significant
// digits, as much as a device reports), and the result keeps as many
// digits as that resolution has in the new unit. The canonical unit itself
// returns v unchanged.
func ToCanonical(q vital.Quantity, unit string, v float64) (float64, error) {
	if unit == q.Unit() {
		return v, nil
	}
	c, ok := writtenUnits[q][unit]
	if !ok {
		return 0, ErrUnknownUnit
	}
	f, err := decimal(v)
	if err != nil {
		return 0, err
	}
	out := c.apply(f)
	if math.IsInf(out, 0) || math.IsNaN(out) {
		return 0, ErrOutOfRange
	}
	return out, nil
}

// decimal is v as a Float with the digits of its shortest decimal form,
// at most 9 of them (more than any device reports; they fit the mantissa).
func decimal(v float64) (Float, error) {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return Float{}, ErrOutOfRange
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(math.Abs(v), 'e', -1, 64), "e") // "1.2345", "+02"
	digits := strings.Replace(mant, ".", "", 1)
	if len(digits) > 9 {
		mant, exp, _ = strings.Cut(strconv.FormatFloat(math.Abs(v), 'e', 8, 64), "e")
		digits = strings.TrimRight(strings.Replace(mant, ".", "", 1), "0")
	}
	e, err := strconv.Atoi(exp)
	if err != nil {
		return Float{}, ErrOutOfRange
	}
	e -= len(digits) - 1
	m, err := strconv.ParseInt(digits, 10, 32)
	if err != nil || e < math.MinInt8 || e > math.MaxInt8 {
		return Float{}, ErrOutOfRange
	}
	if v < 0 {
		m = -m
	}
	return Dec(int32(m), int8(e)), nil
}
