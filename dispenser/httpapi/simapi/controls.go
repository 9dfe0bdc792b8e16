package simapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/pillbox/pillbox/dispenser/httpapi"
	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/hw/sim"
	"github.com/pillbox/pillbox/schedule"
)

// NTP is whether the simulated kernel reports NTP synchronisation.
type NTP struct{ synced atomic.Bool }

// NewNTP returns the state, synchronised or not.
func NewNTP(synced bool) *NTP {
	n := &NTP{}
	n.synced.Store(synced)
	return n
}

// Synced is schedule.Trust's NTPSynced.
func (n *NTP) Synced() (bool, error) { return n.synced.Load(), nil }

// noRTC is a board without a hardware clock, like most Raspberry Pis.
func noRTC() (time.Time, bool, error) { return time.Time{}, false, nil }

// Gate is the simulator's clock-trust gate: the real schedule.Trust, fed
// by the simulated NTP state and no RTC, so that a simulated boot at 1970
// is untrusted exactly as a Pi's would be.
func Gate(c schedule.Clock, store schedule.TrustStore, ntp *NTP) *schedule.Trust {
	return &schedule.Trust{Clock: c, Store: store, NTPSynced: ntp.Synced, RTC: noRTC}
}

// Controls are the simulator's controls beyond the patient's actions.
type Controls struct {
	World *sim.World
	NTP   *NTP
	// Poker is the dose loop, told to look again when the NTP state changes.
	Poker interface{ Poke(ctx context.Context) }
	// List lists every route the API serves (httpapi.Server.Routes).
	List func() []string
}

// Routes are the controls' routes.
func (s *Controls) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"POST /api/sim/fault":  http.HandlerFunc(s.fault),
		"POST /api/sim/ntp":    http.HandlerFunc(s.setNTP),
		"GET /api/sim/routes":  http.HandlerFunc(s.routes),
		"GET /api/sim/runtime": http.HandlerFunc(s.runtime),
	}
}

// fault is a parsed POST /api/sim/fault: stick a sensor, release it, or
// make its line chatter.
type fault struct {
	input   hw.Input
	stick   string // "active", "inactive", "none" (release), or "" for chatter
	chatter int
	every   time.Duration
}

// Bounds of a chatter: at most a minute of edges, each 100 us to 1 s apart.
const (
	maxChatterEdges = 10000
	minChatterGap   = 100 * time.Microsecond
	maxChatterGap   = time.Second
	maxChatterFor   = time.Minute
)

var inputs = map[string]hw.Input{"button": hw.Button, "drop": hw.Drop, "lid": hw.Lid, "cup": hw.Cup}

// parseFault reads and checks a fault request:
//
//	{"input": "lid", "stick": "active"}     the lid reads open whatever happens
//	{"input": "lid", "stick": "none"}       it follows the lid again
//	{"input": "button", "chatter": 200, "every": "5ms"}   a button bouncing at 100 Hz
func parseFault(data []byte) (fault, error) {
	var req struct {
		Input   string `json:"input"`
		Stick   string `json:"stick"`
		Chatter int    `json:"chatter"`
		Every   string `json:"every"`
	}
	const usage = `body must be {"input": "button|drop|lid|cup", "stick": "active|inactive|none"} or {"input": ..., "chatter": EDGES, "every": "5ms"}`
	if err := decodeStrict(data, &req); err != nil {
		return fault{}, fmt.Errorf("%s: %w", usage, err)
	}
	in, ok := inputs[req.Input]
	if !ok {
		return fault{}, errors.New(`input must be "button", "drop", "lid" or "cup"`)
	}
	f := fault{input: in}
	switch {
	case req.Stick != "" && (req.Chatter != 0 || req.Every != ""):
		return fault{}, errors.New(`give either "stick" or "chatter", not both`)
	case req.Stick != "":
		if req.Stick != "active" && req.Stick != "inactive" && req.Stick != "none" {
			return fault{}, errors.New(`stick must be "active", "inactive" or "none"`)
		}
		f.stick = req.Stick
	case req.Chatter != 0:
		if req.Chatter < 1 || req.Chatter > maxChatterEdges {
			return fault{}, fmt.Errorf("chatter must be 1 to %d edges", maxChatterEdges)
		}
		f.chatter, f.every = req.Chatter, minChatterGap
		if req.Every != "" {
			d, err := time.ParseDuration(req.Every)
			if err != nil || d < minChatterGap || d > maxChatterGap {
				return fault{}, fmt.Errorf(`every must be a duration from %v to %v, e.g. "5ms"`, minChatterGap, maxChatterGap)
			}
			f.every = d
		}
		if time.Duration(f.chatter)*f.every > maxChatterFor {
			return fault{}, fmt.Errorf("chatter must last at most %v", maxChatterFor)
		}
	default:
		return fault{}, errors.New(usage)
	}
	return f, nil
}

func (s *Controls) fault(w http.ResponseWriter, r *http.Request) {
	f, ok := readParsed(w, r, maxBody, parseFault)
	if !ok {
		return
	}
	var err error
	switch f.stick {
	case "none":
		err = s.World.UnstickSensor(f.input)
	case "active", "inactive":
		err = s.World.StickSensor(f.input, f.stick == "active")
	default:
		err = s.World.ChatterEvery(f.input, f.chatter, f.every)
	}
	if err != nil {
		httpapi.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"result": "ok"})
}

func (s *Controls) setNTP(w http.ResponseWriter, r *http.Request) {
	b, ok := readJSON(w, r, maxBody)
	if !ok {
		return
	}
	var req struct {
		Synced *bool `json:"synced"`
	}
	if err := decodeStrict(b, &req); err != nil || req.Synced == nil {
		httpapi.WriteError(w, http.StatusBadRequest, `body must be {"synced": true} or {"synced": false}`)
		return
	}
	s.NTP.synced.Store(*req.Synced)
	s.Poker.Poke(r.Context())
	httpapi.WriteJSON(w, http.StatusOK, map[string]bool{"synced": *req.Synced})
}

func (s *Controls) routes(w http.ResponseWriter, _ *http.Request) {
	httpapi.WriteJSON(w, http.StatusOK, s.List())
}

// runtimeFigures is GET /api/sim/runtime: what a soak test watches for leaks.
type runtimeFigures struct {
	Goroutines int    `json:"goroutines"`
	HeapAlloc  uint64 `json:"heap_alloc"` // bytes
	HeapSys    uint64 `json:"heap_sys"`   // bytes
	NumGC      uint32 `json:"num_gc"`
}

func (s *Controls) runtime(w http.ResponseWriter, _ *http.Request) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	httpapi.WriteJSON(w, http.StatusOK, runtimeFigures{Goroutines: runtime.NumGoroutine(), HeapAlloc: ms.HeapAlloc, HeapSys: ms.HeapSys, NumGC: ms.NumGC})
}
