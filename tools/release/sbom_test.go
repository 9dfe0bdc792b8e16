package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// goVersionM is what `go version -m` says a binary holds: its Go version
// and the path@version of every module linked in.
func goVersionM(t *testing.T, bin string) (goVersion string, mods []string) {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m %s: %v", bin, err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && strings.HasSuffix(f[0], ":"):
			goVersion = f[1]
		case len(f) >= 3 && f[0] == "dep":
			mods = append(mods, f[1]+"@"+f[2])
		case len(f) >= 3 && f[0] == "=>":
			t.Fatalf("%s has a replaced module (%s): the SBOM check does not handle replacements", bin, l)
		}
	}
	slices.Sort(mods)
	return goVersion, mods
}

// Each binary's SBOM lists exactly the modules `go version -m` finds in the
// same binary, the Go toolchain as std, and the binary's own hash.
func TestSBOMMatchesBinary(t *testing.T) {
	src, dir := amd64Release(t)
	for _, c := range commands {
		t.Run(c, func(t *testing.T) {
			bin := filepath.Join(dir, "bin", "amd64", c)
			f, err := os.Open(filepath.Join(dir, "sbom", sbomName(c, src.Version, arches[0])))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var bom cdx.BOM
			if err := cdx.NewBOMDecoder(f, cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
				t.Fatal(err)
			}
			goVer, want := goVersionM(t, bin)
			var got []string
			std := ""
			for _, comp := range *bom.Components {
				if comp.Name == "std" {
					std = comp.Version
					continue
				}
				got = append(got, comp.Name+"@"+comp.Version)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("SBOM modules = %v\nwant (go version -m) %v", got, want)
			}
			if std != goVer {
				t.Errorf("SBOM std = %q, want the binary's Go version %q", std, goVer)
			}
			if m := bom.Metadata.Component; m == nil || m.Version != src.Version || m.Name != "github.com/pillbox/pillbox" {
				t.Errorf("SBOM main component = %+v, want github.com/pillbox/pillbox at %s", m, src.Version)
			}
			b, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			if p := property(bom.Metadata.Properties, "cdx:gomod:binary:hash:SHA-256"); p != hex.EncodeToString(sum[:]) {
				t.Errorf("SBOM binary SHA-256 = %q, want %x", p, sum)
			}
			if bom.SerialNumber != uuidURN(sum) {
				t.Errorf("serial = %q, want %q (from the binary's hash)", bom.SerialNumber, uuidURN(sum))
			}
			if ts, err := time.Parse(time.RFC3339, bom.Metadata.Timestamp); err != nil || !ts.Equal(src.Epoch) {
				t.Errorf("timestamp = %q, want the source's time %v", bom.Metadata.Timestamp, src.Epoch)
			}
		})
	}
}

func property(ps *[]cdx.Property, name string) string {
	if ps == nil {
		return ""
	}
	for _, p := range *ps {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}
