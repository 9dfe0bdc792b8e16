package fhirapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/schedule"
)

// Config configures the API.
type Config struct {
	Clinic *clinic.Service
	Clock  schedule.Clock
	Logger *slog.Logger // nil: discard
	// BaseURL is the service's public address (adherenced's
	// --public-url); the FHIR base is BaseURL/fhir, and the token
	// endpoint's URL, which assertions must name as their audience, is
	// BaseURL/fhir/auth/token.
	BaseURL string
	// Location is the zone of search dates given without one (R4: the
	// server's); nil is UTC.
	Location *time.Location
	// TokenTTL is how long an access token lasts; 0 is 5 minutes, at
	// most 1 hour.
	TokenTTL time.Duration
	// Remote names a request's client for the audit log; nil: the peer.
	Remote func(*http.Request) string
	// Bulk configures bulk export; zero fields take defaults.
	Bulk BulkConfig
	// Software is the version the CapabilityStatement names.
	Software string
}

// API serves the FHIR API. Build it with New.
type API struct {
	c    Config
	log  *slog.Logger
	base string // BaseURL + "/fhir"
	mux  *http.ServeMux
	bulk *bulkRunner
}

const fhirJSON = "application/fhir+json"

// New checks c and builds the API; Close stops its bulk jobs.
func New(c Config) (*API, error) {
	if c.Clinic == nil || c.Clock == nil {
		return nil, errors.New("fhirapi: Clinic and Clock are required")
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" {
		return nil, fmt.Errorf("fhirapi: base URL %q is not an absolute http(s) URL", c.BaseURL)
	}
	switch {
	case c.TokenTTL == 0:
		c.TokenTTL = 5 * time.Minute
	case c.TokenTTL < 0 || c.TokenTTL > time.Hour:
		return nil, errors.New("fhirapi: an access token lasts at most 1 hour")
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
	a := &API{c: c, log: c.Logger, base: strings.TrimSuffix(c.BaseURL, "/") + "/fhir", mux: http.NewServeMux()}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.bulk, err = newBulkRunner(a, c.Bulk); err != nil {
		return nil, err
	}
	a.mux.HandleFunc("GET /fhir/metadata", a.metadata)
	a.mux.HandleFunc("GET /.well-known/smart-configuration", a.smartConfiguration)
	a.mux.HandleFunc("GET /fhir/.well-known/smart-configuration", a.smartConfiguration)
	a.mux.HandleFunc("POST /fhir/auth/token", a.token)
	a.mux.HandleFunc("GET /fhir/{type}", a.authed(a.search))
	a.mux.HandleFunc("GET /fhir/{type}/{id}", a.authed(a.read))
	a.mux.HandleFunc("GET /fhir/Patient/$export", a.authed(a.kickOff))
	a.mux.HandleFunc("GET /fhir/Group/{group}/$export", a.authed(a.kickOff))
	a.mux.HandleFunc("GET /fhir/bulk/{job}", a.authed(a.withJob(a.bulkStatus)))
	a.mux.HandleFunc("DELETE /fhir/bulk/{job}", a.authed(a.withJob(a.bulkCancel)))
	a.mux.HandleFunc("GET /fhir/bulk/{job}/{file}", a.authed(a.withJob(a.bulkFile)))
	a.mux.HandleFunc("/fhir/", func(w http.ResponseWriter, r *http.Request) {
		a.outcome(w, r, http.StatusNotFound, "not-found", "no such FHIR interaction here (this API is read-only)")
	})
	return a, nil
}

// Close cancels the running bulk jobs and waits for them.
func (a *API) Close() { a.bulk.close() }

// Handler serves /fhir/ and /.well-known/smart-configuration.
func (a *API) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if !acceptsJSON(r.Header.Get("Accept")) {
			a.outcome(w, r, http.StatusNotAcceptable, "not-supported", "this server speaks JSON only (application/fhir+json)")
			return
		}
		a.mux.ServeHTTP(w, r)
	})
}

func acceptsJSON(accept string) bool {
	if accept == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt := strings.TrimSpace(strings.Split(part, ";")[0])
		if mt == "*/*" || mt == "application/*" || jsonFormat(mt) || mt == "application/fhir+ndjson" || mt == "application/ndjson" {
			return true
		}
	}
	return false
}

// caller is an authenticated client.
type caller struct {
	client clinic.FHIRClient
	scopes scopes
	actor  clinic.Actor
}

// authed checks the access token before h.
func (a *API) authed(h func(w http.ResponseWriter, r *http.Request, c *caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		remote := a.remote(r)
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fhir"`)
			a.outcome(w, r, http.StatusUnauthorized, "login", "a Bearer access token is required (SMART Backend Services: see /.well-known/smart-configuration)")
			return
		}
		t, client, err := a.c.Clinic.FHIRAuthenticate(r.Context(), strings.TrimSpace(tok))
		if err != nil {
			if !errors.Is(err, clinic.ErrUnauthenticated) {
				a.fail(w, r, err)
				return
			}
			a.audit(r.Context(), clinic.Actor{ID: "anonymous", Remote: remote}, "fhir.refused", "", r.Method+" "+clip(r.URL.Path), "denied")
			w.Header().Set("WWW-Authenticate", `Bearer realm="fhir", error="invalid_token"`)
			a.outcome(w, r, http.StatusUnauthorized, "login", "unknown or expired access token")
			return
		}
		h(w, r, &caller{client: client, scopes: parseScopes(t.Scope), actor: clinic.Actor{ID: "fhir-client:" + client.ID, Remote: remote}})
	}
}

func (a *API) remote(r *http.Request) string {
	if a.c.Remote != nil {
		return a.c.Remote(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (a *API) audit(ctx context.Context, act clinic.Actor, action, patientID, target, outcome string) {
	if err := a.c.Clinic.Audit(ctx, act, action, patientID, truncate(target, 200), outcome); err != nil {
		a.log.Error("fhirapi: audit", "err", err)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// auditReads records the reads of an answer before it is written: one
// entry per patient, naming the resource types; an answer with no
// patient's data gets one entry without a patient.
func (a *API) auditReads(ctx context.Context, c *caller, action string, patients []string, target string) error {
	if len(patients) == 0 {
		return a.c.Clinic.AuditReads(ctx, c.actor, action, []string{""}, target)
	}
	return a.c.Clinic.AuditReads(ctx, c.actor, action, patients, target)
}

// outcome answers with an OperationOutcome.
func (a *API) outcome(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	severity := "error"
	if status >= 500 {
		severity = "fatal"
	}
	writeFHIR(w, status, map[string]any{"resourceType": "OperationOutcome",
		"issue": []map[string]string{{"severity": severity, "code": code, "diagnostics": msg}}})
}

// fail answers an internal error: the detail goes to the log only.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	a.log.Error("fhirapi: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	a.outcome(w, r, http.StatusInternalServerError, "exception", "internal error")
}

func writeFHIR(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", fhirJSON+"; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// grant returns the caller's patients now, with their FHIR ids.
func (a *API) grant(ctx context.Context, c *caller) ([]clinic.Patient, error) {
	ps, err := a.c.Clinic.FHIRGrant(ctx, c.client)
	if err != nil {
		return nil, err
	}
	return ps, nil
}

func patientFHIRID(p clinic.Patient) string { return report.FHIRID(p.ID, "Patient") }

// entriesOf returns the patient's resources of typ.
func (a *API) entriesOf(ctx context.Context, p clinic.Patient, typ string, now time.Time) ([]*entry, error) {
	if typ == "Patient" {
		// The Patient alone needs none of the records.
		res := report.Build(report.Input{Subject: report.Subject{ID: p.ID, Name: p.DisplayName}, Generated: now}).FHIRResources(report.RelativeRef)
		e, err := newEntry(p, res[0], p.Created)
		if err != nil {
			return nil, err
		}
		return []*entry{e}, nil
	}
	return a.patientEntries(ctx, p, now, func(t string) bool { return t == typ })
}

// typeAllowed returns the request's resource type when the API serves it
// and the caller's scopes allow perm on it ('r' read, 's' search); else
// it answers 404 or 403.
func (a *API) typeAllowed(w http.ResponseWriter, r *http.Request, c *caller, perm byte) (string, bool) {
	typ := r.PathValue("type")
	if _, ok := defOf(typ); !ok {
		a.outcome(w, r, http.StatusNotFound, "not-supported", "this server does not serve "+clip(typ))
		return "", false
	}
	if !c.scopes.allows(typ, perm) {
		what := map[byte]string{'r': "reading", 's': "searching"}[perm]
		a.outcome(w, r, http.StatusForbidden, "forbidden", "the access token's scopes do not allow "+what+" "+typ)
		return "", false
	}
	return typ, true
}

func (a *API) read(w http.ResponseWriter, r *http.Request, c *caller) {
	typ, ok := a.typeAllowed(w, r, c, 'r')
	if !ok {
		return
	}
	id := r.PathValue("id")
	ctx := r.Context()
	ps, err := a.grant(ctx, c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var found *entry
	if idPattern.MatchString(id) {
		for _, p := range ps {
			if typ == "Patient" && patientFHIRID(p) != id {
				continue
			}
			es, err := a.entriesOf(ctx, p, typ, a.c.Clock.Now().UTC())
			if err != nil {
				a.fail(w, r, err)
				return
			}
			if i := slices.IndexFunc(es, func(e *entry) bool { return e.ID == id }); i >= 0 {
				found = es[i]
				break
			}
		}
	}
	if found == nil {
		// The same answer for no such resource and one outside the grant.
		a.audit(ctx, c.actor, "fhir.denied", "", typ+"/"+clip(id), "denied")
		a.outcome(w, r, http.StatusNotFound, "not-found", typ+"/"+clip(id)+" is not known")
		return
	}
	if err := a.auditReads(ctx, c, "fhir.read", []string{found.Patient.ID}, typ); err != nil {
		a.fail(w, r, err)
		return
	}
	etag := `W/"` + found.Version + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Last-Modified", found.Updated.Format(http.TimeFormat))
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, found.Version) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", fhirJSON+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(found.Body)+1))
	w.Write(append(found.Body, '\n'))
}

// etagMatch reports whether an If-None-Match list names version (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagMatch(header, version string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == `"`+version+`"` {
			return true
		}
	}
	return false
}

func writeJSONBody(w http.ResponseWriter, v any) {
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(v)
}
