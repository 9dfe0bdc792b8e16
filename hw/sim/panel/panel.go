// Package panel is the simulator's browser panel: the page (plain HTML, CSS
// and JavaScript, embedded in the binary, no resource from the internet)
// and the views of the simulated world that the page needs beyond the HTTP
// API: the display as a picture, drawn from the display model's
// framebuffer (which the real driver's I2C traffic filled), and a compact
// frame of the physical state for the live stream. It exists only in sim
// mode, so it reads hw/sim directly; the page drives the world through the
// HTTP API like any other client.
package panel

import (
	"bytes"
	"embed"
	"encoding/json"
	"hash/fnv"
	"html/template"
	"image"
	"image/png"
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pillbox/pillbox/hw/sim"
	"github.com/pillbox/pillbox/internal/i18n"
)

//go:embed static
var static embed.FS

// Clock is the simulated clock.
type Clock interface{ Now() time.Time }

// Panel serves the page and its views of one simulated world.
type Panel struct {
	world *sim.World
	clock Clock
	loc   *time.Location

	mu      sync.Mutex
	settled uint64 // version of the last settled picture
	pngV    uint64 // version of png
	png     []byte // the last picture served, as PNG
}

// New returns the panel of world, showing clock in the patient's zone loc.
func New(world *sim.World, clock Clock, loc *time.Location) *Panel {
	return &Panel{world: world, clock: clock, loc: loc}
}

// OLEDScale is how much the display picture enlarges the 128x64 OLED:
// every pixel becomes a square block, so it stays crisp at any zoom.
const OLEDScale = 4

// Pages are the paths of the page and its assets: the API's door lets a
// browser open them without a credential, and starts its session there.
// The display picture is under /api/ and needs the session.
var Pages = []string{"/", "/panel/"}

// Routes are the panel's handlers by mux pattern: the page at /, its
// assets under /panel/, and the display picture.
func (p *Panel) Routes() map[string]http.Handler {
	assets, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix("/panel/", http.FileServerFS(assets))
	page := http.HandlerFunc(servePage)
	return map[string]http.Handler{
		"GET /{$}":                 pageHeaders(page),
		"GET /panel/":              pageHeaders(files),
		"GET /api/sim/display.png": http.HandlerFunc(p.display),
		"GET /api/sim/speech.wav":  http.HandlerFunc(p.speech),
	}
}

// pageTemplate is index.html, whose own words (the chrome) come from the
// catalogue of the browser's language.
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.ParseFS(static, "static/index.html"))
})

// chrome is what index.html is filled with: the language and its words.
type chrome struct{ l *i18n.Locale }

func (c chrome) Lang() string       { return c.l.Tag() }
func (c chrome) T(id string) string { return c.l.Text(id, nil) }

// servePage serves the page in the language the browser asks for
// (Accept-Language), English when none of its languages has a catalogue.
// The words the script writes (the log, the doses) stay English.
func servePage(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	l := i18n.Lookup(r.Header.Values("Accept-Language")...)
	if err := pageTemplate().Execute(&b, chrome{l}); err != nil {
		http.Error(w, "panel page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", l.Tag())
	w.Header().Add("Vary", "Accept-Language")
	w.Write(b.Bytes())
}

// pageHeaders forbids the page anything from another origin, so a page
// that would need the internet breaks here and not in a user's kitchen.
func pageHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// Settling: the driver sends a frame in many I2C writes, and a picture read
// between two of them is half the old screen and half the new one, which
// the real panel shows for a few milliseconds but the page would show
// until the next change. A changed picture counts once it has stayed the
// same for settleTime.
const (
	settleTime  = 20 * time.Millisecond
	settleTries = 10
)

// display serves the display as the patient sees it, as a PNG.
func (p *Panel) display(w http.ResponseWriter, r *http.Request) {
	img, v := p.stablePicture()
	if img == nil {
		http.Error(w, "no display configured", http.StatusNotFound)
		return
	}
	p.mu.Lock()
	if p.png == nil || p.pngV != v {
		var b bytes.Buffer
		if g, ok := img.(*image.Gray); ok {
			sim.WritePNG(&b, g, OLEDScale)
		} else {
			png.Encode(&b, img)
		}
		p.png, p.pngV = b.Bytes(), v
	}
	out := p.png // replaced, never changed in place
	p.mu.Unlock()
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(out)
}

// speech serves the audio of the last prompt spoken, as the patient
// heard it: the WAV espeak-ng rendered.
func (p *Panel) speech(w http.ResponseWriter, r *http.Request) {
	spk := p.world.Speaker()
	if spk == nil {
		http.Error(w, "no speaker configured", http.StatusNotFound)
		return
	}
	s, ok := spk.Last()
	if !ok {
		http.Error(w, "nothing spoken yet", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Language", s.Lang)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(s.WAV)
}

// stablePicture returns the display's picture and its version once it has
// settled; nil without a display. A picture equal to the last settled one
// is returned at once.
func (p *Panel) stablePicture() (image.Image, uint64) {
	img, v := p.picture()
	p.mu.Lock()
	settled := p.settled
	p.mu.Unlock()
	for i := 0; img != nil && v != settled && i < settleTries; i++ {
		time.Sleep(settleTime)
		again, v2 := p.picture()
		if v2 == v {
			break
		}
		img, v = again, v2
	}
	p.mu.Lock()
	p.settled = v
	p.mu.Unlock()
	return img, v
}

// picture draws the display and returns a version that changes whenever
// the picture does; nil without a display.
func (p *Panel) picture() (image.Image, uint64) {
	h := fnv.New64a()
	switch {
	case p.world.OLED() != nil:
		img := p.world.OLED().Image()
		h.Write(img.Pix)
		return img, h.Sum64()
	case p.world.LCD() != nil:
		lcd := p.world.LCD()
		st, lines := lcd.State(), lcd.Lines()
		img := lcdImage(lines, st.On, st.Backlight)
		h.Write(img.Pix)
		return img, h.Sum64()
	}
	return nil, 0
}

// Frame is the physical state of the simulated dispenser that the page
// shows, as the live stream sends it. It leaves out what flickers without
// meaning (a blinking LED's instant level, the drop beam), so that it
// changes only when something a person would notice does.
type Frame struct {
	// Local is the simulated clock in the patient's zone, RFC 3339 to the
	// minute (the device shows minutes).
	Local    string       `json:"local"`
	Timezone string       `json:"timezone"`
	Display  FrameDisplay `json:"display"`
	// Lights are the LEDs and buzzer as seen on their pins, by config name
	// ("led_ready", ...): "off", "on", "blink" or "fast-blink".
	Lights        map[string]string  `json:"lights"`
	LidOpen       bool               `json:"lid_open"`
	CupPresent    bool               `json:"cup_present"`
	ButtonPressed bool               `json:"button_pressed"`
	PillsInCup    int                `json:"pills_in_cup"`
	Compartments  []FrameCompartment `json:"compartments"`
	// Stuck lists sensors a fault holds, by name, as "active"/"inactive".
	Stuck     map[string]string `json:"stuck,omitempty"`
	Missing   []string          `json:"missing"`
	SaveError string            `json:"save_error,omitempty"`
	// Speech is the last prompt the speaker played; nil before the first
	// or without a speaker.
	Speech *FrameSpeech `json:"speech,omitempty"`
}

// FrameSpeech is what the speaker said last. Seq changes with each
// prompt; the page plays speech.wav?seq=SEQ when it does.
type FrameSpeech struct {
	Text     string `json:"text"`
	Lang     string `json:"lang"`
	Seq      int    `json:"seq"`
	Speaking bool   `json:"speaking"`
}

// FrameDisplay is what the display shows. Version changes with the
// picture; the page reloads display.png?v=VERSION when it does.
type FrameDisplay struct {
	Kind    string   `json:"kind"` // "ssd1306", "hd44780", or "" without a display
	On      bool     `json:"on"`
	Lines   []string `json:"lines"`
	Version string   `json:"version"`
}

// FrameCompartment is one compartment's pills as the world has them.
type FrameCompartment struct {
	ID          int `json:"id"`
	Count       int `json:"count"`
	Capacity    int `json:"capacity"`
	InCup       int `json:"in_cup"`
	Taken       int `json:"taken"`
	Spilled     int `json:"spilled"`
	JamsPending int `json:"jams_pending"`
	Jammed      int `json:"jammed"`
}

// Frame returns the current frame.
func (p *Panel) Frame() Frame {
	_, version := p.stablePicture() // first, so that the lines read below match it
	s := p.world.Snapshot()
	f := Frame{
		Local:         p.clock.Now().In(p.loc).Truncate(time.Minute).Format(time.RFC3339),
		Timezone:      p.loc.String(),
		Lights:        map[string]string{},
		LidOpen:       s.LidOpen,
		CupPresent:    s.CupPresent,
		ButtonPressed: s.ButtonPressed,
		PillsInCup:    s.PillsInCup,
		Compartments:  []FrameCompartment{},
		Missing:       s.Missing,
		SaveError:     s.SaveError,
		Display:       FrameDisplay{Kind: s.Display.Kind, On: s.Display.On, Lines: s.Display.Lines},
	}
	if f.Missing == nil {
		f.Missing = []string{}
	}
	if spk := p.world.Speaker(); spk != nil {
		if s, ok := spk.Last(); ok {
			f.Speech = &FrameSpeech{Text: s.Text, Lang: s.Lang, Seq: s.Seq, Speaking: s.Speaking}
		}
	}
	if version != 0 {
		f.Display.Version = strconv.FormatUint(version, 16)
	}
	for _, name := range slices.Sorted(maps.Keys(s.Indicators)) {
		f.Lights[name] = s.Indicators[name].Mode
	}
	for name, ss := range s.Sensors {
		if ss.Stuck != "" {
			if f.Stuck == nil {
				f.Stuck = map[string]string{}
			}
			f.Stuck[name] = ss.Stuck
		}
	}
	for _, c := range s.Compartments {
		f.Compartments = append(f.Compartments, FrameCompartment{
			ID: c.ID, Count: c.Count, Capacity: c.Capacity, InCup: c.InCup, Taken: c.Taken,
			Spilled: c.Spilled, JamsPending: c.JamsPending, Jammed: c.Jammed,
		})
	}
	return f
}

// FrameJSON is Frame as the stream sends it.
func (p *Panel) FrameJSON() ([]byte, error) { return json.Marshal(p.Frame()) }
