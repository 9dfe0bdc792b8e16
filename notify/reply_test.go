package notify

import (
	"strings"
	"testing"
)

func TestParseReply(t *testing.T) {
	ack := Reply{Kind: ReplyAck}
	tests := []struct {
		in   string
		want Reply
	}{
		{"OK", ack},
		{"ok", ack},
		{" Ok. ", ack},
		{"OK!!!", ack},
		{"\tok\n", ack},
		{"OK 👍", ack},
		{"\u200bOK\ufeff", ack},
		{"OK 4F7", Reply{ReplyAck, "4F7"}},
		{"ok #4f7", Reply{ReplyAck, "4F7"}},
		{"ok#4f7", Reply{ReplyAck, "4F7"}},
		{"Ok,  4f7a.", Reply{ReplyAck, "4F7A"}},
		{"OK 123", Reply{ReplyAck, "123"}},
		{"OK 4F", Reply{}},       // code too short
		{"OK 4F7AB", Reply{}},    // code too long
		{"OK 4-7", Reply{}},      // not a code
		{"OK thanks", Reply{}},   // not a code either
		{"OK 4F7 done", Reply{}}, // three words
		{"okay", Reply{}},
		{"O K", Reply{}},
		{"ＯＫ", Reply{}}, // full-width letters are not ASCII keywords
		{"STOP", Reply{Kind: ReplyOptOut}},
		{"stop.", Reply{Kind: ReplyOptOut}},
		{"StopAll", Reply{Kind: ReplyOptOut}},
		{"UNSUBSCRIBE", Reply{Kind: ReplyOptOut}},
		{"cancel", Reply{Kind: ReplyOptOut}},
		{"End", Reply{Kind: ReplyOptOut}},
		{"quit!", Reply{Kind: ReplyOptOut}},
		{"stop texting me", Reply{}},
		{"STOP 4F7", Reply{}},
		{"START", Reply{Kind: ReplyOptIn}},
		{"yes", Reply{Kind: ReplyOptIn}},
		{"unstop", Reply{Kind: ReplyOptIn}},
		{"HELP", Reply{Kind: ReplyHelp}},
		{"help?", Reply{Kind: ReplyHelp}},
		{"Info", Reply{Kind: ReplyHelp}},
		{"", Reply{}},
		{"   ", Reply{}},
		{"...", Reply{}},
		{"#", Reply{}},
		{"Dad took his pills", Reply{}},
		{"TAKEN", Reply{Kind: ReplyTaken}},
		{"Taken", Reply{Kind: ReplyTaken}},
		{" taken. ", Reply{Kind: ReplyTaken}},
		{"taken 4f7", Reply{ReplyTaken, "4F7"}},
		{"Taken #4F7!", Reply{ReplyTaken, "4F7"}},
		{"TAKEN#k9m2", Reply{ReplyTaken, "K9M2"}},
		{"taken  ,4f7.", Reply{ReplyTaken, "4F7"}},
		{"taken 4F", Reply{}},         // code too short
		{"taken today", Reply{}},      // not a code
		{"she taken it", Reply{}},     // three words
		{"taken 4F7 thanks", Reply{}}, // three words
		{"it was taken", Reply{}},     // not the keyword first
		{"took", Reply{}},
		{"TAKE", Reply{}},
		{"tak en", Reply{}},
		{"ok\xff", ack}, // invalid UTF-8 around a word is noise
		{"o\xffk", Reply{}},
		{"ſtop", Reply{}}, // long s upper-cases to S in Unicode, not here
		{"OK" + strings.Repeat(" ", maxReplyLen), Reply{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ParseReply(tt.in); got != tt.want {
				t.Errorf("ParseReply(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestReplyKindString(t *testing.T) {
	tests := []struct {
		k    ReplyKind
		want string
	}{
		{ReplyUnknown, "unknown"}, {ReplyAck, "ack"}, {ReplyOptOut, "opt-out"},
		{ReplyOptIn, "opt-in"}, {ReplyHelp, "help"}, {ReplyTaken, "taken"}, {ReplyKind(42), "ReplyKind(42)"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("ReplyKind(%d).String() = %q, want %q", int(tt.k), got, tt.want)
		}
	}
}

func FuzzParseReply(f *testing.F) {
	// Seeds live in testdata/fuzz/FuzzParseReply.
	f.Fuzz(func(t *testing.T, body string) {
		r := ParseReply(body)
		if r.Kind < ReplyUnknown || r.Kind > ReplyTaken {
			t.Fatalf("ParseReply(%q).Kind = %d, out of range", body, r.Kind)
		}
		if r.Code != "" && (!takesCode(r.Kind) || !isAlertCode(r.Code)) {
			t.Fatalf("ParseReply(%q) = %+v: a code only comes with an ack or a TAKEN and is 3-4 of [0-9A-Z]", body, r)
		}
		if len(body) > maxReplyLen && r != (Reply{}) {
			t.Fatalf("ParseReply(%d bytes) = %+v, want Unknown above %d bytes", len(body), r, maxReplyLen)
		}
		if lower := asciiLower(body); ParseReply(lower) != r {
			t.Fatalf("ParseReply(%q) = %+v but ParseReply(%q) = %+v: case matters", body, r, lower, ParseReply(lower))
		}
		if padded := " " + body + " ."; len(padded) <= maxReplyLen && ParseReply(padded) != r {
			t.Fatalf("ParseReply(%q) = %+v but ParseReply(%q) = %+v: padding matters", body, r, padded, ParseReply(padded))
		}
	})
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}
