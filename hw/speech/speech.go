// Package speech owns the dispenser's voice: espeak-ng renders a prompt
// to a WAV in the patient's language, a Player plays it (aplay on the
// device, the simulator's panel in --sim), and Speaker queues prompts so
// that the dose loop never waits for audio.
//
// The player is ALSA's aplay, not a Go writer to /dev/snd: aplay opens
// the "default" PCM through alsa-lib, which converts espeak-ng's 22,050 Hz
// mono to whatever the card takes and mixes with other sounds (dmix); the
// raw device takes only its own formats (the Pi's HDMI output refuses
// mono), and doing alsa-lib's conversion in Go would be a library of its
// own. aplay is in alsa-utils, on every Raspberry Pi OS image.
package speech

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/internal/i18n"
)

// Prompt is one prompt to speak, rendered.
type Prompt struct {
	Text, Lang string
	WAV        []byte
}

// Player plays rendered prompts. Play returns when the audio has played,
// failed, or ctx is done (then it stops the audio at once).
type Player interface {
	Play(ctx context.Context, p Prompt) error
}

// Renderer makes speech with espeak-ng.
type Renderer struct {
	Command string // espeak-ng, or a path to it
	// Amplitude is espeak-ng's -a, 0..200 (100 is its default loudness).
	Amplitude int
	// Rate is espeak-ng's -s, in words a minute.
	Rate int
}

// NewRenderer returns a Renderer for a speaker's settings.
func NewRenderer(c hw.SpeakerConfig) Renderer {
	c = c.Defaulted()
	return Renderer{Command: "espeak-ng", Amplitude: 2 * c.Volume, Rate: c.Rate}
}

// Render speaks text in the voice of lang's catalogue (internal/i18n) and
// returns the WAV: 16-bit mono, with its header's sizes corrected.
func (r Renderer) Render(ctx context.Context, text, lang string) ([]byte, error) {
	voice := i18n.Lookup(lang).Voice()
	// The text goes on stdin, so that nothing in it is read as an option.
	cmd := exec.CommandContext(ctx, r.Command, "-v", voice, "-a", strconv.Itoa(r.Amplitude),
		"-s", strconv.Itoa(r.Rate), "--stdout")
	cmd.Stdin = strings.NewReader(text)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("speech: espeak-ng voice %s: %w%s", voice, err, stderrTail(&errOut))
	}
	b := out.Bytes()
	w, err := ParseWAV(b)
	if err != nil {
		return nil, fmt.Errorf("speech: espeak-ng voice %s: %w", voice, err)
	}
	if w.DataOffset+w.DataLen == len(b) {
		fixSizes(b, w)
	}
	return b, nil
}

// stderrTail is a command's last error line, for an error message.
func stderrTail(b *bytes.Buffer) string {
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		return ": " + last
	}
	return ""
}

// Aplay plays prompts with ALSA's aplay.
type Aplay struct {
	Command string // aplay, or a path to it
	Device  string // aplay -D
}

// NewAplay returns the player of a speaker's settings.
func NewAplay(c hw.SpeakerConfig) Aplay {
	return Aplay{Command: "aplay", Device: c.Defaulted().Device}
}

// Play pipes the WAV to aplay; cancelling ctx kills aplay, which stops
// the sound.
func (a Aplay) Play(ctx context.Context, p Prompt) error {
	cmd := exec.CommandContext(ctx, a.Command, "-q", "-D", a.Device, "-")
	cmd.Stdin = bytes.NewReader(p.WAV)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("speech: aplay on %s: %w%s", a.Device, err, stderrTail(&errOut))
	}
	return nil
}

// ErrClosed is Say's answer after Close.
var ErrClosed = errors.New("speech: speaker closed")

// Speaker speaks one prompt at a time on a goroutine of its own; see
// hw.Speaker for what Say and Stop do. It keeps the last few renderings,
// since prompts repeat with the reminders and rendering takes a good part
// of a second on a Pi Zero.
type Speaker struct {
	render func(ctx context.Context, text, lang string) ([]byte, error)
	player Player
	log    *slog.Logger

	mu      sync.Mutex
	pending *request
	current *request
	stop    context.CancelFunc // cuts the current prompt short
	closed  bool
	err     error // the last failure; nil after a prompt played
	cache   []Prompt

	wake chan struct{} // a pending request or closing
	done chan struct{} // the goroutine has returned
}

type request struct {
	ctx        context.Context
	text, lang string
}

// cacheSize is how many renderings Speaker keeps: every prompt of a dose
// (due, in the cup, held back...) in one language.
const cacheSize = 8

// New starts a Speaker that renders with render and plays on player.
func New(render func(ctx context.Context, text, lang string) ([]byte, error), player Player, log *slog.Logger) *Speaker {
	if log == nil {
		log = slog.Default()
	}
	s := &Speaker{render: render, player: player, log: log,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	go s.run()
	return s
}

// Open checks that espeak-ng and aplay are installed and starts the
// device's Speaker with c's settings; the error says what is missing.
func Open(c hw.SpeakerConfig, log *slog.Logger) (*Speaker, error) {
	r, a := NewRenderer(c), NewAplay(c)
	for _, cmd := range []struct{ name, pkg string }{{r.Command, "espeak-ng"}, {a.Command, "alsa-utils"}} {
		if _, err := exec.LookPath(cmd.name); err != nil {
			return nil, fmt.Errorf("speech: %s not found (install the %s package): %w", cmd.name, cmd.pkg, err)
		}
	}
	return New(r.Render, a, log), nil
}

// Say queues a prompt; it never blocks on audio.
func (s *Speaker) Say(ctx context.Context, text, lang string) error {
	if strings.TrimSpace(text) == "" {
		return errors.New("speech: nothing to say")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if c := s.current; c != nil && c.text == text && c.lang == lang {
		s.pending = nil // the newest prompt is the one being spoken
		return nil
	}
	if p := s.pending; p != nil && p.text == text && p.lang == lang {
		return nil
	}
	s.pending = &request{ctx: ctx, text: text, lang: lang}
	s.cutLocked()
	select {
	case s.wake <- struct{}{}:
	default: // already woken
	}
	return nil
}

// Stop silences the current prompt and drops the pending one.
func (s *Speaker) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = nil
	s.cutLocked()
}

// cutLocked cuts the prompt being spoken short: from now on it is not
// being spoken, whenever the player notices. s.mu is held.
func (s *Speaker) cutLocked() {
	if s.stop != nil {
		s.stop()
	}
	s.current = nil
}

// Close stops speaking and waits for the goroutine to return.
func (s *Speaker) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.pending = nil
		s.cutLocked()
		close(s.wake)
	}
	s.mu.Unlock()
	<-s.done
	return nil
}

// Err is the last failure to render or play, nil once a prompt played.
func (s *Speaker) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Speaker) run() {
	defer close(s.done)
	for range s.wake {
		for {
			s.mu.Lock()
			req := s.pending
			s.pending = nil
			if req == nil || s.closed {
				s.mu.Unlock()
				break
			}
			ctx, cancel := context.WithCancel(req.ctx)
			s.current, s.stop = req, cancel
			s.mu.Unlock()

			err := s.speak(ctx, req)

			s.mu.Lock()
			cancelled := ctx.Err() != nil
			cancel()
			s.current, s.stop = nil, nil
			if !cancelled || err == nil {
				s.fault(err)
			}
			s.mu.Unlock()
		}
	}
}

// speak renders (or finds) req's audio and plays it.
func (s *Speaker) speak(ctx context.Context, req *request) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	p, ok := s.cached(req)
	if !ok {
		wav, err := s.render(ctx, req.text, req.lang)
		if err != nil {
			return err
		}
		p = Prompt{Text: req.text, Lang: req.lang, WAV: wav}
		s.mu.Lock()
		s.cache = append(s.cache, p)
		if len(s.cache) > cacheSize {
			s.cache = s.cache[1:]
		}
		s.mu.Unlock()
	}
	return s.player.Play(ctx, p)
}

func (s *Speaker) cached(req *request) (Prompt, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.cache {
		if p.Text == req.text && p.Lang == req.lang {
			return p, true
		}
	}
	return Prompt{}, false
}

// fault records the outcome of a prompt, logging a new failure once and
// a recovery; s.mu is held.
func (s *Speaker) fault(err error) {
	switch {
	case err == nil && s.err != nil:
		s.log.Info("speech: speaking again")
	case err != nil && (s.err == nil || s.err.Error() != err.Error()):
		s.log.Error("speech: prompt not spoken", "err", err)
	}
	s.err = err
}

var _ hw.Speaker = (*Speaker)(nil)
