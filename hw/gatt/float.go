package gatt

import (
	"math"
	"strconv"
	"strings"
)

// Special is an IEEE 11073-20601 special value of a FLOAT or SFLOAT: a
// field that holds no number.
type Special uint8

const (
	Number   Special = iota // an ordinary number
	NaN                     // not a number: the device has no valid value
	NRes                    // not at this resolution: the value does not fit the encoding
	PosInf                  // +INFINITY
	NegInf                  // -INFINITY
	Reserved                // reserved for future use by IEEE 11073
)

func (s Special) String() string {
	switch s {
	case Number:
		return "number"
	case NaN:
		return "NaN (not a number)"
	case NRes:
		return "NRes (not at this resolution)"
	case PosInf:
		return "+INFINITY"
	case NegInf:
		return "-INFINITY"
	case Reserved:
		return "reserved value"
	}
	return "special?"
}

// short is the spelling used where a number would be printed.
func (s Special) short() string {
	switch s {
	case NaN:
		return "NaN"
	case NRes:
		return "NRes"
	case PosInf:
		return "+INF"
	case NegInf:
		return "-INF"
	}
	return "reserved"
}

// Float is a decimal value as a device reported it: Mantissa × 10^Exponent,
// or a special value. Keeping the decimal form keeps the device's precision:
// 120.5 stays 1205e-1 and prints as "120.5", and 2.00 is not the same
// reading as 2.
type Float struct {
	Mantissa int32
	Exponent int8
	// Special is Number for an ordinary value; otherwise Mantissa and
	// Exponent are zero and the field holds no number.
	Special Special
}

// Special values are defined with exponent 0 (IEEE 11073-20601 F.8): the
// same mantissa with another exponent is an ordinary number.
const (
	sfloatNaN      = 0x07FF
	sfloatNRes     = 0x0800
	sfloatPosInf   = 0x07FE
	sfloatNegInf   = 0x0802
	sfloatReserved = 0x0801

	floatNaN      = 0x007FFFFF
	floatNRes     = 0x00800000
	floatPosInf   = 0x007FFFFE
	floatNegInf   = 0x00800002
	floatReserved = 0x00800001
)

// SFLOAT decodes a 16-bit IEEE 11073 SFLOAT: a 4-bit exponent over a 12-bit
// mantissa, both two's complement.
func SFLOAT(raw uint16) Float {
	switch raw {
	case sfloatNaN:
		return Float{Special: NaN}
	case sfloatNRes:
		return Float{Special: NRes}
	case sfloatPosInf:
		return Float{Special: PosInf}
	case sfloatNegInf:
		return Float{Special: NegInf}
	case sfloatReserved:
		return Float{Special: Reserved}
	}
	m := int32(raw&0x0FFF) << 20 >> 20 // sign-extend 12 bits
	e := int8(raw>>8) >> 4             // sign-extend the top 4 bits
	return Float{Mantissa: m, Exponent: e}
}

// FLOAT decodes a 32-bit IEEE 11073 FLOAT: an 8-bit exponent over a 24-bit
// mantissa, both two's complement.
func FLOAT(raw uint32) Float {
	switch raw {
	case floatNaN:
		return Float{Special: NaN}
	case floatNRes:
		return Float{Special: NRes}
	case floatPosInf:
		return Float{Special: PosInf}
	case floatNegInf:
		return Float{Special: NegInf}
	case floatReserved:
		return Float{Special: Reserved}
	}
	m := int32(raw<<8) >> 8 // sign-extend 24 bits
	e := int8(raw >> 24)
	return Float{Mantissa: m, Exponent: e}
}

// Dec returns the number m × 10^e.
func Dec(m int32, e int8) Float { return Float{Mantissa: m, Exponent: e} }

// IsNumber reports whether f holds a number rather than a special value.
func (f Float) IsNumber() bool { return f.Special == Number }

// Float64 returns the value as the nearest float64. A special value returns
// NaN (never an infinity, so no threshold comparison can succeed on it);
// check IsNumber first.
func (f Float) Float64() float64 {
	if f.Special != Number {
		return math.NaN()
	}
	// Powers of ten up to 1e22 are exact in float64, so one division or
	// multiplication rounds correctly; beyond that let strconv do it.
	switch e := int(f.Exponent); {
	case e >= 0 && e <= 22:
		return float64(f.Mantissa) * math.Pow10(e)
	case e < 0 && e >= -22:
		return float64(f.Mantissa) / math.Pow10(-e)
	}
	v, _ := strconv.ParseFloat(strconv.Itoa(int(f.Mantissa))+"e"+strconv.Itoa(int(f.Exponent)), 64)
	return v
}

// String prints the value with exactly the digits the device reported
// ("120.5", "0.050", "1200"), or the special value's short name ("NaN",
// "NRes", "+INF", "-INF", "reserved").
func (f Float) String() string {
	if f.Special != Number {
		return f.Special.short()
	}
	m := int64(f.Mantissa)
	neg := m < 0
	if neg {
		m = -m
	}
	digits := strconv.FormatInt(m, 10)
	e := int(f.Exponent)
	var s string
	switch {
	case m == 0 && e > 0:
		s = "0" // zero thousands is zero, not "0000"
	case e >= 0:
		s = digits + strings.Repeat("0", e)
	case -e < len(digits):
		s = digits[:len(digits)+e] + "." + digits[len(digits)+e:]
	default:
		s = "0." + strings.Repeat("0", -e-len(digits)) + digits
	}
	if neg {
		s = "-" + s
	}
	return s
}

// MarshalJSON writes a number as a JSON number with the reported digits
// (120.50 stays 120.50) and a special value as a JSON string ("NaN").
func (f Float) MarshalJSON() ([]byte, error) {
	if f.Special != Number {
		return []byte(strconv.Quote(f.Special.short())), nil
	}
	return []byte(f.String()), nil
}

// scaled returns f × 10^k in decimal, exactly; used for unit changes by a
// power of ten so they add no float rounding.
func (f Float) scaled(k int) Float {
	if f.Special != Number {
		return f
	}
	e := int(f.Exponent) + k
	if e < math.MinInt8 || e > math.MaxInt8 {
		return Float{Special: NRes}
	}
	return Float{Mantissa: f.Mantissa, Exponent: int8(e)}
}

// roundTo rounds f to the nearest multiple of step (half away from zero)
// and writes it with step's digits: 70.015 to 0.1 is 70.0. A step finer
// than f's own digits, or a special value, leaves f as it is.
func (f Float) roundTo(step Float) Float {
	if !f.IsNumber() || !step.IsNumber() || step.Mantissa <= 0 || step.Exponent < f.Exponent {
		return f
	}
	shift := int(step.Exponent) - int(f.Exponent)
	if shift > 9 { // the step dwarfs the value's digits; nothing to round to
		return f
	}
	unit := int64(step.Mantissa) * int64(math.Pow10(shift)) // step in f's digits
	m := int64(f.Mantissa)
	q := (abs64(m) + unit/2) / unit * unit
	if m < 0 {
		q = -q
	}
	return Float{Mantissa: int32(q / int64(math.Pow10(shift))), Exponent: step.Exponent}
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
