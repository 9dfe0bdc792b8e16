package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The attacks a page of another origin can make without the user's help,
// each against every route the daemon serves. The page runs them in
// headless Chromium from another loopback port of the same host (same
// site, so the panel's SameSite=Strict cookie goes along: the browser
// opens the panel first), which is the hardest case for the API's door.
var attackKinds = []struct{ name, js string }{
	// Simple requests: no preflight, sent whatever the server says.
	{"fetch no-cors text/plain", `fetch(u, {method: m, mode: 'no-cors', credentials: 'include',
		body: m === 'GET' ? undefined : body, headers: m === 'GET' ? {} : {'Content-Type': 'text/plain'}})
		.then(async (r) => ({type: r.type, status: r.status, read: await r.text()}), (e) => ({error: String(e)}))`},
	{"fetch cors text/plain (read)", `fetch(u, {method: m, credentials: 'include',
		body: m === 'GET' ? undefined : body, headers: m === 'GET' ? {} : {'Content-Type': 'text/plain'}})
		.then(async (r) => ({type: r.type, status: r.status, read: await r.text()}), (e) => ({error: String(e)}))`},
	{"fetch no-cors Blob without type", `fetch(u, {method: 'POST', mode: 'no-cors', credentials: 'include', body: new Blob([body])})
		.then(async (r) => ({type: r.type, status: r.status, read: await r.text()}), (e) => ({error: String(e)}))`},
	{"sendBeacon", `Promise.resolve({queued: navigator.sendBeacon(u, new Blob([body]))})`},
	// Preflighted: the browser asks with OPTIONS first and sends the
	// request only if the answer allows it.
	{"fetch preflighted application/json", `fetch(u, {method: m, credentials: 'include', headers: {'Content-Type': 'application/json'},
		body: m === 'GET' ? undefined : body})
		.then(async (r) => ({type: r.type, status: r.status, read: await r.text()}), (e) => ({error: String(e)}))`},
	// A form posting JSON-looking text/plain into a hidden frame.
	{"form post text/plain", `new Promise((resolve) => {
		const name = 'f' + Math.random().toString(36).slice(2);
		const frame = document.createElement('iframe'); frame.name = name; document.body.append(frame);
		const form = document.createElement('form');
		form.method = 'POST'; form.action = u; form.enctype = 'text/plain'; form.target = name;
		const input = document.createElement('input'); input.type = 'hidden';
		input.name = body.slice(0, -1) + ', "x": "'; input.value = '"}';
		form.append(input); document.body.append(form);
		frame.addEventListener('load', () => {
			let read = null; try { read = frame.contentDocument.body.innerText; } catch (e) { /* cross-origin */ }
			resolve({loaded: true, read});
		});
		setTimeout(() => resolve({loaded: false}), 5000);
		form.submit();
	})`},
	{"img GET", `new Promise((resolve) => {
		const img = new Image();
		img.onload = () => resolve({loaded: true, width: img.naturalWidth});
		img.onerror = () => resolve({loaded: false});
		img.src = u;
	})`},
}

// attackBodies are what each acting route would accept from a client
// allowed in: the attacks send them, so that any request let through
// would act ("{}" for the routes not listed).
var attackBodies = map[string]string{
	"POST /api/doses/{id}/skip": `{"by": "caregiver"}`,
	"POST /api/prn":             `{"medication": "paracetamol"}`,
	"POST /api/sim/clock":       `{"advance": "2h"}`,
	"POST /api/sim/cup":         `{"present": false}`,
	"POST /api/sim/fault":       `{"input": "lid", "stick": "active"}`,
	"POST /api/sim/jam":         `{"compartment": 1, "count": 1}`,
	"POST /api/sim/lid":         `{"open": true}`,
	"POST /api/sim/ntp":         `{"synced": false}`,
	"POST /api/sim/reading":     `{"quantity": "glucose", "value": 50, "unit": "mg/dL"}`,
	"POST /api/sim/refill":      `{"compartment": 1, "count": 1}`,
	"POST /api/sim/sms/reply":   `{"from": "+15555550101", "body": "STOP"}`,
}

// attackLog records, per attack marker, what the server answered.
type attackLog struct {
	mu   sync.Mutex
	seen map[string][]string // marker -> "METHOD STATUS"
	wake chan struct{}
}

func (l *attackLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mark := r.URL.Query().Get("xattack")
		if mark == "" {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		l.mu.Lock()
		l.seen[mark] = append(l.seen[mark], fmt.Sprintf("%s %d", r.Method, sw.code))
		l.mu.Unlock()
		select {
		case l.wake <- struct{}{}:
		default:
		}
	})
}

// wait returns once every marker has been answered (each preflighted
// attack answers its OPTIONS) or the deadline passes.
func (l *attackLog) wait(marks []string, deadline time.Duration) {
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for {
		l.mu.Lock()
		missing := slices.ContainsFunc(marks, func(m string) bool { return len(l.seen[m]) == 0 })
		l.mu.Unlock()
		if !missing {
			return
		}
		select {
		case <-l.wake:
		case <-timer.C:
			return
		}
	}
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() { http.NewResponseController(w.ResponseWriter).Flush() }

// refused are the answers of the API's door.
var refused = map[int]bool{http.StatusUnauthorized: true, http.StatusForbidden: true,
	http.StatusUnsupportedMediaType: true, http.StatusMisdirectedRequest: true}

// A page served from another loopback port, in a browser that has the
// panel's session, tries every attack against every route: the event log,
// the world and the status do not change, the server refuses every request
// that reaches it, and the page reads nothing.
func TestCrossSiteMatrix(t *testing.T) {
	ctx := newBrowser(t)
	atk := &attackLog{seen: map[string][]string{}, wake: make(chan struct{}, 1)}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	d := serveInProcess(t, options{config: "../../examples/dispenser.yaml", sim: true, data: t.TempDir(),
		listen: "127.0.0.1:0", simStart: "2026-03-10T07:50:00-04:00"}, log, atk.wrap)
	base := d.base
	const dose = "metformin@2026-03-10T08:00" // open at 07:50: a skip would log
	state := func() string {
		return string(httpGet(t, base+"/api/events?since=0&limit=10000")) + string(httpGet(t, base+"/api/sim/world")) +
			string(httpGet(t, base+"/api/status")) + string(httpGet(t, base+"/api/sim/sms"))
	}

	var routes []string
	if err := json.Unmarshal(httpGet(t, base+"/api/sim/routes"), &routes); err != nil {
		t.Fatal(err)
	}
	if len(routes) < 20 {
		t.Fatalf("GET /api/sim/routes = %d routes, want every route the daemon serves", len(routes))
	}
	// Routes that show PHI and came later than the matrix: it must try them.
	for _, want := range []string{"GET /api/insights"} {
		if !slices.Contains(routes, want) {
			t.Fatalf("GET /api/sim/routes = %q, want it to list %s for the matrix", routes, want)
		}
	}
	type target struct{ Method, URL, Body string }
	var targets []target
	var marks []string
	for i, route := range routes {
		method, pattern, _ := strings.Cut(route, " ")
		path := strings.ReplaceAll(strings.ReplaceAll(pattern, "{$}", ""), "{id}", dose)
		body, ok := attackBodies[route]
		if !ok {
			body = "{}"
		}
		targets = append(targets, target{method, base + path, body})
		for k := range attackKinds {
			marks = append(marks, fmt.Sprintf("%d.%d", i, k))
		}
	}

	// The browser opens the panel first: it has the session cookie.
	p := newPage(t, ctx, base)
	p.wait("live", `document.getElementById('conn').textContent === 'Live'`)
	before := state()

	var js strings.Builder
	js.WriteString("const kinds = [")
	for _, k := range attackKinds {
		js.WriteString("(u, m, body) => " + k.js + ",\n")
	}
	js.WriteString("];\n")
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>attacker</title><body><script>
%s
window.attack = async (targets) => {
	const out = [];
	for (const [i, t] of targets.entries()) {
		const sep = t.URL.includes('?') ? '&' : '?';
		out.push(await Promise.all(kinds.map((k, j) => k(t.URL + sep + 'xattack=' + i + '.' + j, t.Method, t.Body))));
	}
	return JSON.stringify({results: out, cookie: document.cookie});
};
</script></body>`, js.String())
	}))
	t.Cleanup(attacker.Close)
	if attacker.URL[:len("http://127.0.0.1:")] != base[:len("http://127.0.0.1:")] || attacker.URL == base {
		t.Fatalf("attacker at %s, want another port of the panel's host %s", attacker.URL, base)
	}

	p.do("open the attacker's page", chromedp.Navigate(attacker.URL))
	tj, _ := json.Marshal(targets)
	runCtx, stop := context.WithTimeout(ctx, 3*time.Minute)
	defer stop()
	out, err := chromedp.Run(runCtx, chromedp.Evaluate[string](`window.attack(`+string(tj)+`)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run the attacks: %v", err)
	}
	var page struct {
		Results [][]map[string]any `json:"results"`
		Cookie  string             `json:"cookie"`
	}
	if err := json.Unmarshal([]byte(out), &page); err != nil {
		t.Fatalf("the page's results %q: %v", out, err)
	}
	atk.wait(marks, 20*time.Second) // beacons are sent after the page asked

	if strings.Contains(page.Cookie, "pillbox_panel") {
		t.Errorf("the attacker's page reads the panel's cookie: %q (want HttpOnly)", page.Cookie)
	}
	var table bytes.Buffer
	fmt.Fprintf(&table, "| route |")
	for _, k := range attackKinds {
		fmt.Fprintf(&table, " %s |", k.name)
	}
	fmt.Fprintf(&table, "\n|---|%s\n", strings.Repeat("---|", len(attackKinds)))
	for i, route := range routes {
		fmt.Fprintf(&table, "| `%s` |", route)
		for k, kind := range attackKinds {
			mark := fmt.Sprintf("%d.%d", i, k)
			atk.mu.Lock()
			answers := slices.Clone(atk.seen[mark])
			atk.mu.Unlock()
			res := page.Results[i][k]
			cell := strings.Join(answers, ", ")
			if cell == "" {
				cell = "not received"
				t.Errorf("%s: %s never reached the server (the browser blocked it, so the test proves nothing)", route, kind.name)
			}
			for _, a := range answers {
				var m string
				var code int
				fmt.Sscanf(a, "%s %d", &m, &code)
				if !refused[code] {
					t.Errorf("%s: %s answered %s, want a refusal (401, 403, 415 or 421)", route, kind.name, a)
				}
				if strings.HasPrefix(kind.name, "fetch preflighted") && m != http.MethodOptions {
					t.Errorf("%s: %s: the browser sent %s after the preflight, want only the refused OPTIONS", route, kind.name, a)
				}
			}
			if read, _ := res["read"].(string); read != "" {
				t.Errorf("%s: %s: the page read %q", route, kind.name, read)
			}
			if loaded, _ := res["loaded"].(bool); loaded && kind.name == "img GET" {
				t.Errorf("%s: %s: the image loaded (%v)", route, kind.name, res)
			}
			fmt.Fprintf(&table, " %s |", cell)
		}
		table.WriteString("\n")
	}
	t.Logf("cross-site matrix (server's answer to each attack; OPTIONS = the preflight, after which the browser sent nothing):\n%s", table.String())
	if after := state(); after != before {
		t.Errorf("the attacks changed the dispenser:\nbefore: %s\nafter:  %s", before, after)
	}
}
