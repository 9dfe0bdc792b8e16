package web

import (
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/internal/i18n"
	"github.com/pillbox/pillbox/schedule"
)

// Config configures the clinic's HTTP handlers.
type Config struct {
	Clinic *clinic.Service
	Clock  schedule.Clock
	Logger *slog.Logger // nil: discard
	// Watcher is woken when a device is first heard or is back (the
	// silent watcher); may be nil.
	Watcher interface{ Kick() }
	// Metrics, when set, counts the syncs and is served at GET /metrics
	// to an administrator (an admin's API token, as a scraper has; or
	// session). Nil: no /metrics.
	Metrics Meter
	// PublicURL is the address clinicians use, e.g.
	// https://clinic.example.org. When it is https, cookies are Secure
	// even if TLS ends at a reverse proxy in front of adherenced.
	PublicURL string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed; from anyone else those
	// headers are ignored.
	TrustedProxies []netip.Prefix
	Sessions       clinic.SessionLimits // zero: clinic.DefaultSessionLimits
	// Sign-in delays after failures, per account and per network (kept in
	// the database); zero: clinic.DefaultAccountDelay and
	// clinic.DefaultNetworkDelay.
	AccountDelay, NetworkDelay clinic.Delay
	// Rate limits; a zero Rate takes the default below, a negative Burst
	// turns the limit off (benchmarks). They are this process's: they
	// shape load, and a token is 256 random bits that no rate of guessing
	// finds, so N processes allowing N times the rate protect no account
	// less (sign-in delays, which do, are in the database).
	PerToken        Rate // requests per API or device token; default 120, then 4 per second
	BadTokenPerAddr Rate // unknown, revoked or expired tokens per network; default 20, then one per 3 s
}

// Meter counts the syncs and serves GET /metrics (adherence/clinic/metrics).
type Meter interface {
	http.Handler
	// Synced counts a batch answered 200 and what it stored.
	Synced(events, readings int)
	// Refused counts a batch refused, for one of Refusals.
	Refused(reason string)
	// Ingested records how long one Service.Ingest took.
	Ingested(took time.Duration)
}

// Refusals are the reasons a batch is refused for, as the metrics label
// them: a fixed set, from the status the device is answered.
var Refusals = []string{"unauthenticated", "forbidden", "throttled", "malformed", "too_large", "conflict", "error"}

// refusal names why a batch was refused, from its status.
func refusalOf(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "unauthenticated"
	case status == http.StatusForbidden:
		return "forbidden"
	case status == http.StatusTooManyRequests:
		return "throttled"
	case status == http.StatusRequestEntityTooLarge:
		return "too_large"
	case status == http.StatusConflict:
		return "conflict"
	case status >= 400 && status < 500:
		return "malformed"
	}
	return "error"
}

// Server serves adherenced's pages and API. Build it with New.
type Server struct {
	c        Config
	log      *slog.Logger
	https    bool // PublicURL is https
	mux      *http.ServeMux
	routes   []route
	pages    map[string]*template.Template
	perToken *limiter
	badToken *limiter
}

// access is who may call a route.
type access int

const (
	accessPublic  access = iota // anyone: login, health, static files
	accessUser                  // a signed-in user (session or API token)
	accessPatient               // a user whose panel holds {patient}
	accessAdmin                 // a user with clinic.RoleAdmin
	accessDevice                // a device token
)

// route is one entry of the router. Every handler is registered through
// this table, so the authorisation test can walk all of them.
type route struct {
	method, path string
	access       access
	h            func(w http.ResponseWriter, r *http.Request, c *call)
}

// call is one authorised request.
type call struct {
	p       clinic.Principal
	remote  string
	secure  bool
	patient clinic.Patient // for accessPatient routes
	// endedSession: the request carried the cookie of a session that has
	// ended (idle, too old, logged out, account disabled).
	endedSession bool
}

func (c *call) actor() clinic.Actor {
	if c.p.UserID == "" && c.p.DeviceID == "" {
		return clinic.Actor{ID: "anonymous", Remote: c.remote}
	}
	return c.p.Actor(c.remote)
}

//go:embed templates/*.html static/*
var assets embed.FS

// New checks c and builds the router.
func New(c Config) (*Server, error) {
	if c.Clinic == nil || c.Clock == nil {
		return nil, errors.New("web: Clinic and Clock are required")
	}
	s := &Server{c: c, log: c.Logger, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return nil, fmt.Errorf("web: server: public URL %q is not an absolute http(s) URL", c.PublicURL)
		}
		s.https = u.Scheme == "https"
	}
	if s.c.Sessions == (clinic.SessionLimits{}) {
		s.c.Sessions = clinic.DefaultSessionLimits
	}
	if s.c.AccountDelay == (clinic.Delay{}) {
		s.c.AccountDelay = clinic.DefaultAccountDelay
	}
	if s.c.NetworkDelay == (clinic.Delay{}) {
		s.c.NetworkDelay = clinic.DefaultNetworkDelay
	}
	s.perToken = newLimiter(orDefault(c.PerToken, Rate{120, 250 * time.Millisecond}), c.Clock)
	s.badToken = newLimiter(orDefault(c.BadTokenPerAddr, Rate{20, 3 * time.Second}), c.Clock)
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	for _, rt := range s.table() {
		if err := s.add(rt); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func orDefault(r, def Rate) Rate {
	if r == (Rate{}) {
		return def
	}
	return r
}

// add registers one route, refusing tables that would let a patient's
// data out without the panel check.
func (s *Server) add(rt route) error {
	names := strings.Contains(rt.path, "{patient}")
	if names != (rt.access == accessPatient) {
		return fmt.Errorf("web: route %s %s: a path with {patient} must be, and only it may be, patient access", rt.method, rt.path)
	}
	s.routes = append(s.routes, rt)
	s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
	return nil
}

// Handler returns the server's handler.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		if s.secure(r) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		s.mux.ServeHTTP(w, r)
	})
}

// isAPI: a path for programs, answered errors in JSON rather than pages
// and redirects to the login page (a scraper without its token gets 401).
func isAPI(path string) bool { return strings.HasPrefix(path, "/api/") || path == metricsPath }

func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{remote: s.remote(r), secure: s.secure(r)}
		if rt.access != accessPublic {
			w.Header().Set("Cache-Control", "no-store")
		}
		if rt.access == accessDevice && s.c.Metrics != nil {
			sw := &statusWriter{ResponseWriter: w}
			w = sw
			defer func() {
				if sw.status >= 400 {
					s.c.Metrics.Refused(refusalOf(sw.status))
				}
			}()
		}
		p, status, err := s.authenticate(r, c)
		if err != nil {
			s.refused(r, rt, c, status, err)
			s.fail(w, r, status, err)
			return
		}
		c.p = p
		if status, err := s.authorize(r, rt, c); err != nil {
			s.refused(r, rt, c, status, err)
			s.fail(w, r, status, err)
			return
		}
		rt.h(w, r, c)
	})
}

// statusWriter keeps the status a handler answered, for the metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// refused audits a request refused before its handler (HIPAA
// 164.312(b)): who (the caller, the token when one was found, else
// anonymous), which route, and why; never the credential. The panel
// check audits its own refusals (patient.denied), with the id asked for.
func (s *Server) refused(r *http.Request, rt route, c *call, status int, err error) {
	action, outcome := "access.denied", "denied"
	switch {
	case errors.Is(err, errPanelDenied) || status >= 500:
		return
	case status == http.StatusUnauthorized:
		action = "auth.refused"
	case status == http.StatusTooManyRequests:
		action, outcome = "auth.refused", "throttled"
	}
	a, msg := c.actor(), err.Error()
	var rtok *clinic.RefusedToken
	if errors.As(err, &rtok) {
		// The precise reason, which the caller is not told.
		msg = rtok.Why + " token"
		if rtok.TokenID != "" {
			a.ID = "token:" + rtok.TokenID
		}
	}
	if errors.Is(err, errNotFoundPage) {
		msg = "not an admin"
	}
	target := truncate(rt.method+" "+rt.path+": "+msg, 200)
	if aerr := s.c.Clinic.Audit(r.Context(), a, action, "", target, outcome); aerr != nil {
		s.log.Error("clinic: audit of a refused request", "err", aerr)
	}
}

// authenticate finds the caller: a bearer token, else a session cookie,
// else nobody (an empty Principal). A cookie of a session that has ended
// is no session: the caller is nobody, and c says why, for the audit.
func (s *Server) authenticate(r *http.Request, c *call) (clinic.Principal, int, error) {
	ctx := r.Context()
	if auth := r.Header.Get("Authorization"); auth != "" {
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			return clinic.Principal{}, http.StatusUnauthorized, errors.New("Authorization must be a Bearer token")
		}
		p, err := s.c.Clinic.Authenticate(ctx, strings.TrimSpace(tok))
		var rt *clinic.RefusedToken
		if errors.As(err, &rt) {
			if ok, wait := s.badToken.allow(clinic.NetworkKey(c.remote)); !ok {
				return clinic.Principal{}, http.StatusTooManyRequests, retryAfter(wait)
			}
			if rt.Why == "expired" {
				return clinic.Principal{}, http.StatusUnauthorized, &refusal{rt, "token expired; ask for a new one"}
			}
			return clinic.Principal{}, http.StatusUnauthorized, &refusal{rt, "unknown or revoked token"}
		}
		if err != nil {
			return clinic.Principal{}, http.StatusInternalServerError, err
		}
		if ok, wait := s.perToken.allow(p.TokenID); !ok {
			return clinic.Principal{}, http.StatusTooManyRequests, retryAfter(wait)
		}
		return p, 0, nil
	}
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return clinic.Principal{}, 0, nil
	}
	p, err := s.c.Clinic.Session(ctx, ck.Value, s.c.Sessions)
	if errors.Is(err, clinic.ErrUnauthenticated) {
		c.endedSession = true
		return clinic.Principal{}, 0, nil // the login page follows
	}
	if err != nil {
		return clinic.Principal{}, http.StatusInternalServerError, err
	}
	return p, 0, nil
}

// refusal is a refused token with the message its caller gets; the audit
// log reads the token's id and the reason from it.
type refusal struct {
	*clinic.RefusedToken
	msg string
}

func (e *refusal) Error() string { return e.msg }
func (e *refusal) Unwrap() error { return e.RefusedToken }

// waitError carries a Retry-After.
type waitError struct{ wait time.Duration }

func (e waitError) Error() string { return "too many requests; try again later" }

func retryAfter(d time.Duration) error { return waitError{d} }

func (s *Server) authorize(r *http.Request, rt route, c *call) (int, error) {
	p := c.p
	switch rt.access {
	case accessPublic:
		return 0, nil
	case accessDevice:
		switch {
		case p.IsDevice():
			return 0, nil
		case p.UserID != "":
			return http.StatusForbidden, errors.New("this route is for device tokens")
		}
		return http.StatusUnauthorized, errors.New("a device token is required")
	}
	// User routes.
	switch {
	case p.IsDevice():
		return http.StatusForbidden, errors.New("device tokens can only push data")
	case p.UserID == "" && c.endedSession:
		return http.StatusUnauthorized, errors.New("session ended; sign in again")
	case p.UserID == "":
		return http.StatusUnauthorized, errors.New("sign in first")
	}
	if p.TokenID == "" && !safeMethod(r.Method) && !s.csrfOK(r, p) {
		return http.StatusForbidden, errors.New("missing or wrong CSRF token; reload the page")
	}
	switch rt.access {
	case accessAdmin:
		if p.Role != clinic.RoleAdmin {
			return http.StatusNotFound, errNotFoundPage
		}
	case accessPatient:
		id := r.PathValue("patient")
		ok, err := s.c.Clinic.OnPanel(r.Context(), p.UserID, id)
		if err != nil {
			return http.StatusInternalServerError, err
		}
		if !ok {
			// Record the attempt, with the id only as the target: it
			// may name no patient at all.
			if err := s.c.Clinic.Audit(r.Context(), c.actor(), "patient.denied", "", truncate(id, 64), "denied"); err != nil {
				return http.StatusInternalServerError, err
			}
			return http.StatusNotFound, errPanelDenied
		}
		if c.patient, err = s.c.Clinic.Patient(r.Context(), id); err != nil {
			return statusOf(err), err
		}
	}
	return 0, nil
}

var errNotFoundPage = errors.New("not found")

// errPanelDenied is the panel check's 404, which the check audits itself.
var errPanelDenied = fmt.Errorf("%w", errNotFoundPage)

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// csrfOK checks a session's state-changing request: the form field csrf
// or the header X-CSRF-Token must be the session's token.
func (s *Server) csrfOK(r *http.Request, p clinic.Principal) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		r.Body = http.MaxBytesReader(nil, r.Body, maxForm)
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(p.CSRF)) == 1
}

const maxForm = 16 << 10

// statusOf maps the package's errors to HTTP statuses.
func statusOf(err error) int {
	var we waitError
	switch {
	case errors.As(err, &we):
		return http.StatusTooManyRequests
	case errors.Is(err, clinic.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, clinic.ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, clinic.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, clinic.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, clinic.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, clinic.ErrBusy):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fail answers with an error: JSON under /api/, else a page (or the login
// page, for a page that needs a user).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	var we waitError
	if errors.As(err, &we) {
		w.Header().Set("Retry-After", strconv.Itoa(int(we.wait.Seconds())+1))
	}
	msg := err.Error()
	if status >= 500 {
		s.log.Error("clinic: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	if isAPI(r.URL.Path) {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	if status == http.StatusUnauthorized && r.Method == http.MethodGet && r.Header.Get("Authorization") == "" {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
		return
	}
	s.render(w, r, status, "error", nil, pageData{Title: http.StatusText(status), Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// Remote is the client's address as the audit log names it (the FHIR
// API audits its callers the same way).
func (s *Server) Remote(r *http.Request) string { return s.remote(r) }

// remote is the client's address: the peer's, or, when the peer is a
// trusted proxy, the last address in X-Forwarded-For that is not one.
func (s *Server) remote(r *http.Request) string {
	peer := peerAddr(r)
	if !s.trusted(peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.trusted(a) {
			return a.String()
		}
	}
	return peer.String()
}

func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.c.TrustedProxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// secure reports whether the client reached us over TLS.
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || s.https || s.trusted(peerAddr(r)) && r.Header.Get("X-Forwarded-Proto") == "https"
}

// pageData is what every page template gets.
type pageData struct {
	Title    string
	Username string
	CSRF     string
	Error    string
	Data     any
	// L is the language of the pages' own words (their chrome), from the
	// browser's Accept-Language; the report's contents stay English.
	L *i18n.Locale
}

// T is the chrome's message id in the page's language.
func (d pageData) T(id string) string { return d.L.Text(id, nil) }

// Lang is the page's language tag.
func (d pageData) Lang() string { return d.L.Tag() }

func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(pageFuncs()).ParseFS(assets, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: templates: %w", err)
		}
		pages[base] = t
	}
	return pages, nil
}

// render writes a page in the layout. c may be nil (error pages before
// authentication).
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, c *call, d pageData) {
	if c != nil && c.p.UserID != "" {
		d.Username, d.CSRF = c.p.Username, c.p.CSRF
	}
	t, ok := s.pages[page]
	if !ok {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	d.L = i18n.Lookup(r.Header.Values("Accept-Language")...)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", d.L.Tag())
	w.Header().Add("Vary", "Accept-Language")
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout", d); err != nil {
		s.log.Error("clinic: render", "page", page, "err", err)
	}
}

// audited records the reads of a request before it answers; on failure it
// answers 500 and returns false.
func (s *Server) audited(w http.ResponseWriter, r *http.Request, c *call, action string, patients []string, target string) bool {
	if err := s.c.Clinic.AuditReads(r.Context(), c.actor(), action, patients, target); err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return false
	}
	return true
}
