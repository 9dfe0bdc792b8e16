package vitals

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
)

func TestAlertDetailRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)
	tests := []struct {
		a      Alert
		detail string
	}{
		{Alert{Rule: RuleGlucoseLow, Key: alertKey(RuleGlucoseLow, "", at), Priority: High, Text: "Very low blood sugar (level 2 hypoglycaemia)."},
			"priority=high key=glucose_low:ttb9fg0 text=Very low blood sugar (level 2 hypoglycaemia)."},
		{Alert{Rule: RuleGlucoseLow, Key: "glucose_low:ttb9fg0", Cleared: true, Reason: "normal"},
			"key=glucose_low:ttb9fg0 reason=normal"},
		{Alert{Rule: RuleDeviceSilent, Key: alertKey(RuleDeviceSilent, "A4:C1:38:12:34:56", at), Device: "A4:C1:38:12:34:56",
			Priority: Low, Text: `The "bathroom" scale = odd \ name.`},
			`priority=low key=device_silent:a4c138123456:ttb9fg0 text=The "bathroom" scale = odd \ name.`},
	}
	for _, tt := range tests {
		ev := tt.a.Event(at)
		if ev.Detail != tt.detail {
			t.Errorf("Detail() = %s\nwant        %s", ev.Detail, tt.detail)
		}
		got, err := ParseAlert(ev)
		if err != nil {
			t.Fatalf("ParseAlert(%q): %v", ev.Detail, err)
		}
		if !reflect.DeepEqual(got, tt.a) {
			t.Errorf("ParseAlert(Event(%+v)) = %+v", tt.a, got)
		}
		if len(got.Key) > 40 {
			t.Errorf("key %q is longer than the notifier's 40", got.Key)
		}
	}
	if q := (Alert{Rule: RuleGlucoseHigh}).Quantity(); q != vital.Glucose {
		t.Errorf("Quantity of glucose_high = %q, want glucose", q)
	}
}

func TestDetailFallsBackToAPlainText(t *testing.T) {
	a := Alert{Rule: RuleDeviceSilent, Key: "device_silent:a:t1", Priority: Low, Text: "The \x00 scale."}
	got, err := ParseAlert(a.Event(time.Time{}))
	if err != nil || got.Text != "A vital sign needs attention." || got.Priority != Low {
		t.Errorf("an alert with a control character in its text parsed back as %+v, %v; want the plain text, low", got, err)
	}
}

func TestParseAlertRejects(t *testing.T) {
	tests := []struct {
		kind   dispenser.Kind
		detail string
		want   string
	}{
		{dispenser.KindMissed, "key=x reason=normal", "is a missed"},
		{KindVitalAlert, "key=x priority=high text=a", "priority= first"},
		{KindVitalAlert, "priority=urgent key=x text=a", "priority"},
		{KindVitalAlert, "priority=low text=a", "key= after"},
		{KindVitalAlert, "priority=low key=Bad text=a", "key must be"},
		{KindVitalAlert, "priority=low key=x text= ", "text"},
		{KindVitalAlert, "priority=low key=x text=a\x01b", "control"},
		{KindVitalAlert, "priority=low key=x text=" + strings.Repeat("a", 201), "200"},
		{KindVitalAlertCleared, "reason=normal key=x", "key= first"},
		{KindVitalAlertCleared, "key=x", "reason="},
		{KindVitalAlertCleared, "key=x reason=two words", "reason="},
	}
	for _, tt := range tests {
		_, err := ParseAlert(dispenser.Event{Kind: tt.kind, Detail: tt.detail})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseAlert(%s %q) error = %v, want one containing %q", tt.kind, tt.detail, err, tt.want)
		}
	}
}

// FuzzParseAlert: alert events come back from the log at every start (and
// a clinic sync or an older version may have written them); reading one
// must never panic, and what parses must survive a round trip.
func FuzzParseAlert(f *testing.F) {
	f.Add(true, "priority=high key=glucose_low:ttb9fg0 text=Very low blood sugar.")
	f.Add(false, "key=device_silent:a4c138123456:ttb9fg0 reason=resumed")
	f.Fuzz(func(t *testing.T, raise bool, detail string) {
		kind := KindVitalAlertCleared
		if raise {
			kind = KindVitalAlert
		}
		a, err := ParseAlert(dispenser.Event{Kind: kind, Detail: detail})
		if err != nil {
			return
		}
		back, err := ParseAlert(a.Event(time.Time{}))
		if err != nil {
			t.Fatalf("ParseAlert(Event(%+v)): %v", a, err)
		}
		if !reflect.DeepEqual(back, a) {
			t.Errorf("round trip = %+v, want %+v", back, a)
		}
	})
}
