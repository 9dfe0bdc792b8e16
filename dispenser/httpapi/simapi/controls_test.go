package simapi

import (
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw"
)

func TestParseFault(t *testing.T) {
	tests := []struct {
		in      string
		want    fault
		wantErr string
	}{
		{`{"input":"lid","stick":"active"}`, fault{input: hw.Lid, stick: "active"}, ""},
		{`{"input":"drop","stick":"none"}`, fault{input: hw.Drop, stick: "none"}, ""},
		{`{"input":"button","chatter":200,"every":"5ms"}`, fault{input: hw.Button, chatter: 200, every: 5 * time.Millisecond}, ""},
		{`{"input":"drop","chatter":2}`, fault{input: hw.Drop, chatter: 2, every: minChatterGap}, ""},
		{`{"input":"door","stick":"active"}`, fault{}, "input must be"},
		{`{"input":"lid"}`, fault{}, "body must be"},
		{`{"input":"lid","stick":"open"}`, fault{}, "stick must be"},
		{`{"input":"lid","stick":"active","chatter":3}`, fault{}, "not both"},
		{`{"input":"lid","chatter":-1}`, fault{}, "chatter must be"},
		{`{"input":"lid","chatter":10001}`, fault{}, "chatter must be"},
		{`{"input":"lid","chatter":10,"every":"1us"}`, fault{}, "every must be"},
		{`{"input":"lid","chatter":10,"every":"soon"}`, fault{}, "every must be"},
		{`{"input":"lid","chatter":9000,"every":"10ms"}`, fault{}, "at most"},
		{`{"input":"lid","stick":"active","x":1}`, fault{}, "unknown field"},
		{`{"input":"lid","stick":"active"} {}`, fault{}, "more than one"},
		{`[]`, fault{}, "body must be"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseFault([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseFault(%s) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseFault(%s) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

// FuzzParseFault: no body panics the parser, and what it accepts is a
// fault the world can act on within its bounds.
func FuzzParseFault(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseFault(data)
		if err != nil {
			return
		}
		if got.stick == "" && (got.chatter < 1 || got.every < minChatterGap || time.Duration(got.chatter)*got.every > maxChatterFor) {
			t.Fatalf("parseFault(%q) = %+v, outside its bounds", data, got)
		}
	})
}
