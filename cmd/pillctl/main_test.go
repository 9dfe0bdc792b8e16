package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestDispatch(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		status      int
		out, errOut string
	}{
		{"no arguments", nil, 2, "", "usage: pillctl COMMAND"},
		{"help lists commands in order", []string{"help"}, 0, "  check ", ""},
		{"help on one command", []string{"help", "pinmap"}, 0, "pillctl pinmap: draw", ""},
		{"help on an unknown command", []string{"help", "nope"}, 2, "", `unknown command "nope"`},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"version", []string{"--version"}, 0, "pillctl dev", ""},
		{"check", []string{"check", "../../examples/dispenser.yaml"}, 0, "dispenser.yaml: OK", ""},
		{"check without a file", []string{"check"}, 2, "", "usage: pillctl check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if got := dispatch(tt.args, &out, &errOut); got != tt.status {
				t.Errorf("dispatch(%q) = %d, want %d", tt.args, got, tt.status)
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Errorf("dispatch(%q) stdout = %q, want it to contain %q", tt.args, out.String(), tt.out)
			}
			if !strings.Contains(errOut.String(), tt.errOut) {
				t.Errorf("dispatch(%q) stderr = %q, want it to contain %q", tt.args, errOut.String(), tt.errOut)
			}
		})
	}
}

func TestHelpIsSorted(t *testing.T) {
	var out bytes.Buffer
	usage(&out)
	s := out.String()
	if i, j := strings.Index(s, "  check "), strings.Index(s, "  pinmap "); i < 0 || j < 0 || i > j {
		t.Errorf("usage lists check at %d and pinmap at %d, want both, check first:\n%s", i, j, s)
	}
}

func TestRegisterDuplicatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("register of a duplicate name did not panic")
		}
	}()
	register(command{name: "check", help: "again", run: func([]string, io.Writer, io.Writer) int { return 0 }})
}
