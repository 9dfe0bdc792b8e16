package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
)

// maintainer is the Maintainer field of every package.
const maintainer = "Pillbox maintainers <maintainers@pillbox.invalid>"

// pkg is one Debian package of the release.
type pkg struct {
	Name        string
	Cmd         string    // the binary it ships, /usr/bin/Cmd
	Summary     string    // the Description's first line
	Description string    // its extended part, one paragraph
	Depends     []string  // besides the same version of pillctl, for the daemons
	Unit        string    // docs/systemd/Unit, or ""
	Conffile    [2]string // the file in the repository, and where it is installed
	// ConfMode is the conffile's mode in the archive; postinst gives it
	// its group with dpkg-statoverride once the group exists.
	ConfMode os.FileMode
	Scripts  bool // packaging/Name/{postinst,prerm,postrm}
}

var pkgs = []pkg{
	{
		Name: "dispenserd", Cmd: "dispenserd", Unit: "dispenserd.service",
		Summary: "smart pill dispenser controller",
		Description: "Runs a pill dispenser on a Raspberry Pi: the dose schedule, the motors and " +
			"sensors, the display, a durable local log, SMS alerts to caregivers through " +
			"an outbox, Bluetooth vital-sign devices, and the local HTTP API. The service " +
			"is installed but not started: edit /etc/pillbox/dispenser.yaml first.",
		Depends:  []string{"adduser"},
		Conffile: [2]string{"examples/dispenser.yaml", "/etc/pillbox/dispenser.yaml"},
		ConfMode: 0o640,
		Scripts:  true,
	},
	{
		Name: "adherenced", Cmd: "adherenced", Unit: "adherenced.service",
		Summary: "clinic adherence service for pill dispensers",
		Description: "Receives the event logs of many pill dispensers, texts caregivers when " +
			"one goes silent, and serves clinicians' pages, reports and a JSON API behind " +
			"sign-in. It listens on 127.0.0.1:8090; put a TLS proxy in front or give it a " +
			"certificate (/etc/pillbox/adherenced.env).",
		Depends:  []string{"adduser"},
		Conffile: [2]string{"packaging/adherenced/adherenced.env", "/etc/pillbox/adherenced.env"},
		ConfMode: 0o600,
		Scripts:  true,
	},
	{
		Name: "pillctl", Cmd: "pillctl",
		Summary: "pill dispenser and clinic administration tool",
		Description: "Checks dispenser configurations and draws their wiring, decodes Bluetooth " +
			"health-device payloads, makes adherence reports, and manages the clinic " +
			"service's clinicians, patients, devices and tokens.",
	},
}

// debName is the file name Debian tools give a package.
func debName(p pkg, version string, a arch) string {
	return fmt.Sprintf("%s_%s_%s.deb", p.Name, version, a.Deb)
}

// writeDeb makes p's package for a from the built binary and its SBOM, in
// dir. Every file gets a fixed mode, owner and the source's time, so the
// archive depends on nothing but its inputs.
func writeDeb(src source, p pkg, a arch, bin, sbom, stage, dir string) (string, error) {
	doc := "/usr/share/doc/" + p.Name + "/"
	changelog, err := writeChangelog(src, p, stage)
	if err != nil {
		return "", err
	}
	file := func(from, to string, mode os.FileMode) *files.Content {
		return &files.Content{Source: from, Destination: to, Type: files.TypeFile,
			FileInfo: &files.ContentFileInfo{Mode: mode, Owner: "root", Group: "root", MTime: src.Epoch}}
	}
	contents := files.Contents{
		file(bin, "/usr/bin/"+p.Cmd, 0o755),
		file(filepath.Join(src.Root, "packaging", "copyright"), doc+"copyright", 0o644),
		file(changelog, doc+"changelog.gz", 0o644),
		file(sbom, doc+p.Cmd+".cdx.json", 0o644),
	}
	overrides, err := writeOverrides(p, stage)
	if err != nil {
		return "", err
	}
	contents = append(contents, file(overrides, "/usr/share/lintian/overrides/"+p.Name, 0o644))
	if p.Unit != "" {
		contents = append(contents, file(filepath.Join(src.Root, "docs", "systemd", p.Unit), "/lib/systemd/system/"+p.Unit, 0o644))
	}
	if p.Conffile[0] != "" {
		c := file(filepath.Join(src.Root, p.Conffile[0]), p.Conffile[1], p.ConfMode)
		c.Type = files.TypeConfig
		contents = append(contents, c)
	}
	info := &nfpm.Info{
		Name: p.Name, Arch: a.Deb, Platform: "linux",
		Version: src.Version, VersionSchema: "none",
		Section: "misc", Priority: "optional",
		Maintainer:  maintainer,
		Homepage:    "https://github.com/pillbox/pillbox",
		Description: p.Summary + "\n" + wrap(p.Description, 72),
		MTime:       src.Epoch,
		Overridables: nfpm.Overridables{
			Contents: contents,
			Depends:  p.Depends,
			Umask:    0o022,
		},
	}
	if p.Name != "pillctl" {
		info.Depends = append(info.Depends, fmt.Sprintf("pillctl (= %s)", src.Version))
	}
	if p.Scripts {
		s := &info.Scripts
		for _, sc := range []struct {
			name string
			to   *string
		}{{"postinst", &s.PostInstall}, {"prerm", &s.PreRemove}, {"postrm", &s.PostRemove}} {
			path, err := expandScript(src, p, sc.name, stage)
			if err != nil {
				return "", err
			}
			*sc.to = path
		}
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", fmt.Errorf("release: package %s for %s: %w", p.Name, a.Deb, err)
	}
	packager, err := nfpm.Get("deb")
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := packager.Package(info, &out); err != nil {
		return "", fmt.Errorf("release: package %s for %s: %w", p.Name, a.Deb, err)
	}
	path := filepath.Join(dir, debName(p, src.Version, a))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("release: %w", err)
	}
	return path, os.WriteFile(path, out.Bytes(), 0o644)
}

// expandScript writes packaging/NAME/SCRIPT to the stage with the shared
// fragment packaging/common.sh in place of the line "#COMMON#", as
// debhelper does with #DEBHELPER#.
func expandScript(src source, p pkg, script, stage string) (string, error) {
	body, err := os.ReadFile(filepath.Join(src.Root, "packaging", p.Name, script))
	if err != nil {
		return "", fmt.Errorf("release: %w", err)
	}
	common, err := os.ReadFile(filepath.Join(src.Root, "packaging", "common.sh"))
	if err != nil {
		return "", fmt.Errorf("release: %w", err)
	}
	body = bytes.Replace(body, []byte("#COMMON#\n"), common, 1)
	path := filepath.Join(stage, p.Name+"."+script)
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return "", fmt.Errorf("release: %w", err)
	}
	return path, os.WriteFile(path, body, 0o755)
}

// writeOverrides writes the package's lintian overrides: lintian knows Go
// programs are static by design only from a source package's build
// dependencies, which a binary-only package lacks.
func writeOverrides(p pkg, stage string) (string, error) {
	body := fmt.Sprintf("# A Go program: statically linked by design (CGO_ENABLED=0).\n%s: statically-linked-binary [usr/bin/%s]\n", p.Name, p.Cmd)
	path := filepath.Join(stage, p.Name+".lintian-overrides")
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return "", fmt.Errorf("release: %w", err)
	}
	return path, os.WriteFile(path, []byte(body), 0o644)
}

// writeChangelog writes the package's Debian changelog, one entry for this
// version pointing at the project's CHANGELOG.md, gzipped at maximum
// compression without a name or time in the gzip header.
func writeChangelog(src source, p pkg, stage string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s) stable; urgency=medium\n\n", p.Name, src.Version)
	fmt.Fprintf(&b, "  * Built from commit %s\n", src.Commit)
	fmt.Fprintf(&b, "    of https://github.com/pillbox/pillbox; its CHANGELOG.md lists\n")
	fmt.Fprintf(&b, "    the changes.\n\n")
	fmt.Fprintf(&b, " -- %s  %s\n", maintainer, src.Epoch.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	var z bytes.Buffer
	w, err := gzip.NewWriterLevel(&z, gzip.BestCompression)
	if err != nil {
		return "", err
	}
	w.Write([]byte(b.String()))
	if err := w.Close(); err != nil {
		return "", err
	}
	path := filepath.Join(stage, p.Name+".changelog.gz")
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return "", fmt.Errorf("release: %w", err)
	}
	return path, os.WriteFile(path, z.Bytes(), 0o644)
}

// wrap breaks s into lines of at most width characters at spaces, for
// the Description field, whose lines terminals show as they are.
func wrap(s string, width int) string {
	var b strings.Builder
	n := 0
	for _, w := range strings.Fields(s) {
		switch {
		case n == 0:
		case n+1+len(w) > width:
			b.WriteByte('\n')
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}
