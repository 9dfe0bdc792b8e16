package simapi

import (
	"strings"
	"testing"

	"github.com/pillbox/pillbox/notify"
)

// FuzzParseReply: the reply box's body never panics the parser, and what it
// accepts is a usable reply.
func FuzzParseReply(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseReply(data)
		if err != nil {
			return
		}
		if !notify.IsE164(r.From) || r.Body == "" || len(r.Body) > 4*maxSMS {
			t.Fatalf("parseReply(%q) = %+v, which is not a usable reply", data, r)
		}
		notify.ParseReply(r.Body)
	})
}

func TestParseAnswer(t *testing.T) {
	const sid = "CA0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, body string
		want       string // the answer, or the error's start
	}{
		{"pressed 1", `{"sid": "` + sid + `", "answer": "pressed1"}`, "pressed1"},
		{"machine", `{"sid": "` + sid + `", "answer": "machine"}`, "machine"},
		{"no such answer", `{"sid": "` + sid + `", "answer": "pressed9"}`, "error: answer must be"},
		{"a message's SID", `{"sid": "SM0123456789abcdef0123456789abcdef", "answer": "busy"}`, "error: sid must be"},
		{"short SID", `{"sid": "CA01", "answer": "busy"}`, "error: sid must be"},
		{"unknown field", `{"sid": "` + sid + `", "answer": "busy", "x": 1}`, `error: body must be {"sid"`},
		{"two objects", `{} {}`, "error: body must be one JSON object"},
		{"empty", ``, `error: body must be {"sid"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := parseAnswer([]byte(tt.body))
			got := string(a.Answer)
			if err != nil {
				got = "error: " + err.Error()
			}
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("parseAnswer(%s) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

// FuzzParseAnswer: the call answer body never panics the parser, and what
// it accepts names a call and one of the answers.
func FuzzParseAnswer(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := parseAnswer(data)
		if err != nil {
			return
		}
		if len(a.SID) != 34 || !strings.HasPrefix(a.SID, "CA") {
			t.Fatalf("parseAnswer(%q) = %+v: not a call SID", data, a)
		}
		switch a.Answer {
		case notify.SimPressed1, notify.SimNoKey, notify.SimNoAnswer, notify.SimBusy, notify.SimMachine:
		default:
			t.Fatalf("parseAnswer(%q) = %+v: not an answer", data, a)
		}
	})
}
