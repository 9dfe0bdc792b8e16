package sim

import (
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/hw/driver"
	"github.com/pillbox/pillbox/hw/speech"
)

// silentWAV is d of 16-bit mono silence at 22,050 Hz.
func silentWAV(d time.Duration) []byte {
	n := int(d.Seconds()*22050) * 2
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, uint32(36+n))
	b = append(b, "WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00"...)
	b = binary.LittleEndian.AppendUint32(b, 22050)
	b = binary.LittleEndian.AppendUint32(b, 44100)
	b = append(b, "\x02\x00\x10\x00data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	return append(b, make([]byte, n)...)
}

func TestSpeakerModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &SpeakerModel{}
		if _, ok := m.Last(); ok {
			t.Errorf("Last() before any prompt: ok, want none")
		}
		go m.Play(context.Background(), speech.Prompt{Text: "Hola", Lang: "es", WAV: silentWAV(2 * time.Second)})
		synctest.Wait()
		if s, _ := m.Last(); s.Text != "Hola" || s.Lang != "es" || !s.Speaking || s.Seq != 1 {
			t.Errorf("while playing: %+v, want Hola in es, speaking, seq 1", s)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if s, _ := m.Last(); s.Speaking || s.Cut {
			t.Errorf("after the audio's length: speaking %v, cut %v; want it done, not cut", s.Speaking, s.Cut)
		}
		ctx, cancel := context.WithCancel(context.Background())
		changed := m.Changed()
		go m.Play(ctx, speech.Prompt{Text: "Stop", Lang: "en", WAV: silentWAV(time.Minute)})
		<-changed
		cancel()
		synctest.Wait()
		if s, _ := m.Last(); s.Speaking || !s.Cut || s.Seq != 2 {
			t.Errorf("after a cut: %+v, want cut, not speaking, seq 2", s)
		}
		if err := m.Play(context.Background(), speech.Prompt{WAV: []byte("not a wav")}); err == nil {
			t.Errorf("Play(not a WAV) = nil, want an error")
		}
	})
}

// TestSimBoardSpeaks: the simulated board's speaker is the real queue and
// espeak-ng, playing into the model.
func TestSimBoardSpeaks(t *testing.T) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		if os.Getenv("PILLBOX_REQUIRE_ESPEAK") == "1" {
			t.Fatalf("espeak-ng not found and PILLBOX_REQUIRE_ESPEAK=1: %v", err)
		}
		t.Skipf("SKIPPED: espeak-ng not found (apt-get install espeak-ng): %v", err)
	}
	b := testBoard("ssd1306")
	b.Speaker = &hw.SpeakerConfig{}
	w, err := New(b, testCompartments())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Board().Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	changed := w.Speaker().Changed()
	if err := w.Board().Speaker.Say(ctx, "Es hora de tomar sus pastillas.", "es"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("nothing spoken within 30s")
	}
	s, _ := w.Speaker().Last()
	wav, err := speech.ParseWAV(s.WAV)
	if s.Text != "Es hora de tomar sus pastillas." || s.Lang != "es" || err != nil || wav.Duration() < time.Second {
		t.Errorf("spoken %q in %s, %v of audio (%v); want the Spanish prompt, a second or more", s.Text, s.Lang, wav.Duration(), err)
	}
	w.Board().Speaker.Stop()
}

func TestSimBoardWithoutEspeak(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	b := testBoard("")
	b.Speaker = &hw.SpeakerConfig{}
	w, err := New(b, testCompartments())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Board().Close()
	if !slices.Contains(w.Board().Missing, "speaker") {
		t.Errorf("Missing = %q, want it to list the speaker", w.Board().Missing)
	}
	if _, nop := w.Board().Speaker.(driver.NopSpeaker); !nop {
		t.Errorf("Speaker is %T, want the no-op speaker", w.Board().Speaker)
	}
	// No speaker configured: silent by choice, nothing missing.
	w2, err := New(testBoard(""), testCompartments())
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Board().Close()
	if slices.Contains(w2.Board().Missing, "speaker") || w2.Speaker() != nil {
		t.Errorf("without a speaker section: Missing %q, model %v; want neither", w2.Board().Missing, w2.Speaker())
	}
}
