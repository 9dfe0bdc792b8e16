package fhirapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/internal/clinictest"
)

// env is the clinic fixture (Alice's panel holds patient A, Bob's
// patient B) with synthetic data for both, the API on a test server, and
// a client registered for Alice's panel with an ES384 key.
type env struct {
	f      *clinictest.Fixture
	api    *API
	srv    *httptest.Server
	key    *ecdsa.PrivateKey
	kid    string
	client clinic.FHIRClient
	ny     *time.Location
}

const synthDays = 40

// newEnv builds the env; the clock stands at 2026-03-20 09:00 UTC, and
// the synthetic logs (in America/New_York) cover the 40 days before, DST's
// start on 2026-03-08 among them.
func newEnv(t testing.TB, cfg ...func(*Config)) *env {
	t.Helper()
	f := clinictest.New(t)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	f.Clock.Advance(time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC).Sub(f.Clock.Now()))
	cli := clinic.CLI("test")
	if _, _, err := f.Clinic.SeedSynthetic(f.Ctx, cli, f.PatA.ID, synthDays, 1, ny); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Clinic.SeedSynthetic(f.Ctx, cli, f.PatB.ID, synthDays, 2, ny); err != nil {
		t.Fatal(err)
	}
	e := &env{f: f, ny: ny, kid: "k1"}
	e.srv = httptest.NewServer(nil)
	t.Cleanup(e.srv.Close)
	c := Config{Clinic: f.Clinic, Clock: f.Clock, BaseURL: e.srv.URL, Location: ny, Bulk: BulkConfig{Dir: t.TempDir()}}
	for _, fn := range cfg {
		fn(&c)
	}
	if e.api, err = New(c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.api.Close)
	e.srv.Config.Handler = e.api.Handler()
	e.key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e.client = e.register(t, "EHR", &e.key.PublicKey, e.kid, "alice", nil)
	return e
}

// register adds a client with one public key.
func (e *env) register(t testing.TB, name string, pub any, kid, panel string, patients []string) clinic.FHIRClient {
	t.Helper()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: kid, Use: "sig"}}}
	jwks, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseJWKS(jwks); err != nil {
		t.Fatal(err)
	}
	c, err := e.f.Clinic.AddFHIRClient(e.f.Ctx, clinic.CLI("test"), name, jwks, panel, patients)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// assertion signs claims with key (ES384 for an ECDSA key, RS384 for
// RSA) under kid.
func assertion(t testing.TB, key any, kid string, claims any) string {
	t.Helper()
	alg := jose.ES384
	if _, ok := key.(*ecdsa.PrivateKey); !ok {
		alg = jose.RS384
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claims are a valid assertion's claims for client at now.
func (e *env) claims(client clinic.FHIRClient) jwt.Claims {
	now := e.f.Clock.Now()
	return jwt.Claims{Issuer: client.ID, Subject: client.ID, Audience: jwt.Audience{e.srv.URL + TokenPath},
		Expiry: jwt.NewNumericDate(now.Add(4 * time.Minute)), IssuedAt: jwt.NewNumericDate(now), ID: rand.Text()}
}

// tokenRequest posts a token request and returns the status and body.
func (e *env) tokenRequest(t testing.TB, form url.Values) (int, map[string]any) {
	t.Helper()
	res, err := http.PostForm(e.srv.URL+TokenPath, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("token answer: %v", err)
	}
	return res.StatusCode, body
}

func form(assertion, scope string) url.Values {
	return url.Values{"grant_type": {GrantType}, "client_assertion_type": {AssertionType}, "client_assertion": {assertion}, "scope": {scope}}
}

// token gets an access token of scope for the env's client.
func (e *env) token(t testing.TB, scope string) string {
	t.Helper()
	status, body := e.tokenRequest(t, form(assertion(t, e.key, e.kid, e.claims(e.client)), scope))
	if status != 200 {
		t.Fatalf("token: %d %v", status, body)
	}
	return body["access_token"].(string)
}

// get fetches url (absolute, or a path of the server) with a token.
func (e *env) get(t testing.TB, u, token string, header ...string) (*http.Response, []byte) {
	t.Helper()
	return e.do(t, "GET", u, token, header...)
}

func (e *env) do(t testing.TB, method, u, token string, header ...string) (*http.Response, []byte) {
	t.Helper()
	if strings.HasPrefix(u, "/") {
		u = e.srv.URL + u
	}
	req, err := http.NewRequestWithContext(context.Background(), method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// bundle is a searchset as the tests read it.
type bundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Total        int    `json:"total"`
	Link         []struct {
		Relation, URL string
	} `json:"link"`
	Entry []struct {
		FullURL  string         `json:"fullUrl"`
		Resource map[string]any `json:"resource"`
		Search   struct{ Mode string }
	} `json:"entry"`
}

func (b bundle) link(rel string) string {
	for _, l := range b.Link {
		if l.Relation == rel {
			return l.URL
		}
	}
	return ""
}

// search gets a searchset, failing unless it is one.
func (e *env) search(t testing.TB, u, token string, header ...string) bundle {
	t.Helper()
	res, body := e.get(t, u, token, header...)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s = %d %s", u, res.StatusCode, body)
	}
	var b bundle
	if err := json.Unmarshal(body, &b); err != nil || b.Type != "searchset" {
		t.Fatalf("GET %s: not a searchset (%v): %.300s", u, err, body)
	}
	return b
}

// all follows next links from u and returns every match.
func (e *env) all(t testing.TB, u, token string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for pages := 0; u != ""; pages++ {
		if pages > 1000 {
			t.Fatal("more than 1000 pages")
		}
		b := e.search(t, u, token)
		for _, en := range b.Entry {
			if en.Search.Mode == "match" {
				out = append(out, en.Resource)
			}
		}
		u = b.link("next")
	}
	return out
}
