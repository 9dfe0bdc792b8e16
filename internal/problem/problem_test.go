package problem

import (
	"strings"
	"testing"
)

func TestJoinAndIndex(t *testing.T) {
	tests := []struct {
		parts []string
		want  string
	}{
		{[]string{"board", "button", "pin"}, "board.button.pin"},
		{[]string{"compartments", "[1]", "motor"}, "compartments[1].motor"},
		{[]string{"", "vitals", "", "devices"}, "vitals.devices"},
		{[]string{Index("regimens", 2), "cron"}, "regimens[2].cron"},
		{nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := Join(tt.parts...); got != tt.want {
				t.Errorf("Join(%q) = %q, want %q", tt.parts, got, tt.want)
			}
		})
	}
}

func TestListMergeAndError(t *testing.T) {
	var sub List
	sub.Add("devices[0].kind", "use one of scale, glucose", "unknown device kind %q", "scales")
	sub.Add("", "", "empty section")
	var l List
	if l.Err() != nil {
		t.Fatalf("empty List.Err() = %v, want nil", l.Err())
	}
	l.Merge("vitals", sub)
	l[0].Line = 12
	want := []string{
		`line 12: vitals.devices[0].kind: unknown device kind "scales" (fix: use one of scale, glucose)`,
		`vitals: empty section`,
	}
	if got := l.Err().Error(); got != strings.Join(want, "\n") {
		t.Errorf("List.Error() = %q, want %q", got, strings.Join(want, "\n"))
	}
}

// A problem about another value says that value's line where its message
// names it, before and after Merge makes the paths absolute.
func TestOtherLine(t *testing.T) {
	tests := []struct {
		name string
		p    Problem
		want string
	}{
		{"named in the message",
			Problem{Path: "board.buzzer.pin", Other: "board.button.pin", OtherLine: 16, Line: 22, Msg: "GPIO17 is already used by board.button.pin", Fix: "move it"},
			"line 22: board.buzzer.pin: GPIO17 is already used by board.button.pin (line 16) (fix: move it)"},
		{"not named in the message",
			Problem{Path: "a", Other: "b", OtherLine: 3, Msg: "clashes"},
			"a: clashes (line 3)"},
		{"line unknown",
			Problem{Path: "a", Other: "b", Msg: "clashes with b"},
			"a: clashes with b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
	var sub, l List
	sub.AddOther("devices[1].address", "devices[0]", "give each device once", "the address of devices[0] again")
	l.Merge("vitals", sub)
	if l[0].Other != "vitals.devices[0]" {
		t.Fatalf("Merge: Other = %q, want %q", l[0].Other, "vitals.devices[0]")
	}
	l[0].OtherLine = 40
	if got, want := l[0].String(), "vitals.devices[1].address: the address of devices[0] (line 40) again (fix: give each device once)"; got != want {
		t.Errorf("merged String() = %q, want %q", got, want)
	}
}
