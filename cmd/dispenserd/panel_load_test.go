package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/pillbox/pillbox/dispenser"
)

// Browser tests of what a page load shows before the live stream and the
// status have both arrived (issue 21): the event log, the texts and the
// readings loaded at page start must be in the patient's zone with the
// medications' names, whichever answer comes first, and the page must be
// usable at phone width.

// browserZone is the browser's own zone in these tests: not the patient's
// (America/New_York), and half an hour off any whole-hour zone, so a time
// formatted in it cannot pass for the patient's.
const browserZone = "Asia/Kolkata"

// statusGate holds GET /api/status back while closed, so a test can make
// the page's status arrive after the stream's backlog, the order in which
// the panel used to draw the log in the browser's zone.
type statusGate struct {
	mu sync.Mutex
	ch chan struct{} // nil: open
}

func (g *statusGate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/status" {
			g.mu.Lock()
			ch := g.ch
			g.mu.Unlock()
			if ch != nil {
				select {
				case <-ch:
				case <-r.Context().Done():
					return
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}

func (g *statusGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch == nil {
		g.ch = make(chan struct{})
	}
}

func (g *statusGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch != nil {
		close(g.ch)
		g.ch = nil
	}
}

// dayWithHistory runs dispenserd --sim on the example config from 07:50
// to 12:50 in New York on 10 March 2026, unattended: metformin's 08:00
// dose and lisinopril's 09:00 one are missed (lisinopril at 12:00), their
// texts sent; then a glucose reading. The page opened afterwards has a log,
// texts, readings and doses to show from the start.
func dayWithHistory(t *testing.T) (*inProcess, *statusGate) {
	t.Helper()
	gate := &statusGate{}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	d := serveInProcess(t, options{config: "../../examples/dispenser.yaml", sim: true, data: t.TempDir(),
		listen: "127.0.0.1:0", simStart: "2026-03-10T07:50:00-04:00"}, log, gate.wrap)
	t.Cleanup(gate.open)                            // before the server stops, so no request hangs
	d.do("GET", "/api/sim/sms", nil, http.StatusOK) // answered once the notifier runs
	d.advance("5h")
	d.do("POST", "/api/sim/reading", map[string]any{"quantity": "glucose", "value": 110, "unit": "mg/dL"}, http.StatusOK)
	return d, gate
}

// pageTimes is what the page shows: every <time> element and the log.
type pageTimes struct {
	Times []struct {
		Where    string `json:"where"`
		DateTime string `json:"dt"`
		Text     string `json:"text"`
	} `json:"times"`
	Log []struct {
		Seq    int64  `json:"seq"`
		Kind   string `json:"kind"`
		Detail string `json:"detail"`
	} `json:"log"`
}

const readPageTimes = `JSON.stringify({
	times: [...document.querySelectorAll('time')].map((el) => ({
		where: (el.closest('li[data-seq], li[data-id], [id]') || {}).outerHTML.slice(0, 60),
		dt: el.dateTime, text: el.textContent })),
	log: [...document.querySelectorAll('#log li')].map((li) => ({
		seq: Number(li.dataset.seq), kind: li.dataset.kind,
		detail: (li.querySelector('.detail') || {}).textContent || '' })),
})`

// checkPage says what on the page is not in zone, not named by names, or
// out of order; the log must be events, newest first.
func checkPage(got pageTimes, zone *time.Location, events []dispenser.Event, names map[string]string) []string {
	var bad []string
	for _, tm := range got.Times {
		at, err := time.Parse(time.RFC3339, tm.DateTime)
		if err != nil {
			bad = append(bad, fmt.Sprintf("<time datetime=%q> in %s: %v", tm.DateTime, tm.Where, err))
			continue
		}
		// Chromium's en-US puts a narrow no-break space before PM.
		text := strings.NewReplacer("\u202f", " ", "\u00a0", " ").Replace(tm.Text)
		if want := at.In(zone).Format("3:04 PM"); text != want {
			bad = append(bad, fmt.Sprintf("time %s shows %q, want %q (%s) in %s", tm.DateTime, tm.Text, want, zone, tm.Where))
		}
	}
	if len(got.Log) != len(events) {
		bad = append(bad, fmt.Sprintf("log shows %d events, want %d", len(got.Log), len(events)))
	}
	for i, li := range got.Log {
		if i >= len(events) {
			break
		}
		ev := events[len(events)-1-i] // newest first
		if li.Seq != ev.Seq {
			bad = append(bad, fmt.Sprintf("log line %d is seq %d (%s), want seq %d (%s): newest first, in log order", i+1, li.Seq, li.Kind, ev.Seq, ev.Kind))
			continue
		}
		if name := names[ev.Medication]; ev.Medication != "" && !strings.HasPrefix(li.Detail, name+" ") && li.Detail != name {
			bad = append(bad, fmt.Sprintf("log seq %d (%s) says %q, want the medication's name %q first", li.Seq, li.Kind, li.Detail, name))
		}
	}
	return bad
}

// The log, texts, readings and doses loaded at page start are in the
// patient's zone, with medication names, the log newest first, on every
// load: half of them with the status held back until the stream has been
// drawn (the order that showed the browser's zone and ids), half as they
// come (the race a user saw in 3 of 7 loads).
func TestPanelLoadShowsPatientZone(t *testing.T) {
	ctx := newBrowser(t)
	d, gate := dayWithHistory(t)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	st := d.status()
	names := map[string]string{}
	for _, c := range st.Compartments {
		names[c.Medication] = c.Name
	}
	events := d.events(0)
	var texts []json.RawMessage
	if err := json.Unmarshal(d.do("GET", "/api/sim/sms", nil, http.StatusOK), &texts); err != nil {
		t.Fatal(err)
	}
	if len(texts) == 0 || len(events) > backlogMax {
		t.Fatalf("the morning left %d texts and %d events; want some texts and at most %d events", len(texts), len(events), backlogMax)
	}
	for _, c := range []struct {
		what string
		err  error
	}{
		{"set the browser's zone", callErr(chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: browserZone}))},
		{"set the browser's locale", callErr(chromedp.Call(ctx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: "en_US"}))},
	} {
		if c.err != nil {
			t.Fatalf("%s: %v", c.what, c.err)
		}
	}
	p := newPage(t, ctx, d.base)
	// 16:00 UTC is 21:30 in Kolkata, 12:00 in New York.
	if got := p.eval(`(() => { const d = new Date('2026-03-10T16:00:00Z'); return d.getHours() + ':' + d.getMinutes(); })()`); got != "21:30" {
		t.Fatalf("16:00 UTC in the browser's zone is %s, want 21:30 (%s): the test would not tell zones apart", got, browserZone)
	}

	loaded := fmt.Sprintf(`document.querySelectorAll('#log li').length === %d &&
		document.querySelectorAll('#sms li').length === %d &&
		document.querySelectorAll('#readings li').length === 1 &&
		document.querySelectorAll('#doses li').length > 0 &&
		document.getElementById('conn').textContent === 'Live'`, len(events), len(texts))
	const loads = 8
	wrong := 0
	for i := range loads {
		held := i%2 == 0
		how := "as it comes"
		if held {
			how = "held back until the stream is drawn"
			gate.close()
		}
		p.do("load the page", chromedp.Navigate(d.base+"/"))
		if held {
			// The world frame follows the log's backlog on the stream.
			p.wait("the stream's first frame drawn", `document.getElementById('clock-time').textContent !== '--:--'`)
			gate.open()
		}
		p.wait("the log, texts, readings and doses", loaded)
		var got pageTimes
		if err := json.Unmarshal([]byte(p.eval(readPageTimes)), &got); err != nil {
			t.Fatal(err)
		}
		if bad := checkPage(got, ny, events, names); len(bad) > 0 {
			wrong++
			if wrong == 1 {
				p.shot(fmt.Sprintf("load-%d-wrong", i+1))
			}
			if len(bad) > 6 {
				bad = append(bad[:6], fmt.Sprintf("... and %d more", len(bad)-6))
			}
			t.Errorf("load %d (status %s), browser in %s:\n\t%s", i+1, how, browserZone, strings.Join(bad, "\n\t"))
		}
	}
	p.shot("loaded")
	if wrong > 0 {
		t.Errorf("%d of %d page loads showed wrong times, ids or order", wrong, loads)
	}
}

func callErr[R any](_ R, err error) error { return err }

// phone is the viewport of a common Android phone (CSS pixels).
const phoneWidth, phoneHeight = 412, 915

// At phone width the page fits: no sideways scrolling, the clock on one
// line even with the longest date, the display and the big button on the
// first screen, today's doses by the second, and the whole page in a few
// screens (it was 6.1 at 412 px, with today's doses at the fourth).
func TestPanelPhone(t *testing.T) {
	ctx := newBrowser(t)
	d, _ := dayWithHistory(t)
	p := newPage(t, ctx, d.base)
	p.do("phone viewport", chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateMobile, chromedp.EmulatePortrait),
		chromedp.Navigate(d.base+"/"))
	p.wait("the page loaded", `document.getElementById('conn').textContent === 'Live' &&
		document.querySelectorAll('#doses li').length > 0 && document.querySelectorAll('#log li').length > 0 &&
		document.querySelectorAll('#sms li').length > 0 &&
		document.getElementById('display').complete && document.getElementById('display').naturalWidth > 0`)
	p.do("scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	p.shot("phone")
	p.screen("phone-first-screen")

	// A mobile browser widens its layout viewport to fit content that
	// does not fit, so a width other than the phone's means something
	// overflowed.
	layout := fmt.Sprintf(`JSON.stringify((() => {
		const bottom = (el) => el.getBoundingClientRect().bottom;
		let small = Infinity, what = '';
		for (const el of document.querySelectorAll('button, select, input')) {
			const b = el.getBoundingClientRect();
			if (b.width === 0 || el.closest('[hidden], details:not([open])')) continue;
			if (Math.min(b.width, b.height) < small) { small = Math.min(b.width, b.height); what = el.outerHTML.slice(0, 60); }
		}
		const clock = document.getElementById('clock-time');
		const r = document.createRange();
		r.selectNodeContents(clock);
		return {
			Width: window.innerWidth, ScrollWidth: document.documentElement.scrollWidth,
			Height: document.documentElement.scrollHeight, Screen: window.innerHeight,
			Wide: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > %d)
				.map((e) => e.outerHTML.slice(0, 60)).slice(0, 3),
			ClockLines: new Set([...r.getClientRects()].map((b) => Math.round(b.top))).size, ClockText: clock.textContent,
			DisplayBottom: bottom(document.getElementById('bezel')), PressBottom: bottom(document.getElementById('press')),
			DosesBottom: bottom(document.getElementById('doses').closest('section')),
			DisplayWidth: document.getElementById('display').getBoundingClientRect().width,
			SmallestTarget: small, SmallestWhat: what,
		};
	})())`, phoneWidth)
	type layoutOf struct {
		Width, ScrollWidth, Height, Screen      float64
		Wide                                    []string
		ClockLines                              int
		ClockText                               string
		DisplayBottom, PressBottom, DosesBottom float64
		DisplayWidth, SmallestTarget            float64
		SmallestWhat                            string
	}
	measure := func() layoutOf {
		var m layoutOf
		if err := json.Unmarshal([]byte(p.eval(layout)), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	fits := func(m layoutOf) []string {
		var bad []string
		if m.Width != phoneWidth || m.ScrollWidth > m.Width {
			bad = append(bad, fmt.Sprintf("page is %.0f px wide (viewport %.0f px) on a %d px phone: it scrolls sideways; too wide: %q",
				m.ScrollWidth, m.Width, phoneWidth, m.Wide))
		}
		if m.ClockLines != 1 {
			bad = append(bad, fmt.Sprintf("clock %q takes %d lines, want 1", m.ClockText, m.ClockLines))
		}
		return bad
	}

	m := measure()
	t.Logf("at %d x %d px: page height %.0f px (%.1f screens); display ends at %.0f px, the big button at %.0f, today's doses at %.0f",
		phoneWidth, phoneHeight, m.Height, m.Height/m.Screen, m.DisplayBottom, m.PressBottom, m.DosesBottom)
	bad := fits(m)
	for _, c := range []struct {
		ok   bool
		what string
	}{
		{m.DisplayBottom <= m.Screen, fmt.Sprintf("display ends at %.0f px, below the first screen (%.0f px)", m.DisplayBottom, m.Screen)},
		{m.PressBottom <= m.Screen, fmt.Sprintf("big button ends at %.0f px, below the first screen (%.0f px)", m.PressBottom, m.Screen)},
		{m.DosesBottom <= 2*m.Screen, fmt.Sprintf("today's doses end at %.0f px, below the second screen (%.0f px)", m.DosesBottom, 2*m.Screen)},
		{m.DisplayWidth >= 0.6*phoneWidth, fmt.Sprintf("display is %.0f px wide, want at least 60%% of the %d px screen", m.DisplayWidth, phoneWidth)},
		{m.SmallestTarget >= 36, fmt.Sprintf("a control is %.0f px across, too small to tap: %s", m.SmallestTarget, m.SmallestWhat)},
		{m.Height <= 4.5*m.Screen, fmt.Sprintf("page is %.0f px tall, %.1f screens; want at most 4.5", m.Height, m.Height/m.Screen)},
	} {
		if !c.ok {
			bad = append(bad, c.what)
		}
	}

	// The widest words the page shows in its tightest places: the clock
	// on 30 September at noon (a plain space before PM, as Chrome and
	// Safari format it), the lights and a full cup.
	p.do("the longest words", chromedp.Evaluate[chromedp.Void](`(() => {
		document.getElementById('clock-time').textContent = '12:00 PM';
		document.getElementById('clock-date').textContent = 'Wednesday, September 30';
		for (const m of document.querySelectorAll('.light .mode')) m.textContent = 'Fast blinking';
		document.getElementById('cup-state').textContent = 'in the tray, 12 pills in it';
	})()`))
	for _, b := range fits(measure()) {
		bad = append(bad, "with the longest words: "+b)
	}
	if len(bad) > 0 {
		p.shot("FAILED")
		t.Errorf("at %d x %d px:\n\t%s", phoneWidth, phoneHeight, strings.Join(bad, "\n\t"))
	}

	// Narrow screens still work: the next dose by touch.
	p.do("tap To next dose", chromedp.Click(chromedp.CSS("#adv-next"), chromedp.NodeVisible))
	p.wait("the evening reminder", `document.getElementById('display-text').textContent.includes('Time for')`)
	p.screen("phone-reminder")
}

// screen saves what the viewport shows (the first screen, at the top) as
// name.png.
func (p *page) screen(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		err = os.WriteFile(filepath.Join(p.dir, name+".png"), b, 0o644)
	}
	if err != nil {
		p.fail("screenshot %s: %v", name, err)
	}
}
