package fhirapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pillbox/pillbox/adherence/clinic"
)

// SMART Backend Services (SMART App Launch v2): a client proves who it
// is with a JWT it signs with a key of its registered JWKS
// (private_key_jwt, RS384 or ES384), and gets a short-lived access
// token. Signatures are go-jose's.

// Assertion constants.
const (
	GrantType     = "client_credentials"
	AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// MaxAssertionLife is how far ahead of now an assertion's exp may be.
	MaxAssertionLife = 5 * time.Minute
	maxTokenBody     = 16 << 10
	maxAssertion     = 8 << 10
)

var assertionAlgs = []jose.SignatureAlgorithm{jose.RS384, jose.ES384}

// TokenPath is the token endpoint's path.
const TokenPath = "/fhir/auth/token"

func (a *API) tokenURL() string { return a.base + "/auth/token" }

// ParseJWKS checks a client's JWKS: a set of public RSA (2048 bits or
// more) or EC P-384 keys, each with a kid, for RS384 or ES384.
func ParseJWKS(b []byte) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if len(b) > clinic.MaxJWKSBytes {
		return set, fmt.Errorf("fhirapi: JWKS: more than %d bytes", clinic.MaxJWKSBytes)
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return set, fmt.Errorf("fhirapi: JWKS: %w", err)
	}
	if len(set.Keys) == 0 {
		return set, errors.New("fhirapi: JWKS: no keys")
	}
	for i, k := range set.Keys {
		if !k.Valid() || !k.IsPublic() {
			return set, fmt.Errorf("fhirapi: JWKS: key %d is not a valid public key (a private key must never be registered)", i)
		}
		if k.KeyID == "" {
			return set, fmt.Errorf("fhirapi: JWKS: key %d has no kid", i)
		}
		switch pub := k.Key.(type) {
		case *rsa.PublicKey:
			if pub.N.BitLen() < 2048 {
				return set, fmt.Errorf("fhirapi: JWKS: key %q: RSA keys must be at least 2048 bits", k.KeyID)
			}
			if k.Algorithm != "" && k.Algorithm != string(jose.RS384) {
				return set, fmt.Errorf("fhirapi: JWKS: key %q: alg %s, want RS384", k.KeyID, k.Algorithm)
			}
		case *ecdsa.PublicKey:
			if pub.Curve != elliptic.P384() {
				return set, fmt.Errorf("fhirapi: JWKS: key %q: EC keys must be on P-384 (ES384)", k.KeyID)
			}
			if k.Algorithm != "" && k.Algorithm != string(jose.ES384) {
				return set, fmt.Errorf("fhirapi: JWKS: key %q: alg %s, want ES384", k.KeyID, k.Algorithm)
			}
		default:
			return set, fmt.Errorf("fhirapi: JWKS: key %q: want an RSA or EC P-384 key", k.KeyID)
		}
	}
	return set, nil
}

// oauthError is an OAuth 2.0 error answer (RFC 6749 5.2).
type oauthError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func oauthErr(status int, code, format string, args ...any) *oauthError {
	return &oauthError{Status: status, Code: code, Description: fmt.Sprintf(format, args...)}
}

// tokenRequest is a token request's form, checked for shape only.
type tokenRequest struct {
	Assertion string
	Scope     string
}

// parseTokenRequest checks a token request's form (RFC 6749 4.4 with an
// RFC 7523 client assertion).
func parseTokenRequest(form url.Values) (tokenRequest, *oauthError) {
	for k, v := range form {
		if len(v) != 1 {
			return tokenRequest{}, oauthErr(400, "invalid_request", "parameter %s given %d times", clip(k), len(v))
		}
	}
	switch gt := form.Get("grant_type"); gt {
	case GrantType:
	case "":
		return tokenRequest{}, oauthErr(400, "invalid_request", "grant_type is missing")
	default:
		return tokenRequest{}, oauthErr(400, "unsupported_grant_type", "grant_type must be %s", GrantType)
	}
	if form.Get("client_assertion_type") != AssertionType {
		return tokenRequest{}, oauthErr(400, "invalid_request", "client_assertion_type must be %s", AssertionType)
	}
	r := tokenRequest{Assertion: form.Get("client_assertion"), Scope: form.Get("scope")}
	switch {
	case r.Assertion == "":
		return tokenRequest{}, oauthErr(400, "invalid_request", "client_assertion is missing")
	case len(r.Assertion) > maxAssertion:
		return tokenRequest{}, oauthErr(400, "invalid_request", "client_assertion is longer than %d bytes", maxAssertion)
	case strings.TrimSpace(r.Scope) == "":
		return tokenRequest{}, oauthErr(400, "invalid_scope", "scope is missing (e.g. system/*.rs)")
	case len(r.Scope) > 2048:
		return tokenRequest{}, oauthErr(400, "invalid_scope", "scope is longer than 2048 bytes")
	}
	return r, nil
}

// verifyAssertion checks a client assertion and returns its client and
// claims: the client (iss = sub) registered and not revoked, the
// signature by a key of its JWKS (by kid), aud the token URL, exp at
// most MaxAssertionLife ahead, a jti.
func (a *API) verifyAssertion(r *http.Request, assertion string, now time.Time) (clinic.FHIRClient, jwt.Claims, *oauthError) {
	invalid := func(format string, args ...any) (clinic.FHIRClient, jwt.Claims, *oauthError) {
		return clinic.FHIRClient{}, jwt.Claims{}, oauthErr(401, "invalid_client", format, args...)
	}
	tok, err := jwt.ParseSigned(assertion, assertionAlgs)
	if err != nil {
		return invalid("client_assertion is not a JWS signed with RS384 or ES384")
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID == "" {
		return invalid("client_assertion's header must name its key (kid)")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return invalid("client_assertion's claims do not read")
	}
	if unverified.Issuer == "" || unverified.Issuer != unverified.Subject {
		return invalid("client_assertion's iss and sub must both be the client_id")
	}
	client, err := a.c.Clinic.Store.FHIRClient(r.Context(), unverified.Issuer)
	if errors.Is(err, clinic.ErrNotFound) || err == nil && !client.Revoked.IsZero() {
		return invalid("unknown client")
	}
	if err != nil {
		return clinic.FHIRClient{}, jwt.Claims{}, oauthErr(500, "server_error", "internal error")
	}
	set, err := ParseJWKS(client.JWKS)
	if err != nil {
		return invalid("the client's registered JWKS is not usable")
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) == 0 {
		return invalid("no key %q in the client's registered JWKS", clip(tok.Headers[0].KeyID))
	}
	var claims jwt.Claims
	verified := false
	for _, k := range keys {
		if tok.Claims(k.Key, &claims) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return invalid("client_assertion's signature does not verify with key %q", clip(tok.Headers[0].KeyID))
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: client.ID, Subject: client.ID, AnyAudience: jwt.Audience{a.tokenURL()}, Time: now}, 0); err != nil {
		switch {
		case errors.Is(err, jwt.ErrInvalidAudience):
			return invalid("client_assertion's aud must be the token URL %s", a.tokenURL())
		case errors.Is(err, jwt.ErrExpired):
			return invalid("client_assertion has expired")
		case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
			return invalid("client_assertion is not valid yet")
		}
		return invalid("client_assertion's claims are not valid")
	}
	switch {
	case claims.Expiry == nil:
		return invalid("client_assertion has no exp")
	case claims.Expiry.Time().After(now.Add(MaxAssertionLife)):
		return invalid("client_assertion's exp is more than 5 minutes ahead")
	case claims.ID == "" || len(claims.ID) > 256:
		return invalid("client_assertion needs a jti of 1 to 256 bytes")
	}
	return client, claims, nil
}

// token is the token endpoint.
func (a *API) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Pragma", "no-cache")
	actor := clinic.Actor{ID: "anonymous", Remote: a.remote(r)}
	refuse := func(e *oauthError) {
		if e.Status < 500 {
			a.audit(r.Context(), actor, "fhir.token", "", e.Code+": "+e.Description, "denied")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(e.Status)
		json.NewEncoder(w).Encode(e)
	}
	if ct := strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]); ct != "application/x-www-form-urlencoded" {
		refuse(oauthErr(400, "invalid_request", "the body must be application/x-www-form-urlencoded"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenBody)
	if err := r.ParseForm(); err != nil {
		refuse(oauthErr(400, "invalid_request", "the form could not be read"))
		return
	}
	req, oerr := parseTokenRequest(r.PostForm)
	if oerr != nil {
		refuse(oerr)
		return
	}
	now := a.c.Clock.Now().UTC()
	client, claims, oerr := a.verifyAssertion(r, req.Assertion, now)
	if oerr != nil {
		refuse(oerr)
		return
	}
	actor.ID = "fhir-client:" + client.ID
	granted := grantScopes(req.Scope)
	if len(granted) == 0 {
		refuse(oauthErr(400, "invalid_scope", "none of the requested scopes can be granted: this API grants system/<Type>.rs and system/*.rs (read and search) for %s", strings.Join(typeNames(), ", ")))
		return
	}
	tok, t, err := a.c.Clinic.IssueFHIRToken(r.Context(), actor, client.ID, claims.ID, claims.Expiry.Time(), granted.String(), a.c.TokenTTL)
	switch {
	case errors.Is(err, clinic.ErrConflict):
		refuse(oauthErr(401, "invalid_client", "client_assertion's jti was already used"))
		return
	case err != nil:
		a.log.Error("fhirapi: issue token", "err", err)
		refuse(oauthErr(500, "server_error", "internal error"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "bearer",
		"expires_in": int(t.Expires.Sub(t.Issued).Seconds()), "scope": t.Scope})
}

func typeNames() []string {
	var out []string
	for _, d := range resourceDefs {
		out = append(out, d.Type)
	}
	return out
}

// smartConfiguration is /.well-known/smart-configuration.
func (a *API) smartConfiguration(w http.ResponseWriter, r *http.Request) {
	scopes := []string{"system/*.rs"}
	for _, t := range typeNames() {
		scopes = append(scopes, "system/"+t+".rs")
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"token_endpoint":                                   a.tokenURL(),
		"token_endpoint_auth_methods_supported":            []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS384", "ES384"},
		"grant_types_supported":                            []string{GrantType},
		"scopes_supported":                                 scopes,
		"capabilities":                                     []string{"client-confidential-asymmetric"},
	})
}
