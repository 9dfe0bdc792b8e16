package fhirapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pillbox/pillbox/adherence/clinic"
)

// TestTokenEndpoint checks the token endpoint's answers: a token for a
// valid assertion (ES384 and RS384) with the granted scopes, and a clear
// OAuth error for each way an assertion or request can be wrong.
func TestTokenEndpoint(t *testing.T) {
	e := newEnv(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaClient := e.register(t, "rsa", &rsaKey.PublicKey, "r1", "alice", nil)
	other, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)

	status, body := e.tokenRequest(t, form(assertion(t, rsaKey, "r1", e.claims(rsaClient)), "system/Observation.rs system/Patient.read launch openid system/Foo.rs"))
	if status != 200 || body["token_type"] != "bearer" || body["expires_in"] != 300.0 || body["scope"] != "system/Observation.rs system/Patient.rs" {
		t.Errorf("RS384 token = %d %v; want a 5-minute bearer token for Observation and Patient", status, body)
	}
	if status, body = e.tokenRequest(t, form(assertion(t, e.key, e.kid, e.claims(e.client)), "system/*.cruds")); status != 200 || body["scope"] != "system/*.rs" {
		t.Errorf("ES384 token for system/*.cruds = %d %v; want system/*.rs", status, body)
	}

	c := e.claims(e.client)
	used := assertion(t, e.key, e.kid, c)
	if st, _ := e.tokenRequest(t, form(used, "system/*.rs")); st != 200 {
		t.Fatalf("first use = %d", st)
	}
	revoked := e.register(t, "gone", &e.key.PublicKey, e.kid, "alice", nil)
	if err := e.f.Clinic.RevokeFHIRClient(e.f.Ctx, clinic.CLI("test"), revoked.ID); err != nil {
		t.Fatal(err)
	}
	mod := func(f func(*jwt.Claims)) string {
		c := e.claims(e.client)
		f(&c)
		return assertion(t, e.key, e.kid, c)
	}
	now := e.f.Clock.Now()
	for _, tc := range []struct {
		name       string
		form       url.Values
		status     int
		code, says string
	}{
		{"replayed jti", form(used, "system/*.rs"), 401, "invalid_client", "already used"},
		{"wrong audience", form(mod(func(c *jwt.Claims) { c.Audience = jwt.Audience{"https://elsewhere/token"} }), "system/*.rs"), 401, "invalid_client", "aud"},
		{"exp too far", form(mod(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(6 * time.Minute)) }), "system/*.rs"), 401, "invalid_client", "5 minutes"},
		{"expired", form(mod(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-time.Second)) }), "system/*.rs"), 401, "invalid_client", "expired"},
		{"no exp", form(mod(func(c *jwt.Claims) { c.Expiry = nil }), "system/*.rs"), 401, "invalid_client", "exp"},
		{"no jti", form(mod(func(c *jwt.Claims) { c.ID = "" }), "system/*.rs"), 401, "invalid_client", "jti"},
		{"iss is not sub", form(mod(func(c *jwt.Claims) { c.Subject = "someone" }), "system/*.rs"), 401, "invalid_client", "iss and sub"},
		{"unknown client", form(mod(func(c *jwt.Claims) { c.Issuer, c.Subject = "fc_none", "fc_none" }), "system/*.rs"), 401, "invalid_client", "unknown client"},
		{"revoked client", form(assertion(t, e.key, e.kid, e.claims(revoked)), "system/*.rs"), 401, "invalid_client", "unknown client"},
		{"unknown kid", form(assertion(t, e.key, "k9", e.claims(e.client)), "system/*.rs"), 401, "invalid_client", "no key"},
		{"another key", form(assertion(t, other, e.kid, e.claims(e.client)), "system/*.rs"), 401, "invalid_client", "signature"},
		{"HS256", form(hs256(t, e.claims(e.client)), "system/*.rs"), 401, "invalid_client", "RS384 or ES384"},
		{"not a JWT", form("abc.def.ghi", "system/*.rs"), 401, "invalid_client", "JWS"},
		{"no scope granted", form(assertion(t, e.key, e.kid, e.claims(e.client)), "patient/*.rs user/*.cruds"), 400, "invalid_scope", "system/"},
		{"no scope", form(assertion(t, e.key, e.kid, e.claims(e.client)), ""), 400, "invalid_scope", "missing"},
		{"grant type", url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type", "client_credentials"},
		{"assertion type", url.Values{"grant_type": {GrantType}, "client_assertion_type": {"x"}}, 400, "invalid_request", "client_assertion_type"},
		{"twice", url.Values{"grant_type": {GrantType, GrantType}}, 400, "invalid_request", "2 times"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.tokenRequest(t, tc.form)
			if status != tc.status || body["error"] != tc.code || !strings.Contains(body["error_description"].(string), tc.says) {
				t.Errorf("token = %d %v; want %d %s saying %q", status, body, tc.status, tc.code, tc.says)
			}
		})
	}
}

// hs256 is an assertion signed with a shared secret, which the endpoint
// must not take.
func hs256(t *testing.T, c jwt.Claims) string {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(sig).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestParseJWKS checks what a registration may hold.
func TestParseJWKS(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	set := func(k jose.JSONWebKey) []byte {
		b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		jwks []byte
		ok   bool
	}{
		{"EC P-384", set(jose.JSONWebKey{Key: &ec.PublicKey, KeyID: "a"}), true},
		{"private key", set(jose.JSONWebKey{Key: ec, KeyID: "a"}), false},
		{"no kid", set(jose.JSONWebKey{Key: &ec.PublicKey}), false},
		{"P-256", set(jose.JSONWebKey{Key: &ec256.PublicKey, KeyID: "a"}), false},
		{"RSA 1024", set(jose.JSONWebKey{Key: &small.PublicKey, KeyID: "a"}), false},
		{"wrong alg", set(jose.JSONWebKey{Key: &ec.PublicKey, KeyID: "a", Algorithm: "RS384"}), false},
		{"empty", []byte(`{"keys":[]}`), false},
		{"not JSON", []byte(`keys`), false},
	} {
		if _, err := ParseJWKS(tc.jwks); (err == nil) != tc.ok {
			t.Errorf("ParseJWKS(%s) = %v, want ok %t", tc.name, err, tc.ok)
		}
	}
}

// FuzzTokenRequest checks that no form makes the token request parser
// panic, and that what it accepts has an assertion and a scope.
func FuzzTokenRequest(f *testing.F) {
	f.Add("grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c&scope=system%2F*.rs")
	f.Add("grant_type=password")
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		v, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		r, oerr := parseTokenRequest(v)
		if oerr == nil && (r.Assertion == "" || strings.TrimSpace(r.Scope) == "") {
			t.Errorf("parseTokenRequest(%q) accepted %+v", body, r)
		}
		if oerr != nil && (oerr.Code == "" || oerr.Status < 400) {
			t.Errorf("parseTokenRequest(%q) = %+v, not an OAuth error", body, oerr)
		}
		grantScopes(v.Get("scope"))
	})
}
