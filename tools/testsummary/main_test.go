package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The fixture module (testdata/fix) has a passing, a failing and a
// -short-skipped test, tests skipped for want of two tools, and a package
// that does not build.
func TestRunOnFixture(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to run go test: %v", err)
	}
	fix := filepath.Join("testdata", "fix")
	tests := []struct {
		name       string
		pkgs       []string
		status     int
		want, dont []string
	}{
		{"failures and skips", []string{"./..."}, 1,
			[]string{
				"b/b.go:4:23: cannot use", // the build error
				"FAIL\texample.com/fix/b [build failed]",
				"    a_test.go:9: context of the failure\n    a_test.go:10: boom\n--- FAIL: TestFail/sub",
				"--- FAIL: TestFail (",
				"FAIL\texample.com/fix/a\t",
				"ok  \texample.com/fix/c\t",
				"SKIPPED, NOT PASSED: 3 tests for want of a tool",
				"    2  needs frobnicator (apt-get install frobnicator): not found (e.g. example.com/fix/a TestNeedsTool)\n",
				"    1  gizmo not found (apt-get install gizmo) (e.g. example.com/fix/c TestNeedsOther)\n",
			},
			[]string{"only under -v", "not in -short", "=== RUN", "--- PASS", "PASS\n"}},
		{"all pass, one skip", []string{"./c"}, 0,
			[]string{"ok  \texample.com/fix/c", "SKIPPED, NOT PASSED: 1 test for want of a tool"},
			[]string{"FAIL"}},
		{"nothing skipped", []string{"./c", "-run", "TestOK"}, 0,
			[]string{"No test was skipped for want of a tool; every event is in "},
			[]string{"SKIPPED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "test.json")
			var out, errOut bytes.Buffer
			args := append([]string{"-log", log, "--", goCmd, "-C", fix, "test", "-count=1", "-json"}, tt.pkgs...)
			if got := run(args, &out, &errOut); got != tt.status {
				t.Errorf("run(%q) = %d, want %d; stderr:\n%s", args, got, tt.status, errOut.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q; got:\n%s", w, out.String())
				}
			}
			for _, d := range tt.dont {
				if strings.Contains(out.String(), d) {
					t.Errorf("output has %q, which plain go test does not print; got:\n%s", d, out.String())
				}
			}
			b, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			for _, l := range lines {
				var ev event
				if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Action == "" {
					t.Fatalf("log line %q is not a go test event: %v", l, err)
				}
			}
		})
	}
}

// Two commands both run, even after the first fails, and the status says
// the failure.
func TestRunEveryCommand(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to run go test: %v", err)
	}
	fix := filepath.Join("testdata", "fix")
	var out, errOut bytes.Buffer
	args := []string{"--", goCmd, "-C", fix, "test", "-count=1", "-json", "./a", "--", goCmd, "-C", fix, "test", "-count=1", "-json", "./c"}
	if got := run(args, &out, &errOut); got != 1 {
		t.Errorf("run(a fails, c passes) = %d, want 1", got)
	}
	if !strings.Contains(out.String(), "FAIL\texample.com/fix/a") || !strings.Contains(out.String(), "ok  \texample.com/fix/c") {
		t.Errorf("output lacks a's failure or c's pass:\n%s", out.String())
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr = %q, want nothing beyond the tests' own report", errOut.String())
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-log", "x"}, {"--"}, {"-nope"}} {
		var out, errOut bytes.Buffer
		if got := run(args, &out, &errOut); got != 2 {
			t.Errorf("run(%q) = %d, want 2 (usage)", args, got)
		}
	}
	var out, errOut bytes.Buffer
	if got := run([]string{"--", "/nonexistent/go", "test"}, &out, &errOut); got != 1 || !strings.Contains(errOut.String(), "/nonexistent/go") {
		t.Errorf("run(a command that cannot start) = %d, stderr %q; want 1 and the command named", got, errOut.String())
	}
}
