// Command testsummary runs `go test -json` commands, prints their results
// as plain `go test` would (ok and FAIL lines, the output of failed tests,
// build errors), keeps the JSON in a log, and ends with a summary of the
// tests skipped for want of a tool: `make test` uses it so that a browser
// or FHIR test skipped on a machine without Chromium or Node.js says so at
// the end, where it is seen, not only under -v.
//
// A tool-missing skip is one whose message says "SKIPPED" (the project's
// convention: internal/browsertest, internal/pgtest, tools/fhir-validate,
// the espeak-ng and release-tool tests); skips for other reasons (-short)
// are not counted.
//
//	testsummary [-log FILE] -- go test -json ./... [-- go -C tools/release test -json ./...]
//
// Every command runs, even after one fails; the exit status is 1 when any
// command failed or any test failed, else 0.
package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("testsummary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	logPath := fs.String("log", "", "write the JSON of every command to `FILE`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cmds := splitCommands(fs.Args())
	if len(cmds) == 0 {
		fmt.Fprintln(stderr, "usage: testsummary [-log FILE] -- go test -json PACKAGES [-- COMMAND...]")
		return 2
	}
	var log io.Writer = io.Discard
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			fmt.Fprintln(stderr, "testsummary:", err)
			return 1
		}
		defer f.Close()
		log = f
	}
	s := newSummary(stdout)
	failed := false
	for _, c := range cmds {
		err := s.runCommand(c, log, stderr)
		if _, exited := errors.AsType[*exec.ExitError](err); err != nil && !(exited && s.failed) {
			// A command that failed without a failed test to show for it
			// (it did not start, or go test refused its arguments).
			fmt.Fprintf(stderr, "testsummary: %s: %v\n", strings.Join(c, " "), err)
		}
		failed = failed || err != nil
	}
	s.report(stdout, *logPath)
	if failed || s.failed {
		return 1
	}
	return 0
}

// splitCommands splits args at each "--".
func splitCommands(args []string) [][]string {
	var cmds [][]string
	var cur []string
	for _, a := range append(args, "--") {
		if a != "--" {
			cur = append(cur, a)
			continue
		}
		if len(cur) > 0 {
			cmds = append(cmds, cur)
		}
		cur = nil
	}
	return cmds
}

// event is one line of `go test -json` (cmd/test2json), with the build
// events of Go 1.24 and later.
type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
}

// skip is one test skipped for want of a tool.
type skip struct{ pkg, test, reason string }

// summary renders events as go test's plain output and keeps the skips.
type summary struct {
	out    io.Writer
	lines  map[string][]string // package + top-level test -> its tree's output
	own    map[string][]string // package + test -> its own output
	skips  []skip
	failed bool
}

func newSummary(out io.Writer) *summary {
	return &summary{out: out, lines: map[string][]string{}, own: map[string][]string{}}
}

func (s *summary) runCommand(c []string, log, stderr io.Writer) error {
	cmd := exec.Command(c[0], c[1:]...)
	cmd.Stderr = stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(pipe)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		fmt.Fprintf(log, "%s\n", line)
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			fmt.Fprintf(s.out, "%s\n", line) // not an event: "go: downloading ..."
			continue
		}
		s.add(ev)
	}
	if err := sc.Err(); err != nil {
		cmd.Wait()
		return err
	}
	return cmd.Wait()
}

// add takes one event.
func (s *summary) add(ev event) {
	switch {
	case ev.Action == "build-output":
		io.WriteString(s.out, ev.Output)
	case ev.Action == "build-fail":
		s.failed = true
	case ev.Test == "":
		s.packageEvent(ev)
	default:
		s.testEvent(ev)
	}
}

func (s *summary) packageEvent(ev event) {
	switch ev.Action {
	case "output":
		if ev.Output != "PASS\n" && !strings.HasPrefix(ev.Output, "=== ") {
			io.WriteString(s.out, ev.Output)
		}
	case "fail":
		s.failed = true
	}
}

func (s *summary) testEvent(ev event) {
	top, _, _ := strings.Cut(ev.Test, "/")
	tree, own := ev.Package+" "+top, ev.Package+" "+ev.Test
	switch ev.Action {
	case "output":
		if !strings.HasPrefix(ev.Output, "=== ") {
			s.lines[tree] = append(s.lines[tree], ev.Output)
			s.own[own] = append(s.own[own], ev.Output)
		}
		return
	case "fail":
		s.failed = true
		if ev.Test == top {
			for _, l := range s.lines[tree] {
				io.WriteString(s.out, l)
			}
		}
	case "skip":
		if r, ok := toolReason(s.own[own]); ok {
			s.skips = append(s.skips, skip{ev.Package, ev.Test, r})
		}
	case "pass", "bench":
	default:
		return // run, pause, cont
	}
	delete(s.own, own)
	if ev.Test == top {
		delete(s.lines, tree)
	}
}

// toolReason finds a tool-missing skip's message in a test's output.
func toolReason(lines []string) (string, bool) {
	for _, l := range lines {
		_, msg, ok := strings.Cut(l, "SKIPPED")
		if !ok {
			continue
		}
		// "SKIPPED, NOT PASSED: browser test needs ..." or "SKIPPED: ..."
		if _, after, ok := strings.Cut(msg, ": "); ok {
			msg = after
		}
		return strings.TrimSpace(msg), true
	}
	return "", false
}

// report prints the tool-missing skips, one line per reason, and a total.
func (s *summary) report(w io.Writer, log string) {
	where := ""
	if log != "" {
		where = "; every event is in " + log
	}
	if len(s.skips) == 0 {
		fmt.Fprintf(w, "\nNo test was skipped for want of a tool%s.\n", where)
		return
	}
	byReason := map[string][]skip{}
	for _, k := range s.skips {
		byReason[k.reason] = append(byReason[k.reason], k)
	}
	reasons := slices.Collect(maps.Keys(byReason))
	slices.SortFunc(reasons, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(byReason[b]), len(byReason[a])), cmp.Compare(a, b))
	})
	fmt.Fprintf(w, "\nSKIPPED, NOT PASSED: %d %s for want of a tool (CI installs the tools and makes these fail instead)%s:\n",
		len(s.skips), plural(len(s.skips), "test", "tests"), where)
	for _, r := range reasons {
		ks := byReason[r]
		fmt.Fprintf(w, "  %3d  %s (e.g. %s %s)\n", len(ks), r, ks[0].pkg, ks[0].test)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
