package gatt

import (
	"slices"
	"testing"

	"github.com/pillbox/pillbox/hw/vital"
)

// TestKindsDecode: every characteristic a device kind subscribes to is one
// this package decodes, and every reading its values flatten to, for every
// combination of their flags, is of a quantity the kind declares it
// measures. A kind added to hw/vital without its decoder, or a decoder
// that gives a kind's readings a quantity the kind does not list, fails
// here.
func TestKindsDecode(t *testing.T) {
	for _, k := range vital.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			if len(k.Profile.Chars) == 0 {
				t.Fatalf("kind %s subscribes to no characteristic", k.Name)
			}
			for _, c := range k.Profile.Read {
				if UUID(c).Name() == "" {
					t.Errorf("kind %s reads %s on connection, which Decode does not know", k.Name, UUID(c))
				}
			}
			for _, c := range k.Profile.Chars {
				if UUID(c).Name() == "" {
					t.Errorf("kind %s reads %s, which Decode does not know", k.Name, UUID(c))
					continue
				}
				for _, fs := range flagSpaces {
					if fs.char != UUID(c) {
						continue
					}
					for _, flags := range subsets(fs.defined) {
						p, err := encode(fs.build(flags))
						if err != nil {
							t.Fatal(err)
						}
						m, err := Decode(c, p)
						if err != nil {
							t.Fatalf("Decode(%s, % X): %v", UUID(c), p, err)
						}
						for _, r := range m.Readings() {
							if !slices.Contains(k.Measures, r.Quantity) {
								t.Errorf("kind %s: %s with flags %02X gives a %s reading; Measures = %v", k.Name, UUID(c), flags, r.Quantity, k.Measures)
							}
						}
					}
				}
			}
		})
	}
}
