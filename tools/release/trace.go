package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// A requirement is one row of docs/requirements.md: a stable id, what is
// required, and the tests that verify it, by package directory and name
// ("dispenser.TestJam", "tools/release.TestInstall").
type requirement struct {
	ID    string
	Text  string
	Tests []testRef
}

type testRef struct {
	Pkg  string // directory relative to the repository root
	Name string // top-level Test or Fuzz function
}

func (t testRef) String() string { return t.Pkg + "." + t.Name }

var (
	reqIDRE   = regexp.MustCompile(`^[A-Z]{2,5}-[0-9]{1,3}$`)
	testRefRE = regexp.MustCompile("`([a-z0-9_./-]+)\\.((?:Test|Fuzz)[A-Za-z0-9_]*)`")
	// A test may also name what it verifies in its doc comment, e.g.
	// "// Verifies: SAF-1, SAF-3."
	tagRE = regexp.MustCompile(`Verifies:\s*([A-Z]{2,5}-[0-9]{1,3}(?:\s*,\s*[A-Z]{2,5}-[0-9]{1,3})*)`)
)

// parseRequirements reads the requirement tables: rows whose first cell is
// an id; the last cell lists the tests in backquotes.
func parseRequirements(r io.Reader) ([]requirement, error) {
	var reqs []requirement
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		cells := strings.Split(strings.Trim(strings.TrimSpace(sc.Text()), "|"), "|")
		if len(cells) < 3 {
			continue
		}
		id := strings.TrimSpace(cells[0])
		if !reqIDRE.MatchString(id) {
			continue
		}
		if first, dup := seen[id]; dup {
			return nil, fmt.Errorf("requirements.md:%d: %s is already used on line %d", line, id, first)
		}
		seen[id] = line
		q := requirement{ID: id, Text: strings.TrimSpace(cells[1])}
		for _, m := range testRefRE.FindAllStringSubmatch(cells[len(cells)-1], -1) {
			q.Tests = append(q.Tests, testRef{Pkg: m[1], Name: m[2]})
		}
		reqs = append(reqs, q)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(reqs) == 0 {
		return nil, errors.New("requirements.md: no requirement rows (| ID | requirement | tests |)")
	}
	return reqs, nil
}

// tag is a "Verifies:" comment on a test function.
type tag struct {
	Test testRef
	IDs  []string
	Pos  string
}

// findTags reads the doc comments of every Test and Fuzz function in the
// repository's test files.
func findTags(root string) ([]tag, error) {
	var tags []tag
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "dist", "data", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Doc == nil || fn.Recv != nil {
				continue
			}
			for _, m := range tagRE.FindAllStringSubmatch(fn.Doc.Text(), -1) {
				t := tag{Test: testRef{Pkg: filepath.ToSlash(rel), Name: fn.Name.Name}, Pos: fset.Position(fn.Pos()).String()}
				for _, id := range strings.Split(m[1], ",") {
					t.IDs = append(t.IDs, strings.TrimSpace(id))
				}
				tags = append(tags, t)
			}
		}
		return nil
	})
	return tags, err
}

// traceProblems is everything that makes the trace fail before any test
// runs: requirements without tests, tags naming no requirement, tests that
// do not exist (exists says which do).
func traceProblems(reqs []requirement, tags []tag, exists func(testRef) bool) []string {
	var probs []string
	byID := map[string]bool{}
	for _, q := range reqs {
		byID[q.ID] = true
	}
	for _, t := range tags {
		for _, id := range t.IDs {
			if !byID[id] {
				probs = append(probs, fmt.Sprintf("%s: %s says it verifies %s, which docs/requirements.md does not define", t.Pos, t.Test.Name, id))
			}
		}
	}
	for _, q := range reqs {
		if len(q.Tests) == 0 {
			probs = append(probs, fmt.Sprintf("%s has no test", q.ID))
		}
		for _, t := range q.Tests {
			if !exists(t) {
				probs = append(probs, fmt.Sprintf("%s names %s, which go test -list does not find", q.ID, t))
			}
		}
	}
	return probs
}

// mergeTags adds each tagged test to its requirements.
func mergeTags(reqs []requirement, tags []tag) {
	for _, t := range tags {
		for _, id := range t.IDs {
			for i := range reqs {
				if reqs[i].ID == id && !slices.Contains(reqs[i].Tests, t.Test) {
					reqs[i].Tests = append(reqs[i].Tests, t.Test)
				}
			}
		}
	}
}

// moduleOf returns the directory of the module holding package dir pkg
// (relative to root) and pkg's path relative to that module.
func moduleOf(root, pkg string) (modDir, rel string) {
	dir := filepath.Join(root, filepath.FromSlash(pkg))
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			r, _ := filepath.Rel(d, dir)
			return d, "./" + filepath.ToSlash(r)
		}
		if d == root || d == filepath.Dir(d) {
			return root, "./" + pkg
		}
	}
}

// groupByModule gathers the packages of refs by module directory.
func groupByModule(root string, refs []testRef) map[string][]string {
	mods := map[string][]string{}
	for _, t := range refs {
		m, rel := moduleOf(root, t.Pkg)
		if !slices.Contains(mods[m], rel) {
			mods[m] = append(mods[m], rel)
		}
	}
	return mods
}

// goTest runs go test in dir with args and returns its JSON events.
type testEvent struct {
	Action, Package, Test, Output string
}

func goTestJSON(ctx context.Context, dir string, args ...string) ([]testEvent, error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-json"}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var evs []testEvent
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var e testEvent
		if derr := dec.Decode(&e); derr != nil {
			return nil, fmt.Errorf("release: go test -json in %s: %v", dir, derr)
		}
		evs = append(evs, e)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, fmt.Errorf("release: go test in %s: %v: %s", dir, err, stderr.Bytes())
	}
	if len(evs) == 0 && err != nil {
		return nil, fmt.Errorf("release: go test in %s: %v: %s", dir, err, stderr.Bytes())
	}
	return evs, nil
}

// listTests is `go test -list` of the packages: the set of their top-level
// tests and fuzz targets, by package directory relative to root.
func listTests(ctx context.Context, root string, refs []testRef) (map[testRef]bool, error) {
	have := map[testRef]bool{}
	for modDir, pkgs := range groupByModule(root, refs) {
		modPath, err := goModPath(modDir)
		if err != nil {
			return nil, err
		}
		evs, err := goTestJSON(ctx, modDir, append([]string{"-vet=off", "-list", "."}, pkgs...)...)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			name := strings.TrimSpace(e.Output)
			if e.Action != "output" || e.Test != "" || !(strings.HasPrefix(name, "Test") || strings.HasPrefix(name, "Fuzz")) || strings.ContainsAny(name, " \t") {
				continue
			}
			have[testRef{Pkg: pkgDir(root, modDir, modPath, e.Package), Name: name}] = true
		}
	}
	return have, nil
}

// pkgDir turns an import path of the module at modDir into a directory
// relative to root.
func pkgDir(root, modDir, modPath, importPath string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(importPath, modPath), "/")
	d, _ := filepath.Rel(root, filepath.Join(modDir, rel))
	return filepath.ToSlash(d)
}

func goModPath(modDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(modDir, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("release: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(l), "module "); ok {
			return strings.TrimSpace(p), nil
		}
	}
	return "", fmt.Errorf("release: %s/go.mod has no module line", modDir)
}

// runTests runs exactly the named tests and returns each one's outcome:
// pass, fail, skip, or "no result" when its package did not build.
func runTests(ctx context.Context, root string, refs []testRef) (map[testRef]string, error) {
	res := map[testRef]string{}
	for modDir, pkgs := range groupByModule(root, refs) {
		modPath, err := goModPath(modDir)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, t := range refs {
			if m, _ := moduleOf(root, t.Pkg); m == modDir && !slices.Contains(names, t.Name) {
				names = append(names, t.Name)
			}
		}
		sort.Strings(names)
		// Fuzz targets run their seed corpus only: -run matches them too.
		args := append([]string{"-timeout", "20m", "-run", "^(" + strings.Join(names, "|") + ")$"}, pkgs...)
		evs, err := goTestJSON(ctx, modDir, args...)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			if e.Test == "" || strings.Contains(e.Test, "/") {
				continue
			}
			switch e.Action {
			case "pass", "fail", "skip":
				res[testRef{Pkg: pkgDir(root, modDir, modPath, e.Package), Name: e.Test}] = e.Action
			}
		}
	}
	for _, t := range refs {
		if _, ok := res[t]; !ok {
			res[t] = "no result"
		}
	}
	return res, nil
}

// trace checks docs/requirements.md against the tests, runs the tests it
// names, and writes docs/traceability.md. It fails on a requirement without
// a test, a tag or table entry naming nothing, or a test that did not pass
// or skip.
func trace(ctx context.Context, src source, w io.Writer) error {
	f, err := os.Open(filepath.Join(src.Root, "docs", "requirements.md"))
	if err != nil {
		return fmt.Errorf("release: trace: %w", err)
	}
	reqs, err := parseRequirements(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("release: trace: docs/%w", err)
	}
	tags, err := findTags(src.Root)
	if err != nil {
		return fmt.Errorf("release: trace: %w", err)
	}
	mergeTags(reqs, tags)
	var refs []testRef
	for _, q := range reqs {
		for _, t := range q.Tests {
			if !slices.Contains(refs, t) {
				refs = append(refs, t)
			}
		}
	}
	have, err := listTests(ctx, src.Root, refs)
	if err != nil {
		return err
	}
	if probs := traceProblems(reqs, tags, func(t testRef) bool { return have[t] }); len(probs) > 0 {
		return fmt.Errorf("release: trace:\n  %s", strings.Join(probs, "\n  "))
	}
	fmt.Fprintf(w, "trace: running %d tests named by %d requirements\n", len(refs), len(reqs))
	res, err := runTests(ctx, src.Root, refs)
	if err != nil {
		return err
	}
	doc, failed := traceReport(src, reqs, res)
	if err := os.WriteFile(filepath.Join(src.Root, "docs", "traceability.md"), []byte(doc), 0o644); err != nil {
		return fmt.Errorf("release: trace: %w", err)
	}
	fmt.Fprint(w, summaryLine(doc))
	if len(failed) > 0 {
		return fmt.Errorf("release: trace: tests did not pass: %s", strings.Join(failed, ", "))
	}
	return nil
}

func summaryLine(doc string) string {
	for _, l := range strings.Split(doc, "\n") {
		if strings.HasPrefix(l, "Coverage:") {
			return "trace: " + l + "\n"
		}
	}
	return ""
}

// traceReport renders docs/traceability.md and lists the tests that
// failed or gave no result.
func traceReport(src source, reqs []requirement, res map[testRef]string) (string, []string) {
	var b strings.Builder
	withTests, verified, skipped := 0, 0, 0
	var failed []string
	var rows strings.Builder
	for _, q := range reqs {
		if len(q.Tests) > 0 {
			withTests++
		}
		counts := map[string]int{}
		var cells []string
		for _, t := range q.Tests {
			r := res[t]
			counts[r]++
			cells = append(cells, fmt.Sprintf("`%s` %s", t, r))
			if r != "pass" && r != "skip" && !slices.Contains(failed, t.String()) {
				failed = append(failed, t.String())
			}
		}
		verdict := "verified"
		switch {
		case len(q.Tests) == 0:
			verdict = "**no test**"
		case counts["pass"] != len(q.Tests) && counts["pass"]+counts["skip"] == len(q.Tests) && counts["pass"] > 0:
			verdict = "verified (some skipped)"
			verified++
		case counts["pass"] == len(q.Tests):
			verified++
		case counts["skip"] == len(q.Tests):
			verdict = "**skipped**"
			skipped++
		default:
			verdict = "**FAILED**"
		}
		fmt.Fprintf(&rows, "| %s | %s | %s | %s |\n", q.ID, q.Text, strings.Join(cells, "<br>"), verdict)
	}
	fmt.Fprintf(&b, "# Traceability: requirements, tests, results\n\n")
	fmt.Fprintf(&b, "Written by `make trace` from [requirements.md](requirements.md) and `go test -json`\n")
	fmt.Fprintf(&b, "of the tests it names; do not edit. Built from version %s.\n\n", src.Version)
	fmt.Fprintf(&b, "Coverage: %d of %d requirements have tests; %d verified (every test passed, or passed and skipped), %d only skipped, %d failed.\n\n",
		withTests, len(reqs), verified, skipped, len(reqs)-verified-skipped)
	fmt.Fprintf(&b, "A skipped test lacked a tool on the machine that ran the trace (CI installs them all).\n\n")
	fmt.Fprintf(&b, "| Id | Requirement | Tests and last result | Verdict |\n| --- | --- | --- | --- |\n")
	b.WriteString(rows.String())
	return b.String(), failed
}
