package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
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
		{"", false},
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

// lidWorld records the lid moves asked of it.
type lidWorld struct {
	World
	moves []bool
}

func (w *lidWorld) SetLid(open bool) { w.moves = append(w.moves, open) }

// cutReader is a body that stops early, as when the client hangs up.
type cutReader struct{ data []byte }

func (r *cutReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// A body that did not arrive whole is not acted on, even when what did
// arrive starts with a complete JSON object.
func TestCutOffBody(t *testing.T) {
	tests := []struct {
		name string
		body io.Reader
		want int
		lid  int // lid moves
	}{
		{"whole", strings.NewReader(`{"open": true}`), http.StatusAccepted, 1},
		{"cut after a whole object", &cutReader{[]byte(`{"open": true} `)}, http.StatusBadRequest, 0},
		{"cut mid-object", &cutReader{[]byte(`{"open": tr`)}, http.StatusBadRequest, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &lidWorld{}
			s := &Server{World: w, Clock: fakeClock{}, Access: NewAccess(AccessConfig{Listen: "example.com:80", Port: 80, Sim: true})}
			req := httptest.NewRequest("POST", "/api/sim/lid", tt.body)
			req.RemoteAddr = "127.0.0.1:5000" // a script on this machine
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.want || len(w.moves) != tt.lid {
				t.Errorf("POST /api/sim/lid with a %s body = %d and %d lid moves, want %d and %d", tt.name, rec.Code, len(w.moves), tt.want, tt.lid)
			}
		})
	}
}
