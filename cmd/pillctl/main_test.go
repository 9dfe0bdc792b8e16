package main

import (
	"bytes"
	"flag"
	"io"
	"slices"
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

// Flags may stand before, between or after the positional arguments, as
// the docs write them both ways; "--" ends the flags.
func TestParseAnywhere(t *testing.T) {
	tests := []struct {
		args    []string
		label   string
		admin   bool
		pos     []string
		wantErr string
	}{
		{[]string{"--label", "kitchen", "pt_1"}, "kitchen", false, []string{"pt_1"}, ""},
		{[]string{"pt_1", "--label", "kitchen"}, "kitchen", false, []string{"pt_1"}, ""},
		{[]string{"pt_1", "--label=kitchen"}, "kitchen", false, []string{"pt_1"}, ""},
		{[]string{"alice", "--admin", "Dr Alice"}, "", true, []string{"alice", "Dr Alice"}, ""},
		{[]string{"--admin", "alice", "-label", "x", "Dr Alice"}, "x", true, []string{"alice", "Dr Alice"}, ""},
		{[]string{"pt_1", "--", "--label", "-x"}, "", false, []string{"pt_1", "--label", "-x"}, ""},
		{[]string{"--", "-5"}, "", false, []string{"-5"}, ""},
		{[]string{"-", "--admin"}, "", true, []string{"-"}, ""},
		{nil, "", false, nil, ""},
		{[]string{"pt_1", "--patient", "x"}, "", false, nil, "flag provided but not defined: -patient"},
		{[]string{"pt_1", "--label"}, "", false, nil, "flag needs an argument: -label"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			label := fs.String("label", "", "")
			admin := fs.Bool("admin", false, "")
			err := parseAnywhere(fs, tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseAnywhere(%q) error = %v, want %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseAnywhere(%q) error = %v", tt.args, err)
			}
			if *label != tt.label || *admin != tt.admin || !slices.Equal(fs.Args(), tt.pos) {
				t.Errorf("parseAnywhere(%q) = label %q, admin %v, args %q; want %q, %v, %q", tt.args, *label, *admin, fs.Args(), tt.label, tt.admin, tt.pos)
			}
		})
	}
}
