package vital

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// loincCheckDigit computes the Mod 10 check digit LOINC codes end with
// (LOINC Users' Guide, appendix: the digits from the right, every other
// one doubled, the digits of the results summed).
func loincCheckDigit(num string) int {
	sum := 0
	double := true
	for i := len(num) - 1; i >= 0; i-- {
		d := int(num[i] - '0')
		if double {
			d *= 2
			d = d/10 + d%10
		}
		sum += d
		double = !double
	}
	return (10 - sum%10) % 10
}

func TestLOINCCheckDigit(t *testing.T) {
	for _, tc := range []struct {
		code string
		want bool
	}{{"8480-6", true}, {"29463-7", true}, {"85354-9", true}, {"8480-5", false}, {"2339-1", false}} {
		num, check, _ := strings.Cut(tc.code, "-")
		if got := strconv.Itoa(loincCheckDigit(num)) == check; got != tc.want {
			t.Errorf("check digit of %s valid = %v, want %v", tc.code, got, tc.want)
		}
	}
}

var (
	loincForm = regexp.MustCompile(`^([0-9]{1,7})-([0-9])$`)
	kindName  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// TestQuantitySpecs holds every declared quantity to the rules the
// readers of the registry rely on.
func TestQuantitySpecs(t *testing.T) {
	labelOf := map[string]string{}
	seen := map[Quantity]bool{}
	for _, s := range quantities {
		t.Run(string(s.Quantity), func(t *testing.T) {
			if seen[s.Quantity] {
				t.Errorf("quantity %s is declared twice", s.Quantity)
			}
			seen[s.Quantity] = true
			if !kindName.MatchString(string(s.Quantity)) {
				t.Errorf("quantity %q is not snake_case (it is stored and exported)", s.Quantity)
			}
			if s.Unit == "" || s.UnitLabel == "" {
				t.Errorf("quantity %s: unit %q, label %q; want both", s.Quantity, s.Unit, s.UnitLabel)
			}
			if l, ok := labelOf[s.Unit]; ok && l != s.UnitLabel {
				t.Errorf("unit %s reads %q for %s but %q elsewhere", s.Unit, s.UnitLabel, s.Quantity, l)
			}
			labelOf[s.Unit] = s.UnitLabel
			if got := UnitLabel(s.Unit); got != s.UnitLabel {
				t.Errorf("UnitLabel(%q) = %q, want %q", s.Unit, got, s.UnitLabel)
			}
			for _, c := range append([]Coding{s.LOINC}, s.LOINCFirst...) {
				if c == (Coding{}) && s.LOINCFirst == nil {
					continue // uncoded
				}
				m := loincForm.FindStringSubmatch(c.Code)
				if m == nil || c.Display == "" {
					t.Errorf("quantity %s: LOINC %+v is not a code with a display", s.Quantity, c)
					continue
				}
				if want := strconv.Itoa(loincCheckDigit(m[1])); m[2] != want {
					t.Errorf("quantity %s: LOINC %s has check digit %s, want %s", s.Quantity, c.Code, m[2], want)
				}
			}
			if b := s.Band; b != nil && !(b.Low < b.High) {
				t.Errorf("quantity %s: band %v is empty", s.Quantity, *b)
			}
			// A reference band is a range of living patients' values, so it
			// lies within the plausible limits (an open end aside).
			if p := s.Plausible; !(p.Low < p.High) || math.IsInf(p.Low, 0) || math.IsInf(p.High, 0) {
				t.Errorf("quantity %s: plausible limits %v are not a closed range", s.Quantity, p)
			} else if b := s.Band; b != nil && (b.Low < p.Low && !math.IsInf(b.Low, -1) || b.High > p.High) {
				t.Errorf("quantity %s: band %v reaches outside the plausible limits %v", s.Quantity, *b, p)
			}
			if s.Below != "" {
				if _, ok := s.Below.Spec(); !ok || s.Below == s.Quantity || s.Below.Unit() != s.Unit {
					t.Errorf("quantity %s: below %q is not another quantity in the same unit", s.Quantity, s.Below)
				}
			}
			if !s.AllowsUnit(s.Unit) || slices.Contains(s.Units, "") {
				t.Errorf("quantity %s: units %q; want the canonical %q allowed and no empty unit", s.Quantity, s.Units, s.Unit)
			}
			if got := s.Quantity.Unit(); got != s.Unit {
				t.Errorf("%s.Unit() = %q, want %q", s.Quantity, got, s.Unit)
			}
			measured := false
			for _, k := range kinds {
				measured = measured || slices.Contains(k.Measures, s.Quantity)
			}
			if !measured {
				t.Errorf("quantity %s: no kind measures it", s.Quantity)
			}
		})
	}
	// Reports list the quantities in this order; new ones follow.
	first := []Quantity{Systolic, Diastolic, MeanArterial, Pulse, SpO2, Temperature, Glucose, Weight, BMI, Height, HbA1c, RRInterval}
	if got := Quantities(); len(got) < len(first) || !slices.Equal(got[:len(first)], first) {
		t.Errorf("Quantities() = %v, want it to start %v", got, first)
	}
	if got := Quantity("peak_flow").Unit(); got != "" {
		t.Errorf(`Quantity("peak_flow").Unit() = %q, want ""`, got)
	}
}

// TestKindSpecs: names are unique config words, every measured quantity
// is declared, and the profile names a Bluetooth SIG service.
func TestKindSpecs(t *testing.T) {
	names := map[string]bool{}
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			if names[k.Name] || !kindName.MatchString(k.Name) {
				t.Errorf("kind name %q is repeated or not snake_case", k.Name)
			}
			names[k.Name] = true
			if k.Noun == "" || k.Title == "" || k.Noun != strings.ToLower(k.Noun) {
				t.Errorf("kind %s: noun %q, title %q; want a lower-case noun and a title", k.Name, k.Noun, k.Title)
			}
			if len(k.Measures) == 0 {
				t.Errorf("kind %s measures nothing", k.Name)
			}
			for _, q := range k.Measures {
				if _, ok := q.Spec(); !ok {
					t.Errorf("kind %s measures %s, which no file declares", k.Name, q)
				}
			}
			// Bluetooth SIG GATT services are 0x18xx.
			if p := k.Profile; p.Service>>8 != 0x18 || p.Name == "" || len(p.Chars) == 0 {
				t.Errorf("kind %s: profile %+v is not a SIG health service", k.Name, p)
			}
			if got, ok := KindNamed(k.Name); !ok || got.Title != k.Title {
				t.Errorf("KindNamed(%q) = %+v, %v", k.Name, got, ok)
			}
		})
	}
	// The config's messages list the kinds in this order; new ones follow.
	first := []string{"blood_pressure", "glucose", "thermometer", "pulse_oximeter", "scale", "heart_rate"}
	if got := KindNames(); len(got) < len(first) || !slices.Equal(got[:len(first)], first) {
		t.Errorf("KindNames() = %v, want it to start %v", got, first)
	}
	if _, ok := KindNamed("spirometer"); ok {
		t.Error(`KindNamed("spirometer") found a kind`)
	}
}
