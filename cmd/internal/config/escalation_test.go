package config

import (
	"fmt"
	"strings"
	"testing"
)

// The escalation section's problems point at their lines, like every
// other section's.
func TestEscalationProblemsHaveLines(t *testing.T) {
	tests := []struct {
		name  string
		edits []edit
		want  []at
	}{
		{"caregiver that does not exist",
			[]edit{{"to: caregiver2", "to: caregiver3"}},
			[]at{{"to: caregiver3", "escalation.ladder[2].to: caregiver3 is the caregiver number 3 in contacts:, and there is no such caregiver"}}},
		{"bare number as a duration",
			[]edit{{"after: 30m", "after: 30"}},
			[]at{{"after: 30", "expected a duration"}}},
		{"steps out of order",
			[]edit{{"after: 60m", "after: 10m"}},
			[]at{{"after: 10m", "escalation.ladder[2].after: step after 10m0s comes before the step above it"}}},
		{"quiet hours",
			[]edit{{`quiet_hours: "22:00-07:00"`, `quiet_hours: "10pm to 7am"`}},
			[]at{{"10pm", "escalation.quiet_hours: "}}},
		{"auth token in the file",
			[]edit{{"  #twilio:\n  #  account_sid: AC0123456789abcdef0123456789abcdef\n  #  from:",
				"  twilio:\n    auth_token: f00dfeedcafebabe\n    account_sid: AC0123456789abcdef0123456789abcdef\n    from:"}},
			[]at{{"auth_token: f00d", "escalation.twilio.auth_token: the auth token must not be written in the config file"}}},
		{"misspelt key",
			[]edit{{"digest_at:", "digest:"}},
			[]at{{"digest:", `unknown key "digest" (fix: did you mean digest_at?)`}}},
		// The provider's section sits in the notifier's as if it were one
		// struct: its keys and the notifier's are suggested alike.
		{"misspelt provider",
			[]edit{{"  #twilio:\n  #  account_sid: AC0123456789abcdef0123456789abcdef\n  #  from:",
				"  twillio:\n    account_sid: AC0123456789abcdef0123456789abcdef\n    from:"}},
			[]at{{"twillio:", `unknown key "twillio" (fix: did you mean twilio?)`}}},
		{"misspelt provider key",
			[]edit{{"  #twilio:\n  #  account_sid: AC0123456789abcdef0123456789abcdef\n  #  from:",
				"  twilio:\n    acount_sid: AC0123456789abcdef0123456789abcdef\n    from:"}},
			[]at{{"twilio:", `escalation.twilio.account_sid: account_sid is missing or malformed (fix: copy the Account SID from the Twilio console: "AC" and 32 hex digits)`},
				{"acount_sid:", `escalation.twilio: unknown key "acount_sid" (fix: did you mean account_sid?)`}}},
	}
	base := readExample(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := base
			for _, e := range tt.edits {
				if n := strings.Count(text, e.old); n != 1 {
					t.Fatalf("edit %q occurs %d times in the example, want once", e.old, n)
				}
				text = strings.Replace(text, e.old, e.new, 1)
			}
			_, got := Parse([]byte(text))
			var want []string
			for _, w := range tt.want {
				want = append(want, fmt.Sprintf("%d: %s", lineContaining(t, text, w.marker), w.text))
			}
			checkAll(t, got, want)
		})
	}
}
