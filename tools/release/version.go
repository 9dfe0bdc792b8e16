package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// source is what a release is built from: a git commit, its one version and
// its time.
type source struct {
	Root    string    // the checkout's top directory
	Commit  string    // full hash of HEAD
	Version string    // Debian-valid, also what --version prints
	Epoch   time.Time // SOURCE_DATE_EPOCH: the commit's time unless set
	Env     []string  // added to the go commands' environment (GOCACHE)
}

// readSource asks git about the checkout at root.
func readSource(ctx context.Context, root string) (source, error) {
	s := source{Root: root}
	var err error
	if s.Commit, err = git(ctx, root, "rev-parse", "HEAD"); err != nil {
		return s, err
	}
	d, err := describe(ctx, root)
	if err != nil {
		return s, err
	}
	if s.Version, err = d.debian(); err != nil {
		return s, err
	}
	if s.Epoch, err = sourceDateEpoch(ctx, root); err != nil {
		return s, err
	}
	return s, nil
}

// sourceDateEpoch is $SOURCE_DATE_EPOCH when set (the reproducible-builds
// convention), else the commit time of HEAD, so two builds of one commit
// stamp the same time whenever and wherever they run.
func sourceDateEpoch(ctx context.Context, root string) (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		var err error
		if v, err = git(ctx, root, "log", "-1", "--format=%ct", "HEAD"); err != nil {
			return time.Time{}, err
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("release: SOURCE_DATE_EPOCH %q is not a number of seconds", v)
	}
	return time.Unix(n, 0).UTC(), nil
}

// gitDescription is what `git describe --long` says, or, before the first
// tag, the same parts counted from the first commit.
type gitDescription struct {
	Tag   string // "v1.2.0", or "" before the first release tag
	Since int    // commits after Tag (after the root commit when Tag is "")
	Hash  string // abbreviated commit hash
	Dirty bool   // tracked files differ from the commit
}

func describe(ctx context.Context, root string) (gitDescription, error) {
	var d gitDescription
	dirty, err := git(ctx, root, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return d, err
	}
	d.Dirty = dirty != ""
	if d.Hash, err = git(ctx, root, "rev-parse", "--short=12", "HEAD"); err != nil {
		return d, err
	}
	long, err := git(ctx, root, "describe", "--tags", "--long", "--abbrev=12", "--match", "v[0-9]*", "HEAD")
	if err != nil {
		// No release tag yet.
		n, err := git(ctx, root, "rev-list", "--count", "HEAD")
		if err != nil {
			return d, err
		}
		d.Since, err = strconv.Atoi(n)
		return d, err
	}
	return parseDescribe(long, d.Dirty)
}

// parseDescribe splits `git describe --long` output: TAG-N-gHASH, where TAG
// may itself hold hyphens.
func parseDescribe(s string, dirty bool) (gitDescription, error) {
	d := gitDescription{Dirty: dirty}
	i := strings.LastIndex(s, "-g")
	j := strings.LastIndex(s[:max(i, 0)], "-")
	if i < 0 || j < 0 {
		return d, fmt.Errorf("release: git describe said %q, want TAG-N-gHASH", s)
	}
	n, err := strconv.Atoi(s[j+1 : i])
	if err != nil {
		return d, fmt.Errorf("release: git describe said %q, want TAG-N-gHASH", s)
	}
	d.Tag, d.Since, d.Hash = s[:j], n, s[i+2:]
	return d, nil
}

// debVersionRE is what dpkg accepts as the upstream part of a version of a
// package without a Debian revision (no hyphen, no colon), starting with a
// digit.
var debVersionRE = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)

// debian turns the description into one version string for the packages
// and the binaries. A tag v1.2.0 gives 1.2.0; a pre-release tag v1.2.0-rc.1
// gives 1.2.0~rc.1, which dpkg sorts before 1.2.0; commits after a tag add
// +N.gHASH, which sorts after it and rises with N; before the first tag the
// base is 0.0.0. A build from changed files says so with .dirty.
func (d gitDescription) debian() (string, error) {
	base := "0.0.0"
	if d.Tag != "" {
		base = strings.ReplaceAll(strings.TrimPrefix(d.Tag, "v"), "-", "~")
	}
	v := base
	if d.Since > 0 || d.Tag == "" || d.Dirty {
		v += fmt.Sprintf("+%d.g%s", d.Since, d.Hash)
	}
	if d.Dirty {
		v += ".dirty"
	}
	if !debVersionRE.MatchString(v) {
		return "", fmt.Errorf("release: tag %q gives version %q, which dpkg refuses: tag releases vMAJOR.MINOR.PATCH", d.Tag, v)
	}
	return v, nil
}

// git runs git in dir and returns its output without the final newline.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("release: git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimRight(string(out), "\n"), nil
}
