package fhirapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
)

// TestClientKeys checks pillctl's side: PEM keys as openssl writes them,
// their JWKS (which registration accepts) and an assertion the token
// endpoint takes.
func TestClientKeys(t *testing.T) {
	e := newEnv(t)
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(rk)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p256b, _ := x509.MarshalECPrivateKey(p256)
	if _, err := ParsePrivateKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: p256b})); err == nil {
		t.Error("a P-256 key was accepted")
	}
	for name, p := range map[string][]byte{
		"SEC 1":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
		"PKCS 8": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	} {
		key, err := ParsePrivateKeyPEM(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		jwks, err := PublicJWKS(key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := e.f.Clinic.AddFHIRClient(e.f.Ctx, clinic.CLI("test"), name, jwks, "alice", nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := SignAssertion(key, c.ID, e.srv.URL+TokenPath, e.f.Clock.Now(), 2*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if st, body := e.tokenRequest(t, form(a, "system/*.rs")); st != 200 {
			t.Errorf("%s: token = %d %v", name, st, body)
		}
	}
	if _, err := SignAssertion(ec, "fc_x", "u", time.Now(), 10*time.Minute); err == nil {
		t.Error("an assertion of 10 minutes was signed")
	}
}
