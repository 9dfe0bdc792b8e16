package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/dispenser/httpapi"
	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/hw/sim"
	"github.com/pillbox/pillbox/schedule"
)

// The simulator's controls beyond the patient's actions (httpapi has
// those): the NTP state its clock-trust gate sees, sensor faults, the list
// of every route, so that a harness can reach each endpoint, and the
// runtime figures a soak test watches. Sim mode only.

// simNTP is whether the simulated kernel reports NTP synchronisation.
type simNTP struct{ synced atomic.Bool }

func (n *simNTP) sync() (bool, error) { return n.synced.Load(), nil }

// noRTC is a board without a hardware clock, like most Raspberry Pis.
func noRTC() (time.Time, bool, error) { return time.Time{}, false, nil }

// simGate is the simulator's clock-trust gate: the real schedule.Trust,
// fed by the simulated NTP state and no RTC, so that a simulated boot at
// 1970 is untrusted exactly as a Pi's would be.
func simGate(c schedule.Clock, store schedule.TrustStore, ntp *simNTP) *schedule.Trust {
	return &schedule.Trust{Clock: c, Store: store, NTPSynced: ntp.sync, RTC: noRTC}
}

// persistClock is the simulated clock as the HTTP API moves it: every move
// is recorded in the world's state file, so a killed daemon's successor
// resumes the world's time; and a step answers once settled.
type persistClock struct {
	*schedule.SimClock
	world  *sim.World
	settle *settler
}

var (
	_ httpapi.SimClock = persistClock{}
	_ httpapi.Settler  = persistClock{}
)

// Settle waits, after a step of the clock and the controller's look at
// it, for the dose loop to be idle and for the parts that act on the log
// to have acted on it: then the log holds everything the step set off.
func (c persistClock) Settle(ctx context.Context) error {
	if err := c.settle.r.ctrl.WaitIdle(ctx); err != nil {
		return err
	}
	return c.settle.parts(ctx)
}

// settler waits for the parts of the daemon that act on the event log in
// goroutines of their own (r.settlers: the notifier, the vitals
// cross-rule) to have acted on all of it. On a device they do so within
// milliseconds of a commit; a simulated clock can step hours in a
// millisecond, and without this the notifier would queue and send a step's
// texts when its goroutines got round to it, at a simulated time hours
// late, and after the step had answered.
type settler struct {
	r       *running
	commits atomic.Uint64 // batches committed to the log
	settled atomic.Uint64 // commits when the parts were last found settled
}

// settleTimeout bounds the settling after a timer's call, which has no
// request to bound it; the parts answer within milliseconds.
const settleTimeout = 30 * time.Second

// maxSettleRounds bounds the rounds of parts: each round's commits may set
// off another part (a dose missed, the cross-rule's vital alert, its
// text), a chain a few links long. More rounds than this are commits from
// elsewhere, which the step need not wait for.
const maxSettleRounds = 8

func newSettler(r *running) *settler {
	s := &settler{r: r}
	r.onCommit = append(r.onCommit, func([]dispenser.Event) { s.commits.Add(1) })
	return s
}

// parts settles every part, in rounds until one commits nothing.
func (s *settler) parts(ctx context.Context) error {
	for range maxSettleRounds {
		before := s.commits.Load()
		for _, settle := range s.r.settlers {
			if err := settle(ctx); err != nil {
				return err
			}
		}
		if s.commits.Load() == before {
			s.settled.Store(before)
			break
		}
	}
	return nil
}

// clock is c as the daemon's parts see it: after each timer's call, the
// parts settle before the clock moves on, so that what the call set off
// happens at the simulated time it fell due. A call that committed nothing
// (most: the display's clock ticks every minute) leaves nothing to settle,
// when nothing else was committed since the last settling either: the
// parts' own timers do their work inside the call.
func (s *settler) clock(c *schedule.SimClock) schedule.Clock { return settlingClock{c, s} }

type settlingClock struct {
	*schedule.SimClock
	s *settler
}

func (c settlingClock) AfterFunc(d time.Duration, f func()) schedule.Timer {
	return c.SimClock.AfterFunc(d, func() {
		f()
		if c.s.commits.Load() == c.s.settled.Load() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
		defer cancel()
		if err := c.s.parts(ctx); err != nil {
			c.s.r.log.Error("dispenserd: sim clock: a timer's consequences did not settle", "err", err)
		}
	})
}

func (c persistClock) Advance(d time.Duration) {
	c.SimClock.Advance(d)
	c.world.SetClock(c.Now())
}

func (c persistClock) Set(t time.Time) {
	c.SimClock.Set(t)
	c.world.SetClock(c.Now())
}

// maxSimFaultBody bounds sim control bodies; each is a few dozen bytes.
const maxSimFaultBody = 4 << 10

// readSimJSON reads a JSON body for a sim control: right content type,
// bounded size. It answers the error itself.
func readSimJSON(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if !httpapi.JSONBody(r.Header.Get("Content-Type")) {
		httpapi.WriteError(w, http.StatusUnsupportedMediaType, "body must be application/json")
		return nil, false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSimFaultBody))
	if err != nil {
		httpapi.WriteError(w, http.StatusRequestEntityTooLarge, "body too large")
		return nil, false
	}
	return b, true
}

// decodeStrict decodes one JSON object with no unknown fields into v.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// simFault is a parsed POST /api/sim/fault: stick a sensor, release it,
// or make its line chatter.
type simFault struct {
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

var simInputs = map[string]hw.Input{"button": hw.Button, "drop": hw.Drop, "lid": hw.Lid, "cup": hw.Cup}

// parseSimFault reads and checks a fault request:
//
//	{"input": "lid", "stick": "active"}     the lid reads open whatever happens
//	{"input": "lid", "stick": "none"}       it follows the lid again
//	{"input": "button", "chatter": 200, "every": "5ms"}   a button bouncing at 100 Hz
func parseSimFault(data []byte) (simFault, error) {
	var req struct {
		Input   string `json:"input"`
		Stick   string `json:"stick"`
		Chatter int    `json:"chatter"`
		Every   string `json:"every"`
	}
	const usage = `body must be {"input": "button|drop|lid|cup", "stick": "active|inactive|none"} or {"input": ..., "chatter": EDGES, "every": "5ms"}`
	if err := decodeStrict(data, &req); err != nil {
		return simFault{}, fmt.Errorf("%s: %w", usage, err)
	}
	in, ok := simInputs[req.Input]
	if !ok {
		return simFault{}, errors.New(`input must be "button", "drop", "lid" or "cup"`)
	}
	f := simFault{input: in}
	switch {
	case req.Stick != "" && (req.Chatter != 0 || req.Every != ""):
		return simFault{}, errors.New(`give either "stick" or "chatter", not both`)
	case req.Stick != "":
		if req.Stick != "active" && req.Stick != "inactive" && req.Stick != "none" {
			return simFault{}, errors.New(`stick must be "active", "inactive" or "none"`)
		}
		f.stick = req.Stick
	case req.Chatter != 0:
		if req.Chatter < 1 || req.Chatter > maxChatterEdges {
			return simFault{}, fmt.Errorf("chatter must be 1 to %d edges", maxChatterEdges)
		}
		f.chatter, f.every = req.Chatter, minChatterGap
		if req.Every != "" {
			d, err := time.ParseDuration(req.Every)
			if err != nil || d < minChatterGap || d > maxChatterGap {
				return simFault{}, fmt.Errorf(`every must be a duration from %v to %v, e.g. "5ms"`, minChatterGap, maxChatterGap)
			}
			f.every = d
		}
		if time.Duration(f.chatter)*f.every > maxChatterFor {
			return simFault{}, fmt.Errorf("chatter must last at most %v", maxChatterFor)
		}
	default:
		return simFault{}, errors.New(usage)
	}
	return f, nil
}

// simControls serves the controls of this file.
type simControls struct {
	world *sim.World
	ntp   *simNTP
	ctrl  func() poker // the controller, built after the routes
	api   *httpapi.Server
}

type poker interface{ Poke(ctx context.Context) }

func (s *simControls) fault(w http.ResponseWriter, r *http.Request) {
	b, ok := readSimJSON(w, r)
	if !ok {
		return
	}
	f, err := parseSimFault(b)
	if err != nil {
		httpapi.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	switch f.stick {
	case "none":
		err = s.world.UnstickSensor(f.input)
	case "active", "inactive":
		err = s.world.StickSensor(f.input, f.stick == "active")
	default:
		err = s.world.ChatterEvery(f.input, f.chatter, f.every)
	}
	if err != nil {
		httpapi.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"result": "ok"})
}

func (s *simControls) setNTP(w http.ResponseWriter, r *http.Request) {
	b, ok := readSimJSON(w, r)
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
	s.ntp.synced.Store(*req.Synced)
	s.ctrl().Poke(r.Context())
	httpapi.WriteJSON(w, http.StatusOK, map[string]bool{"synced": *req.Synced})
}

func (s *simControls) routes(w http.ResponseWriter, _ *http.Request) {
	httpapi.WriteJSON(w, http.StatusOK, s.api.Routes())
}

// simRuntime is GET /api/sim/runtime: what a soak test watches for leaks.
type simRuntime struct {
	Goroutines int    `json:"goroutines"`
	HeapAlloc  uint64 `json:"heap_alloc"` // bytes
	HeapSys    uint64 `json:"heap_sys"`   // bytes
	NumGC      uint32 `json:"num_gc"`
}

func (s *simControls) runtime(w http.ResponseWriter, _ *http.Request) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	httpapi.WriteJSON(w, http.StatusOK, simRuntime{Goroutines: runtime.NumGoroutine(), HeapAlloc: ms.HeapAlloc, HeapSys: ms.HeapSys, NumGC: ms.NumGC})
}

// mount adds the controls to the API's extra routes.
func (s *simControls) mount(routes map[string]http.Handler) {
	routes["POST /api/sim/fault"] = http.HandlerFunc(s.fault)
	routes["POST /api/sim/ntp"] = http.HandlerFunc(s.setNTP)
	routes["GET /api/sim/routes"] = http.HandlerFunc(s.routes)
	routes["GET /api/sim/runtime"] = http.HandlerFunc(s.runtime)
}
