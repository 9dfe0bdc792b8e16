package vital

import (
	"math"
	"slices"
)

// Quantity names what a Reading measures. The strings are stored and
// exported; never rename one.
type Quantity string

// QuantitySpec is what every layer knows of a quantity: its canonical
// unit (every source unit is converted to it before a Reading is made, so
// rules and reports never compare values in different units), how the
// FHIR export codes it, and the default range reports judge it by. Each
// spec is declared once, in the file of the device kind that measures it
// (pulse, which several kinds measure, with the heart rate monitor).
type QuantitySpec struct {
	Quantity Quantity
	// Unit is the canonical unit as a UCUM code, as FHIR
	// Observation.valueQuantity.code needs it; UnitLabel is how it reads
	// to a person ("mmHg" for "mm[Hg]").
	Unit, UnitLabel string
	// LOINC codes the quantity in the FHIR export; a zero Code leaves it
	// uncoded (the quantity's name as text). LOINCFirst are codes written
	// before it, which FHIR profiles pair with it (SpO2 by pulse oximetry).
	LOINC      Coding
	LOINCFirst []Coding
	// VitalSign puts its Observations in FHIR's vital-signs category (else
	// laboratory).
	VitalSign bool
	// Band is the default reference range reports count abnormal values
	// by, shade on charts and interpret FHIR values against; nil when the
	// quantity has none.
	Band *Band
	// Plausible are the physiological limits, in Unit: a value outside
	// them is not a measurement of a living patient but a device, strip or
	// encoding fault, and the quality step flags it implausible. Each
	// kind file gives its limits' sources; docs/vitals.md lists them.
	Plausible Band
	// Below names the quantity this one must be below when both are in
	// one measurement (a diastolic below its systolic); "" for none.
	Below Quantity
	// Units are the units a device may report the quantity in, as a
	// Reading's Original writes them after the number: the units its
	// Bluetooth profile allows and those people write (the simulator's
	// decoded values). A reading in any other is flagged implausible.
	Units []string
}

// AllowsUnit reports whether a device may report the quantity in unit.
func (s QuantitySpec) AllowsUnit(unit string) bool {
	return unit == s.Unit || slices.Contains(s.Units, unit)
}

// Coding is a code of a code system with its display text.
type Coding struct{ Code, Display string }

// Band is a reference range: values outside [Low, High] count as
// abnormal. It is a display range, not a rule: alerts are the vitals
// rules' business.
type Band struct{ Low, High float64 }

// Abnormal reports whether v is outside the band.
func (b Band) Abnormal(v float64) bool { return v < b.Low || v > b.High }

// Contains reports whether v is within the band, ends included.
func (b Band) Contains(v float64) bool { return v >= b.Low && v <= b.High }

// below is an open lower end, for a band that is only bounded above.
var below = math.Inf(-1)

// Spec returns the quantity's spec; ok is false for a quantity no kind
// declares.
func (q Quantity) Spec() (s QuantitySpec, ok bool) {
	p, ok := quantityIndex[q]
	if !ok {
		return QuantitySpec{}, false
	}
	return *p, true
}

// Unit returns the quantity's canonical UCUM unit, or "" for an unknown
// quantity.
func (q Quantity) Unit() string {
	if p, ok := quantityIndex[q]; ok {
		return p.Unit
	}
	return ""
}

// Quantities lists every quantity, in the order reports list them.
func Quantities() []Quantity {
	out := make([]Quantity, len(quantities))
	for i, s := range quantities {
		out[i] = s.Quantity
	}
	return out
}

var quantityIndex = func() map[Quantity]*QuantitySpec {
	m := map[Quantity]*QuantitySpec{}
	for _, s := range quantities {
		m[s.Quantity] = s
	}
	return m
}()

// UnitLabel returns how the UCUM unit reads to a person ("mmHg" for
// "mm[Hg]"), or "" for a unit no quantity has.
func UnitLabel(ucum string) string {
	for _, s := range quantities {
		if s.Unit == ucum {
			return s.UnitLabel
		}
	}
	return ""
}
