package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pillbox/pillbox/internal/browsertest"
)

// Browser tests: the panel in headless Chromium, against the daemon run in
// this process in sim mode. They wait on conditions in the page, never for
// a fixed time, and save screenshots of the main states (the path is
// logged; set PILLBOX_ARTIFACTS to choose it).

var updatePanelPNG = flag.Bool("update-panel-png", false, "write the README's screenshot, docs/panel.png, from TestPanelSMSStory")

// newBrowser starts headless Chromium (internal/browsertest: skipped
// loudly without it, failed under PILLBOX_REQUIRE_BROWSER=1).
func newBrowser(t *testing.T) context.Context { return browsertest.New(t) }

// panelDaemon runs dispenserd --sim in this process on a free port with a
// fresh data folder, starting the simulated clock at simStart.
func panelDaemon(t *testing.T, config, simStart string) string {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	d := serveInProcess(t, options{config: config, sim: true, data: t.TempDir(), listen: "127.0.0.1:0", simStart: simStart}, log, nil)
	httpGet(t, d.base+"/api/status") // answered once the dose loop runs
	return d.base
}

// page drives one tab and keeps its screenshots.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
}

func newPage(t *testing.T, ctx context.Context, base string) *page {
	dir := os.Getenv("PILLBOX_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "pillbox-panel")
	}
	dir = filepath.Join(dir, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	p := &page{t: t, ctx: ctx, base: base, dir: dir}
	p.do("open the panel", chromedp.Navigate(base+"/"))
	return p
}

// fail records what the page showed, then fails the test.
func (p *page) fail(format string, args ...any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	if b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		path := filepath.Join(p.dir, "FAILED.png")
		os.WriteFile(path, b, 0o644)
		p.t.Logf("screenshot of the failure: %s", path)
	}
	if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`)); err == nil {
		p.t.Logf("page text:\n%s", text)
	}
	p.t.Fatalf(format, args...)
}

func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.fail("%s: %v", what, err)
	}
}

func (p *page) click(sel string) {
	p.t.Helper()
	p.do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// wait waits until the JavaScript expression cond is true in the page.
func (p *page) wait(what, cond string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 25*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		p.fail("waiting for %s (%s): %v", what, cond, err)
	}
}

func (p *page) eval(expr string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		p.fail("evaluate %s: %v", expr, err)
	}
	return v
}

// shot saves a full-page screenshot of the current state as name.png.
func (p *page) shot(name string) []byte {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.fail("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, name+".png"), b, 0o644); err != nil {
		p.t.Fatal(err)
	}
	return b
}

// key types one key into the page, as a person at the keyboard would.
func (p *page) key(k string) {
	p.t.Helper()
	p.do("press key "+k, chromedp.KeyEvent(k))
}

func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %s: %s", url, resp.Status, b)
	}
	return b
}

// The story: advance the clock to a dose, see the reminder on the
// rendered display, press the button, see the pills counted down and the
// log say dispensed, lift the cup, see taken. On the way: the lights, the
// keyboard, and that every control has a name.
func TestPanelStory(t *testing.T) {
	ctx := newBrowser(t)
	// 07:50 in New York: the 08:00 metformin window is open, the
	// reminder not yet due.
	base := panelDaemon(t, "../../examples/dispenser.yaml", "2026-03-10T07:50:00-04:00")
	p := newPage(t, ctx, base)

	p.wait("the display drawn and live", `document.getElementById('display-text').textContent.includes('Next pills') &&
		document.getElementById('display').complete && document.getElementById('display').naturalWidth === 512 &&
		document.getElementById('conn').textContent === 'Live'`)
	p.wait("the compartments named", `document.querySelector('#compartments [data-id="1"] h3').textContent.includes('Metformin')`)
	p.wait("today's doses", `document.querySelector('#doses [data-id="metformin@2026-03-10T08:00"]') !== null`)
	idleSrc := p.eval(`document.getElementById('display').src`)
	idlePNG := httpGet(t, base+"/api/sim/display.png")
	p.shot("1-idle")

	t.Run("accessible names", func(t *testing.T) {
		unnamed := p.eval(`JSON.stringify([...document.querySelectorAll('button, input, select, textarea, meter, a[href]')]
			.filter((el) => !el.hidden && !el.closest('[hidden]'))
			.filter((el) => {
				const by = (el.getAttribute('aria-labelledby') || '').split(' ').filter(Boolean)
					.map((id) => (document.getElementById(id) || {}).textContent || '').join('');
				const labels = el.labels ? [...el.labels].map((l) => l.textContent).join('') : '';
				return !((el.getAttribute('aria-label') || '') + by + labels + (el.matches('button, a') ? el.textContent : '')).trim();
			}).map((el) => el.outerHTML.slice(0, 80)))`)
		if unnamed != "[]" {
			t.Errorf("controls without an accessible name: %s", unnamed)
		}
	})

	// To the next dose: the reminder on the display, from the framebuffer.
	p.click("#adv-next")
	p.wait("the reminder on the display", `document.getElementById('display-text').textContent.includes('Time for') &&
		document.getElementById('clock-time').textContent.includes('8:00')`)
	var world struct {
		Display struct {
			Lines []string `json:"lines"`
		} `json:"display"`
	}
	if err := json.Unmarshal(httpGet(t, base+"/api/sim/world"), &world); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(world.Display.Lines, " "); !strings.Contains(got, "Time for pills") {
		t.Errorf("/api/sim/world display lines = %q, want the reminder", got)
	}
	if reminderPNG := httpGet(t, base+"/api/sim/display.png"); bytes.Equal(reminderPNG, idlePNG) {
		t.Error("display.png did not change with the reminder")
	}
	p.wait("the new picture shown", fmt.Sprintf(`(() => { const i = document.getElementById('display');
		return i.src !== %q && i.complete && i.naturalWidth === 512; })()`, idleSrc))
	p.wait("the attention light blinking, in words", `document.getElementById('light-led_attention').dataset.mode === 'blink' &&
		document.querySelector('#light-led_attention .mode').textContent === 'Blinking'`)
	p.wait("the dose reminding", `document.querySelector('#doses [data-id="metformin@2026-03-10T08:00"]').dataset.state === 'reminding'`)
	p.shot("2-reminder")

	// A keyboard user on the dose's Skip button keeps their place while
	// the list is redrawn (opening the lid logs an event, which redraws it).
	const skip = `#doses [data-id="metformin@2026-03-10T08:00"] button`
	p.do("focus Skip", chromedp.Focus(chromedp.CSS(skip)))
	p.key("l")
	p.wait("the lid open", `document.querySelector('#log li[data-kind="lid_opened"]') !== null`)
	p.key("l")
	p.wait("the lid closed", `document.querySelector('#log li[data-kind="lid_closed"]') !== null`)
	p.wait("focus still on Skip", fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, skip))

	// Press the button: one pill counted down, in the cup, logged.
	p.click("#press")
	p.wait("the pill counted down", `document.querySelector('#compartments [data-id="1"]').dataset.count === '55' &&
		document.querySelector('#compartments [data-id="1"] .left').textContent === '55 of 60 left'`)
	p.wait("dispensed in the log", `document.querySelector('#log li[data-kind="dispensed"]') !== null`)
	p.wait("the pill in the cup", `document.getElementById('cup-state').textContent.includes('1 pill in it')`)
	p.wait("the display asks to take them", `document.getElementById('display-text').textContent.includes('Take your')`)
	p.wait("the lights settled: attention on, ready off", `document.getElementById('light-led_attention').dataset.mode === 'on' &&
		document.querySelector('#light-led_attention .mode').textContent === 'On' &&
		document.getElementById('light-led_ready').dataset.mode === 'off'`)
	p.shot("3-dispensed")

	// Lift the cup: taken.
	p.click("#cup")
	p.wait("taken in the log", `document.querySelector('#log li[data-kind="taken"]') !== null`)
	p.wait("the dose taken", `document.querySelector('#doses [data-id="metformin@2026-03-10T08:00"]').dataset.state === 'taken' &&
		document.querySelector('#doses [data-id="metformin@2026-03-10T08:00"] .pill').textContent.includes('Taken')`)
	p.wait("the cup out", `document.getElementById('cup').textContent.startsWith('Put the cup back')`)
	p.shot("4-taken")

	// The keyboard alone: C puts the cup back, L opens the lid.
	p.key("c")
	p.wait("the cup back", `document.querySelector('#log li[data-kind="cup_returned"]') !== null`)
	p.key("l")
	p.wait("the lid open", `document.getElementById('lid-state').textContent === 'open' &&
		document.querySelectorAll('#log li[data-kind="lid_opened"]').length === 2`)
	p.key("l")
	p.wait("the lid closed", `document.getElementById('lid-state').textContent === 'closed'`)
	p.shot("5-keyboard")
}

// The jam injector: a jammed compartment retries, and the panel shows the
// jam in words; refill brings the count back; holding the button gives an
// as-needed dose.
func TestPanelJamAndRefill(t *testing.T) {
	ctx := newBrowser(t)
	base := panelDaemon(t, "../../examples/dispenser.yaml", "2026-03-10T08:55:00-04:00")
	p := newPage(t, ctx, base)
	p.wait("live", `document.getElementById('conn').textContent === 'Live' &&
		document.querySelector('#compartments [data-id="2"] button.jam') !== null`)

	p.click(`#compartments [data-id="2"] button.jam`)
	p.wait("the jam shown", `document.querySelector('#compartments [data-id="2"] .comp-note').textContent.includes('Jam set')`)
	p.click("#adv-next") // lisinopril at 09:00
	p.wait("the reminder", `document.getElementById('display-text').textContent.includes('Time for')`)
	p.click("#press")
	p.wait("the jam in the log and the pill given on a retry", `document.querySelector('#log li[data-kind="jam"]') !== null &&
		document.querySelector('#log li[data-kind="dispensed"]') !== null &&
		document.querySelector('#compartments [data-id="2"]').dataset.count === '29'`)
	p.shot("1-jam")

	p.click(`#compartments [data-id="2"] button.refill`)
	p.wait("refilled", `document.querySelector('#compartments [data-id="2"]').dataset.count === '30' &&
		document.querySelector('#log li[data-kind="refill"]') !== null`)

	// Holding the button asks for the as-needed paracetamol: two pills.
	p.click("#hold")
	p.wait("the button held down", `document.getElementById('button-state').textContent === 'Button down'`)
	p.wait("the as-needed dose given", `document.querySelector('#compartments [data-id="3"]').dataset.count === '30' &&
		[...document.querySelectorAll('#doses li')].some((li) => li.textContent.includes('Paracetamol (as needed)'))`)
	p.shot("2-as-needed")
}

// Then let a dose pass and see the text to the caregiver; reply OK as
// them. This needs the SMS viewer of the escalation issue.
func TestPanelSMSStory(t *testing.T) {
	ctx := newBrowser(t)
	base := panelDaemon(t, "../../examples/dispenser.yaml", "2026-03-10T07:50:00-04:00")
	resp, err := http.Get(base + "/api/sim/sms")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		t.Skip("SKIPPED, NOT PASSED: GET /api/sim/sms answers 404: the SMS viewer (issue 4) is not in this build yet")
	}
	p := newPage(t, ctx, base)
	p.wait("live", `document.getElementById('conn').textContent === 'Live'`)

	// Let the 08:00 dose pass unpressed, an hour at a time, until it is
	// missed; by then its ladder has texted the first caregiver.
	const caregiver = "+15555550101"
	missed := `document.querySelector('#log li[data-kind="missed"]') !== null`
	for i := 0; i < 4 && p.eval(fmt.Sprintf(`String(%s)`, missed)) != "true"; i++ {
		before := p.eval(`document.getElementById('clock-time').textContent`)
		p.click("#adv-1h")
		p.wait("the clock to move", fmt.Sprintf(`document.getElementById('clock-time').textContent !== %q`, before))
	}
	p.wait("missed in the log", missed)
	p.wait("a text to "+caregiver+" with its delivery status", fmt.Sprintf(`[...document.querySelectorAll('#sms li.out')].some((li) =>
		li.textContent.includes(%q) && li.dataset.status === 'delivered')`, caregiver))
	p.shot("1-sms")

	p.do("reply OK", chromedp.SetValue(chromedp.CSS("#sms-from"), caregiver),
		chromedp.SendKeys(chromedp.CSS("#sms-body"), "OK"),
		chromedp.Click(chromedp.CSS("#sms-send"), chromedp.NodeVisible))
	p.wait("the acknowledgement in the log", `document.querySelector('#log li[data-kind="alert_ack"]') !== null`)
	p.wait("the reply and its answer in the pane", `document.querySelector('#sms li.in') !== null &&
		document.querySelector('#sms li.in').textContent.includes('OK')`)
	p.wait("the lights settled", `document.getElementById('light-led_ready').dataset.mode === 'off'`)
	// The list names people and marks the text Ana acknowledged.
	p.wait("Ana's text named and marked acknowledged", fmt.Sprintf(`[...document.querySelectorAll('#sms li.out')].some((li) =>
		li.textContent.includes('To Ana (%s)') && li.querySelector('.acked') !== null &&
		li.querySelector('.acked').textContent.includes('acknowledged by Ana'))`, caregiver))
	shot := p.shot("2-acknowledged")
	if *updatePanelPNG {
		if err := os.WriteFile("../../docs/panel.png", shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("wrote docs/panel.png")
	}
}

// A ladder step with call: rings in the text list with the answers a
// callee has; "Answer, press 1" acknowledges, and the call is marked so.
func TestPanelCall(t *testing.T) {
	ctx := newBrowser(t)
	config := exampleWith(t, "    - to: caregiver1\n      after: 30m", "    - call: caregiver1\n      after: 30m")
	base := panelDaemon(t, config, "2026-03-10T07:50:00-04:00")
	p := newPage(t, ctx, base)
	p.wait("live", `document.getElementById('conn').textContent === 'Live'`)
	p.click("#adv-1h") // 08:50: the call to Ana went at 08:30
	p.wait("the call ringing with its answers", `[...document.querySelectorAll('#sms li.out')].some((li) =>
		li.textContent.includes('Call to Ana') && li.querySelector('button[data-answer="pressed1"]') !== null)`)
	p.click(`#sms button[data-answer="pressed1"]`)
	p.wait("the acknowledgement in the log", `document.querySelector('#log li[data-kind="alert_ack"]') !== null`)
	p.wait("the call marked acknowledged, its buttons gone", `[...document.querySelectorAll('#sms li.out')].some((li) =>
		li.textContent.includes('Call to Ana') && li.querySelector('.acked') !== null && li.querySelector('button') === null)`)
	p.shot("call-acknowledged")
}

// The vital-sign form (issue 6): a low glucose sent from the panel is
// listed and marked, raises the alert in the log and texts the caregiver;
// a lower-priority low while it is open is marked as such, a normal value
// clears it, and a refused value shows the endpoint's own message.
func TestPanelVitals(t *testing.T) {
	ctx := newBrowser(t)
	// 10:30 in New York: outside quiet hours, between doses.
	base := panelDaemon(t, "../../examples/dispenser.yaml", "2026-03-10T10:30:00-04:00")
	p := newPage(t, ctx, base)
	p.wait("live, with the vitals form", `document.getElementById('conn').textContent === 'Live' &&
		document.getElementById('vital-value-glucose') !== null &&
		!document.getElementById('readings-empty').hidden`)
	p.key("v")
	p.wait("V to reach the form", `document.activeElement === document.getElementById('vital-kind')`)

	// send types a glucose value into the form and sends it with Enter,
	// as a keyboard user would.
	send := func(value string) {
		p.t.Helper()
		p.do("send glucose "+value, chromedp.SetValue(chromedp.CSS("#vital-value-glucose"), ""),
			chromedp.SendKeys(chromedp.CSS("#vital-value-glucose"), value+"\r"))
	}
	reading := func(flag, value string) string {
		return fmt.Sprintf(`[...document.querySelectorAll('#readings li[data-quantity="glucose"]')].some((li) =>
			li.dataset.flag === %q && li.querySelector('.reading-value').textContent === %q)`, flag, value)
	}

	send("52")
	p.wait("the answer: stored, alert raised", `document.getElementById('vital-result').textContent.includes('Stored: Blood glucose 52 mg/dL') &&
		document.getElementById('vital-result').textContent.includes('Alert raised: Very low blood sugar')`)
	p.wait("the reading listed and marked in words", reading("alert", "52 mg/dL")+` &&
		document.querySelector('#readings li[data-flag="alert"] .pill').textContent.startsWith('\u26A0 Alert: Very low blood sugar')`)
	p.wait("the alert in the log", `[...document.querySelectorAll('#log li[data-kind="vital_alert"]')].some((li) =>
		li.textContent.includes('Vital sign alert') && li.textContent.includes('Very low blood sugar'))`)
	p.wait("the caregiver texted", `[...document.querySelectorAll('#sms li.out')].some((li) =>
		li.textContent.includes('+15555550101') && li.textContent.includes('Very low blood sugar'))`)
	p.shot("1-low-glucose")

	// Five minutes on, 60 mg/dL is low but not lower: no new alert, the
	// open one marks it.
	before := p.eval(`document.getElementById('clock-time').textContent`)
	p.click("#adv-5m")
	p.wait("the clock to move", fmt.Sprintf(`document.getElementById('clock-time').textContent !== %q`, before))
	send("60")
	p.wait("60 marked by the open alert", reading("open", "60 mg/dL")+` &&
		document.getElementById('vital-result').textContent.includes('still open')`)

	// A normal value clears it.
	p.click("#adv-5m")
	send("110")
	p.wait("110 clears the alert", reading("cleared", "110 mg/dL")+` &&
		document.querySelector('#log li[data-kind="vital_alert_cleared"]') !== null`)
	if got := p.eval(`document.querySelector('#readings li').dataset.flag + ' ' + document.querySelector('#readings li .reading-value').textContent`); got != "cleared 110 mg/dL" {
		t.Errorf("newest reading listed = %q, want %q (newest first)", got, "cleared 110 mg/dL")
	}

	// Blood pressure: two values in one measurement, each with its unit.
	p.do("choose blood pressure", chromedp.SetValue(chromedp.CSS("#vital-kind"), "bp"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('vital-kind').dispatchEvent(new Event('change'))`))
	p.do("send 128/82", chromedp.SendKeys(chromedp.CSS("#vital-value-systolic"), "128"),
		chromedp.SendKeys(chromedp.CSS("#vital-value-diastolic"), "82"),
		chromedp.Click(chromedp.CSS("#vital-send"), chromedp.NodeVisible))
	p.wait("both pressures listed", `[...document.querySelectorAll('#readings li')].some((li) => li.dataset.quantity === 'systolic' &&
		li.textContent.includes('128 mmHg')) && [...document.querySelectorAll('#readings li')].some((li) =>
		li.dataset.quantity === 'diastolic' && li.textContent.includes('82 mmHg'))`)

	// The endpoint's refusal, in its words. Every unit the form offers is
	// taken, so the test adds one it refuses.
	p.do("choose glucose", chromedp.SetValue(chromedp.CSS("#vital-kind"), "glucose"),
		chromedp.Evaluate[chromedp.Void](`(() => { document.getElementById('vital-kind').dispatchEvent(new Event('change'));
			const u = document.querySelector('#vital-values select'); u.add(new Option('furlong', 'furlong')); u.value = 'furlong'; })()`))
	send("5")
	p.wait("the refusal shown", `document.getElementById('vital-result').textContent ===
		'\u2717 Not stored: unit "furlong" is not one for glucose (want mg/dL)'`)
	p.shot("2-readings")

	// The marks outlive a reload of the page.
	p.do("reload", chromedp.Reload())
	p.wait("the marks back after a reload", reading("alert", "52 mg/dL")+` && `+reading("open", "60 mg/dL"))
}

// panelURL names an address a browser on this machine can open.
func TestPanelURL(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want string
	}{
		{"127.0.0.1:8080", "http://127.0.0.1:8080/"},
		{"0.0.0.0:8080", "http://localhost:8080/"},
		{"[::]:9000", "http://localhost:9000/"},
		{"[::1]:9000", "http://[::1]:9000/"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			addr, err := net.ResolveTCPAddr("tcp", tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			if got := panelURL("http", addr); got != tc.want {
				t.Errorf("panelURL(%s) = %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}
