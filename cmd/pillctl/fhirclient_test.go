package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/adherence/clinic/fhirapi"
	"github.com/pillbox/pillbox/adherence/clinic/sqlite"
)

// TestFHIRClientCommands runs the client's side (jwks, assertion) and the
// clinic's (add, list, revoke) as docs/fhir.md shows them.
func TestFHIRClientCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "clinic.db")
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	pc := func(want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if got := dispatch(append([]string{"clinic"}, args...), &out, &errOut); got != want {
			t.Fatalf("pillctl clinic %s = %d, want %d; stderr %s", strings.Join(args, " "), got, want, errOut.String())
		}
		return out.String()
	}
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(key)
	keyFile := filepath.Join(dir, "ehr-key.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	jwks := pc(0, "fhir-client", "jwks", keyFile)
	if _, err := fhirapi.ParseJWKS([]byte(jwks)); err != nil || strings.Contains(jwks, `"d"`) {
		t.Fatalf("jwks = %s (%v), want a public JWKS", jwks, err)
	}
	jwksFile := filepath.Join(dir, "ehr.jwks")
	os.WriteFile(jwksFile, []byte(jwks), 0o600)

	pc(0, "user", "add", "--db", db, "alice", "Dr Alice")
	patient := strings.TrimSpace(pc(0, "patient", "add", "--db", db, "Ann"))
	pc(1, "fhir-client", "add", "--db", db, "--name", "EHR", "--jwks-file", jwksFile) // neither panel nor patients
	pc(1, "fhir-client", "add", "--db", db, "--name", "EHR", "--jwks-file", keyFile, "--panel", "alice")
	out := pc(0, "fhir-client", "add", "--db", db, "--name", "EHR", "--jwks-file", jwksFile, "--panel", "alice")
	m := regexp.MustCompile(`^(fc_[0-9a-f]+)\ngroup: ([0-9a-f-]{36})\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("fhir-client add = %q, want the client id and group", out)
	}
	pc(0, "fhir-client", "add", "--db", db, "--name", "Tele", "--jwks-file", jwksFile, "--patient", patient)
	pc(1, "fhir-client", "add", "--db", db, "--name", "Tele", "--jwks-file", jwksFile, "--patient", "pt_none")
	list := pc(0, "fhir-client", "list", "--db", db)
	if !strings.Contains(list, m[1]) || !strings.Contains(list, m[2]) || !strings.Contains(list, patient) {
		t.Errorf("fhir-client list = %q", list)
	}
	a := strings.TrimSpace(pc(0, "fhir-client", "assertion", "--client", m[1], "--token-url", "https://clinic.example.org/fhir/auth/token", keyFile))
	if strings.Count(a, ".") != 2 {
		t.Errorf("assertion = %q, want a compact JWS", a)
	}
	pc(0, "fhir-client", "revoke", "--db", db, m[1])
	pc(1, "fhir-client", "revoke", "--db", db, m[1])
	if list := pc(0, "fhir-client", "list", "--db", db); !regexp.MustCompile(m[1] + `.*\d{4}-\d\d-\d\dT\S+\s+\d{4}-`).MatchString(list) {
		t.Errorf("list after revoke = %q, want a revoked time", list)
	}
}
