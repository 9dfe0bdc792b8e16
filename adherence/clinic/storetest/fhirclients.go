package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
)

// testFHIRClients checks the FHIR API's clients, assertion ids and
// access tokens: registration (by panel or patients), revocation, the
// one-use rule of an assertion id until it expires, and a token found by
// its hash with its client.
func testFHIRClients(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	jwks := json.RawMessage(`{"keys":[{"kty":"EC","crv":"P-384","x":"x","y":"y","kid":"k1"}]}`)
	panel := clinic.FHIRClient{ID: "fc_panel", Name: "EHR", JWKS: jwks, PanelUserID: w.u.ID, Created: at(time.Hour)}
	named := clinic.FHIRClient{ID: "fc_named", Name: "Telehealth", JWKS: jwks, Patients: []string{w.p.ID, w.q.ID}, Created: at(2 * time.Hour)}
	before := len(log(t, s))
	must(t, s.CreateFHIRClient(ctx, named, entry("fhir_client.add", "", named.ID)))
	must(t, s.CreateFHIRClient(ctx, panel, entry("fhir_client.add", "", panel.ID)))
	for name, c := range map[string]clinic.FHIRClient{
		"unknown user":    {ID: "fc_x", Name: "x", JWKS: jwks, PanelUserID: "us_none", Created: t0},
		"unknown patient": {ID: "fc_y", Name: "y", JWKS: jwks, Patients: []string{w.p.ID, "pt_none"}, Created: t0},
	} {
		if err := s.CreateFHIRClient(ctx, c, entry("fhir_client.add", "", c.ID)); !errors.Is(err, clinic.ErrNotFound) {
			t.Errorf("CreateFHIRClient(%s) = %v, want ErrNotFound", name, err)
		}
	}
	cs, err := s.FHIRClients(ctx)
	must(t, err)
	if len(cs) != 2 || cs[0].ID != panel.ID || cs[1].ID != named.ID {
		t.Fatalf("FHIRClients = %+v, want fc_panel then fc_named (by creation)", cs)
	}
	got, err := s.FHIRClient(ctx, named.ID)
	if err != nil || got.Name != named.Name || string(got.JWKS) != string(jwks) || got.PanelUserID != "" ||
		!slices.Equal(got.Patients, named.Patients) || !same(got.Created, named.Created) || !got.Revoked.IsZero() {
		t.Errorf("FHIRClient(named) = %+v, %v; want %+v", got, err, named)
	}
	if got := cs[0]; got.PanelUserID != w.u.ID || got.Patients != nil {
		t.Errorf("FHIRClients[0] = %+v, want the panel of %s and no patients", got, w.u.ID)
	}
	if _, err := s.FHIRClient(ctx, "fc_none"); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("FHIRClient(unknown) = %v, want ErrNotFound", err)
	}

	// Tokens and assertion ids.
	tok := clinic.FHIRToken{ClientID: panel.ID, Scope: "system/Observation.rs", Issued: at(3 * time.Hour), Expires: at(3*time.Hour + 5*time.Minute)}
	must(t, s.IssueFHIRToken(ctx, panel.ID, "jti-1", at(3*time.Hour+4*time.Minute), tok, clinic.HashSecret("pbf_1"), entry("fhir.token", "", tok.Scope)))
	gt, gc, err := s.FHIRToken(ctx, clinic.HashSecret("pbf_1"))
	if err != nil || gt.ClientID != panel.ID || gt.Scope != tok.Scope || !same(gt.Issued, tok.Issued) || !same(gt.Expires, tok.Expires) || gc.ID != panel.ID || gc.PanelUserID != w.u.ID {
		t.Errorf("FHIRToken = %+v, %+v, %v; want %+v of fc_panel", gt, gc, err, tok)
	}
	if _, _, err := s.FHIRToken(ctx, clinic.HashSecret("pbf_none")); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("FHIRToken(unknown) = %v, want ErrNotFound", err)
	}
	// A replayed assertion id is refused and stores nothing; another
	// client may use the same id.
	replay := tok
	replay.Issued = at(3*time.Hour + time.Minute)
	if err := s.IssueFHIRToken(ctx, panel.ID, "jti-1", at(3*time.Hour+6*time.Minute), replay, clinic.HashSecret("pbf_2"), entry("fhir.token", "", "")); !errors.Is(err, clinic.ErrConflict) {
		t.Errorf("IssueFHIRToken(replayed jti) = %v, want ErrConflict", err)
	}
	if _, _, err := s.FHIRToken(ctx, clinic.HashSecret("pbf_2")); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("the refused replay stored its token: FHIRToken = %v, want ErrNotFound", err)
	}
	other := clinic.FHIRToken{ClientID: named.ID, Scope: "system/*.rs", Issued: replay.Issued, Expires: replay.Issued.Add(5 * time.Minute)}
	must(t, s.IssueFHIRToken(ctx, named.ID, "jti-1", at(3*time.Hour+6*time.Minute), other, clinic.HashSecret("pbf_3"), entry("fhir.token", "", "")))
	if err := s.IssueFHIRToken(ctx, "fc_none", "jti-9", at(4*time.Hour), other, clinic.HashSecret("pbf_4"), entry("fhir.token", "", "")); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("IssueFHIRToken(unknown client) = %v, want ErrNotFound", err)
	}
	// Once expired, the id is forgotten (a new assertion must be dated
	// anew anyway) and so are expired tokens.
	later := clinic.FHIRToken{ClientID: panel.ID, Scope: "system/*.rs", Issued: at(4 * time.Hour), Expires: at(4*time.Hour + 5*time.Minute)}
	must(t, s.IssueFHIRToken(ctx, panel.ID, "jti-1", at(4*time.Hour+time.Minute), later, clinic.HashSecret("pbf_5"), entry("fhir.token", "", "")))
	if _, _, err := s.FHIRToken(ctx, clinic.HashSecret("pbf_1")); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("an access token expired before the next issue is still there: FHIRToken = %v, want ErrNotFound", err)
	}

	must(t, s.RevokeFHIRClient(ctx, panel.ID, at(5*time.Hour), entry("fhir_client.revoke", "", panel.ID)))
	if err := s.RevokeFHIRClient(ctx, panel.ID, at(6*time.Hour), entry("fhir_client.revoke", "", panel.ID)); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("RevokeFHIRClient(already revoked) = %v, want ErrNotFound", err)
	}
	if _, c, err := s.FHIRToken(ctx, clinic.HashSecret("pbf_5")); err != nil || !same(c.Revoked, at(5*time.Hour)) {
		t.Errorf("FHIRToken of a revoked client = %+v, %v; want the client revoked at %v", c, err, at(5*time.Hour))
	}
	want := []string{"fhir_client.add  fc_named", "fhir_client.add  fc_panel", "fhir.token  system/Observation.rs", "fhir.token  ",
		"fhir.token  ", "fhir_client.revoke  fc_panel"}
	if got := actions(t, s)[before:]; !slices.Equal(got, want) {
		t.Errorf("audit = %q, want %q (nothing of the refused calls)", got, want)
	}
}
