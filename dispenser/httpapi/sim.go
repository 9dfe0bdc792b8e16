package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// waitTimeout bounds ?wait=1 requests: a whole dose with jam retries takes a
// few seconds of motor time.
const waitTimeout = 30 * time.Second

func (s *Server) simWorld(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, s.World.Snapshot())
}

// simButton presses the simulated button (or holds it, for an as-needed
// dose). With ?wait=1 it answers once the controller has logged the press
// and finished any dispensing it started, which is what scripted tests want.
func (s *Server) simButton(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Hold string `json:"hold"` // duration, e.g. "3s"
	}
	if !decode(w, r, &req, true) {
		return
	}
	var hold time.Duration
	if req.Hold != "" {
		d, err := time.ParseDuration(req.Hold)
		if err != nil || d <= 0 || d > time.Minute {
			WriteError(w, http.StatusBadRequest, `hold must be a duration up to 1m, e.g. "3s"`)
			return
		}
		hold = d
	}
	act := func() error {
		if hold > 0 {
			go s.World.HoldButton(hold)
		} else {
			s.World.PressButton()
		}
		return nil
	}
	if !waitParam(r) {
		act()
		WriteJSON(w, http.StatusAccepted, map[string]string{"result": "pressed"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), waitTimeout+hold)
	defer cancel()
	kind := dispenser.KindButton
	err := s.Hub.waitFor(ctx, act, func(ev dispenser.Event) bool {
		if hold > 0 {
			// A hold ends in a dispense or a refusal.
			return ev.Kind == dispenser.KindDispenseStarted || ev.Kind == dispenser.KindPRNRefused
		}
		return ev.Kind == kind
	})
	if err == nil {
		err = s.Controller.WaitIdle(ctx)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"result": "pressed"})
}

func (s *Server) simLid(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Open *bool `json:"open"`
	}
	if !decode(w, r, &req, false) {
		return
	}
	if req.Open == nil {
		WriteError(w, http.StatusBadRequest, `body must say {"open": true} or {"open": false}`)
		return
	}
	want := dispenser.KindLidClosed
	if *req.Open {
		want = dispenser.KindLidOpened
	}
	s.physical(w, r, func() { s.World.SetLid(*req.Open) }, want)
}

func (s *Server) simCup(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Present *bool `json:"present"`
	}
	if !decode(w, r, &req, false) {
		return
	}
	if req.Present == nil {
		WriteError(w, http.StatusBadRequest, `body must say {"present": true} or {"present": false}`)
		return
	}
	want := dispenser.KindCupReturned
	if !*req.Present {
		want = dispenser.KindCupLifted
	}
	s.physical(w, r, func() { s.World.SetCup(*req.Present) }, want)
}

// physical performs a world action; with ?wait=1 it waits for the event it
// causes to be logged.
func (s *Server) physical(w http.ResponseWriter, r *http.Request, act func(), want dispenser.Kind) {
	if !waitParam(r) {
		act()
		WriteJSON(w, http.StatusAccepted, map[string]string{"result": "ok"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), waitTimeout)
	defer cancel()
	err := s.Hub.waitFor(ctx, func() error { act(); return nil }, func(ev dispenser.Event) bool { return ev.Kind == want })
	if err != nil {
		s.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"result": "ok"})
}

func (s *Server) simJam(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Compartment int `json:"compartment"`
		Count       int `json:"count"`
	}
	if !decode(w, r, &req, false) {
		return
	}
	if req.Count == 0 {
		req.Count = 1
	}
	if req.Count < 0 || req.Count > 100 {
		WriteError(w, http.StatusBadRequest, "count must be between 1 and 100")
		return
	}
	if err := s.World.InjectJam(req.Compartment, req.Count); err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"result": "jam injected", "compartment": req.Compartment, "count": req.Count})
}

// simRefill fills compartments in the simulated world and records the
// refill in the log, as a caregiver loading a cassette would.
func (s *Server) simRefill(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Compartment int  `json:"compartment"` // 0: all
		Count       *int `json:"count"`       // nil: to capacity
	}
	if !decode(w, r, &req, true) {
		return
	}
	st, err := s.Controller.Status(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	done := 0
	for _, c := range st.Compartments {
		if req.Compartment != 0 && c.ID != req.Compartment {
			continue
		}
		n := c.Capacity
		if req.Count != nil {
			n = *req.Count
		}
		if n < 0 || n > c.Capacity {
			WriteError(w, http.StatusBadRequest, "count must be between 0 and the compartment's capacity")
			return
		}
		if err := s.World.Refill(c.ID, n); err != nil {
			WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := s.Controller.Refill(r.Context(), c.ID, n); err != nil {
			s.fail(w, err)
			return
		}
		done++
	}
	if done == 0 {
		WriteError(w, http.StatusNotFound, "no such compartment")
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"result": "refilled", "compartments": done})
}

// Settler is a SimClock that can wait, after a step and the controller's
// look at it, until everything the step set off is logged: then the step
// answers only once a script reading the log right after it sees all of it.
type Settler interface {
	Settle(ctx context.Context) error
}

// simClock moves the simulated clock: {"advance":"90m"} lets time pass
// (every timer fires in order, so reminders and misses happen as they
// would); {"set":"RFC3339"} steps the wall clock like NTP would, which the
// controller sees as a clock jump. It answers once the clock has settled.
func (s *Server) simClock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Advance string `json:"advance"`
		Set     string `json:"set"`
	}
	if !decode(w, r, &req, false) {
		return
	}
	switch {
	case req.Advance != "" && req.Set != "":
		WriteError(w, http.StatusBadRequest, `give either "advance" or "set", not both`)
		return
	case req.Advance != "":
		d, err := time.ParseDuration(req.Advance)
		if err != nil || d < 0 || d > 400*24*time.Hour {
			WriteError(w, http.StatusBadRequest, `advance must be a positive duration such as "90m" or "24h" (at most 9600h)`)
			return
		}
		s.Clock.Advance(d)
	case req.Set != "":
		t, err := time.Parse(time.RFC3339, req.Set)
		if err != nil {
			WriteError(w, http.StatusBadRequest, `set must be an RFC 3339 time such as "2026-03-08T07:30:00-05:00"`)
			return
		}
		s.Clock.Set(t)
	default:
		WriteError(w, http.StatusBadRequest, `body must have "advance" (e.g. "90m") or "set" (RFC 3339)`)
		return
	}
	s.Controller.Poke(r.Context())
	err := r.Context().Err()
	if st, ok := s.Clock.(Settler); ok && err == nil {
		ctx, cancel := context.WithTimeout(r.Context(), waitTimeout)
		defer cancel()
		err = st.Settle(ctx)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"now": s.Clock.Now().Format(time.RFC3339)})
}
