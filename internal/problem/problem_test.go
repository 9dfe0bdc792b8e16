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
