package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/speech"
	"github.com/pillbox/pillbox/internal/i18n"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/notify/twiliotest"
)

// withSpeaker adds a speaker to the example board.
var withSpeaker = []string{"  servo_driver:\n", "  speaker:\n    volume: 50\n  servo_driver:\n"}

// inLanguage is the example with the patient's language set to tag.
func inLanguage(tag string) []string {
	return []string{"  language: en\n", "  language: " + tag + "\n"}
}

// haveEspeak reports whether espeak-ng is installed; without it the
// simulated board has no speaker, and a test that needs one skips loudly
// (fails with PILLBOX_REQUIRE_ESPEAK=1).
func haveEspeak(t *testing.T) bool {
	t.Helper()
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		if os.Getenv("PILLBOX_REQUIRE_ESPEAK") == "1" {
			t.Fatalf("espeak-ng not found and PILLBOX_REQUIRE_ESPEAK=1: %v", err)
		}
		t.Logf("SKIPPED the spoken part: espeak-ng not found (apt-get install espeak-ng): %v", err)
		return false
	}
	return true
}

// TestSpanishDoseCycle is issue 19's test of done: a dose cycle in the
// simulator with the patient's language es shows Spanish on the display,
// speaks Spanish (the simulated speaker keeps the words and the audio),
// and texts, through the real Twilio client and the stand-in, the
// Spanish-speaking caregiver in Spanish and the English-speaking one in
// English.
func TestSpanishDoseCycle(t *testing.T) {
	es, en := i18n.Lookup("es"), i18n.Lookup("en")
	speaks := haveEspeak(t)
	stand := twiliotest.New(t, testAccount, testToken)
	cfg := withTwilio(t, stand, "", append(append(inLanguage("es"), withSpeaker...),
		"language: en            # es", "language: es            #",
		"    phone: \"+15555550102\"\n    role: caregiver\n", "    phone: \"+15555550102\"\n    role: caregiver\n    language: en\n")...)
	d := runDaemon(t, cfg, filepath.Join(t.TempDir(), "data"), "127.0.0.1:0", "2026-03-10T07:50:00-04:00")
	since := d.lastSeq()
	if got, want := d.status().Display, es.Text("screen.next_pills", i18n.Args{"time": "8:00"}); strings.Join(got, "\n") != want {
		t.Errorf("display at 07:50 = %q, want %q", got, want)
	}

	d.advance("10m") // 08:00: the dose is due
	d.waitFor(dispenser.KindReminder, since, nil)
	wantLines := strings.Split(es.Text("screen.dose_due", nil), "\n")
	if got := d.status().Display; !slices.Equal(got, wantLines) {
		t.Errorf("display when due = %q, want %q", got, wantLines)
	}
	var world struct {
		Display struct{ Lines []string } `json:"display"`
	}
	if err := json.Unmarshal(d.do("GET", "/api/sim/world", nil, http.StatusOK), &world); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(world.Display.Lines, " "); !strings.Contains(got, "Pulse el botón") {
		t.Errorf("the simulated glass reads %q, want the Spanish screen with its accent", got)
	}
	saveArtefact(t, d, "display-es.png")
	if speaks {
		d.waitSpoken(es.Text("speech.dose_due", nil), "es")
		wav := d.do("GET", "/api/sim/speech.wav", nil, http.StatusOK)
		if w, err := speech.ParseWAV(wav); err != nil || w.Duration() < 2*time.Second {
			t.Errorf("GET /api/sim/speech.wav: %d bytes (%v), want the prompt's audio of 2 s or more", len(wav), err)
		}
	}

	d.advance("60m") // 09:00: the patient at 20 minutes, Ana at 30, David at 60
	d.waitFor(notify.KindSMSSent, since, to("caregiver2"))
	bodies := map[string]string{}
	for _, m := range stand.Messages() {
		bodies[m.To] = m.Body
	}
	dose := func(l *i18n.Locale, clock string) string { return l.Text("sms.dose", i18n.Args{"time": clock}) }
	want := map[string]string{
		"+15555550100": es.Text("sms.patient_ready", i18n.Args{"name": "Margaret", "time": "8:00"}),
		anaPhone:       es.Text("sms.due", i18n.Args{"name": "Margaret", "dose": dose(es, "8:00")}),
		davidPhone:     en.Text("sms.due", i18n.Args{"name": "Margaret", "dose": dose(en, "8:00 AM")}),
	}
	for phone, line := range want {
		if !strings.Contains(bodies[phone], line) {
			t.Errorf("text to %s = %q, want it to say %q", phone, bodies[phone], line)
		}
	}
	if b := bodies[anaPhone]; !strings.Contains(b, es.Text("sms.header", nil)) || !strings.Contains(b, "Responda OK") {
		t.Errorf("text to Ana = %q, want the Spanish header and reply instruction", b)
	}

	d.do("POST", "/api/sim/button?wait=1", nil, http.StatusOK)
	if got, want := d.status().Display, strings.Split(es.Text("screen.take_from_cup", nil), "\n"); !slices.Equal(got, want) {
		t.Errorf("display after the press = %q, want %q", got, want)
	}
	if speaks {
		d.waitSpoken(es.Text("speech.take_from_cup", nil), "es")
	}
}

// TestGermanScreen saves what the display shows a German patient when a
// dose is due, as a picture of the framebuffer.
func TestGermanScreen(t *testing.T) {
	d := runDaemon(t, exampleWith(t, inLanguage("de")...), filepath.Join(t.TempDir(), "data"), "127.0.0.1:0", "2026-03-10T08:00:00-04:00")
	de := i18n.Lookup("de")
	if got, want := d.status().Display, strings.Split(de.Text("screen.dose_due", nil), "\n"); !slices.Equal(got, want) {
		t.Errorf("display = %q, want %q", got, want)
	}
	saveArtefact(t, d, "display-de.png")
}

// waitSpoken waits for the simulated speaker to say text in lang.
func (d *inProcess) waitSpoken(text, lang string) {
	d.t.Helper()
	spk := d.r.world.Speaker()
	if spk == nil {
		d.t.Fatal("the simulated board has no speaker")
	}
	deadline := time.After(30 * time.Second)
	for {
		changed := spk.Changed()
		if s, ok := spk.Last(); ok && s.Text == text && s.Lang == lang {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			s, _ := spk.Last()
			d.t.Fatalf("the speaker's last prompt is %q in %q, want %q in %q", s.Text, s.Lang, text, lang)
		}
	}
}

// saveArtefact writes the display's picture to name in
// $PILLBOX_ARTIFACTS (the panel tests' screenshots' folder; default
// $TMPDIR/pillbox-panel), for a person to look at.
func saveArtefact(t *testing.T, d *inProcess, name string) {
	t.Helper()
	png := d.do("GET", "/api/sim/display.png", nil, http.StatusOK)
	dir := os.Getenv("PILLBOX_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "pillbox-panel")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("display picture: %s", path)
}

// TestPanelChrome: the panel's own words follow the browser's language,
// and its high-contrast theme follows the system's wish until the toggle
// is used, which this browser then remembers.
func TestPanelChrome(t *testing.T) {
	ctx := newBrowser(t)
	base := panelDaemon(t, "../../examples/dispenser.yaml", "2026-03-10T07:50:00-04:00")
	setup := func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-contrast", Value: "more"}}})
		return err
	}
	if err := chromedp.Do(ctx, chromedp.Func(setup)); err != nil {
		t.Fatal(err)
	}
	p := newPage(t, ctx, base)
	p.wait("live", `document.getElementById('conn').textContent === 'Live'`)
	if got := p.eval(`document.documentElement.lang + ' | ' + document.getElementById('dev-h').textContent + ' | ' + document.title`); got != "es | El dispensador | Simulador de Pillbox" {
		t.Errorf("lang | heading | title = %q, want the Spanish chrome", got)
	}
	background := `getComputedStyle(document.body).backgroundColor + ' ' + document.getElementById('contrast').getAttribute('aria-pressed')`
	if got := p.eval(background); got != "rgb(0, 0, 0) true" {
		t.Errorf("with prefers-contrast: more, body background and toggle = %q, want rgb(0, 0, 0) true", got)
	}
	p.shot("contrast-more-es")
	p.click("#contrast")
	if got := p.eval(background); got != "rgb(243, 245, 241) false" {
		t.Errorf("after the toggle, body background and toggle = %q, want the usual rgb(243, 245, 241) false", got)
	}
	p.do("reload", chromedp.Reload())
	p.wait("live again", `document.getElementById('conn').textContent === 'Live'`)
	if got := p.eval(background); got != "rgb(243, 245, 241) false" {
		t.Errorf("after a reload, body background and toggle = %q, want the choice remembered: rgb(243, 245, 241) false", got)
	}
}
