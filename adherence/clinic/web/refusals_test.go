package web

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/uplink"
)

// auditAfter returns the entries written after seq.
func (e *env) auditAfter(seq int64) []clinic.Entry {
	e.t.Helper()
	es, err := e.Clinic.AuditLog(e.Ctx, clinic.AuditQuery{After: seq, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return es
}

func (e *env) lastSeq() int64 {
	es, _ := e.Clinic.AuditLog(e.Ctx, clinic.AuditQuery{Limit: 1000})
	for len(es) == 1000 {
		more, _ := e.Clinic.AuditLog(e.Ctx, clinic.AuditQuery{After: es[len(es)-1].Seq, Limit: 1000})
		if len(more) == 0 {
			break
		}
		es = more
	}
	if len(es) == 0 {
		return 0
	}
	return es[len(es)-1].Seq
}

// TestRefusalsAudited: every refused authentication (401: no credential,
// an unknown, revoked or expired token, a malformed header, an ended
// session) and authorisation (403: a device on a user's route, a user on
// the device route, a missing CSRF token; the 404 of an admin route and
// of the panel check) leaves one audit entry naming who, which route and
// why, never the credential; and an admin's read of the accounts is
// audited.
func TestRefusalsAudited(t *testing.T) {
	e := newEnv(t)
	cli := clinic.CLI("test")
	e.Clinic.TokenTTL.API = time.Hour
	short, err := e.Clinic.IssueAPIToken(e.Ctx, cli, e.Alice.ID, "short")
	if err != nil {
		t.Fatal(err)
	}
	e.Clinic.TokenTTL.API = 0
	shortInfo, _ := e.Clinic.Authenticate(e.Ctx, short)
	revoked, _ := e.Clinic.Tokens(e.Ctx)
	var revokedID string
	for _, ti := range revoked {
		if !ti.Revoked.IsZero() && ti.Kind == "api" {
			revokedID = ti.ID
		}
	}
	adminTok, err := e.Clinic.IssueAPIToken(e.Ctx, cli, e.Admin.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	cookie, _ := e.login("alice", testPassword)
	ended, _ := e.login("bob", testPassword)
	if w := e.do("POST", "/logout", ended, "csrf="+mustCSRF(t, e, ended), "Content-Type", "application/x-www-form-urlencoded"); w.Code != http.StatusSeeOther {
		t.Fatalf("logout = %d", w.Code)
	}
	e.Clock.Advance(2 * time.Hour) // the short token has ended; sessions are 30 min idle: sign alice in again
	cookie, _ = e.login("alice", testPassword)

	tests := []struct {
		name, method, target, auth, body string
		code                             int
		action, actor, why               string
	}{
		{"no credential", "GET", "/api/v1/patients", "", "", 401, "auth.refused", "anonymous", "GET /api/v1/patients: sign in first"},
		{"a page without a session", "GET", "/panel", "", "", 303, "auth.refused", "anonymous", "GET /panel: sign in first"},
		{"ended session", "GET", "/panel", ended, "", 303, "auth.refused", "anonymous", "session ended"},
		{"unknown token", "GET", "/api/v1/patients", "Bearer pba_nosuchtoken", "", 401, "auth.refused", "anonymous", "GET /api/v1/patients: unknown token"},
		{"revoked token", "GET", "/api/v1/patients", "Bearer " + e.RevokedAPI, "", 401, "auth.refused", "token:" + revokedID, "revoked token"},
		{"expired token", "GET", "/api/v1/patients", "Bearer " + short, "", 401, "auth.refused", "token:" + shortInfo.TokenID, "expired token"},
		{"not a bearer token", "GET", "/api/v1/patients", "", "", 401, "auth.refused", "anonymous", "must be a Bearer token"},
		{"device on a user route", "GET", "/api/v1/patients", "Bearer " + e.TokA, "", 403, "access.denied", "device:" + e.DevA.ID, "device tokens can only push"},
		{"user on the device route", "POST", uplink.Path, "Bearer " + e.APIAlice, "{}", 403, "access.denied", "user:" + e.Alice.ID, "this route is for device tokens"},
		{"no CSRF token", "POST", "/logout", cookie, "", 403, "access.denied", "user:" + e.Alice.ID, "CSRF"},
		{"not an admin", "GET", "/api/v1/admin/users", "Bearer " + e.APIAlice, "", 404, "access.denied", "user:" + e.Alice.ID, "GET /api/v1/admin/users: not an admin"},
		{"another clinician's patient", "GET", "/api/v1/patients/" + e.PatB.ID, "Bearer " + e.APIAlice, "", 404, "patient.denied", "user:" + e.Alice.ID, e.PatB.ID},
		{"an admin reads the accounts", "GET", "/api/v1/admin/users", "Bearer " + adminTok, "", 200, "users.read", "user:" + e.Admin.ID, "count=3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.lastSeq()
			var hdr []string
			if tc.name == "not a bearer token" {
				hdr = []string{"Authorization", "Basic YWxpY2U6eA=="}
			}
			w := e.do(tc.method, tc.target, tc.auth, tc.body, hdr...)
			if w.Code != tc.code {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.target, w.Code, w.Body, tc.code)
			}
			es := e.auditAfter(before)
			if len(es) != 1 {
				t.Fatalf("audit entries = %+v, want one", es)
			}
			en := es[0]
			if en.Action != tc.action || en.Actor != tc.actor || !strings.Contains(en.Target, tc.why) {
				t.Errorf("audit entry = %s %s %q, want %s %s with %q", en.Actor, en.Action, en.Target, tc.actor, tc.action, tc.why)
			}
			for _, secret := range []string{e.RevokedAPI, short, e.TokA, e.APIAlice, cookie, ended} {
				if strings.Contains(en.Target, secret) || strings.Contains(en.Actor, secret) {
					t.Errorf("audit entry %+v holds a credential", en)
				}
			}
		})
	}
}

func mustCSRF(t *testing.T, e *env, cookie string) string {
	t.Helper()
	p, err := e.Clinic.Session(e.Ctx, cookie, clinic.DefaultSessionLimits)
	if err != nil {
		t.Fatal(err)
	}
	return p.CSRF
}

// TestTokenExpiry: tokens get the default lifetime, or the one asked for
// up to the maximum; an expired token is refused and says so; the device
// learns when its token ends from each acknowledgement.
func TestTokenExpiry(t *testing.T) {
	e := newEnv(t)
	cli := clinic.CLI("test")
	ts, err := e.Clinic.Tokens(e.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range ts {
		want := clinic.DefaultTokenTTL.API
		if ti.Kind == "device" {
			want = clinic.DefaultTokenTTL.Device
		}
		if got := ti.Expires.Sub(ti.Created); got != want {
			t.Errorf("token %s (%s) lasts %v, want %v", ti.ID, ti.Kind, got, want)
		}
	}
	for _, ttl := range []clinic.TokenTTL{{API: 366 * 24 * time.Hour}, {API: -time.Hour}} {
		e.Clinic.TokenTTL = ttl
		if _, err := e.Clinic.IssueAPIToken(e.Ctx, cli, e.Alice.ID, ""); !errors.Is(err, clinic.ErrInvalid) {
			t.Errorf("IssueAPIToken lasting %v = %v, want clinic.ErrInvalid", ttl.API, err)
		}
	}
	e.Clinic.TokenTTL = clinic.TokenTTL{Device: 731 * 24 * time.Hour}
	if _, err := e.Clinic.RotateDeviceToken(e.Ctx, cli, e.DevA.ID); !errors.Is(err, clinic.ErrInvalid) {
		t.Errorf("RotateDeviceToken lasting 731 days = %v, want clinic.ErrInvalid", err)
	}
	e.Clinic.TokenTTL = clinic.TokenTTL{Device: 40 * 24 * time.Hour}
	tok, err := e.Clinic.RotateDeviceToken(e.Ctx, cli, e.DevA.ID)
	if err != nil {
		t.Fatal(err)
	}
	code, ack, body := e.postBatch(tok, rawBatch(e.DevA.ID, "l", t0))
	if code != http.StatusOK || !ack.TokenExpires.Equal(t0.Add(40*24*time.Hour)) {
		t.Errorf("POST sync = %d %s, want the token's end %v in the ack", code, body, t0.Add(40*24*time.Hour))
	}
	devs, _ := e.Clinic.Devices(e.Ctx, e.PatA.ID)
	if devs[0].TokenEnding(t0) || !devs[0].TokenEnding(t0.Add(11*24*time.Hour)) {
		t.Errorf("device token ending: at 40 days %v, at 29 days %v; want false then true", devs[0].TokenEnding(t0), devs[0].TokenEnding(t0.Add(11*24*time.Hour)))
	}
	e.Clock.Advance(40 * 24 * time.Hour)
	code, _, body = e.postBatch(tok, rawBatch(e.DevA.ID, "l", e.Clock.Now()))
	if code != http.StatusUnauthorized || !strings.Contains(body, "token expired") {
		t.Errorf("POST sync with an expired token = %d %s, want 401 token expired", code, body)
	}
	if w := e.do("GET", "/api/v1/patients", "Bearer "+e.APIAlice, ""); w.Code != http.StatusOK {
		t.Errorf("an API token 40 days old = %d, want 200", w.Code)
	}
	e.Clock.Advance(50 * 24 * time.Hour)
	if w := e.do("GET", "/api/v1/patients", "Bearer "+e.APIAlice, ""); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "token expired") {
		t.Errorf("an API token 90 days old = %d %s, want 401 token expired", w.Code, w.Body)
	}
}
