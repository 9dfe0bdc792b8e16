package main

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// installPaths are what the packages make on a machine; the test runs only
// where none of them exists, so it never touches a real install.
var installPaths = []string{"/etc/pillbox", "/var/lib/pillbox", "/var/lib/pillbox-clinic"}

// TestInstall installs the amd64 packages with dpkg on this machine, checks
// what the install made, that an upgrade keeps a changed conffile and the
// tokens, that removal keeps the data and that purge deletes it.
func TestInstall(t *testing.T) {
	need(t, "dpkg", "dpkg-statoverride")
	required := os.Getenv("PILLBOX_REQUIRE_RELEASE_TOOLS") == "1"
	refuse := func(why string) {
		t.Helper()
		if required {
			t.Fatalf("%s, and PILLBOX_REQUIRE_RELEASE_TOOLS=1", why)
		}
		t.Skipf("SKIPPED: %s; the packages were not installed", why)
	}
	if os.Geteuid() != 0 {
		refuse("dpkg -i needs root")
	}
	for _, p := range pkgs {
		if exec.Command("dpkg", "-s", p.Name).Run() == nil {
			refuse("package " + p.Name + " is already on this machine")
		}
	}
	for _, p := range installPaths {
		if _, err := os.Lstat(p); err == nil {
			refuse(p + " exists: this machine has a dispenser or clinic installed")
		}
	}
	src, dir := amd64Release(t)
	var debs []string
	for _, p := range pkgs {
		debs = append(debs, filepath.Join(dir, "deb", debName(p, src.Version, arches[0])))
	}
	dpkg := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("dpkg", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		exec.Command("dpkg", "--purge", "dispenserd", "adherenced", "pillctl").Run()
	})

	dpkg("-i", debs[0], debs[1], debs[2])
	u, err := user.Lookup("pillbox")
	if err != nil {
		t.Fatalf("no pillbox user after install: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, tt := range []struct {
		path     string
		mode     os.FileMode
		uid, gid int
	}{
		{"/etc/pillbox/api.token", 0o640, 0, gid},
		{"/etc/pillbox/device-token", 0o640, 0, gid},
		{"/etc/pillbox/dispenser.yaml", 0o640, 0, gid},
		{"/etc/pillbox/adherenced.env", 0o600, 0, 0},
		{"/var/lib/pillbox", os.ModeDir | 0o700, uid, gid},
		{"/var/lib/pillbox-clinic", os.ModeDir | 0o700, uid, gid},
	} {
		fi, err := os.Stat(tt.path)
		if err != nil {
			t.Errorf("after install: %v", err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != tt.mode || int(st.Uid) != tt.uid || int(st.Gid) != tt.gid {
			t.Errorf("%s is %v %d:%d, want %v %d:%d", tt.path, fi.Mode(), st.Uid, st.Gid, tt.mode, tt.uid, tt.gid)
		}
	}
	token, _ := os.ReadFile("/etc/pillbox/api.token")
	if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).Match(token) {
		t.Errorf("api.token holds %d bytes, want 64 hex digits and a newline", len(token))
	}
	if b, _ := os.ReadFile("/etc/pillbox/device-token"); len(b) != 0 {
		t.Errorf("device-token holds %d bytes, want an empty placeholder for the clinic's token", len(b))
	}
	if out, err := exec.Command("dispenserd", "--check-config", "/etc/pillbox/dispenser.yaml").CombinedOutput(); err != nil {
		t.Errorf("dispenserd --check-config on the shipped config: %v\n%s", err, out)
	}
	for _, c := range commands {
		if out, _ := exec.Command("/usr/bin/"+c, "--version").Output(); strings.TrimSpace(string(out)) != c+" "+src.Version {
			t.Errorf("/usr/bin/%s --version = %q, want %q", c, out, c+" "+src.Version)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		if out, err := exec.Command("systemd-analyze", "verify", "/lib/systemd/system/dispenserd.service", "/lib/systemd/system/adherenced.service").CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify of the installed units: %v\n%s", err, out)
		}
	}
	// The clinic service starts with the system; the dispenser waits for
	// the installer to describe the real patient.
	wants := "/etc/systemd/system/multi-user.target.wants/"
	if _, err := os.Lstat(wants + "adherenced.service"); err != nil {
		t.Errorf("adherenced is not enabled: %v", err)
	}
	if _, err := os.Lstat(wants + "dispenserd.service"); err == nil {
		t.Errorf("dispenserd is enabled by the install, before anyone wrote its config")
	}

	// An upgrade keeps the installer's config and the tokens.
	edited := append(readFile(t, "/etc/pillbox/dispenser.yaml"), "# the installer's change\n"...)
	if err := os.WriteFile("/etc/pillbox/dispenser.yaml", edited, 0o640); err != nil {
		t.Fatal(err)
	}
	dpkg("-i", debs[0], debs[1], debs[2])
	if got := readFile(t, "/etc/pillbox/dispenser.yaml"); !bytes.Equal(got, edited) {
		t.Errorf("reinstalling replaced the changed conffile")
	}
	if got := readFile(t, "/etc/pillbox/api.token"); !bytes.Equal(got, token) {
		t.Errorf("reinstalling changed the API token")
	}

	// Removal keeps the data, the config and the tokens.
	for _, d := range []string{"/var/lib/pillbox", "/var/lib/pillbox-clinic"} {
		if err := os.WriteFile(d+"/kept.db", []byte("data"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dpkg("-r", "dispenserd", "adherenced", "pillctl")
	if _, err := os.Stat("/usr/bin/dispenserd"); err == nil {
		t.Errorf("/usr/bin/dispenserd is still there after dpkg -r")
	}
	for _, p := range []string{"/var/lib/pillbox/kept.db", "/var/lib/pillbox-clinic/kept.db", "/etc/pillbox/api.token", "/etc/pillbox/dispenser.yaml"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("after dpkg -r: %v; want it kept", err)
		}
	}

	// Purge deletes them.
	dpkg("--purge", "dispenserd", "adherenced")
	for _, p := range installPaths {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is still there after purge", p)
		}
	}
	if out, _ := exec.Command("dpkg-statoverride", "--list", "/etc/pillbox/dispenser.yaml").Output(); len(out) > 0 {
		t.Errorf("purge left a stat override: %s", out)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
