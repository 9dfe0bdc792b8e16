package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// arch is one Debian architecture the packages are built for, with the Go
// settings that build for it.
type arch struct {
	Deb    string // Debian's name
	GOARCH string
	GOARM  string
}

// arches are the release's architectures. armhf is built with GOARM=6
// (ARMv6 with VFP): Raspberry Pi OS's armhf targets the ARMv6 Pi Zero and
// Pi 1 (ARM1176), where GOARM=7's ARMv7 instructions stop with SIGILL; the
// same binary runs on every later 32-bit Pi. Go binaries link no C
// library, so the float ABI that armhf names does not matter to them.
var arches = []arch{
	{Deb: "amd64", GOARCH: "amd64"},
	{Deb: "arm64", GOARCH: "arm64"},
	{Deb: "armhf", GOARCH: "arm", GOARM: "6"},
}

func archByName(name string) (arch, error) {
	for _, a := range arches {
		if a.Deb == name {
			return a, nil
		}
	}
	return arch{}, fmt.Errorf("release: no architecture %q (have amd64, arm64, armhf)", name)
}

// commands are the binaries a release ships.
var commands = []string{"dispenserd", "adherenced", "pillctl"}

// buildEnv is the environment of a release build: the caller's, less every
// variable that would change the output, plus fixed settings.
func buildEnv(src source, a arch) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOFLAGS", "GOOS", "GOARCH", "GOARM", "GOAMD64", "GOARM64", "CGO_ENABLED",
			"GOEXPERIMENT", "GOTOOLCHAIN", "GO_EXTLINK_ENABLED", "GOFIPS140":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, src.Env...)
	return append(env, "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+a.GOARCH, "GOARM="+a.GOARM,
		"GOAMD64=v1", "GOARM64=v8.0", "GOTOOLCHAIN=local")
}

// buildFlags make a binary that depends only on the source and the Go
// version: no directory (-trimpath), no VCS stamp (the version carries the
// commit), no build id, no symbol table or DWARF.
func buildFlags(version string) []string {
	return []string{"-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -buildid= -X main.version=" + version}
}

// build compiles every command for a into dir/bin/ARCH/ and returns the
// paths by command name.
func build(ctx context.Context, src source, dir string, a arch) (map[string]string, error) {
	out := filepath.Join(dir, "bin", a.Deb)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("release: build: %w", err)
	}
	args := append([]string{"build"}, buildFlags(src.Version)...)
	args = append(args, "-o", out+string(filepath.Separator))
	for _, c := range commands {
		args = append(args, "./cmd/"+c)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = src.Root
	cmd.Env = buildEnv(src, a)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("release: go build for %s: %w", a.Deb, err)
	}
	bins := make(map[string]string, len(commands))
	for _, c := range commands {
		bins[c] = filepath.Join(out, c)
	}
	return bins, nil
}
