package speech

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeVoice renders instantly (or fails) and plays each prompt for a
// second of fake time, or until cut short; it records what happened.
type fakeVoice struct {
	mu       sync.Mutex
	renders  []string
	played   []string // finished
	cut      []string // cut short
	failWith error
}

func (f *fakeVoice) render(ctx context.Context, text, lang string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.renders = append(f.renders, lang+":"+text)
	if f.failWith != nil {
		return nil, f.failWith
	}
	return []byte(text), nil
}

func (f *fakeVoice) Play(ctx context.Context, p Prompt) error {
	select {
	case <-time.After(time.Second):
		f.mu.Lock()
		defer f.mu.Unlock()
		f.played = append(f.played, p.Lang+":"+p.Text)
		return nil
	case <-ctx.Done():
		f.mu.Lock()
		defer f.mu.Unlock()
		f.cut = append(f.cut, p.Lang+":"+p.Text)
		return ctx.Err()
	}
}

func (f *fakeVoice) state() (renders, played, cut []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.renders), slices.Clone(f.played), slices.Clone(f.cut)
}

func newFake(t *testing.T) (*Speaker, *fakeVoice, *bytes.Buffer) {
	f := &fakeVoice{}
	var logs bytes.Buffer
	s := New(f.render, f, slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { s.Close() })
	return s, f, &logs
}

func TestSpeakerQueue(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		do     func(s *Speaker)
		played []string
		cut    []string
	}{
		{"one prompt", func(s *Speaker) { s.Say(ctx, "due", "en") }, []string{"en:due"}, nil},
		{"the same prompt again while speaking does nothing", func(s *Speaker) {
			s.Say(ctx, "due", "en")
			synctest.Wait()
			s.Say(ctx, "due", "en")
		}, []string{"en:due"}, nil},
		{"the same words in another language are another prompt", func(s *Speaker) {
			s.Say(ctx, "no", "en")
			synctest.Wait()
			s.Say(ctx, "no", "es")
		}, []string{"es:no"}, []string{"en:no"}},
		{"a new prompt cuts the one being spoken", func(s *Speaker) {
			s.Say(ctx, "due", "en")
			synctest.Wait()
			time.Sleep(500 * time.Millisecond)
			s.Say(ctx, "in the cup", "en")
		}, []string{"en:in the cup"}, []string{"en:due"}},
		{"only the newest of a burst is spoken", func(s *Speaker) {
			s.Say(ctx, "a", "en")
			s.Say(ctx, "b", "en")
			s.Say(ctx, "c", "en")
		}, []string{"en:c"}, nil},
		{"saying the current prompt drops a queued one", func(s *Speaker) {
			s.Say(ctx, "a", "en")
			synctest.Wait()
			s.Say(ctx, "b", "en") // cuts a
			synctest.Wait()
			s.Say(ctx, "c", "en") // cuts b
			s.Say(ctx, "b", "en") // c is only queued: b is said again
		}, []string{"en:b"}, []string{"en:a", "en:b"}},
		{"stop silences and drops", func(s *Speaker) {
			s.Say(ctx, "a", "en")
			synctest.Wait()
			s.Say(ctx, "b", "en")
			s.Stop()
		}, nil, []string{"en:a"}},
		{"a prompt whose context ends is dropped", func(s *Speaker) {
			done, cancel := context.WithCancel(ctx)
			cancel()
			s.Say(done, "a", "en")
		}, nil, nil},
		{"one after another", func(s *Speaker) {
			s.Say(ctx, "a", "en")
			time.Sleep(2 * time.Second)
			s.Say(ctx, "a", "en")
		}, []string{"en:a", "en:a"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, f, _ := newFake(t)
				tt.do(s)
				time.Sleep(5 * time.Second)
				_, played, cut := f.state()
				if !slices.Equal(played, tt.played) || !slices.Equal(cut, tt.cut) {
					t.Errorf("played %q, cut %q; want %q, %q", played, cut, tt.played, tt.cut)
				}
				if err := s.Err(); err != nil {
					t.Errorf("Err() = %v, want nil: cutting a prompt short is no fault", err)
				}
			})
		})
	}
}

func TestSpeakerSayNeverBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _, _ := newFake(t)
		start := time.Now()
		for i := range 100 {
			if err := s.Say(context.Background(), strings.Repeat("x", i+1), "en"); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("100 Say calls took %v of fake time, want 0: Say must not wait for audio", d)
		}
	})
}

func TestSpeakerCachesRenderings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, f, _ := newFake(t)
		for _, text := range []string{"a", "b", "a", "a"} {
			s.Say(context.Background(), text, "en")
			time.Sleep(2 * time.Second)
		}
		for i := range cacheSize + 1 { // pushes "a" out
			s.Say(context.Background(), string(rune('c'+i)), "en")
			time.Sleep(2 * time.Second)
		}
		s.Say(context.Background(), "a", "en")
		time.Sleep(2 * time.Second)
		renders, played, _ := f.state()
		if want := 2 + cacheSize + 1 + 1; len(renders) != want || len(played) != 4+cacheSize+1+1 {
			t.Errorf("%d renders for %d prompts played, want %d renders (a and b once, then %d new, then a again)", len(renders), len(played), want, cacheSize+1)
		}
	})
}

func TestSpeakerFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, f, logs := newFake(t)
		f.failWith = errors.New("espeak-ng: not found")
		for range 3 {
			s.Say(context.Background(), "a", "en")
			time.Sleep(2 * time.Second)
		}
		if err := s.Err(); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("Err() = %v, want the render failure", err)
		}
		if n := strings.Count(logs.String(), "prompt not spoken"); n != 1 {
			t.Errorf("failure logged %d times, want once:\n%s", n, logs)
		}
		f.failWith = nil
		s.Say(context.Background(), "b", "en")
		time.Sleep(2 * time.Second)
		if err := s.Err(); err != nil {
			t.Errorf("Err() after a prompt played = %v, want nil", err)
		}
		if !strings.Contains(logs.String(), "speaking again") {
			t.Errorf("recovery not logged:\n%s", logs)
		}
	})
}

func TestSpeakerClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, f, _ := newFake(t)
		s.Say(context.Background(), "a", "en")
		synctest.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, _, cut := f.state(); !slices.Equal(cut, []string{"en:a"}) {
			t.Errorf("Close cut %q, want the prompt being spoken", cut)
		}
		if err := s.Say(context.Background(), "b", "en"); !errors.Is(err, ErrClosed) {
			t.Errorf("Say after Close = %v, want ErrClosed", err)
		}
		if err := s.Say(context.Background(), " ", "en"); err == nil {
			t.Errorf("Say(blank) = nil, want an error")
		}
		s.Close() // twice is fine
	})
}
