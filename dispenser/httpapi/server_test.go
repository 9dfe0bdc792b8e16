package httpapi

import (
	"net/http"
	"slices"
	"testing"
)

type fakeWorld struct{ World }

type fakeClock struct{ SimClock }

var (
	_ World    = fakeWorld{}
	_ SimClock = fakeClock{}
)

// Routes lists what Handler serves: the core API, the sim controls only in
// sim mode, and the extras.
func TestRoutes(t *testing.T) {
	extra := map[string]http.Handler{"POST /twilio/sms": http.NotFoundHandler()}
	tests := []struct {
		name string
		s    *Server
		want []string
	}{
		{"device", &Server{Extra: extra}, []string{"GET /api/events", "GET /api/status", "POST /api/doses/{id}/skip", "POST /api/prn", "POST /twilio/sms"}},
		{"sim", &Server{World: fakeWorld{}, Clock: fakeClock{}}, []string{"GET /api/events", "GET /api/sim/world", "GET /api/status",
			"POST /api/doses/{id}/skip", "POST /api/prn", "POST /api/sim/button", "POST /api/sim/clock", "POST /api/sim/cup",
			"POST /api/sim/jam", "POST /api/sim/lid", "POST /api/sim/refill"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Routes(); !slices.Equal(got, tt.want) {
				t.Errorf("Routes() = %q, want %q", got, tt.want)
			}
			tt.s.Handler() // registers every route without a conflict
		})
	}
}

// Only JSON as the API reads it: UTF-8, however it is labelled.
func TestJSONBody(t *testing.T) {
	tests := []struct {
		ct   string
		want bool
	}{
		{"", true},
		{"application/json", true},
		{"Application/JSON; charset=UTF-8", true},
		{"application/json; charset=utf-8", true},
		{"application/json; charset=utf-7x", false},
		{"application/json; charset=latin1", false},
		{"application/json; charset", false},
		{"text/plain", false},
		{"application/x-www-form-urlencoded", false},
		{"application/jsonx", false},
	}
	for _, tt := range tests {
		if got := JSONBody(tt.ct); got != tt.want {
			t.Errorf("JSONBody(%q) = %t, want %t", tt.ct, got, tt.want)
		}
	}
}
