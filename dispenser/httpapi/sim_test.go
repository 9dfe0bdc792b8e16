package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// stepLog records, in order, what a clock step asked of the clock and the
// controller.
type stepLog struct{ calls []string }

type stepClock struct {
	SimClock
	log    *stepLog
	settle error
}

func (c stepClock) Now() time.Time          { return time.Date(2027, 1, 12, 8, 0, 0, 0, time.UTC) }
func (c stepClock) Advance(d time.Duration) { c.log.calls = append(c.log.calls, "advance "+d.String()) }
func (c stepClock) Set(time.Time)           { c.log.calls = append(c.log.calls, "set") }
func (c stepClock) Settle(context.Context) error {
	c.log.calls = append(c.log.calls, "settle")
	return c.settle
}

type pokeController struct {
	Controller
	log *stepLog
}

func (c pokeController) Poke(context.Context) { c.log.calls = append(c.log.calls, "poke") }

var _ Settler = stepClock{}

// A clock step answers once the clock settled after the controller's look
// at the new time, and fails when it cannot settle.
func TestSimClockSettles(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		settle error
		code   int
		calls  []string
	}{
		{"advance", `{"advance":"90m"}`, nil, http.StatusOK, []string{"advance 1h30m0s", "poke", "settle"}},
		{"set", `{"set":"2027-01-12T08:00:00Z"}`, nil, http.StatusOK, []string{"set", "poke", "settle"}},
		{"unsettled", `{"advance":"1m"}`, context.DeadlineExceeded, http.StatusServiceUnavailable, []string{"advance 1m0s", "poke", "settle"}},
		{"bad step", `{"advance":"soon"}`, nil, http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &stepLog{}
			s := &Server{World: fakeWorld{}, Clock: stepClock{log: log, settle: tt.settle}, Controller: pokeController{log: log},
				Access: NewAccess(AccessConfig{Listen: "example.com:80", Port: 80, Sim: true})}
			req := httptest.NewRequest("POST", "/api/sim/clock", strings.NewReader(tt.body))
			req.RemoteAddr = "127.0.0.1:5000" // a script on this machine
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, req)
			if w.Code != tt.code || !slices.Equal(log.calls, tt.calls) {
				t.Errorf("POST /api/sim/clock %s = %d, calls %q; want %d, calls %q", tt.body, w.Code, log.calls, tt.code, tt.calls)
			}
			if tt.settle != nil && !strings.Contains(w.Body.String(), "timed out") {
				t.Errorf("POST /api/sim/clock unsettled: body %s, want it to say the request timed out", w.Body)
			}
		})
	}
}
