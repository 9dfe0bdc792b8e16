package hw

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// exampleBoard is a board with a servo driver whose own pins leave the
// motors' example pins free.
func exampleBoard() BoardConfig {
	return BoardConfig{
		ServoDriver: &ServoDriverConfig{Address: 0x40},
		Button:      InputConfig{Pin: "GPIO17", ActiveLow: true},
		Drop:        InputConfig{Pin: "GPIO27"},
	}
}

// TestMotorKinds holds every declared kind to what its readers rely on:
// its example validates, its defaults fill what they promise to, and the
// pins Check claims are exactly the pins Pins lists for the drivers, the
// simulator and the pin map.
func TestMotorKinds(t *testing.T) {
	names := map[string]bool{}
	for _, k := range MotorKinds() {
		t.Run(k.Name, func(t *testing.T) {
			if names[k.Name] || k.Name != strings.ToLower(k.Name) || k.Hint == "" {
				t.Errorf("kind %q: repeated, not lower case, or without a hint", k.Name)
			}
			names[k.Name] = true
			if k.Check == nil || k.Pins == nil || k.Drive < DriveHalfStep || k.Drive > DriveServo {
				t.Fatalf("kind %s: Check, Pins or Drive missing", k.Name)
			}
			m := k.Example
			if m.Kind != k.Name {
				t.Fatalf("kind %s: example is of kind %q", k.Name, m.Kind)
			}
			if probs := ValidateBoard(exampleBoard(), []CompartmentConfig{{ID: 1, Capacity: 10, Motor: m}}); len(probs) > 0 {
				t.Errorf("ValidateBoard(example of %s) = %v, want no problems", k.Name, probs)
			}
			d := m.Defaulted()
			if k.Drive != DriveServo && d.StepDelay <= 0 {
				t.Errorf("kind %s: defaulted step_delay %s, want a positive default", k.Name, d.StepDelay)
			}
			if k.Drive == DriveServo && (d.MinPulse <= 0 || d.MaxPulse <= d.MinPulse) {
				t.Errorf("kind %s: defaulted pulses %s..%s", k.Name, d.MinPulse, d.MaxPulse)
			}

			v := &boardValidator{used: map[string]string{}}
			k.Check(d, &MotorCheck{v: v, path: "m", channels: map[int]int{}, servoDriver: true})
			claimed := slices.Sorted(maps.Keys(v.used))
			var listed []string
			for _, p := range k.Pins(d) {
				if p.Label == "" {
					t.Errorf("kind %s: pin %s has no label", k.Name, p.Pin)
				}
				listed = append(listed, p.Pin)
			}
			slices.Sort(listed)
			if !slices.Equal(claimed, listed) {
				t.Errorf("kind %s: Check claims pins %v, Pins lists %v", k.Name, claimed, listed)
			}
		})
	}
	if _, ok := MotorKindNamed("l298n"); ok {
		t.Error(`MotorKindNamed("l298n") found a kind`)
	}
}

// TestMotorKindMessages: a missing or unknown kind is told with every
// kind the file may name, in order, the last after "or" (with what
// installers know each as, for an unknown one).
func TestMotorKindMessages(t *testing.T) {
	var names, hinted []string
	for _, k := range MotorKinds() {
		names = append(names, strconv.Quote(k.Name))
		hinted = append(hinted, strconv.Quote(k.Name)+" ("+k.Hint+")")
	}
	list := func(s []string) string {
		return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
	}
	tests := []struct {
		kind, want string
	}{
		{"", "no motor kind (fix: set kind to " + list(names) + ")"},
		{"uln2004", `unknown motor kind "uln2004" (fix: use ` + list(hinted) + ")"},
	}
	if got := tests[1].want; !strings.Contains(got, `"uln2003" (28BYJ-48 on a ULN2003 board), "stepdir" (A4988 or DRV8825)`) {
		t.Fatalf("want %s to name the first two kinds as before", got)
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			probs := ValidateBoard(exampleBoard(), []CompartmentConfig{{ID: 1, Capacity: 10, Motor: MotorConfig{Kind: tt.kind}}})
			want := "compartments[0].motor.kind: " + tt.want
			if len(probs) != 1 || probs[0].String() != want {
				t.Errorf("ValidateBoard(kind %q) = %v, want one problem %s", tt.kind, probs, want)
			}
		})
	}
}
