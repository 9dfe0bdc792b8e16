// Command release builds the pillbox release from a git checkout: the
// binaries (reproducibly), a CycloneDX SBOM per binary, the Debian packages,
// the reproducibility check, and the traceability report. It is a module of
// its own so that the packaging libraries stay out of the product's go.mod
// and binaries. The Makefile's deb, sbom, repro-check and trace targets run
// it; see README.md, "Releases".
//
//	release [-root DIR] [-out DIR] [-arch amd64,arm64,armhf] version|build|sbom|deb|repro|trace
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "the checkout to build (default: the one holding the working directory)")
	out := fs.String("out", "", "`DIR` for the artefacts (default ROOT/dist/release)")
	archList := fs.String("arch", "amd64,arm64,armhf", "comma-separated Debian architectures")
	cold := fs.String("cold", "armhf", "repro: the architectures whose second build compiles everything again (comma-separated)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: release [flags] version|build|sbom|deb|repro|trace")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	var as []arch
	for _, name := range strings.Split(*archList, ",") {
		a, err := archByName(strings.TrimSpace(name))
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		as = append(as, a)
	}
	if *root == "" {
		top, err := git(ctx, ".", "rev-parse", "--show-toplevel")
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		*root = top
	}
	src, err := readSource(ctx, *root)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *out == "" {
		*out = filepath.Join(src.Root, "dist", "release")
	}
	switch fs.Arg(0) {
	case "version":
		fmt.Fprintln(stdout, src.Version)
	case "build", "sbom", "deb":
		arts, err := makeRelease(ctx, src, *out, as, fs.Arg(0))
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		for _, a := range arts {
			fmt.Fprintln(stdout, a)
		}
	case "repro":
		if err := reproCheck(ctx, src, *out, as, strings.Split(*cold, ","), stdout); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	case "trace":
		if err := trace(ctx, src, stdout); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	default:
		fs.Usage()
		return 2
	}
	return 0
}

// makeRelease builds the binaries for each arch and, up to the given stage
// (build, sbom, deb), their SBOMs and packages under out, replacing what an
// earlier run left there. It writes out/SHA256SUMS over every artefact and
// returns their paths.
func makeRelease(ctx context.Context, src source, out string, as []arch, upTo string) ([]string, error) {
	// Artefacts of an earlier version would pass for this one's.
	for _, d := range []string{"bin", "sbom", "deb", "stage", "SHA256SUMS"} {
		if err := os.RemoveAll(filepath.Join(out, d)); err != nil {
			return nil, fmt.Errorf("release: %w", err)
		}
	}
	var arts []string
	for _, a := range as {
		bins, err := build(ctx, src, out, a)
		if err != nil {
			return nil, err
		}
		for _, c := range commands {
			arts = append(arts, bins[c])
		}
		if upTo == "build" {
			continue
		}
		sboms := map[string]string{}
		for _, c := range commands {
			p := filepath.Join(out, "sbom", sbomName(c, src.Version, a))
			if err := writeSBOM(ctx, src, bins[c], p); err != nil {
				return nil, err
			}
			sboms[c] = p
			arts = append(arts, p)
		}
		if upTo == "sbom" {
			continue
		}
		for _, p := range pkgs {
			path, err := writeDeb(src, p, a, bins[p.Cmd], sboms[p.Cmd], filepath.Join(out, "stage"), filepath.Join(out, "deb"))
			if err != nil {
				return nil, err
			}
			arts = append(arts, path)
		}
	}
	if err := os.RemoveAll(filepath.Join(out, "stage")); err != nil {
		return nil, err
	}
	return arts, writeSums(out, arts)
}

// writeSums writes sha256sum's format for the artefacts, paths relative to
// out, so `sha256sum -c SHA256SUMS` in out checks them.
func writeSums(out string, arts []string) error {
	b, err := sumLines(out, arts)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "SHA256SUMS"), []byte(b), 0o644)
}

func sumLines(out string, arts []string) (string, error) {
	arts = slices.Clone(arts)
	sort.Strings(arts)
	var b strings.Builder
	for _, p := range arts {
		sum, err := fileSHA256(p)
		if err != nil {
			return "", err
		}
		rel, err := filepath.Rel(out, p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%x  %s\n", sum, rel)
	}
	return b.String(), nil
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("release: %s: %w", path, err)
	}
	return h.Sum(nil), nil
}
