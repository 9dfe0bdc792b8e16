package sim

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"sync"
	"time"

	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/hw/speech"
)

// Spoken is the last prompt the simulated speaker played, for the panel:
// its words, language and audio.
type Spoken struct {
	Text, Lang string
	WAV        []byte
	Seq        int  // counts prompts played, from 1
	Speaking   bool // still playing
	Cut        bool // cut short (button pressed, or a newer prompt)
}

// SpeakerModel is the simulated audio output. The board's speaker is the
// real speech.Speaker (espeak-ng renders the prompts), playing here
// instead of through ALSA: the model keeps the last prompt and takes as
// long to play it as the audio lasts.
type SpeakerModel struct {
	mu      sync.Mutex
	last    Spoken
	changed chan struct{} // closed and replaced at each change
}

// Play implements speech.Player.
func (m *SpeakerModel) Play(ctx context.Context, p speech.Prompt) error {
	w, err := speech.ParseWAV(p.WAV)
	if err != nil {
		return fmt.Errorf("sim speaker: %w", err)
	}
	m.mu.Lock()
	m.last = Spoken{Text: p.Text, Lang: p.Lang, WAV: p.WAV, Seq: m.last.Seq + 1, Speaking: true}
	seq := m.last.Seq
	m.changedLocked()
	m.mu.Unlock()
	t := time.NewTimer(w.Duration())
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last.Seq == seq {
		m.last.Speaking, m.last.Cut = false, ctx.Err() != nil
		m.changedLocked()
	}
	return ctx.Err()
}

func (m *SpeakerModel) changedLocked() {
	if m.changed != nil {
		close(m.changed)
		m.changed = nil
	}
}

// Changed returns a channel closed when a prompt starts or ends, for a
// page or a test that waits for speech.
func (m *SpeakerModel) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.changed == nil {
		m.changed = make(chan struct{})
	}
	return m.changed
}

// Last returns the last prompt played; ok is false before the first.
func (m *SpeakerModel) Last() (s Spoken, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last, m.last.Seq > 0
}

// openSpeaker is the simulator's driver.Ports.OpenSpeaker: the real
// speech queue and renderer on the model. Without espeak-ng the board has
// no speaker, as on a device without it.
func (m *SpeakerModel) openSpeaker(c hw.SpeakerConfig, log *slog.Logger) (hw.Speaker, error) {
	r := speech.NewRenderer(c)
	if _, err := exec.LookPath(r.Command); err != nil {
		return nil, fmt.Errorf("sim speaker: %s not found (install the espeak-ng package): %w", r.Command, err)
	}
	return speech.New(r.Render, m, log), nil
}

var _ speech.Player = (*SpeakerModel)(nil)
