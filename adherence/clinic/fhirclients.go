package clinic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The FHIR API's clients (SMART Backend Services): systems such as an EHR
// or a population-health tool, registered with the public keys (a JWKS)
// they sign their token requests with, each for one user's panel or for
// named patients. The JOSE side (verifying a client's signed assertion)
// is adherence/clinic/fhirapi's; the clinic keeps the registrations, the
// assertions' ids until they expire (no replay) and the hashes of the
// short-lived access tokens it issues.

// FHIRClient is a registered FHIR API client.
type FHIRClient struct {
	ID   string `json:"id"` // the OAuth client_id, "fc_" and 80 random bits
	Name string `json:"name"`
	// JWKS is the client's public keys (a JSON Web Key Set) as
	// registered.
	JWKS json.RawMessage `json:"-"`
	// What it may read: the panel of the user PanelUserID, as the panel
	// is at each request, or the patients named (exactly one of the two).
	PanelUserID string    `json:"panel_user_id,omitempty"`
	Patients    []string  `json:"patients,omitempty"`
	Created     time.Time `json:"created"`
	Revoked     time.Time `json:"revoked,omitzero"`
}

// FHIRToken is an access token the token endpoint issued, without the
// token itself (the store keeps its hash).
type FHIRToken struct {
	ClientID string    `json:"client_id"`
	Scope    string    `json:"scope"` // the granted SMART scopes, space-separated
	Issued   time.Time `json:"issued"`
	Expires  time.Time `json:"expires"`
}

// Limits of a client registration.
const (
	MaxJWKSBytes       = 16 << 10
	MaxClientPatients  = 1000
	fhirTokenPrefix    = "pbf_"
	FHIRClientIDPrefix = "fc_"
)

// AddFHIRClient registers a client reading the panel of the user named
// panel (by username or id), or the patients named; exactly one of the two.
// jwks must be a JSON object with a "keys" array; its keys are checked by
// the FHIR API's package (fhirapi.ParseJWKS), which callers use first.
// Audited.
func (s *Service) AddFHIRClient(ctx context.Context, a Actor, name string, jwks []byte, panel string, patients []string) (FHIRClient, error) {
	if err := checkName("client name", name); err != nil {
		return FHIRClient{}, err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if len(jwks) > MaxJWKSBytes || json.Unmarshal(jwks, &set) != nil || len(set.Keys) == 0 {
		return FHIRClient{}, fmt.Errorf("%w: the JWKS must be a JSON object with a non-empty \"keys\" array, at most %d bytes", ErrInvalid, MaxJWKSBytes)
	}
	c := FHIRClient{ID: newID(FHIRClientIDPrefix), Name: strings.TrimSpace(name), JWKS: slices.Clone(jwks), Created: s.Now()}
	switch {
	case (panel == "") == (len(patients) == 0):
		return FHIRClient{}, fmt.Errorf("%w: a client reads one panel or named patients (one of the two)", ErrInvalid)
	case panel != "":
		u, err := s.Store.UserByName(ctx, panel)
		if err != nil {
			return FHIRClient{}, wrap("add FHIR client", err)
		}
		c.PanelUserID = u.ID
	default:
		if len(patients) > MaxClientPatients {
			return FHIRClient{}, fmt.Errorf("%w: at most %d patients", ErrInvalid, MaxClientPatients)
		}
		c.Patients = slices.Compact(slices.Sorted(slices.Values(patients)))
	}
	target := "panel " + c.PanelUserID
	if c.PanelUserID == "" {
		target = fmt.Sprintf("%d patients", len(c.Patients))
	}
	if err := s.Store.CreateFHIRClient(ctx, c, s.entry(a, "fhir_client.add", "", c.ID+" ("+target+")", "")); err != nil {
		return FHIRClient{}, wrap("add FHIR client", err)
	}
	return c, nil
}

// RevokeFHIRClient revokes a client; its access tokens stop working at
// once. Audited.
func (s *Service) RevokeFHIRClient(ctx context.Context, a Actor, clientID string) error {
	return wrap("revoke FHIR client", s.Store.RevokeFHIRClient(ctx, clientID, s.Now(), s.entry(a, "fhir_client.revoke", "", clientID, "")))
}

// IssueFHIRToken records the client's assertion id jti until jtiExpires
// (a second use is ErrConflict: a replay) and issues an access token of
// scope lasting ttl, shown once. Audited as a, the client.
func (s *Service) IssueFHIRToken(ctx context.Context, a Actor, clientID, jti string, jtiExpires time.Time, scope string, ttl time.Duration) (string, FHIRToken, error) {
	now := s.Now()
	t := FHIRToken{ClientID: clientID, Scope: scope, Issued: now, Expires: now.Add(ttl)}
	tok := NewSecret(fhirTokenPrefix)
	err := s.Store.IssueFHIRToken(ctx, clientID, jti, jtiExpires, t, HashSecret(tok), s.entry(a, "fhir.token", "", scope, ""))
	if err != nil {
		return "", FHIRToken{}, wrap("issue FHIR token", err)
	}
	return tok, t, nil
}

// ErrFHIRToken is every refusal of an access token: unknown, expired, or
// of a revoked client (the caller is not told which).
var ErrFHIRToken = fmt.Errorf("%w: unknown or expired access token", ErrUnauthenticated)

// FHIRAuthenticate finds the token's grant and client; ErrFHIRToken when
// it is unknown, expired or its client revoked.
func (s *Service) FHIRAuthenticate(ctx context.Context, token string) (FHIRToken, FHIRClient, error) {
	if !strings.HasPrefix(token, fhirTokenPrefix) || len(token) > 100 {
		return FHIRToken{}, FHIRClient{}, ErrFHIRToken
	}
	t, c, err := s.Store.FHIRToken(ctx, HashSecret(token))
	switch {
	case errors.Is(err, ErrNotFound):
		return FHIRToken{}, FHIRClient{}, ErrFHIRToken
	case err != nil:
		return FHIRToken{}, FHIRClient{}, fmt.Errorf("clinic: FHIR token: %w", err)
	case !s.Now().Before(t.Expires) || !c.Revoked.IsZero():
		return FHIRToken{}, FHIRClient{}, ErrFHIRToken
	}
	return t, c, nil
}

// FHIRGrant returns the patients the client may read now, by id: its
// panel's as it is now, or those it names that exist.
func (s *Service) FHIRGrant(ctx context.Context, c FHIRClient) ([]Patient, error) {
	if c.PanelUserID != "" {
		es, err := s.Store.PanelEntries(ctx, c.PanelUserID)
		if err != nil {
			return nil, fmt.Errorf("clinic: FHIR grant: %w", err)
		}
		ps := make([]Patient, len(es))
		for i, e := range es {
			ps[i] = e.Patient
		}
		return ps, nil
	}
	var ps []Patient
	for _, id := range c.Patients {
		p, err := s.Store.Patient(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("clinic: FHIR grant: %w", err)
		}
		ps = append(ps, p)
	}
	return ps, nil
}
