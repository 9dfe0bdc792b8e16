package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/adherence/uplink"
)

// publicRoutes are the routes anyone may call. Adding one is a decision:
// it must be added here too, and it must show no patient data.
var publicRoutes = []string{"GET /healthz", "GET /readyz", "GET /static/", "GET /login", "POST /login"}

// target fills a route's pattern with patient A's ids (alice's patient)
// and gives a body that would succeed for the right caller.
func (e *env) target(rt route) (path, body string) {
	path = strings.NewReplacer("{patient}", e.PatA.ID, "{user}", e.Alice.ID, "{$}", "").Replace(rt.path)
	if rt.path == "/static/" {
		path = "/static/style.css"
	}
	switch {
	case rt.path == uplink.Path:
		body = batchJSON(e.t, e.DevA.ID, "log1", 1, 3)
	case rt.path == "/api/v1/admin/panels":
		body = fmt.Sprintf(`{"user": %q, "patient": %q, "on": true}`, e.Bob.ID, e.PatA.ID)
	}
	return path, body
}

// denied reports whether a response refuses the request: 401, 403 and 404,
// or a redirect to the login page.
func denied(code int, location string) bool {
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return true
	case http.StatusSeeOther:
		return strings.HasPrefix(location, "/login")
	}
	return false
}

// TestEveryRouteDenies walks the router's own table, so that a new route
// is checked without anyone remembering to add it here. For each route it
// checks that the rightful caller gets through (so that a denial below
// means something), then that each wrong caller is denied.
func TestEveryRouteDenies(t *testing.T) {
	routes := newEnv(t).srv.routes
	var public []string
	for _, rt := range routes {
		if rt.access == accessPublic {
			public = append(public, rt.method+" "+rt.path)
		}
	}
	if !slices.Equal(public, publicRoutes) {
		t.Fatalf("public routes = %v, want %v: a new public route must be added to publicRoutes deliberately", public, publicRoutes)
	}
	for i := range routes {
		rt := routes[i]
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			e := newEnv(t)
			path, body := e.target(rt)
			leaks := func(t *testing.T, who string, code int, resp string) {
				t.Helper()
				if code == http.StatusSeeOther {
					return // the body only repeats the Location, the caller's own path
				}
				if strings.Contains(resp, e.PatA.ID) || strings.Contains(resp, e.PatA.DisplayName) || strings.Contains(resp, e.DevA.ID) {
					t.Errorf("%s %s as %s = %d and shows patient A's data: %.300s", rt.method, path, who, code, resp)
				}
			}
			if rt.access == accessPublic {
				w := e.do(rt.method, path, "", body)
				leaks(t, "nobody", w.Code, w.Body.String())
				return
			}

			aliceCookie, aliceCSRF := e.login("alice", testPassword)
			bobCookie, bobCSRF := e.login("bob", testPassword)
			adminCookie, adminCSRF := e.login("root", testPassword)

			// The rightful caller gets through.
			owner, ownerCSRF := aliceCookie, aliceCSRF
			switch rt.access {
			case accessAdmin:
				owner, ownerCSRF = adminCookie, adminCSRF
			case accessDevice:
				owner, ownerCSRF = "Bearer "+e.TokA, ""
			}
			ok := e.do(rt.method, path, owner, body, "X-CSRF-Token", ownerCSRF)
			if ok.Code >= 400 {
				t.Fatalf("%s %s as its rightful caller = %d, want success: %s", rt.method, path, ok.Code, ok.Body)
			}

			type caller struct {
				name, auth, csrf string
				// mayList: a list route answers this caller with their
				// own (other) patients; it must still not show patient A.
				mayList bool
			}
			callers := []caller{
				{name: "nobody"},
				{name: "bob's session", auth: bobCookie, csrf: bobCSRF, mayList: true},
				{name: "bob's API token", auth: "Bearer " + e.APIBob, mayList: true},
				{name: "alice's revoked API token", auth: "Bearer " + e.RevokedAPI},
				{name: "device A's revoked token", auth: "Bearer " + e.RevokedDevice},
				{name: "alice's session without CSRF token", auth: aliceCookie, mayList: true},
			}
			if rt.access == accessDevice {
				// clinic.Device B writing as device A: a cross-patient write.
				callers = append(callers, caller{name: "device B's token", auth: "Bearer " + e.TokB})
			} else {
				callers = append(callers, caller{name: "device A's token", auth: "Bearer " + e.TokA})
			}
			for _, c := range callers {
				w := e.do(rt.method, path, c.auth, body, "X-CSRF-Token", c.csrf)
				if c.mayList && rt.access == accessUser && (w.Code < 400 || w.Code == http.StatusSeeOther) {
					if c.name == "alice's session without CSRF token" && rt.method != "GET" {
						t.Errorf("%s %s as %s = %d, want a denial", rt.method, path, c.name, w.Code)
					}
					if c.name != "alice's session without CSRF token" {
						leaks(t, c.name, w.Code, w.Body.String())
					}
					continue
				}
				if c.name == "alice's session without CSRF token" && rt.method == "GET" && rt.access != accessAdmin && rt.access != accessDevice {
					continue // reading needs no CSRF token; alice may read her patient
				}
				if !denied(w.Code, w.Header().Get("Location")) {
					t.Errorf("%s %s as %s = %d, want 401, 403, 404 or a redirect to /login; body %.300s",
						rt.method, path, c.name, w.Code, w.Body)
				}
				if rt.access == accessPatient && c.name == "bob's session" && w.Code != http.StatusNotFound {
					t.Errorf("%s %s as a clinician of another panel = %d, want 404", rt.method, path, w.Code)
				}
				leaks(t, c.name, w.Code, w.Body.String())
			}
		})
	}
}
