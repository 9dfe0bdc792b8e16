package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/uplink"
)

// table is every route of the server. A new page or API goes here, with
// the access it needs; the authorisation test walks this table.
func (s *Server) table() []route {
	static, _ := fs.Sub(assets, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	return append([]route{
		{"GET", "/healthz", accessPublic, func(w http.ResponseWriter, r *http.Request, c *call) { io.WriteString(w, "ok\n") }},
		{"GET", "/readyz", accessPublic, s.ready},
		{"GET", "/static/", accessPublic, func(w http.ResponseWriter, r *http.Request, c *call) { files.ServeHTTP(w, r) }},
		{"GET", "/login", accessPublic, s.loginPage},
		{"POST", "/login", accessPublic, s.login},
		{"POST", "/logout", accessUser, s.logout},
		{"GET", "/{$}", accessUser, func(w http.ResponseWriter, r *http.Request, c *call) {
			http.Redirect(w, r, "/panel", http.StatusSeeOther)
		}},
		{"GET", "/panel", accessUser, s.panelPage},
		{"GET", "/patients/{patient}", accessPatient, s.patientPage},

		{"GET", "/api/v1/patients", accessUser, s.apiPanel},
		{"GET", "/api/v1/patients/{patient}", accessPatient, s.apiPatient},
		{"GET", "/api/v1/patients/{patient}/events", accessPatient, s.apiEvents},
		{"GET", "/api/v1/patients/{patient}/readings", accessPatient, s.apiReadings},

		{"GET", "/api/v1/admin/users", accessAdmin, s.apiUsers},
		{"POST", "/api/v1/admin/users/{user}/disable", accessAdmin, s.apiSetDisabled(true)},
		{"POST", "/api/v1/admin/users/{user}/enable", accessAdmin, s.apiSetDisabled(false)},
		{"POST", "/api/v1/admin/panels", accessAdmin, s.apiSetPanel},
		{"GET", "/api/v1/admin/panel-requests", accessAdmin, s.apiPanelRequests},
		{"GET", "/api/v1/admin/audit", accessAdmin, s.apiAudit},

		{"POST", uplink.Path, accessDevice, s.sync},
	}, append(s.metricsRoutes(), s.reportRoutes()...)...) // reports.go
}

const metricsPath = "/metrics"

// metricsRoutes serves the metrics, when there are, to an admin. They
// hold no patient data (counts, latencies, no series per device); an
// admin's API token is the scraper's credential (docs/clinic.md#metrics).
// A scrape is not audited: no record is read, and one every 15 s would
// bury the audit log; a refused one is, as every refusal.
func (s *Server) metricsRoutes() []route {
	if s.c.Metrics == nil {
		return nil
	}
	return []route{{"GET", metricsPath, accessAdmin, func(w http.ResponseWriter, r *http.Request, c *call) {
		s.c.Metrics.ServeHTTP(w, r)
	}}}
}

// readyTimeout bounds /readyz's ping: a load balancer's check should
// fail, not hang, while the database does.
const readyTimeout = 2 * time.Second

// ready answers a load balancer: 200 when the database answers a cheap
// read, else 503. The reason goes to the log only; the body names no
// database, host or error.
func (s *Server) ready(w http.ResponseWriter, r *http.Request, c *call) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	w.Header().Set("Cache-Control", "no-store")
	if err := s.c.Clinic.Ping(ctx); err != nil {
		s.log.Warn("clinic: not ready: the database does not answer", "err", err)
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ready\n")
}

const (
	sessionCookie = "pillbox_session"
	loginCookie   = "pillbox_login" // the login form's CSRF token, before there is a session
)

func (s *Server) cookie(c *call, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: c.secure,
		SameSite: http.SameSiteLaxMode}
}

type loginForm struct {
	CSRF, Next, Username string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, c *call) {
	if c.p.UserID != "" {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.showLogin(w, r, c, http.StatusOK, "", loginForm{Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, c *call, status int, msg string, f loginForm) {
	f.CSRF = clinic.NewSecret("")
	http.SetCookie(w, s.cookie(c, loginCookie, f.CSRF, 3600))
	s.render(w, r, status, "login", nil, pageData{Title: "Sign in", Error: msg, Data: f})
}

// safeNext returns where to go after signing in: next when it is a path
// on this site, else the panel. A browser drops tabs and newlines from a
// URL and reads a backslash as a slash, so "/\t/evil.example" would take
// it to //evil.example: next must parse as a path alone (no scheme, host
// or user), start with exactly one slash, and hold no control character
// or backslash; what is kept is the path and query as re-encoded.
func safeNext(next string) string {
	const home = "/panel"
	if len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return home
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return home
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return home
	}
	out := u.EscapedPath()
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || strings.ContainsAny(out, "\\\t\r\n") {
		return home
	}
	return out
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, errors.New("the form could not be read"))
		return
	}
	f := loginForm{Next: safeNext(r.PostForm.Get("next")), Username: strings.TrimSpace(r.PostForm.Get("username"))}
	ck, err := r.Cookie(loginCookie)
	if err != nil || ck.Value == "" || differ(ck.Value, r.PostForm.Get("csrf")) {
		s.showLogin(w, r, c, http.StatusForbidden, "The sign-in form expired. Please try again.", f)
		return
	}
	a := clinic.Actor{ID: "anonymous", Remote: c.remote}
	refuse := func(status int, action, msg string, wait time.Duration) {
		if err := s.c.Clinic.Audit(ctx, a, action, "", "", "throttled"); err != nil {
			s.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		s.showLogin(w, r, c, status, msg, f)
	}
	// Failures slow the next attempts of the account tried and of the
	// client's network, a little longer each time, never for good.
	acct, netw := clinic.AccountKey(f.Username), clinic.NetworkKey(c.remote)
	if wait, err := s.c.Clinic.LoginWait(ctx, acct, netw); err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	} else if wait > 0 {
		refuse(http.StatusTooManyRequests, "login.throttled", fmt.Sprintf("Too many failed attempts. Try again in %s.", waitText(wait)), wait)
		return
	}
	u, err := s.c.Clinic.CheckPassword(ctx, f.Username, r.PostForm.Get("password"))
	if errors.Is(err, clinic.ErrBusy) {
		refuse(http.StatusServiceUnavailable, "login.busy", "Many people are signing in right now. Try again in a few seconds.", 5*time.Second)
		return
	}
	if errors.Is(err, clinic.ErrBadLogin) {
		wait, err := s.c.Clinic.LoginFailed(ctx, clinic.KeyDelay{Key: acct, Delay: s.c.AccountDelay}, clinic.KeyDelay{Key: netw, Delay: s.c.NetworkDelay})
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		target := "unknown user"
		if u.ID != "" {
			target = u.ID
		}
		if err := s.c.Clinic.Audit(ctx, a, "login.failure", "", target, "denied"); err != nil {
			s.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		msg := "Wrong username or password."
		if wait > 0 {
			msg += fmt.Sprintf(" Try again in %s.", waitText(wait))
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		}
		s.showLogin(w, r, c, http.StatusUnauthorized, msg, f)
		return
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	if err := s.c.Clinic.LoginSucceeded(ctx, acct); err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	a.ID = "user:" + u.ID
	if err := s.c.Clinic.PruneSessions(ctx, s.c.Sessions); err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	cookie, _, err := s.c.Clinic.NewSession(ctx, a, u.ID)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	http.SetCookie(w, s.cookie(c, sessionCookie, cookie, 0))
	http.SetCookie(w, s.cookie(c, loginCookie, "", -1))
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

// waitText writes a sign-in wait for people: "5 seconds", "2 minutes".
func waitText(d time.Duration) string {
	if d <= time.Minute {
		if n := int((d + time.Second - 1) / time.Second); n > 1 {
			return fmt.Sprintf("%d seconds", n)
		}
		return "1 second"
	}
	return fmt.Sprintf("%d minutes", int((d+time.Minute-1)/time.Minute))
}

// differ reports whether a and b differ, in constant time.
func differ(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) != 1
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, c *call) {
	if c.p.TokenID == "" {
		if err := s.c.Clinic.EndSession(r.Context(), c.actor(), c.p); err != nil {
			s.fail(w, r, http.StatusInternalServerError, err)
			return
		}
	}
	http.SetCookie(w, s.cookie(c, sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func patientIDs(es []clinic.PanelEntry) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.Patient.ID
	}
	return ids
}

type patientView struct {
	Patient clinic.Patient  `json:"patient"`
	Devices []clinic.Device `json:"devices"`
	Events  int             `json:"events"`
}

func (s *Server) patientView(w http.ResponseWriter, r *http.Request, c *call) (patientView, bool) {
	v := patientView{Patient: c.patient}
	var err error
	if v.Devices, err = s.c.Clinic.Devices(r.Context(), c.patient.ID); err == nil {
		v.Events, err = s.c.Clinic.EventCount(r.Context(), c.patient.ID)
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return v, false
	}
	return v, s.audited(w, r, c, "patient.read", []string{c.patient.ID}, "")
}

func (s *Server) apiPanel(w http.ResponseWriter, r *http.Request, c *call) {
	es, err := s.c.Clinic.PanelEntries(r.Context(), c.p.UserID)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	if s.audited(w, r, c, "panel.list", patientIDs(es), "") {
		writeJSON(w, http.StatusOK, map[string]any{"patients": nonNil(es)})
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) apiPatient(w http.ResponseWriter, r *http.Request, c *call) {
	if v, ok := s.patientView(w, r, c); ok {
		v.Devices = nonNil(v.Devices)
		writeJSON(w, http.StatusOK, v)
	}
}

// period reads ?from=&to= (RFC 3339; default the last 30 days) and
// ?limit= (default and most 10000).
func (s *Server) period(r *http.Request) (from, to time.Time, limit int, err error) {
	q := r.URL.Query()
	to, from, limit = s.c.Clock.Now().UTC().Add(time.Millisecond), time.Time{}, 10000
	if v := q.Get("to"); v != "" {
		if to, err = time.Parse(time.RFC3339, v); err != nil {
			return from, to, 0, errors.New("to: want an RFC 3339 time such as 2026-03-08T07:00:00Z")
		}
	}
	from = to.AddDate(0, 0, -30)
	if v := q.Get("from"); v != "" {
		if from, err = time.Parse(time.RFC3339, v); err != nil {
			return from, to, 0, errors.New("from: want an RFC 3339 time such as 2026-03-08T07:00:00Z")
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 10000 {
			return from, to, 0, errors.New("limit: want a number from 1 to 10000")
		}
	}
	return from, to, limit, nil
}

func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request, c *call) {
	from, to, limit, err := s.period(r)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err)
		return
	}
	evs, err := s.c.Clinic.PatientSyncedEvents(r.Context(), c.patient.ID, from, to, limit)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	if s.audited(w, r, c, "events.read", []string{c.patient.ID}, "count="+strconv.Itoa(len(evs))) {
		writeJSON(w, http.StatusOK, map[string]any{"events": nonNil(evs)})
	}
}

func (s *Server) apiReadings(w http.ResponseWriter, r *http.Request, c *call) {
	from, to, limit, err := s.period(r)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err)
		return
	}
	rds, err := s.c.Clinic.PatientReadings(r.Context(), c.patient.ID, from, to, limit)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	if s.audited(w, r, c, "readings.read", []string{c.patient.ID}, "count="+strconv.Itoa(len(rds))) {
		writeJSON(w, http.StatusOK, map[string]any{"readings": nonNil(rds)})
	}
}

// adminList answers an admin's read of a list (no patient data) under
// key, audited as action with the count before it answers.
func adminList[T any](s *Server, w http.ResponseWriter, r *http.Request, c *call, action, key string, list []T, err error) {
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	if err := s.c.Clinic.Audit(r.Context(), c.actor(), action, "", "count="+strconv.Itoa(len(list)), ""); err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{key: nonNil(list)})
}

func (s *Server) apiUsers(w http.ResponseWriter, r *http.Request, c *call) {
	us, err := s.c.Clinic.Users(r.Context())
	adminList(s, w, r, c, "users.read", "users", us, err)
}

func (s *Server) apiSetDisabled(disabled bool) func(http.ResponseWriter, *http.Request, *call) {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		id := r.PathValue("user")
		if id == c.p.UserID && disabled {
			s.fail(w, r, http.StatusConflict, errors.New("you cannot disable your own account"))
			return
		}
		if err := s.c.Clinic.SetUserDisabled(r.Context(), c.actor(), id, disabled); err != nil {
			s.fail(w, r, statusOf(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"user": id, "disabled": disabled})
	}
}

// panelChange is the body of POST /api/v1/admin/panels.
type panelChange struct {
	User    string `json:"user"`
	Patient string `json:"patient"`
	On      bool   `json:"on"`
}

func (s *Server) apiSetPanel(w http.ResponseWriter, r *http.Request, c *call) {
	var pc panelChange
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxForm))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pc); err != nil {
		s.fail(w, r, http.StatusBadRequest, errors.New(`want a JSON body {"user": ID, "patient": ID, "on": true|false}`))
		return
	}
	err := s.c.Clinic.SetPanel(r.Context(), c.actor(), pc.User, pc.Patient, pc.On)
	if errors.Is(err, clinic.ErrOwnPanel) {
		// Not refused outright: recorded for another admin to grant.
		if err := s.c.Clinic.RequestPanel(r.Context(), c.actor(), pc.User, pc.Patient); err != nil {
			s.fail(w, r, statusOf(err), err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"user": pc.User, "patient": pc.Patient, "on": false, "pending": true,
			"message": "an admin cannot add a patient to their own panel: another admin grants it by making the same change, or pillctl clinic panel add on the server"})
		return
	}
	if err != nil {
		s.fail(w, r, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, pc)
}

func (s *Server) apiPanelRequests(w http.ResponseWriter, r *http.Request, c *call) {
	rs, err := s.c.Clinic.PanelRequests(r.Context())
	adminList(s, w, r, c, "panel_requests.read", "requests", rs, err)
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, c *call) {
	q := r.URL.Query()
	aq := clinic.AuditQuery{PatientID: q.Get("patient")}
	var err error
	if v := q.Get("after"); v != "" {
		if aq.After, err = strconv.ParseInt(v, 10, 64); err != nil {
			s.fail(w, r, http.StatusBadRequest, errors.New("after: want a sequence number"))
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if aq.Limit, err = strconv.Atoi(v); err != nil {
			s.fail(w, r, http.StatusBadRequest, errors.New("limit: want a number"))
			return
		}
	}
	es, err := s.c.Clinic.AuditLog(r.Context(), aq)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	if err := s.c.Clinic.Audit(r.Context(), c.actor(), "audit.read", aq.PatientID, "count="+strconv.Itoa(len(es)), ""); err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": nonNil(es)})
}

// sync takes a device's batch (see package uplink).
func (s *Server) sync(w http.ResponseWriter, r *http.Request, c *call) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		s.fail(w, r, http.StatusUnsupportedMediaType, errors.New("send application/json"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, uplink.MaxBatchBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.fail(w, r, http.StatusRequestEntityTooLarge, uplink.ErrTooLarge)
		return
	case err != nil:
		s.fail(w, r, http.StatusBadRequest, errors.New("the body could not be read"))
		return
	}
	b, err := uplink.DecodeBatch(body)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, uplink.ErrTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		s.fail(w, r, status, err)
		return
	}
	began := s.c.Clock.Now()
	res, err := s.c.Clinic.Ingest(r.Context(), c.p, b, c.remote)
	if s.c.Metrics != nil {
		s.c.Metrics.Ingested(s.c.Clock.Now().Sub(began))
	}
	if err != nil {
		s.fail(w, r, statusOf(err), err)
		return
	}
	for _, sa := range b.SetAside {
		s.log.Warn("clinic: sync: set aside a malformed item; the rest of the batch is stored", "device", c.p.DeviceID,
			"what", sa.What, "index", sa.Index, "seq", sa.Seq, "reason", sa.Reason)
	}
	if res.ClockNote != "" {
		s.log.Warn("clinic: sync: the device's clock looks wrong; its times are shown as suspect", "device", c.p.DeviceID,
			"seen", res.ClockNote)
	}
	if res.SoftwareWas != "" {
		s.log.Info("clinic: sync: device software", "device", c.p.DeviceID, "software", res.Software, "was", res.SoftwareWas)
	}
	if res.Wake && s.c.Watcher != nil {
		s.c.Watcher.Kick()
	}
	if s.c.Metrics != nil {
		s.c.Metrics.Synced(res.Events, res.Readings)
	}
	writeJSON(w, http.StatusOK, res.Ack)
}
