// Package httpapi is the dispenser's local HTTP API: the status and event
// log that the browser panel and outside tests read, caregiver actions, and,
// in sim mode, the controls of the simulated world. Paths are documented in
// the README and kept stable.
package httpapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// Controller is what the API needs of the dose loop.
type Controller interface {
	Status(ctx context.Context) (dispenser.Status, error)
	Skip(ctx context.Context, doseID, by string) error
	RequestPRN(ctx context.Context, med string) error
	Refill(ctx context.Context, compartment, count int) error
	Poke(ctx context.Context)
	WaitIdle(ctx context.Context) error
}

// World is the simulated hardware, in sim mode.
type World interface {
	PressButton()
	HoldButton(d time.Duration)
	SetLid(open bool)
	SetCup(present bool)
	InjectJam(compartment, count int) error
	Refill(compartment, count int) error
	Snapshot() any
}

// SimClock is the simulated clock, in sim mode.
type SimClock interface {
	Now() time.Time
	Advance(d time.Duration)
	Set(t time.Time)
}

// Server serves the API. Sim endpoints exist only when World and Clock are set.
type Server struct {
	Controller Controller
	Log        dispenser.Log
	Hub        *Hub
	World      World
	Clock      SimClock
	Logger     *slog.Logger
	// Access decides who may use the API (see Access); nil refuses every
	// request, so that a server wired without a policy is closed.
	Access *Access
	// Extra mounts more handlers (the panel, the live stream, the SMS
	// viewer) on the mux, behind the same Access.
	Extra map[string]http.Handler
}

// maxBody bounds request bodies: every legitimate one is a few dozen bytes.
const maxBody = 64 << 10

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for pattern, h := range s.handlers() {
		mux.Handle(pattern, h)
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	if s.Access == nil {
		return s.recoverer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			WriteError(w, http.StatusForbidden, "the API has no access policy")
		}))
	}
	return s.recoverer(s.Access.Wrap(mux))
}

// handlers maps every pattern the API serves, Extra included, to its handler.
func (s *Server) handlers() map[string]http.Handler {
	hs := map[string]http.Handler{
		"GET /api/status":           http.HandlerFunc(s.status),
		"GET /api/events":           http.HandlerFunc(s.events),
		"POST /api/doses/{id}/skip": http.HandlerFunc(s.skip),
		"POST /api/prn":             http.HandlerFunc(s.prn),
	}
	if s.World != nil && s.Clock != nil {
		hs["GET /api/sim/world"] = http.HandlerFunc(s.simWorld)
		hs["POST /api/sim/button"] = http.HandlerFunc(s.simButton)
		hs["POST /api/sim/lid"] = http.HandlerFunc(s.simLid)
		hs["POST /api/sim/cup"] = http.HandlerFunc(s.simCup)
		hs["POST /api/sim/jam"] = http.HandlerFunc(s.simJam)
		hs["POST /api/sim/clock"] = http.HandlerFunc(s.simClock)
		hs["POST /api/sim/refill"] = http.HandlerFunc(s.simRefill)
	}
	for pattern, h := range s.Extra {
		if _, dup := hs[pattern]; dup {
			panic("httpapi: extra route " + pattern + " is already served") // as ServeMux would
		}
		hs[pattern] = h
	}
	return hs
}

// Routes lists the patterns Handler serves ("POST /api/prn"), sorted: a
// harness that must reach every endpoint reads them rather than a list of
// its own that new endpoints would miss.
func (s *Server) Routes() []string {
	return slices.Sorted(maps.Keys(s.handlers()))
}

// recoverer turns a handler panic into a 500 so one bad request cannot take
// the daemon down (invariant 6); the panic goes to the log, not the client.
func (s *Server) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil && v != http.ErrAbortHandler {
				s.logger().Error("httpapi: handler panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
				WriteError(w, http.StatusInternalServerError, "internal error")
			}
		}()
		h.ServeHTTP(w, r)
	})
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.Controller.Status(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, st)
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, limit, ok := Page(w, q)
	if !ok {
		return
	}
	var wait time.Duration
	if v := q.Get("wait"); v != "" {
		var err error
		wait, err = time.ParseDuration(v)
		if err != nil || wait < 0 || wait > time.Minute {
			WriteError(w, http.StatusBadRequest, `wait must be a duration up to 1m, e.g. "30s"`)
			return
		}
	}
	evs, err := s.longPoll(r.Context(), since, limit, wait)
	if err != nil {
		s.fail(w, err)
		return
	}
	if evs == nil {
		evs = []dispenser.Event{}
	}
	WriteJSON(w, http.StatusOK, evs)
}

// longPoll returns the events after since; with a wait, an empty answer is
// held until an event is committed or the wait ends, so clients can follow
// the log without polling in a loop.
func (s *Server) longPoll(ctx context.Context, since int64, limit int, wait time.Duration) ([]dispenser.Event, error) {
	var sb *sub
	if wait > 0 && s.Hub != nil {
		sb = s.Hub.subscribe() // before reading, so nothing slips between
		defer s.Hub.unsubscribe(sb)
	}
	evs, err := s.Log.Since(ctx, since, limit)
	if err != nil || len(evs) > 0 || sb == nil {
		return evs, err
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case ev := <-sb.ch:
			if ev.Seq > since {
				return s.Log.Since(ctx, since, limit)
			}
		case <-t.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Page reads the ?since=SEQ&limit=N of a list endpoint (every list of the
// daemon pages by sequence number the same way); on bad values it answers
// 400 itself and ok is false.
func Page(w http.ResponseWriter, q url.Values) (since int64, limit int, ok bool) {
	since, err := strconv.ParseInt(cmp.Or(q.Get("since"), "0"), 10, 64)
	if err != nil || since < 0 {
		WriteError(w, http.StatusBadRequest, "since must be a sequence number >= 0")
		return 0, 0, false
	}
	limit, err = strconv.Atoi(cmp.Or(q.Get("limit"), "1000"))
	if err != nil || limit < 1 || limit > 10000 {
		WriteError(w, http.StatusBadRequest, "limit must be between 1 and 10000")
		return 0, 0, false
	}
	return since, limit, true
}

func (s *Server) skip(w http.ResponseWriter, r *http.Request) {
	var req struct {
		By string `json:"by"`
	}
	if !decode(w, r, &req, true) {
		return
	}
	if req.By == "" {
		req.By = "caregiver"
	}
	if req.By != "patient" && req.By != "caregiver" {
		WriteError(w, http.StatusBadRequest, `by must be "patient" or "caregiver"`)
		return
	}
	if err := s.Controller.Skip(r.Context(), r.PathValue("id"), req.By); err != nil {
		s.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"result": "skipped"})
}

func (s *Server) prn(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Medication string `json:"medication"`
	}
	if !decode(w, r, &req, false) {
		return
	}
	if err := s.Controller.RequestPRN(r.Context(), req.Medication); err != nil {
		s.fail(w, err)
		return
	}
	if waitParam(r) {
		if err := s.Controller.WaitIdle(r.Context()); err != nil {
			s.fail(w, err)
			return
		}
	}
	WriteJSON(w, http.StatusAccepted, map[string]string{"result": "dispensing"})
}

// fail maps the controller's coded errors to statuses; anything else is an
// internal error whose detail stays in the log.
func (s *Server) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, dispenser.ErrInvalid):
		WriteError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, dispenser.ErrNotFound):
		WriteError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, dispenser.ErrConflict), errors.Is(err, dispenser.ErrBusy), errors.Is(err, dispenser.ErrTooSoon):
		WriteError(w, http.StatusConflict, err.Error())
	case errors.Is(err, dispenser.ErrClockUntrusted):
		WriteError(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		WriteError(w, http.StatusServiceUnavailable, "request timed out")
	default:
		s.logger().Error("httpapi: request failed", "err", err)
		WriteError(w, http.StatusInternalServerError, "internal error")
	}
}

// decode reads a JSON object body strictly: right content type, bounded
// size, no unknown fields, nothing after the object. An empty body is
// accepted when optional is set.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	if !JSONBody(r.Header.Get("Content-Type")) {
		WriteError(w, http.StatusUnsupportedMediaType, "body must be application/json")
		return false
	}
	if r.ContentLength == 0 && optional {
		return true
	}
	body := http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// The whole body must have arrived, and hold nothing after the
		// object: a request cut off mid-body (the client hung up) is not
		// acted on, even when what came starts with a whole object.
		var rest []byte
		if rest, err = io.ReadAll(io.MultiReader(dec.Buffered(), body)); err == nil && len(bytes.TrimSpace(rest)) > 0 {
			WriteError(w, http.StatusBadRequest, "bad JSON: more than one value in body")
			return false
		}
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			WriteError(w, http.StatusRequestEntityTooLarge, "body too large")
		case errors.Is(err, io.EOF):
			if optional {
				return true
			}
			WriteError(w, http.StatusBadRequest, "body must be a JSON object")
		default:
			WriteError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		}
		return false
	}
	return true
}

// JSONBody reports whether a request's Content-Type lets its body be read
// as the API's JSON: application/json, in UTF-8 (RFC 8259) if it names a
// charset. A body labelled in another charset is not what it claims to be
// once read as UTF-8, so it is refused; so is a body with no type at all,
// which is what a browser's Blob, beacon or empty simple request sends
// across sites (and curl's -X POST without -d).
func JSONBody(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

func waitParam(r *http.Request) bool {
	v := r.URL.Query().Get("wait")
	return v == "1" || v == "true"
}

// WriteJSON answers with v as indented JSON, never cached: every JSON
// answer of the daemon goes through it.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// WriteError answers {"error": msg}; msg is for the client to read, so it
// never carries internal detail.
func WriteError(w http.ResponseWriter, code int, msg string) {
	WriteJSON(w, code, map[string]string{"error": msg})
}
