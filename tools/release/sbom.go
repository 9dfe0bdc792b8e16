package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// sbomName is the file name of a binary's SBOM among the release artefacts.
func sbomName(cmd, version string, a arch) string {
	return fmt.Sprintf("%s_%s_%s.cdx.json", cmd, version, a.Deb)
}

// writeSBOM writes the CycloneDX SBOM of the binary bin to path. The
// components come from the module list Go embedded in the binary
// (cyclonedx-gomod's bin mode), so they are the modules actually linked,
// with the Go standard library as "std" at the toolchain's version. The
// BOM is made reproducible: its time is the source's, its serial number
// is derived from the binary's hash, and the generator's own hashes (which
// describe how cyclonedx-gomod happened to be built) are left out.
func writeSBOM(ctx context.Context, src source, bin, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("release: sbom: %w", err)
	}
	tmp := path + ".raw"
	defer os.Remove(tmp)
	cmd := exec.CommandContext(ctx, "go", "tool", "cyclonedx-gomod", "bin",
		"-json", "-std", "-noserial", "-notimestamp", "-version", src.Version, "-output", tmp, bin)
	cmd.Dir = filepath.Join(src.Root, "tools", "release")
	cmd.Env = append(os.Environ(), src.Env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("release: cyclonedx-gomod for %s: %v: %s", bin, err, stderr.Bytes())
	}
	raw, err := os.ReadFile(tmp)
	if err != nil {
		return fmt.Errorf("release: sbom: %w", err)
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(raw), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return fmt.Errorf("release: sbom of %s: %w", bin, err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return fmt.Errorf("release: sbom: %w", err)
	}
	bom.SerialNumber = uuidURN(sha256.Sum256(b))
	if bom.Metadata == nil {
		return fmt.Errorf("release: sbom of %s has no metadata", bin)
	}
	bom.Metadata.Timestamp = src.Epoch.Format(time.RFC3339)
	if t := bom.Metadata.Tools; t != nil {
		for i := range derefTools(t.Tools) {
			(*t.Tools)[i].Hashes = nil
		}
		for i := range derefComponents(t.Components) {
			(*t.Components)[i].Hashes = nil
		}
	}
	var out bytes.Buffer
	enc := cdx.NewBOMEncoder(&out, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	if err := enc.Encode(&bom); err != nil {
		return fmt.Errorf("release: sbom of %s: %w", bin, err)
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}

func derefTools(p *[]cdx.Tool) []cdx.Tool {
	if p == nil {
		return nil
	}
	return *p
}

func derefComponents(p *[]cdx.Component) []cdx.Component {
	if p == nil {
		return nil
	}
	return *p
}

// uuidURN formats the first 16 bytes of h as a version 8 (custom) UUID
// URN, the form CycloneDX wants for serialNumber.
func uuidURN(h [32]byte) string {
	u := h[:16]
	u[6] = u[6]&0x0f | 0x80
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
