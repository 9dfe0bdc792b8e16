package simapi

import (
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
