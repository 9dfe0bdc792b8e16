package clinic

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/uplink"
)

// auditAfter returns the entries written after seq.
func (e *env) auditAfter(seq int64) []Entry {
	e.t.Helper()
	es, err := e.store.AuditLog(e.ctx, AuditQuery{After: seq, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return es
}

func (e *env) lastSeq() int64 {
	es, _ := e.store.AuditLog(e.ctx, AuditQuery{Limit: 1000})
	for len(es) == 1000 {
		more, _ := e.store.AuditLog(e.ctx, AuditQuery{After: es[len(es)-1].Seq, Limit: 1000})
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
	cli := CLI("test")
	e.store.TokenTTL.API = time.Hour
	short, err := e.store.IssueAPIToken(e.ctx, cli, e.alice.ID, "short")
	if err != nil {
		t.Fatal(err)
	}
	e.store.TokenTTL.API = 0
	shortInfo, _ := e.store.Authenticate(e.ctx, short)
	revoked, _ := e.store.Tokens(e.ctx)
	var revokedID string
	for _, ti := range revoked {
		if !ti.Revoked.IsZero() && ti.Kind == "api" {
			revokedID = ti.ID
		}
	}
	adminTok, err := e.store.IssueAPIToken(e.ctx, cli, e.admin.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	cookie, _ := e.login("alice", testPassword)
	ended, _ := e.login("bob", testPassword)
	if w := e.do("POST", "/logout", ended, "csrf="+mustCSRF(t, e, ended), "Content-Type", "application/x-www-form-urlencoded"); w.Code != http.StatusSeeOther {
		t.Fatalf("logout = %d", w.Code)
	}
	e.clock.Advance(2 * time.Hour) // the short token has ended; sessions are 30 min idle: sign alice in again
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
		{"revoked token", "GET", "/api/v1/patients", "Bearer " + e.revokedAPI, "", 401, "auth.refused", "token:" + revokedID, "revoked token"},
		{"expired token", "GET", "/api/v1/patients", "Bearer " + short, "", 401, "auth.refused", "token:" + shortInfo.TokenID, "expired token"},
		{"not a bearer token", "GET", "/api/v1/patients", "", "", 401, "auth.refused", "anonymous", "must be a Bearer token"},
		{"device on a user route", "GET", "/api/v1/patients", "Bearer " + e.tokA, "", 403, "access.denied", "device:" + e.devA.ID, "device tokens can only push"},
		{"user on the device route", "POST", uplink.Path, "Bearer " + e.apiAlice, "{}", 403, "access.denied", "user:" + e.alice.ID, "this route is for device tokens"},
		{"no CSRF token", "POST", "/logout", cookie, "", 403, "access.denied", "user:" + e.alice.ID, "CSRF"},
		{"not an admin", "GET", "/api/v1/admin/users", "Bearer " + e.apiAlice, "", 404, "access.denied", "user:" + e.alice.ID, "GET /api/v1/admin/users: not an admin"},
		{"another clinician's patient", "GET", "/api/v1/patients/" + e.patB.ID, "Bearer " + e.apiAlice, "", 404, "patient.denied", "user:" + e.alice.ID, e.patB.ID},
		{"an admin reads the accounts", "GET", "/api/v1/admin/users", "Bearer " + adminTok, "", 200, "users.read", "user:" + e.admin.ID, "count=3"},
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
			for _, secret := range []string{e.revokedAPI, short, e.tokA, e.apiAlice, cookie, ended} {
				if strings.Contains(en.Target, secret) || strings.Contains(en.Actor, secret) {
					t.Errorf("audit entry %+v holds a credential", en)
				}
			}
		})
	}
}

func mustCSRF(t *testing.T, e *env, cookie string) string {
	t.Helper()
	p, err := e.store.Session(e.ctx, cookie, DefaultSessionLimits)
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
	cli := CLI("test")
	ts, err := e.store.Tokens(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range ts {
		want := DefaultTokenTTL.API
		if ti.Kind == "device" {
			want = DefaultTokenTTL.Device
		}
		if got := ti.Expires.Sub(ti.Created); got != want {
			t.Errorf("token %s (%s) lasts %v, want %v", ti.ID, ti.Kind, got, want)
		}
	}
	for _, ttl := range []TokenTTL{{API: 366 * 24 * time.Hour}, {API: -time.Hour}} {
		e.store.TokenTTL = ttl
		if _, err := e.store.IssueAPIToken(e.ctx, cli, e.alice.ID, ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("IssueAPIToken lasting %v = %v, want ErrInvalid", ttl.API, err)
		}
	}
	e.store.TokenTTL = TokenTTL{Device: 731 * 24 * time.Hour}
	if _, err := e.store.RotateDeviceToken(e.ctx, cli, e.devA.ID); !errors.Is(err, ErrInvalid) {
		t.Errorf("RotateDeviceToken lasting 731 days = %v, want ErrInvalid", err)
	}
	e.store.TokenTTL = TokenTTL{Device: 40 * 24 * time.Hour}
	tok, err := e.store.RotateDeviceToken(e.ctx, cli, e.devA.ID)
	if err != nil {
		t.Fatal(err)
	}
	code, ack, body := e.postBatch(tok, rawBatch(e.devA.ID, "l", t0))
	if code != http.StatusOK || !ack.TokenExpires.Equal(t0.Add(40*24*time.Hour)) {
		t.Errorf("POST sync = %d %s, want the token's end %v in the ack", code, body, t0.Add(40*24*time.Hour))
	}
	devs, _ := e.store.Devices(e.ctx, e.patA.ID)
	if devs[0].TokenEnding(t0) || !devs[0].TokenEnding(t0.Add(11*24*time.Hour)) {
		t.Errorf("device token ending: at 40 days %v, at 29 days %v; want false then true", devs[0].TokenEnding(t0), devs[0].TokenEnding(t0.Add(11*24*time.Hour)))
	}
	e.clock.Advance(40 * 24 * time.Hour)
	code, _, body = e.postBatch(tok, rawBatch(e.devA.ID, "l", e.clock.Now()))
	if code != http.StatusUnauthorized || !strings.Contains(body, "token expired") {
		t.Errorf("POST sync with an expired token = %d %s, want 401 token expired", code, body)
	}
	if w := e.do("GET", "/api/v1/patients", "Bearer "+e.apiAlice, ""); w.Code != http.StatusOK {
		t.Errorf("an API token 40 days old = %d, want 200", w.Code)
	}
	e.clock.Advance(50 * 24 * time.Hour)
	if w := e.do("GET", "/api/v1/patients", "Bearer "+e.apiAlice, ""); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "token expired") {
		t.Errorf("an API token 90 days old = %d %s, want 401 token expired", w.Code, w.Body)
	}
}
