package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// fuzzTarget is one fuzz test of the module.
type fuzzTarget struct{ pkg, name string }

// listFuzzTargets asks go test for every fuzz target of the module, so a
// new one is fuzzed without being named here.
func listFuzzTargets(ctx context.Context, root string) ([]fuzzTarget, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-list", "^Fuzz", "./...")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -list: %v\n%s", err, out.String())
	}
	var targets, pending []fuzzTarget
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		line := sc.Text()
		switch f := strings.Fields(line); {
		case len(f) == 1 && strings.HasPrefix(f[0], "Fuzz"):
			pending = append(pending, fuzzTarget{name: f[0]})
		case len(f) >= 2 && (f[0] == "ok" || f[0] == "?"):
			// "ok  <import path>  0.01s" closes the package's list.
			for _, t := range pending {
				t.pkg = f[1]
				targets = append(targets, t)
			}
			pending = nil
		}
	}
	return targets, nil
}

var (
	execsRE       = regexp.MustCompile(`execs: (\d+)`)
	interestingRE = regexp.MustCompile(`new interesting: (\d+) \(total: (\d+)\)`)
)

// fuzzAll runs every fuzz target for d each, one after the other (each
// uses every core), and returns a line of the report per target. A target
// that fails leaves its input in its package's testdata/fuzz, as go test
// does, for a regression test.
func fuzzAll(ctx context.Context, root string, d time.Duration, log io.Writer) []*result {
	targets, err := listFuzzTargets(ctx, root)
	if err != nil {
		r := newResult("fuzz")
		r.fail("%v", err)
		return []*result{r}
	}
	fmt.Fprintf(log, "pillstress: fuzzing %d targets for %v each\n", len(targets), d)
	var out []*result
	for _, t := range targets {
		if ctx.Err() != nil {
			break
		}
		r := newResult("fuzz " + strings.TrimPrefix(t.pkg, "github.com/pillbox/pillbox/") + "." + t.name)
		start := time.Now()
		cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-fuzz", "^"+t.name+"$", "-fuzztime", d.String(), t.pkg)
		cmd.Dir = root
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		err := cmd.Run()
		r.Elapsed = time.Since(start)
		r.Runs = 1
		text := buf.String()
		if m := execsRE.FindAllStringSubmatch(text, -1); len(m) > 0 {
			n, _ := strconv.Atoi(m[len(m)-1][1])
			r.add("execs", n)
		}
		if m := interestingRE.FindAllStringSubmatch(text, -1); len(m) > 0 {
			n, _ := strconv.Atoi(m[len(m)-1][1])
			total, _ := strconv.Atoi(m[len(m)-1][2])
			r.add("new_interesting", n)
			r.add("corpus", total)
		}
		if err != nil {
			r.fail("%s in %s: %v\n%s", t.name, t.pkg, err, tailLines(text, 25))
		}
		fmt.Fprintf(log, "pillstress: %s: %d failures, %s in %v\n", r.Scenario, r.Failures(), r.Counts(), r.Elapsed.Round(time.Second))
		out = append(out, r)
	}
	return out
}

func tailLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}
