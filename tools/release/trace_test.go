package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestParseRequirements(t *testing.T) {
	in := `# Requirements
| Id | Requirement | Verified by |
| --- | --- | --- |
| SAF-1 | Once only. | ` + "`dispenser.TestA`, `cmd/pillctl.FuzzB`" + ` |
| not-an-id | ignored | ` + "`x.TestC`" + ` |
| TIM-2 | No test yet. | |
`
	reqs, err := parseRequirements(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 2 || reqs[0].ID != "SAF-1" || reqs[1].ID != "TIM-2" {
		t.Fatalf("parseRequirements = %+v, want SAF-1 and TIM-2", reqs)
	}
	want := []testRef{{"dispenser", "TestA"}, {"cmd/pillctl", "FuzzB"}}
	if !slices.Equal(reqs[0].Tests, want) || reqs[0].Text != "Once only." {
		t.Errorf("SAF-1 = %+v, want tests %v", reqs[0], want)
	}
	if len(reqs[1].Tests) != 0 {
		t.Errorf("TIM-2 tests = %v, want none", reqs[1].Tests)
	}
	if _, err := parseRequirements(strings.NewReader(in + "| SAF-1 | again | |\n")); err == nil {
		t.Errorf("a duplicate id parsed without an error")
	}
	if _, err := parseRequirements(strings.NewReader("no table\n")); err == nil {
		t.Errorf("a file without requirements parsed without an error")
	}
}

func TestTraceProblems(t *testing.T) {
	reqs := []requirement{
		{ID: "SAF-1", Tests: []testRef{{"dispenser", "TestA"}}},
		{ID: "SAF-2", Tests: []testRef{{"dispenser", "TestGone"}}},
		{ID: "SAF-3"},
	}
	tags := []tag{{Test: testRef{"notify", "TestB"}, IDs: []string{"SAF-1", "SAF-9"}, Pos: "notify/x_test.go:3:1"}}
	exists := func(r testRef) bool { return r.Name != "TestGone" }
	got := traceProblems(reqs, tags, exists)
	want := []string{
		"notify/x_test.go:3:1: TestB says it verifies SAF-9, which docs/requirements.md does not define",
		"SAF-2 names dispenser.TestGone, which go test -list does not find",
		"SAF-3 has no test",
	}
	if !slices.Equal(got, want) {
		t.Errorf("traceProblems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	mergeTags(reqs, tags)
	if !slices.Contains(reqs[0].Tests, (testRef{"notify", "TestB"})) {
		t.Errorf("mergeTags left SAF-1 with %v, want notify.TestB added", reqs[0].Tests)
	}
}

func TestFindTags(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "notify")
	os.MkdirAll(dir, 0o755)
	src := `package notify

import "testing"

// A doc comment.
// Verifies: ALM-1, ALM-2.
func TestTagged(t *testing.T) {}

func TestUntagged(t *testing.T) {}
`
	if err := os.WriteFile(filepath.Join(dir, "x_test.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	tags, err := findTags(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 1 || tags[0].Test != (testRef{"notify", "TestTagged"}) || !slices.Equal(tags[0].IDs, []string{"ALM-1", "ALM-2"}) {
		t.Errorf("findTags = %+v, want notify.TestTagged verifying ALM-1, ALM-2", tags)
	}
}

func TestTraceReport(t *testing.T) {
	reqs := []requirement{
		{ID: "A-1", Text: "a", Tests: []testRef{{"p", "TestA"}}},
		{ID: "A-2", Text: "b", Tests: []testRef{{"p", "TestB"}, {"p", "TestS"}}},
		{ID: "A-3", Text: "c", Tests: []testRef{{"p", "TestS"}}},
		{ID: "A-4", Text: "d", Tests: []testRef{{"p", "TestF"}}},
	}
	res := map[testRef]string{{"p", "TestA"}: "pass", {"p", "TestB"}: "pass", {"p", "TestS"}: "skip", {"p", "TestF"}: "fail"}
	doc, failed := traceReport(source{Version: "1.0"}, reqs, res)
	for _, want := range []string{
		"Coverage: 4 of 4 requirements have tests; 2 verified (every test passed, or passed and skipped), 1 only skipped, 1 failed.",
		"| A-2 | b | `p.TestB` pass<br>`p.TestS` skip | verified (some skipped) |",
		"| A-3 | c | `p.TestS` skip | **skipped** |",
		"| A-4 | d | `p.TestF` fail | **FAILED** |",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
	if !slices.Equal(failed, []string{"p.TestF"}) {
		t.Errorf("failed = %v, want [p.TestF]", failed)
	}
}

// The real table: every requirement has a test and every test it names
// exists (what `make trace` checks before running them).
func TestRequirementsTable(t *testing.T) {
	src := repoSource(t)
	f, err := os.Open(filepath.Join(src.Root, "docs", "requirements.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reqs, err := parseRequirements(f)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := findTags(src.Root)
	if err != nil {
		t.Fatal(err)
	}
	mergeTags(reqs, tags)
	var refs []testRef
	for _, q := range reqs {
		refs = append(refs, q.Tests...)
	}
	have, err := listTests(context.Background(), src.Root, refs)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range traceProblems(reqs, tags, func(r testRef) bool { return have[r] }) {
		t.Error(p)
	}

	// The hazard table names only requirements and tests that exist.
	hz, err := os.ReadFile(filepath.Join(src.Root, "docs", "hazards.md"))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, q := range reqs {
		ids[q.ID] = true
	}
	for _, id := range regexp.MustCompile(`\b[A-Z]{3}-[0-9]{1,3}\b`).FindAllString(string(hz), -1) {
		if !ids[id] {
			t.Errorf("hazards.md names %s, which requirements.md does not define", id)
		}
	}
	var hrefs []testRef
	for _, m := range testRefRE.FindAllStringSubmatch(string(hz), -1) {
		hrefs = append(hrefs, testRef{Pkg: m[1], Name: m[2]})
	}
	if len(hrefs) == 0 {
		t.Fatal("hazards.md names no test")
	}
	have, err = listTests(context.Background(), src.Root, hrefs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range hrefs {
		if !have[r] {
			t.Errorf("hazards.md names %s, which go test -list does not find", r)
		}
	}
}
