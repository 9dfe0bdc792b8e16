// Package fhirvalidate runs the independent FHIR R4 validator of this
// directory (validate.js: the R4 JSON schema, FHIR.js and the vital-signs
// profile checks) from Go tests. Install it with `npm ci` here; without it
// (or without node) Run skips the test, loudly, unless
// PILLBOX_REQUIRE_FHIR_VALIDATOR=1, where it fails: CI sets that.
package fhirvalidate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// dir is this package's directory, wherever the test runs from.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// Run validates bundles (one per file it writes) and returns whether all
// are valid and the validator's JSON report.
func Run(t testing.TB, bundles ...[]byte) (valid bool, report string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir(), "node_modules", "fhir", "package.json"))
	}
	if err != nil {
		msg := "FHIR validator missing (install node, then npm ci in tools/fhir-validate): " + err.Error()
		if os.Getenv("PILLBOX_REQUIRE_FHIR_VALIDATOR") == "1" {
			t.Fatal(msg + " (PILLBOX_REQUIRE_FHIR_VALIDATOR=1)")
		}
		t.Skip("SKIPPED, NOT PASSED: " + msg)
	}
	tmp := t.TempDir()
	args := []string{filepath.Join(dir(), "validate.js")}
	for i, b := range bundles {
		f := filepath.Join(tmp, fmt.Sprintf("bundle%d.json", i))
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, f)
	}
	cmd := exec.Command(node, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true, stdout.String()
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return false, stdout.String()
	}
	t.Fatalf("fhir-validate: %v: %s", err, stderr.String())
	return false, ""
}
