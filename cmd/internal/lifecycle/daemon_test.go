package lifecycle

import (
	"context"
	"errors"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// recorder is a started daemon that records its life.
type recorder struct {
	mu     sync.Mutex
	steps  []string
	served chan struct{}
	hups   chan struct{}
}

func (r *recorder) add(step string) {
	r.mu.Lock()
	r.steps = append(r.steps, step)
	r.mu.Unlock()
}

func (r *recorder) life(serveErr error) Life {
	return Life{
		Start: func(ctx context.Context) error { r.add("start"); return nil },
		Serve: func(ctx context.Context) error {
			r.add("serve")
			close(r.served)
			if serveErr != nil {
				return serveErr
			}
			<-ctx.Done()
			r.add("signalled")
			return nil
		},
		Close:  func() { r.add("close") },
		Reload: func() { r.add("reload"); r.hups <- struct{}{} },
	}
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.steps)
}

// waitOrFail waits for ch, failing after a generous bound: signals arrive
// asynchronously.
func waitOrFail(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s", what)
	}
}

func TestRunUntilSignal(t *testing.T) {
	r := &recorder{served: make(chan struct{}), hups: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- r.life(nil).Run() }()
	waitOrFail(t, r.served, "serve")
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitOrFail(t, r.hups, "reload on SIGHUP")
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run() = %v after SIGTERM, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after SIGTERM")
	}
	if want := []string{"start", "serve", "reload", "signalled", "close"}; !slices.Equal(r.got(), want) {
		t.Errorf("life = %v, want %v", r.got(), want)
	}
}

func TestRunErrors(t *testing.T) {
	boom := errors.New("boom")
	r := &recorder{served: make(chan struct{}), hups: make(chan struct{})}
	if err := r.life(boom).Run(); !errors.Is(err, boom) {
		t.Errorf("Run() = %v, want Serve's error", err)
	}
	if want := []string{"start", "serve", "close"}; !slices.Equal(r.got(), want) {
		t.Errorf("life = %v, want %v", r.got(), want)
	}

	failed := Life{
		Start: func(context.Context) error { return boom },
		Serve: func(context.Context) error { t.Error("served after a failed start"); return nil },
		Close: func() { t.Error("closed after a failed start") },
	}
	if err := failed.Run(); !errors.Is(err, boom) {
		t.Errorf("Run() = %v, want Start's error", err)
	}
}
