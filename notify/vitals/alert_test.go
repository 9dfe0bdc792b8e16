package vitals

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

func TestAlertDetailRoundTrip(t *testing.T) {
	tests := []Alert{
		{Rule: RuleGlucoseLow, Key: "vital:glucose_low:1764142200", Priority: High, Level: 2, Quantity: dispenser.Glucose,
			Device: "AA:BB:CC:DD:EE:FF", Reading: 42, Text: "very low blood sugar (level 2 hypoglycaemia)"},
		{Rule: RuleGlucoseLow, Key: "vital:glucose_low:1764142200", Cleared: true, Reason: "normal", Quantity: dispenser.Glucose},
		{Rule: RuleDeviceSilent, Key: "vital:device_silent:AA:1", Priority: Low, Level: 1, Device: "AA", Text: `the "bathroom" scale = odd \ name`},
	}
	for _, a := range tests {
		ev := a.Event(time.Unix(0, 0))
		got, err := ParseAlert(ev)
		if err != nil {
			t.Fatalf("ParseAlert(%q): %v", ev.Detail, err)
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("ParseAlert(Event(%+v)) = %+v", a, got)
		}
	}
	want := `rule=glucose_low key=vital:glucose_low:1764142200 priority=high level=2 quantity=glucose device=AA:BB:CC:DD:EE:FF reading=42 text="very low blood sugar (level 2 hypoglycaemia)"`
	if got := tests[0].Detail(); got != want {
		t.Errorf("Detail() = %s\nwant        %s", got, want)
	}
}

func TestParseAlertRejects(t *testing.T) {
	tests := []struct {
		kind   dispenser.Kind
		detail string
		want   string
	}{
		{dispenser.KindMissed, "rule=x key=y", "is a missed"},
		{KindVitalAlert, "rule=x key=y priority=urgent level=1", "priority"},
		{KindVitalAlert, "rule=x key=y priority=low level=0", "level"},
		{KindVitalAlert, "key=y priority=low level=1", "no rule"},
		{KindVitalAlert, "rule=x key=y priority=low level=1 reading=abc", "reading"},
		{KindVitalAlert, `rule=x text="open`, "quoting"},
		{KindVitalAlert, `rule=x rule=y`, "twice"},
		{KindVitalAlert, `just words`, "key=value"},
		{KindVitalAlert, `text="a"b`, "after the closing quote"},
	}
	for _, tt := range tests {
		_, err := ParseAlert(dispenser.Event{Kind: tt.kind, Detail: tt.detail})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseAlert(%s %q) error = %v, want one containing %q", tt.kind, tt.detail, err, tt.want)
		}
	}
}

// FuzzParseDetail: details come from the log, which a clinic sync or an
// older version may have written; reading one must never panic, and what
// parses must survive a round trip.
func FuzzParseDetail(f *testing.F) {
	f.Add(`rule=glucose_low key=k priority=high level=2 text="a b"`)
	f.Add(`a="\u00e9\n" b=`)
	f.Fuzz(func(t *testing.T, s string) {
		fields, err := ParseDetail(s)
		if err != nil {
			return
		}
		a := Alert{Rule: fields["rule"], Key: fields["key"], Text: fields["text"], Device: fields["device"]}
		back, err := ParseDetail(a.Detail())
		if err != nil {
			t.Fatalf("ParseDetail(Detail(%+v)): %v", a, err)
		}
		for _, k := range []string{"rule", "key", "text", "device"} {
			if back[k] != fields[k] {
				t.Errorf("field %s = %q after a round trip, want %q", k, back[k], fields[k])
			}
		}
	})
}
