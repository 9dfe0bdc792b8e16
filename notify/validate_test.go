package notify

import (
	"strings"
	"testing"
)

func TestValidateContacts(t *testing.T) {
	care := func(name, phone string) Contact { return Contact{Name: name, Phone: phone, Role: "caregiver"} }
	// want is one expected problem: its path, and words its message and fix contain.
	type want struct{ path, msg, fix string }
	tests := []struct {
		name string
		cs   []Contact
		want []want
	}{
		{"valid", []Contact{
			{Name: "Margaret", Phone: "+15555550100", Role: "patient"},
			care("Ana", "+15555550101"), care("Ben", "+447700900123"),
		}, nil},
		{"none", nil, []want{{"", "no caregiver", "role: caregiver"}}},
		{"heads-up caregiver", []Contact{{Name: "Ana", Phone: "+15555550101", Role: "caregiver", HeadsUp: true}}, nil},
		{"heads-up patient", []Contact{{Name: "M", Phone: "+15555550100", Role: "patient", HeadsUp: true}, care("Ana", "+15555550101")},
			[]want{{"[0].heads_up", "for caregivers", "remove it"}}},
		{"only the patient", []Contact{{Name: "M", Phone: "+15555550100", Role: "patient"}},
			[]want{{"", "no caregiver", "role: caregiver"}}},
		{"us format", []Contact{care("Ana", "(555) 555-0102")},
			[]want{{"[0].phone", "not in E.164", `phone: "+15555550102"`}}},
		{"spaces after plus", []Contact{care("Ana", "+44 7700 900123")},
			[]want{{"[0].phone", "not in E.164", `"+447700900123"`}}},
		{"00 prefix", []Contact{care("Ana", "0044 7700 900123")},
			[]want{{"[0].phone", "not in E.164", `"+447700900123"`}}},
		{"us with leading 1", []Contact{care("Ana", "1-555-555-0102")},
			[]want{{"[0].phone", "not in E.164", `"+15555550102"`}}},
		{"too short", []Contact{care("Ana", "+1234567")},
			[]want{{"[0].phone", "not in E.164", "country code"}}},
		{"too long", []Contact{care("Ana", "+1234567890123456")},
			[]want{{"[0].phone", "not in E.164", "country code"}}},
		{"leading zero country", []Contact{care("Ana", "+0555550102")},
			[]want{{"[0].phone", "not in E.164", "country code"}}},
		{"letters", []Contact{care("Ana", "555-CALL-ANA")},
			[]want{{"[0].phone", "not in E.164", "country code"}}},
		{"local number", []Contact{care("Ana", "555-0102")},
			[]want{{"[0].phone", "not in E.164", "country code"}}},
		{"no phone", []Contact{care("Ana", "")},
			[]want{{"[0]", "no phone", "E.164"}}},
		{"duplicate", []Contact{care("Ana", "+15555550101"), care("Ben", "+15555550101")},
			[]want{{"[1].phone", "same phone number as contacts[0]", "duplicate"}}},
		{"duplicate after fix", []Contact{care("Ana", "+15555550101"), care("Ben", "(555) 555-0101")},
			[]want{{"[1].phone", "E.164", ""}, {"[1].phone", "same phone number as contacts[0]", ""}}},
		{"capitalised role", []Contact{care("Ana", "+15555550101"), {Name: "M", Phone: "+15555550100", Role: "Patient"}},
			[]want{{"[1].role", "lowercase", "role: patient"}}},
		{"unknown role", []Contact{care("Ana", "+15555550101"), {Name: "B", Phone: "+15555550100", Role: "nurse"}},
			[]want{{"[1].role", `unknown role "nurse"`, "role: caregiver"}}},
		{"no role", []Contact{care("Ana", "+15555550101"), {Name: "B", Phone: "+15555550100"}},
			[]want{{"[1]", "no role", "role: caregiver"}}},
		{"no name", []Contact{care("", "+15555550101")},
			[]want{{"[0]", "no name", "name:"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ValidateContacts(tt.cs)
			if len(got) != len(tt.want) {
				t.Fatalf("ValidateContacts = %d problems, want %d:\n%v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				p := got[i]
				if p.Path != w.path || !strings.Contains(p.Msg, w.msg) || !strings.Contains(p.Fix, w.fix) {
					t.Errorf("problem %d = %q (path %q), want path %q, msg containing %q, fix containing %q",
						i, p.String(), p.Path, w.path, w.msg, w.fix)
				}
				if strings.Contains(p.Msg, "555") {
					t.Errorf("problem %d message %q repeats the phone number", i, p.Msg)
				}
			}
		})
	}
}

func TestIsE164(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"+15555550123", true},
		{"+12345678", true},
		{"+123456789012345", true},
		{"+1234567", false},
		{"+1234567890123456", false},
		{"+05555550123", false},
		{"15555550123", false},
		{"+1 555 555 0123", false},
		{"+", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsE164(tt.in); got != tt.want {
			t.Errorf("IsE164(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
