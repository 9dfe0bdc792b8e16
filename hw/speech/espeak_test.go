package speech

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/internal/i18n"
)

// needTool skips a test without a tool, loudly, unless CI requires it.
func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("PILLBOX_REQUIRE_ESPEAK") == "1" {
			t.Fatalf("%s not found and PILLBOX_REQUIRE_ESPEAK=1: %v", name, err)
		}
		t.Skipf("SKIPPED: %s not found (apt-get install espeak-ng alsa-utils; PILLBOX_REQUIRE_ESPEAK=1 makes this fail): %v", name, err)
	}
}

// promptArgs are sample arguments for the speech prompts: the longest
// forms they take in practice.
func promptArgs(l *i18n.Locale) i18n.Args {
	return i18n.Args{"time": l.SpokenClock(time.Date(2026, 3, 2, 20, 30, 0, 0, time.UTC), i18n.LocaleClock), "box": 12}
}

// speechIDs are the prompt ids of the catalogues.
func speechIDs() []string {
	var ids []string
	for _, id := range i18n.IDs() {
		if strings.HasPrefix(id, "speech.") {
			ids = append(ids, id)
		}
	}
	return ids
}

// pcm16 returns the samples of a 16-bit mono WAV.
func pcm16(t *testing.T, wav []byte, w WAV) []int16 {
	t.Helper()
	s := make([]int16, w.DataLen/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(wav[w.DataOffset+2*i:]))
	}
	return s
}

// TestRenderEveryPrompt renders every prompt in every language with the
// real espeak-ng and checks the audio: a sound WAV header, sound (not
// silence) and a length that fits the text. It logs the durations.
func TestRenderEveryPrompt(t *testing.T) {
	needTool(t, "espeak-ng")
	r := NewRenderer(hw.SpeakerConfig{})
	ids := speechIDs()
	if len(ids) < 8 {
		t.Fatalf("%d speech prompts in the catalogue, want at least 8: %v", len(ids), ids)
	}
	table := map[string][]string{}
	for _, lang := range i18n.Supported() {
		l := i18n.Lookup(lang.Tag)
		for _, id := range ids {
			text := l.Text(id, promptArgs(l))
			t.Run(lang.Tag+"/"+id, func(t *testing.T) {
				wav, err := r.Render(context.Background(), text, lang.Tag)
				if err != nil {
					t.Fatalf("Render(%q): %v", text, err)
				}
				w, err := ParseWAV(wav)
				if err != nil {
					t.Fatalf("ParseWAV: %v", err)
				}
				if w.Channels != 1 || w.SampleRate != 22050 || w.BitsPerSample != 16 {
					t.Errorf("format = %d channels, %d Hz, %d bits; want espeak-ng's 1, 22050, 16", w.Channels, w.SampleRate, w.BitsPerSample)
				}
				if riff := binary.LittleEndian.Uint32(wav[4:]); int(riff) != len(wav)-8 || w.DataOffset+w.DataLen != len(wav) {
					t.Errorf("header sizes: RIFF %d, data %d at %d, file %d bytes; want them to add up", riff, w.DataLen, w.DataOffset, len(wav))
				}
				samples := pcm16(t, wav, w)
				var sum float64
				for _, s := range samples {
					sum += float64(s) * float64(s)
				}
				if rms := math.Sqrt(sum / float64(max(len(samples), 1))); rms < 300 {
					t.Errorf("RMS level %.0f, want speech (>= 300 of 32767)", rms)
				}
				// At 140 words a minute, speech runs 8 to 20 characters a
				// second (pauses included); allow a wide margin either way.
				d, n := w.Duration(), len([]rune(text))
				lo, hi := time.Duration(n)*time.Second/30, time.Duration(n)*time.Second/5
				if d < lo || d > hi {
					t.Errorf("%q (%d characters) lasts %v, want %v..%v", text, n, d, lo, hi)
				}
				table[id] = append(table[id], fmt.Sprintf("%s %.1fs", lang.Tag, d.Seconds()))
			})
		}
	}
	for _, id := range ids {
		t.Logf("%-22s %s", id, strings.Join(table[id], "  "))
	}
}

func TestRenderFailures(t *testing.T) {
	needTool(t, "espeak-ng")
	ctx := context.Background()
	r := NewRenderer(hw.SpeakerConfig{})
	r.Command = "no-such-espeak"
	if _, err := r.Render(ctx, "hello", "en"); err == nil || !strings.Contains(err.Error(), "espeak-ng voice en-us") {
		t.Errorf("Render(missing command) = %v, want an error naming espeak-ng and the voice", err)
	}
	// A cancelled render stops espeak-ng.
	r = NewRenderer(hw.SpeakerConfig{})
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Render(cctx, strings.Repeat("a long text ", 500), "en"); err == nil {
		t.Errorf("Render(cancelled) = nil error, want one")
	}
	// Text that looks like options is spoken, not obeyed.
	wav, err := r.Render(ctx, "--help -v xx", "en")
	if err != nil {
		t.Fatal(err)
	}
	if w, err := ParseWAV(wav); err != nil || w.Duration() < 500*time.Millisecond {
		t.Errorf("Render(--help -v xx) = %v, %v; want it spoken", w.Duration(), err)
	}
}

func TestAplay(t *testing.T) {
	needTool(t, "espeak-ng")
	needTool(t, "aplay")
	ctx := context.Background()
	wav, err := NewRenderer(hw.SpeakerConfig{}).Render(ctx, "Time for pills.", "en")
	if err != nil {
		t.Fatal(err)
	}
	// ALSA's null device takes the audio and discards it.
	if err := (Aplay{Command: "aplay", Device: "null"}).Play(ctx, Prompt{WAV: wav}); err != nil {
		t.Errorf("Play on the null device: %v", err)
	}
	err = (Aplay{Command: "aplay", Device: "no_such_card"}).Play(ctx, Prompt{WAV: wav})
	if err == nil || !strings.Contains(err.Error(), "aplay on no_such_card") {
		t.Errorf("Play on a missing device = %v, want an error naming the device", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := (Aplay{Command: "aplay", Device: "null"}).Play(cctx, Prompt{WAV: wav}); !errors.Is(err, context.Canceled) {
		t.Errorf("Play(cancelled) = %v, want context.Canceled", err)
	}
}

func TestOpenNeedsTools(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Open(hw.SpeakerConfig{}, nil)
	if err == nil || !strings.Contains(err.Error(), "espeak-ng not found (install the espeak-ng package)") {
		t.Errorf("Open without espeak-ng = %v, want an error saying what to install", err)
	}
}

// TestPromptsFitTheVoices: every catalogue names a voice espeak-ng has.
func TestPromptsFitTheVoices(t *testing.T) {
	needTool(t, "espeak-ng")
	out, err := exec.Command("espeak-ng", "--voices").Output()
	if err != nil {
		t.Fatal(err)
	}
	var voices []string
	for _, line := range strings.Split(string(out), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 {
			voices = append(voices, f[1])
		}
	}
	for _, lang := range i18n.Supported() {
		if v := i18n.Lookup(lang.Tag).Voice(); !slices.Contains(voices, v) {
			t.Errorf("%s: voice %q is not one of espeak-ng's", lang.Tag, v)
		}
	}
}
