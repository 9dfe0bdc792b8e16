package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The amd64 release, built once for every test that looks at it.
var fixture struct {
	once sync.Once
	dir  string
	src  source
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

// repoSource is the checkout these tests run in.
func repoSource(t *testing.T) source {
	t.Helper()
	ctx := context.Background()
	top, err := git(ctx, ".", "rev-parse", "--show-toplevel")
	if err != nil {
		t.Fatal(err)
	}
	src, err := readSource(ctx, top)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// amd64Release builds the binaries, SBOMs and packages for amd64 once.
func amd64Release(t *testing.T) (source, string) {
	t.Helper()
	fixture.once.Do(func() {
		fixture.src = repoSource(t)
		fixture.dir, fixture.err = os.MkdirTemp("", "pillbox-release-")
		if fixture.err == nil {
			_, fixture.err = makeRelease(context.Background(), fixture.src, fixture.dir, []arch{arches[0]}, "deb")
		}
	})
	if fixture.err != nil {
		t.Fatalf("building the amd64 release: %v", fixture.err)
	}
	return fixture.src, fixture.dir
}

// need skips the test, loudly, when a tool is missing, unless
// PILLBOX_REQUIRE_RELEASE_TOOLS=1 (CI) makes that a failure.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("PILLBOX_REQUIRE_RELEASE_TOOLS") == "1" {
				t.Fatalf("%s is missing and PILLBOX_REQUIRE_RELEASE_TOOLS=1 (apt-get install lintian systemd dpkg)", tool)
			}
			t.Skipf("SKIPPED: %s is not installed (apt-get install lintian systemd dpkg); PILLBOX_REQUIRE_RELEASE_TOOLS=1 makes this a failure", tool)
		}
	}
}

func TestBinariesCarryVersion(t *testing.T) {
	src, dir := amd64Release(t)
	for _, c := range commands {
		out, err := exec.Command(filepath.Join(dir, "bin", "amd64", c), "--version").Output()
		if got, want := strings.TrimSpace(string(out)), c+" "+src.Version; err != nil || got != want {
			t.Errorf("%s --version = %q, %v; want %q", c, got, err, want)
		}
	}
}

// The armhf binaries must run on a Pi Zero: ARMv6, so GOARM=6.
func TestArmhfIsARMv6(t *testing.T) {
	src := repoSource(t)
	dir := t.TempDir()
	a, _ := archByName("armhf")
	bins, err := build(context.Background(), src, dir, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands {
		f, err := elf.Open(bins[c])
		if err != nil {
			t.Fatal(err)
		}
		machine := f.Machine
		f.Close()
		if machine != elf.EM_ARM {
			t.Errorf("%s is for %v, want EM_ARM", c, machine)
		}
		out, err := exec.Command("go", "version", "-m", bins[c]).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), "\tbuild\tGOARM=6\n") {
			t.Errorf("go version -m %s has no GOARM=6:\n%s", c, out)
		}
	}
	if _, err := exec.LookPath("qemu-arm-static"); err != nil {
		t.Log("no qemu-arm-static: the armhf binaries are not started")
		return
	}
	out, err := exec.Command("qemu-arm-static", "-cpu", "arm1176", bins["dispenserd"], "--version").CombinedOutput()
	if got, want := strings.TrimSpace(string(out)), "dispenserd "+src.Version; err != nil || got != want {
		t.Errorf("dispenserd --version on an emulated ARM1176 (Pi Zero) = %q, %v; want %q", got, err, want)
	}
}

// debEntry is one file of a package's data or control archive.
type debEntry struct {
	Mode       int64
	Uname      string
	Gname      string
	ModTime    time.Time
	Body       []byte
	IsDir      bool
	Linkname   string
	UID, GID   int
	Typeflag   byte
	HeaderName string
}

// readDeb reads a .deb (an ar archive of debian-binary, control.tar.gz and
// data.tar.gz) into its control and data files by path.
func readDeb(t *testing.T, path string) (control, data map[string]debEntry) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("!<arch>\n")) {
		t.Fatalf("%s is not an ar archive", path)
	}
	b = b[8:]
	for len(b) >= 60 {
		name := strings.TrimRight(string(b[:16]), " /")
		var size int
		fmt.Sscan(strings.TrimSpace(string(b[48:58])), &size)
		body := b[60 : 60+size]
		b = b[60+size+size%2:]
		switch name {
		case "control.tar.gz":
			control = readTarGz(t, body)
		case "data.tar.gz":
			data = readTarGz(t, body)
		}
	}
	if control == nil || data == nil {
		t.Fatalf("%s lacks control.tar.gz or data.tar.gz", path)
	}
	return control, data
}

func readTarGz(t *testing.T, b []byte) map[string]debEntry {
	t.Helper()
	z, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(z)
	m := map[string]debEntry{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return m
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		name := "/" + strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		m[name] = debEntry{Mode: h.Mode, Uname: h.Uname, Gname: h.Gname, ModTime: h.ModTime, Body: body,
			IsDir: h.Typeflag == tar.TypeDir, UID: h.Uid, GID: h.Gid, HeaderName: h.Name}
	}
}

func controlField(control []byte, field string) string {
	sc := bufio.NewScanner(bytes.NewReader(control))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+": "); ok {
			return v
		}
	}
	return ""
}

func TestDebContents(t *testing.T) {
	src, dir := amd64Release(t)
	for _, tt := range []struct {
		pkg       string
		files     map[string]int64 // path: mode
		conffiles string
		depends   string
	}{
		{"dispenserd", map[string]int64{
			"/usr/bin/dispenserd":                           0o755,
			"/lib/systemd/system/dispenserd.service":        0o644,
			"/etc/pillbox/dispenser.yaml":                   0o640,
			"/usr/share/doc/dispenserd/copyright":           0o644,
			"/usr/share/doc/dispenserd/changelog.gz":        0o644,
			"/usr/share/doc/dispenserd/dispenserd.cdx.json": 0o644,
			"/usr/share/lintian/overrides/dispenserd":       0o644,
		}, "/etc/pillbox/dispenser.yaml\n", "adduser, pillctl (= " + src.Version + ")"},
		{"adherenced", map[string]int64{
			"/usr/bin/adherenced":                           0o755,
			"/lib/systemd/system/adherenced.service":        0o644,
			"/etc/pillbox/adherenced.env":                   0o600,
			"/usr/share/doc/adherenced/adherenced.cdx.json": 0o644,
		}, "/etc/pillbox/adherenced.env\n", "adduser, pillctl (= " + src.Version + ")"},
		{"pillctl", map[string]int64{
			"/usr/bin/pillctl":                        0o755,
			"/usr/share/doc/pillctl/pillctl.cdx.json": 0o644,
		}, "", ""},
	} {
		t.Run(tt.pkg, func(t *testing.T) {
			control, data := readDeb(t, filepath.Join(dir, "deb", tt.pkg+"_"+src.Version+"_amd64.deb"))
			c := control["/control"].Body
			for field, want := range map[string]string{"Package": tt.pkg, "Version": src.Version, "Architecture": "amd64", "Depends": tt.depends} {
				if got := controlField(c, field); got != want {
					t.Errorf("control %s = %q, want %q", field, got, want)
				}
			}
			if got := string(control["/conffiles"].Body); got != tt.conffiles {
				t.Errorf("conffiles = %q, want %q", got, tt.conffiles)
			}
			for path, mode := range tt.files {
				e, ok := data[path]
				switch {
				case !ok:
					t.Errorf("%s is not in the package", path)
				case e.Mode != mode || e.Uname != "root" || e.Gname != "root":
					t.Errorf("%s is %o %s:%s, want %o root:root", path, e.Mode, e.Uname, e.Gname, mode)
				}
			}
			// Fixed times: the source's, for every file and directory.
			for name, e := range data {
				if !e.ModTime.Equal(src.Epoch) {
					t.Errorf("%s has mtime %v, want SOURCE_DATE_EPOCH %v", name, e.ModTime, src.Epoch)
				}
			}
			for _, s := range []string{"/postinst", "/prerm", "/postrm"} {
				if e, ok := control[s]; ok && bytes.Contains(e.Body, []byte("#COMMON#")) {
					t.Errorf("%s still holds #COMMON#", s)
				}
			}
		})
	}
}

// Lintian, the Debian package checker, must report no error.
func TestLintian(t *testing.T) {
	need(t, "lintian")
	src, dir := amd64Release(t)
	var debs []string
	for _, p := range pkgs {
		debs = append(debs, filepath.Join(dir, "deb", debName(p, src.Version, arches[0])))
	}
	out, err := exec.Command("lintian", append([]string{"--display-level", ">=warning"}, debs...)...).CombinedOutput()
	var errs []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "E: ") {
			errs = append(errs, l)
		}
	}
	if len(errs) > 0 || (err != nil && len(out) == 0) {
		t.Errorf("lintian: %v, %d errors:\n%s", err, len(errs), strings.Join(errs, "\n"))
	}
	t.Logf("lintian (warnings are accepted; docs/requirements.md REL-3):\n%s", out)
}

// exposureRE reads systemd-analyze security's last line.
func exposure(t *testing.T, unit string) (float64, string) {
	t.Helper()
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security %s: %v\n%s", unit, err, out)
	}
	var score float64
	var level string
	for _, l := range strings.Split(string(out), "\n") {
		if _, rest, ok := strings.Cut(l, "Overall exposure level for "); ok {
			_, rest, _ = strings.Cut(rest, ": ")
			fmt.Sscanf(rest, "%g %s", &score, &level)
			return score, level
		}
	}
	t.Fatalf("systemd-analyze security %s printed no exposure level:\n%s", unit, out)
	return 0, ""
}

// The units are hardened (exposure at most 2.0, "OK") and systemd finds
// nothing wrong in them. verify needs the ExecStart binaries to exist, so
// it checks a copy naming the freshly built ones.
func TestUnits(t *testing.T) {
	need(t, "systemd-analyze")
	src, dir := amd64Release(t)
	for _, c := range []string{"dispenserd", "adherenced"} {
		t.Run(c, func(t *testing.T) {
			unit := filepath.Join(src.Root, "docs", "systemd", c+".service")
			if score, level := exposure(t, unit); score > 2.0 || level != "OK" {
				t.Errorf("exposure of %s = %.1f %s, want at most 2.0 OK", c, score, level)
			} else {
				t.Logf("%s.service: exposure %.1f %s", c, score, level)
			}
			body, err := os.ReadFile(unit)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(body, []byte("/usr/bin/"+c+" ")) {
				t.Fatalf("%s does not run /usr/bin/%s", unit, c)
			}
			tmp := filepath.Join(t.TempDir(), c+".service")
			body = bytes.ReplaceAll(body, []byte("/usr/bin/"+c+" "), []byte(filepath.Join(dir, "bin", "amd64", c)+" "))
			if err := os.WriteFile(tmp, body, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("systemd-analyze", "verify", tmp).CombinedOutput(); err != nil || len(out) > 0 {
				t.Errorf("systemd-analyze verify %s: %v\n%s", c, err, out)
			}
		})
	}
}
