package panel

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/hw/driver"
	"github.com/pillbox/pillbox/hw/sim"
	"github.com/pillbox/pillbox/hw/speech"
)

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

var _ Clock = fixedClock{}

// newWorld builds a small simulated board with the given display (nil:
// none) and a ready LED.
func newWorld(t *testing.T, display *hw.DisplayConfig) *sim.World {
	t.Helper()
	return newWorldBoard(t, func(b *hw.BoardConfig) { b.Display = display })
}

// newWorldBoard is newWorld with edit changing the board's config.
func newWorldBoard(t *testing.T, edit func(*hw.BoardConfig)) *sim.World {
	t.Helper()
	board := hw.BoardConfig{
		I2CBus:   "1",
		Button:   hw.InputConfig{Pin: "GPIO17", ActiveLow: true},
		Drop:     hw.InputConfig{Pin: "GPIO27"},
		LEDReady: &hw.OutputConfig{Pin: "GPIO24"},
	}
	comps := []hw.CompartmentConfig{{ID: 1, Capacity: 30, Count: 12, Motor: hw.MotorConfig{
		Kind: "uln2003", Pins: []string{"GPIO5", "GPIO6", "GPIO13", "GPIO19"}, StepsPerUnit: 512}}}
	edit(&board)
	w, err := sim.New(board, comps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Board().Close() })
	return w
}

func newPanel(t *testing.T, display *hw.DisplayConfig) (*Panel, *sim.World) {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, display)
	clock := fixedClock(time.Date(2026, 3, 10, 12, 34, 56, 0, time.UTC))
	return New(w, clock, loc), w
}

func serve(t *testing.T, p *Panel, path string) *http.Response {
	t.Helper()
	mux := http.NewServeMux()
	for pattern, h := range p.Routes() {
		mux.Handle(pattern, h)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Result()
}

func decodePNG(t *testing.T, resp *http.Response) image.Image {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %s: %s", resp.Status, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "image/png" {
		t.Fatalf("Content-Type = %q, want image/png", ct)
	}
	img, err := png.Decode(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func lit(c interface{ RGBA() (r, g, b, a uint32) }) bool {
	r, g, b, _ := c.RGBA()
	return r+g+b > 3*0x8000
}

// The OLED picture is the model's framebuffer, every pixel a crisp
// OLEDScale square.
func TestDisplayPNGOLED(t *testing.T) {
	p, w := newPanel(t, &hw.DisplayConfig{Kind: "ssd1306", Address: 0x3C})
	if err := w.Board().Display.Show("Time for pills"); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, serve(t, p, "/api/sim/display.png"))
	want := w.OLED().Image()
	if got, wantSize := img.Bounds().Size(), want.Bounds().Size().Mul(OLEDScale); got != wantSize {
		t.Fatalf("display.png is %v, want %v", got, wantSize)
	}
	litPixels := 0
	for y := range want.Bounds().Dy() * OLEDScale {
		for x := range want.Bounds().Dx() * OLEDScale {
			on := want.GrayAt(x/OLEDScale, y/OLEDScale).Y > 0x80
			if got := lit(img.At(x, y)); got != on {
				t.Fatalf("display.png pixel (%d,%d) lit = %v, want %v (framebuffer pixel (%d,%d))", x, y, got, on, x/OLEDScale, y/OLEDScale)
			}
			if on {
				litPixels++
			}
		}
	}
	if litPixels == 0 {
		t.Error("display.png shows nothing after Show")
	}
}

// The LCD picture draws each character of the model's DDRAM with the
// HD44780 font, dot by dot.
func TestDisplayPNGLCD(t *testing.T) {
	p, w := newPanel(t, &hw.DisplayConfig{Kind: "hd44780", Address: 0x27})
	if err := w.Board().Display.Show("Hi", "x"); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, serve(t, p, "/api/sim/display.png"))
	if got := img.Bounds().Size(); got != image.Pt(lcdW, lcdH) {
		t.Fatalf("display.png is %v, want %dx%d", got, lcdW, lcdH)
	}
	for _, tc := range []struct {
		row, col int
		ch       rune
	}{{0, 0, 'H'}, {0, 1, 'i'}, {0, 2, ' '}, {1, 0, 'x'}, {1, 15, ' '}} {
		g := driver.Glyph(tc.ch)
		for dx := range driver.GlyphWidth {
			for dy := range driver.GlyphHeight {
				x := lcdMargin + tc.col*lcdCellW + dx*lcdPitch + lcdDot/2
				y := lcdMargin + tc.row*lcdCellH + dy*lcdPitch + lcdDot/2
				want := g[dx]>>dy&1 != 0
				if got := img.At(x, y) == lcdDotOn; got != want {
					t.Fatalf("row %d col %d (%q) dot (%d,%d) on = %v, want %v", tc.row, tc.col, tc.ch, dx, dy, got, want)
				}
			}
		}
	}
}

func TestLCDImageOffAndBacklight(t *testing.T) {
	centre := image.Pt(lcdMargin+lcdDot/2, lcdMargin+lcdDot/2) // top left dot of 'H'
	for _, tc := range []struct {
		name          string
		on, backlight bool
		wantDot       any
		wantGlass     any
	}{
		{"on, lit", true, true, lcdDotOn, lcdGlassLit},
		{"on, dark", true, false, lcdDotOn, lcdGlassDark},
		{"off", false, true, lcdDotOffLit, lcdGlassLit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := lcdImage([]string{"H"}, tc.on, tc.backlight)
			if got := img.At(centre.X, centre.Y); got != tc.wantDot {
				t.Errorf("dot = %v, want %v", got, tc.wantDot)
			}
			if got := img.At(0, 0); got != tc.wantGlass {
				t.Errorf("glass = %v, want %v", got, tc.wantGlass)
			}
		})
	}
}

func TestDisplayPNGNoDisplay(t *testing.T) {
	p, _ := newPanel(t, nil)
	if resp := serve(t, p, "/api/sim/display.png"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("display.png without a display: status %s, want 404", resp.Status)
	}
	if f := p.Frame(); f.Display.Kind != "" || f.Display.Version != "" {
		t.Errorf("Frame().Display without a display = %+v, want empty", f.Display)
	}
}

func TestFrame(t *testing.T) {
	p, w := newPanel(t, &hw.DisplayConfig{Kind: "ssd1306", Address: 0x3C})
	b := w.Board()
	if err := b.Display.Show("Good morning"); err != nil {
		t.Fatal(err)
	}
	if err := b.Ready.Set(hw.On); err != nil {
		t.Fatal(err)
	}
	if err := w.InjectJam(1, 2); err != nil {
		t.Fatal(err)
	}
	f := p.Frame()
	for _, tc := range []struct {
		what      string
		got, want any
	}{
		{"local", f.Local, "2026-03-10T08:34:00-04:00"},
		{"timezone", f.Timezone, "America/New_York"},
		{"display kind", f.Display.Kind, "ssd1306"},
		{"display lines", strings.Join(f.Display.Lines, "|"), "Good|morning"},
		{"version set", f.Display.Version != "", true},
		{"led_ready", f.Lights["led_ready"], "on"},
		{"cup present", f.CupPresent, true},
		{"compartments", len(f.Compartments), 1},
		{"count", f.Compartments[0].Count, 12},
		{"jams pending", f.Compartments[0].JamsPending, 2},
	} {
		if tc.got != tc.want {
			t.Errorf("Frame() %s = %v, want %v", tc.what, tc.got, tc.want)
		}
	}

	// The version follows the picture, and the JSON carries it.
	before := f.Display.Version
	if err := b.Display.Show("Time for pills"); err != nil {
		t.Fatal(err)
	}
	raw, err := p.FrameJSON()
	if err != nil {
		t.Fatal(err)
	}
	var after Frame
	if err := json.Unmarshal(raw, &after); err != nil {
		t.Fatal(err)
	}
	if after.Display.Version == before {
		t.Errorf("display version stayed %s after the screen changed", before)
	}
	if bytes.Contains(raw, []byte("\n")) {
		t.Error("FrameJSON has a line break; an SSE data field cannot")
	}
}

func TestPage(t *testing.T) {
	p, _ := newPanel(t, nil)
	for _, tc := range []struct {
		path, wantType string
		wantStatus     int
		wantBody       string
	}{
		{"/", "text/html; charset=utf-8", 200, `<script src="/panel/panel.js"`},
		{"/panel/panel.js", "text/javascript; charset=utf-8", 200, "EventSource('/api/stream')"},
		{"/panel/panel.css", "text/css; charset=utf-8", 200, "image-rendering: pixelated"},
		{"/panel/icon.svg", "image/svg+xml", 200, "<svg"},
		{"/panel/missing.js", "", 404, ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp := serve(t, p, tc.path)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("GET %s: status %d, want %d", tc.path, resp.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus != 200 {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != tc.wantType {
				t.Errorf("GET %s: Content-Type %q, want %q", tc.path, got, tc.wantType)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("GET %s: Content-Security-Policy %q, want default-src 'self'", tc.path, csp)
			}
			if !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("GET %s: body lacks %q", tc.path, tc.wantBody)
			}
		})
	}
}

// The panel works without the internet: no file names a resource on
// another host (an SVG namespace is a name, not a fetch).
func TestPageIsSelfContained(t *testing.T) {
	external := regexp.MustCompile(`(https?:)?//[a-zA-Z0-9.-]+\.[a-z]{2,}`)
	err := fs.WalkDir(static, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(path)
		if err != nil {
			return err
		}
		text := strings.ReplaceAll(string(b), `xmlns="http://www.w3.org/2000/svg"`, "")
		if m := external.FindString(text); m != "" {
			t.Errorf("%s refers to %q: the panel must not load anything from the internet", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSpeech: the frame carries what the speaker said and speech.wav the
// audio espeak-ng rendered for it.
func TestSpeech(t *testing.T) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		if os.Getenv("PILLBOX_REQUIRE_ESPEAK") == "1" {
			t.Fatalf("espeak-ng not found and PILLBOX_REQUIRE_ESPEAK=1: %v", err)
		}
		t.Skipf("SKIPPED: espeak-ng not found (apt-get install espeak-ng; PILLBOX_REQUIRE_ESPEAK=1 makes this fail): %v", err)
	}
	w := newWorldBoard(t, func(b *hw.BoardConfig) { b.Speaker = &hw.SpeakerConfig{} })
	p := New(w, fixedClock(time.Date(2026, 3, 10, 12, 34, 56, 0, time.UTC)), time.UTC)
	if resp := serve(t, p, "/api/sim/speech.wav"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("speech.wav before any prompt: %s, want 404", resp.Status)
	}
	if f := p.Frame(); f.Speech != nil {
		t.Errorf("frame before any prompt has speech %+v, want none", f.Speech)
	}
	changed := w.Speaker().Changed()
	if err := w.Board().Speaker.Say(t.Context(), "Es hora de tomar sus pastillas.", "es"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(30 * time.Second):
		t.Fatal("the speaker did not start within 30 s")
	}
	f := p.Frame()
	if f.Speech == nil || f.Speech.Text != "Es hora de tomar sus pastillas." || f.Speech.Lang != "es" || f.Speech.Seq != 1 {
		t.Fatalf("frame speech = %+v, want the prompt in es, seq 1", f.Speech)
	}
	resp := serve(t, p, "/api/sim/speech.wav")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "audio/wav" || resp.Header.Get("Content-Language") != "es" {
		t.Fatalf("speech.wav: %s, %q in %q; want 200 audio/wav in es", resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Language"))
	}
	wav, err := speech.ParseWAV(body)
	if err != nil {
		t.Fatalf("speech.wav is not a WAV: %v", err)
	}
	if d := wav.Duration(); d < time.Second || d > 10*time.Second {
		t.Errorf("speech.wav lasts %v, want the prompt's 1-10 s", d)
	}
}

// TestPageLanguage: the page's own words follow Accept-Language.
func TestPageLanguage(t *testing.T) {
	p, _ := newPanel(t, nil)
	mux := http.NewServeMux()
	for pattern, h := range p.Routes() {
		mux.Handle(pattern, h)
	}
	tests := []struct{ accept, lang, heading string }{
		{"", "en", "The dispenser"},
		{"de-AT,de;q=0.9", "de", "Der Spender"},
		{"it-IT,fr;q=0.8", "fr", "Le distributeur"},
		{"pt-PT", "pt-BR", "O dispensador"},
		{"ja", "en", "The dispenser"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/", nil)
		if tt.accept != "" {
			req.Header.Set("Accept-Language", tt.accept)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		body := rec.Body.String()
		if !strings.Contains(body, `<html lang="`+tt.lang+`">`) || !strings.Contains(body, ">"+tt.heading+"</h2>") {
			t.Errorf("GET / with Accept-Language %q: want lang %s and heading %q; page starts %q", tt.accept, tt.lang, tt.heading, body[:min(len(body), 200)])
		}
		if got := rec.Header().Get("Content-Language"); got != tt.lang {
			t.Errorf("GET / with Accept-Language %q: Content-Language %q, want %q", tt.accept, got, tt.lang)
		}
		if got := rec.Header().Get("Vary"); got != "Accept-Language" {
			t.Errorf("GET / Vary = %q, want Accept-Language (a cache must not serve one language for another)", got)
		}
	}
}
