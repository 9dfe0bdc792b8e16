package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		status      int
		out, errOut string
	}{
		{"check clean example", []string{"--check-config", "../../examples/dispenser.yaml"}, 0, "dispenser.yaml: OK", ""},
		{"check broken example", []string{"-check-config", "../../examples/broken.yaml"}, 1, "", "broken.yaml:"},
		{"check missing file", []string{"--check-config", "no-such.yaml"}, 1, "", "no-such.yaml"},
		{"version", []string{"--version"}, 0, "dispenserd dev", ""},
		{"unknown flag", []string{"--simulate"}, 2, "", "flag provided but not defined"},
		{"stray argument", []string{"extra"}, 2, "", "unexpected argument"},
		{"sim flag without sim", []string{"--sim-speed", "10"}, 2, "", "need --sim"},
		{"config with problems", []string{"--sim", "--config", "../../examples/broken.yaml", "--data", "DATA"}, 1, "", "problem(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			for i, a := range tt.args {
				if a == "DATA" {
					tt.args[i] = t.TempDir()
				}
			}
			if got := run(tt.args, &out, &errOut); got != tt.status {
				t.Errorf("run(%q) = %d, want %d; stderr:\n%s", tt.args, got, tt.status, errOut.String())
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Errorf("run(%q) stdout = %q, want it to contain %q", tt.args, out.String(), tt.out)
			}
			if !strings.Contains(errOut.String(), tt.errOut) {
				t.Errorf("run(%q) stderr = %q, want it to contain %q", tt.args, errOut.String(), tt.errOut)
			}
		})
	}
}
