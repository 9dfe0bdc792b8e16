package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify/twiliotest"
)

// badInput runs the same day of doses twice, once quietly and once under a
// storm of hostile requests against every endpoint the daemon serves (its
// own list, GET /api/sim/routes, so a new endpoint is stormed too):
// malformed and truncated JSON, JSON of the wrong shape, unknown fields,
// oversized bodies, wrong content types, junk path parameters and queries,
// wrong methods, bodies cut off mid-request, and webhooks with forged
// signatures (an "OK" or "STOP" from a caregiver's number). Every hostile
// request must get a 4xx (a GET may ignore what it does not read and
// answer 2xx), none a 5xx, the daemon must not die, and the log of doses
// must be the same as the quiet day's.
func badInput(ctx context.Context, h *harness, r *result) {
	control, _, err := stormDay(ctx, h, r, "quiet", 0)
	if err != nil {
		r.fail("quiet day: %v", err)
		return
	}
	stormy, n, err := stormDay(ctx, h, r, "storm", h.size(3000, 60000))
	if err != nil {
		r.fail("stormy day: %v", err)
		return
	}
	r.Runs = 2
	r.add("hostile_requests", n)
	if !slices.Equal(control, stormy) {
		r.fail("the dose log differs under the storm:\nquiet: %v\nstorm: %v", control, stormy)
	}
}

// stormDay runs the day of doses with n hostile requests thrown at the
// daemon meanwhile, and returns its dose log: every event a person or the
// dose loop caused, as kind and dose, without times or texts.
func stormDay(ctx context.Context, h *harness, r *result, name string, n int) ([]string, int, error) {
	d, p, err := h.newTextingDaemon("badinput-"+name, fastMotors...)
	if err != nil {
		return nil, 0, err
	}
	defer p.Close()
	defer d.kill()
	if err := d.start(ctx, "--sim-start=2027-01-12T07:50:00-05:00"); err != nil {
		return nil, 0, err
	}
	var routes []string
	if err := d.api.call(ctx, "GET", "/api/sim/routes", nil, &routes); err != nil {
		return nil, 0, err
	}
	// The webhooks have their own listener, apart from the API's routes.
	routes = append(routes, "POST /twilio/sms", "POST /twilio/status")
	r.set("routes_stormed", float64(len(routes)), "")

	s := &storm{h: h, r: r, base: "http://" + d.addr, routes: routes, webhook: "http://" + d.hook,
		c: &http.Client{Timeout: 10 * time.Second}}
	stormCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if n > 0 {
		for w := range 4 {
			rng := rand.New(rand.NewPCG(h.seed, uint64(w)))
			wg.Go(func() { s.run(stormCtx, rng, n/4) })
		}
	}
	err = legitDay(ctx, d)
	if n > 0 {
		wg.Wait() // every hostile request is sent before the day is judged
	}
	stop()
	if err != nil {
		return nil, 0, err
	}
	if !d.alive() {
		return nil, 0, fmt.Errorf("%s", d.crashed())
	}
	for code, c := range s.codes() {
		r.add(fmt.Sprintf("answers_%dxx", code/100), c)
	}
	evs, err := d.api.events(ctx, 0)
	if err != nil {
		return nil, 0, err
	}
	var log []string
	for _, ev := range evs {
		switch {
		case strings.HasPrefix(string(ev.Kind), "sms_"), ev.Kind == dispenser.KindBoot, ev.Kind == dispenser.KindClockTrusted:
		default:
			log = append(log, string(ev.Kind)+" "+ev.DoseID)
		}
	}
	return log, int(s.sent.Load()), nil
}

// legitDay is what the patient and a caregiver do on the stormy day.
func legitDay(ctx context.Context, d *daemon) error {
	ny, _ := time.LoadLocation("America/New_York")
	at := func(hh, mm int) time.Time { return time.Date(2027, 1, 12, hh, mm, 0, 0, ny) }
	steps := []func() error{
		func() error { return d.api.advanceTo(ctx, at(8, 0)) },
		func() error { return d.api.press(ctx, true) },
		func() error { return d.api.take(ctx) },
		func() error { return d.api.advanceTo(ctx, at(9, 0)) },
		func() error { return d.api.press(ctx, true) },
		func() error { return d.api.lid(ctx, true) },
		func() error { return d.api.lid(ctx, false) },
		func() error {
			return d.api.call(ctx, "POST", "/api/prn?wait=1", map[string]string{"medication": "paracetamol"}, nil)
		},
		func() error { return d.api.take(ctx) },
		func() error { return d.api.advanceTo(ctx, at(19, 30)) },
		func() error {
			return d.api.call(ctx, "POST", "/api/doses/metformin@2027-01-12T20:00/skip", map[string]string{"by": "caregiver"}, nil)
		},
		func() error { return d.api.advanceTo(ctx, at(21, 30)) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
		time.Sleep(100 * time.Millisecond) // let the storm blow through each state
	}
	return nil
}

// storm sends hostile requests.
type storm struct {
	h       *harness
	r       *result
	base    string
	webhook string
	routes  []string
	c       *http.Client
	sent    atomic.Int64

	mu    sync.Mutex
	count map[int]int
}

func (s *storm) codes() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int]int{}
	for k, v := range s.count {
		out[k] = v
	}
	return out
}

func (s *storm) run(ctx context.Context, rng *rand.Rand, n int) {
	for i := 0; i < n && ctx.Err() == nil; i++ {
		route := s.routes[rng.IntN(len(s.routes))]
		method, path, _ := strings.Cut(route, " ")
		s.one(ctx, rng, method, path)
	}
}

// one sends one hostile request for a route and checks the answer.
func (s *storm) one(ctx context.Context, rng *rand.Rand, method, pattern string) {
	path := fillPath(rng, pattern)
	base := s.base
	var body []byte
	ctype := "application/json"
	sig := ""
	attack := ""
	switch {
	case strings.HasPrefix(pattern, "/twilio/"):
		// A well-formed webhook with a forged or missing signature.
		form := url.Values{"MessageSid": {"SM" + hex(rng, 32)}, "From": {caregiver1Phone}, "To": {twilioFrom},
			"Body": {[]string{"STOP", "OK", "START", "HELP"}[rng.IntN(4)]}, "MessageStatus": {"delivered"}}
		body, ctype, attack = []byte(form.Encode()), "application/x-www-form-urlencoded", "forged signature"
		base = s.webhook
		if rng.IntN(4) > 0 {
			sig = twiliotest.Sign("0000"+twilioToken[4:], s.webhook+pattern, form)
		}
	case method == "GET" || method == "HEAD":
		path += junkQuery(rng)
		attack = "query"
		if rng.IntN(5) == 0 { // the wrong method
			method, attack = "POST", "wrong method"
			body = []byte(`{"x":1}`)
		}
	default:
		body, ctype, attack = junkBody(rng)
		if rng.IntN(10) == 0 {
			method, attack = []string{"PUT", "DELETE", "PATCH"}[rng.IntN(3)], "wrong method"
		}
	}
	if pattern == "/api/stream" || strings.HasSuffix(pattern, "/{$}") {
		// The event stream answers and stays open: ask briefly.
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		ctx = cctx
	}
	if rng.IntN(20) == 0 && len(body) > 10 {
		s.cutOff(base, method, path, body)
		return
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		return // a path Go itself refuses to send
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	s.sent.Add(1)
	resp, err := s.c.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			s.r.fail("%s %s (%s): no answer: %v", method, path, attack, err)
		}
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	s.mu.Lock()
	if s.count == nil {
		s.count = map[int]int{}
	}
	s.count[resp.StatusCode]++
	s.mu.Unlock()
	switch {
	case resp.StatusCode >= 500:
		s.r.fail("%s %s (%s) = %d: a server error for bad input", method, pattern, attack, resp.StatusCode)
	case resp.StatusCode < 400 && method != "GET" && method != "HEAD":
		s.r.fail("%s %s (%s) = %d: bad input accepted (body %.60q)", method, pattern, attack, resp.StatusCode, body)
	}
}

// cutOff sends a request whose body stops halfway, then hangs up.
func (s *storm) cutOff(base, method, path string, body []byte) {
	u, _ := url.Parse(base)
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return
	}
	defer c.Close()
	s.sent.Add(1)
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", method, path, u.Host, len(body))
	c.Write(body[:len(body)/2])
}

// fillPath puts junk in a pattern's {parameters}.
func fillPath(rng *rand.Rand, pattern string) string {
	pattern = strings.TrimSuffix(pattern, "{$}")
	for {
		i := strings.Index(pattern, "{")
		if i < 0 {
			return pattern
		}
		j := strings.Index(pattern[i:], "}")
		junk := []string{"nope", "..%2f..%2fetc", "%00", strings.Repeat("x", 5000), "metformin@2027-01-12T08:00%20OR%201=1",
			"prn:paracetamol@1970-01-01T00:00", "%ff%fe", "metformin@2027-99-99T99:99"}[rng.IntN(8)]
		pattern = pattern[:i] + junk + pattern[i+j+1:]
	}
}

func junkQuery(rng *rand.Rand) string {
	return "?" + []string{"since=-1", "since=abc", "limit=0", "limit=99999999999999999999", "wait=2h", "wait=-1s",
		"since=1&since=2", "wait=forever", "%zz", "limit=" + strings.Repeat("9", 400)}[rng.IntN(10)]
}

// junkBody returns a body no endpoint may accept, its content type and
// what kind of attack it is. It is never empty: several endpoints accept
// an empty body as "nothing to say".
func junkBody(rng *rand.Rand) ([]byte, string, string) {
	switch rng.IntN(9) {
	case 0:
		b := make([]byte, 1+rng.IntN(200))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b, "application/json", "random bytes"
	case 1:
		valid := []string{`{"open": true}`, `{"present": false}`, `{"advance": "1h"}`, `{"medication": "paracetamol"}`, `{"by": "patient"}`, `{"hold": "3s"}`}
		v := valid[rng.IntN(len(valid))]
		return []byte(v[:1+rng.IntN(len(v)-1)]), "application/json", "truncated JSON"
	case 2:
		return []byte(`{"zz_hostile": 1, "open": true, "present": false, "advance": "1h"}`), "application/json", "unknown field"
	case 3:
		return []byte([]string{`[]`, `42`, `"text"`, `true`, `[{"open": true}]`}[rng.IntN(5)]), "application/json", "wrong JSON shape"
	case 4:
		return append(append([]byte(`{"zz":"`), bytes.Repeat([]byte("a"), 2<<20)...), `"}`...), "application/json", "oversized body"
	case 5:
		return []byte(`{"open": true}`), []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-7x", "image/png"}[rng.IntN(5)], "wrong content type"
	case 6:
		return []byte(`{"open": true} {"open": false}`), "application/json", "two values"
	case 7:
		return []byte(`{"advance": "` + strings.Repeat("9", 40) + `h", "set": "1970-13-45T99:99:99Z", "count": -5, "compartment": 99999999999}`), "application/json", "values out of range"
	default:
		b, _ := json.Marshal(map[string]any{"\u0000": "\xff", "open": map[string]any{"deep": []any{1, 2, 3}}})
		return b, "application/json", "wrong types"
	}
}

func hex(rng *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[rng.IntN(16)]
	}
	return string(b)
}
