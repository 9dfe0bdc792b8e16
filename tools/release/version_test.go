package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

func TestParseDescribe(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want gitDescription
		bad  bool
	}{
		{in: "v1.2.0-0-gabcdef012345", want: gitDescription{Tag: "v1.2.0", Hash: "abcdef012345"}},
		{in: "v1.2.0-rc.1-7-g0123456789ab", want: gitDescription{Tag: "v1.2.0-rc.1", Since: 7, Hash: "0123456789ab"}},
		{in: "v1-gx-3-gabc", want: gitDescription{Tag: "v1-gx", Since: 3, Hash: "abc"}},
		{in: "abcdef", bad: true},
		{in: "v1.0-x-gabc", bad: true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseDescribe(tt.in, false)
			if tt.bad {
				if err == nil {
					t.Errorf("parseDescribe(%q) = %+v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseDescribe(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDebianVersion(t *testing.T) {
	for _, tt := range []struct {
		d    gitDescription
		want string
	}{
		{gitDescription{Since: 191, Hash: "96c3b6910b47"}, "0.0.0+191.g96c3b6910b47"},
		{gitDescription{Since: 191, Hash: "96c3b6910b47", Dirty: true}, "0.0.0+191.g96c3b6910b47.dirty"},
		{gitDescription{Tag: "v1.2.0", Hash: "aaa"}, "1.2.0"},
		{gitDescription{Tag: "v1.2.0", Hash: "aaa", Dirty: true}, "1.2.0+0.gaaa.dirty"},
		{gitDescription{Tag: "v1.2.0", Since: 4, Hash: "aaa"}, "1.2.0+4.gaaa"},
		{gitDescription{Tag: "v1.2.0-rc.1", Hash: "aaa"}, "1.2.0~rc.1"},
		{gitDescription{Tag: "v2.0.0-beta-2", Since: 1, Hash: "b"}, "2.0.0~beta~2+1.gb"},
	} {
		got, err := tt.d.debian()
		if err != nil || got != tt.want {
			t.Errorf("%+v.debian() = %q, %v, want %q", tt.d, got, err, tt.want)
		}
	}
	if got, err := (gitDescription{Tag: "vnext", Hash: "a"}).debian(); err == nil {
		t.Errorf("tag vnext gave %q, want an error (dpkg versions start with a digit)", got)
	}
}

// The versions of successive commits and tags must sort as they happened.
func TestVersionFromGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("SKIPPED: no git on this machine")
	}
	ctx := context.Background()
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t",
			"GIT_COMMITTER_DATE=2026-01-02T03:04:05Z", "GIT_AUTHOR_DATE=2026-01-02T03:04:05Z")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	commit := func(content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		run("add", "f")
		run("commit", "-q", "-m", content)
	}
	run("init", "-q")
	var got []string
	step := func(want string) {
		t.Helper()
		s, err := readSource(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile("^" + want + "$").MatchString(s.Version) {
			t.Errorf("version = %q, want %s", s.Version, want)
		}
		if s.Epoch.Unix() != 1767323045 {
			t.Errorf("epoch = %v, want the commit time 2026-01-02T03:04:05Z", s.Epoch)
		}
		got = append(got, s.Version)
	}
	commit("one")
	step(`0\.0\.0\+1\.g[0-9a-f]{12}`)
	commit("two")
	step(`0\.0\.0\+2\.g[0-9a-f]{12}`)
	run("tag", "v0.1.0-rc.1")
	step(`0\.1\.0~rc\.1`)
	commit("three")
	run("tag", "v0.1.0")
	step(`0\.1\.0`)
	commit("four")
	step(`0\.1\.0\+1\.g[0-9a-f]{12}`)
	os.WriteFile(filepath.Join(dir, "f"), []byte("changed"), 0o644)
	step(`0\.1\.0\+1\.g[0-9a-f]{12}\.dirty`)

	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Log("no dpkg: the order of the versions is not checked")
		return
	}
	for i := 1; i < len(got)-1; i++ { // the dirty build has no order of its own
		if err := exec.Command("dpkg", "--compare-versions", got[i-1], "lt", got[i]).Run(); err != nil {
			t.Errorf("dpkg sorts %s before %s; want the later commit to be newer", got[i], got[i-1])
		}
	}
}
