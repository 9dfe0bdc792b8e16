package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// reproCheck builds the release twice from the commit of src, in two fresh
// clones at paths of different lengths, and fails unless every binary, SBOM
// and package is byte-identical. For the architectures in cold the second
// build starts from an empty Go build cache, so every package is compiled
// again rather than taken from the first build; the others share the cache,
// which still checks what linking, the version stamp, the SBOM and the
// packaging add. Uncommitted changes in src are not part of the check: it
// is about what a commit builds to.
func reproCheck(ctx context.Context, src source, out string, as []arch, cold []string, w io.Writer) error {
	dir := filepath.Join(out, "repro")
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("release: repro: %w", err)
	}
	var sums [2]string
	for i, name := range []string{"a", "second-build-elsewhere"} {
		clone := filepath.Join(dir, name, "src")
		if _, err := git(ctx, src.Root, "clone", "--quiet", "--shared", "--no-checkout", src.Root, clone); err != nil {
			return err
		}
		if _, err := git(ctx, clone, "checkout", "--quiet", "--detach", src.Commit); err != nil {
			return err
		}
		s, err := readSource(ctx, clone)
		if err != nil {
			return err
		}
		rel := filepath.Join(dir, name, "release")
		var arts []string
		for _, a := range as {
			s.Env = nil
			how := "shared build cache"
			if i == 1 && slices.Contains(cold, a.Deb) {
				s.Env = []string{"GOCACHE=" + filepath.Join(dir, name, "gocache")}
				how = "empty build cache"
			}
			fmt.Fprintf(w, "repro: build %d of %s (%s) for %s in %s, %s\n", i+1, s.Version, s.Commit[:12], a.Deb, clone, how)
			got, err := makeRelease(ctx, s, filepath.Join(rel, a.Deb), []arch{a}, "deb")
			if err != nil {
				return err
			}
			arts = append(arts, got...)
		}
		if sums[i], err = sumLines(rel, arts); err != nil {
			return err
		}
	}
	if sums[0] != sums[1] {
		return fmt.Errorf("release: repro: the two builds differ:\n%s", diffLines(sums[0], sums[1]))
	}
	n := strings.Count(sums[0], "\n")
	fmt.Fprintf(w, "repro: OK: %d artefacts byte-identical across both builds\n%s", n, sums[0])
	// The clones and the second cache are large; the result is printed.
	return os.RemoveAll(dir)
}

// diffLines lists the lines of a missing from b and of b missing from a.
func diffLines(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			m[l] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var d strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(a), "\n") {
		if !mb[l] {
			fmt.Fprintf(&d, "- %s\n", l)
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(b), "\n") {
		if !ma[l] {
			fmt.Fprintf(&d, "+ %s\n", l)
		}
	}
	return d.String()
}
