package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Two clones of HEAD in directories of different lengths build to the
// same bytes. The Go build cache is shared here to keep `make test` short,
// so this catches what the link step, the version stamp, the SBOM and the
// packaging add; `make repro-check` (CI) checks every architecture and
// compiles the armhf one again from an empty cache.
func TestReproducible(t *testing.T) {
	src := repoSource(t)
	var log bytes.Buffer
	if err := reproCheck(context.Background(), src, t.TempDir(), []arch{arches[0]}, nil, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "repro: OK: 9 artefacts") {
		t.Errorf("repro check passed without comparing the 9 amd64 artefacts:\n%s", log.String())
	}
}

func TestDiffLines(t *testing.T) {
	got := diffLines("a  x\nb  y\n", "a  x\nc  y\n")
	if want := "- b  y\n+ c  y\n"; got != want {
		t.Errorf("diffLines = %q, want %q", got, want)
	}
}
