package systemd

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// listen opens a datagram socket as systemd's and points NOTIFY_SOCKET at
// it (abstract: the @name form).
func listen(t *testing.T, abstract bool) *net.UnixConn {
	t.Helper()
	name := filepath.Join(t.TempDir(), "notify")
	env := name
	if abstract {
		name = "\x00pillbox-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		env = "@" + name[1:]
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", env)
	return c
}

func TestNotify(t *testing.T) {
	for _, abstract := range []bool{false, true} {
		t.Run("abstract="+strconv.FormatBool(abstract), func(t *testing.T) {
			c := listen(t, abstract)
			for _, state := range []string{"READY=1", "STOPPING=1"} {
				if err := Notify(state); err != nil {
					t.Fatalf("Notify(%s) = %v", state, err)
				}
				buf := make([]byte, 64)
				n, err := c.Read(buf)
				if err != nil || string(buf[:n]) != state {
					t.Errorf("systemd read %q, %v; want %q", buf[:n], err, state)
				}
			}
		})
	}
}

func TestNotifyWithoutSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if err := Notify("READY=1"); err != nil {
		t.Errorf("Notify without NOTIFY_SOCKET = %v, want nil (nothing to do)", err)
	}
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "gone"))
	if err := Notify("READY=1"); err == nil {
		t.Error("Notify to a socket that is not there = nil, want an error to log")
	}
}

func TestWatchdogInterval(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	tests := []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"", "", 0, false},
		{"30000000", "", 15 * time.Second, true},
		{"30000000", self, 15 * time.Second, true},
		{"30000000", "1", 0, false}, // another process's
		{"0", "", 0, false},
		{"soon", "", 0, false},
	}
	for _, tc := range tests {
		t.Setenv("WATCHDOG_USEC", tc.usec)
		t.Setenv("WATCHDOG_PID", tc.pid)
		if got, ok := WatchdogInterval(); got != tc.want || ok != tc.ok {
			t.Errorf("WatchdogInterval(USEC=%q PID=%q) = %v, %v; want %v, %v", tc.usec, tc.pid, got, ok, tc.want, tc.ok)
		}
	}
}

// TestWatchdogWithheld: pings come at the interval while the probe
// answers; a failing probe, and one slower than half the interval, skip
// theirs.
func TestWatchdogWithheld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const every = 10 * time.Second
		var mode atomic.Int32 // 0 answers, 1 fails, 2 hangs past its deadline
		var pings, failures atomic.Int32
		probe := func(ctx context.Context) error {
			switch mode.Load() {
			case 1:
				return errors.New("store down")
			case 2:
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			Watchdog(ctx, every, probe, func() { pings.Add(1) }, func(error) { failures.Add(1) })
			close(done)
		}()
		step := func(m int32, want, wantFailures int32) {
			t.Helper()
			mode.Store(m)
			time.Sleep(3 * every)
			synctest.Wait()
			if pings.Load() != want || failures.Load() != wantFailures {
				t.Fatalf("after 3 intervals in mode %d: %d pings, %d failures; want %d and %d", m, pings.Load(), failures.Load(), want, wantFailures)
			}
		}
		// Steps end between ticks, never while a probe runs.
		time.Sleep(every * 3 / 4)
		step(0, 3, 0)
		step(1, 3, 3)
		step(2, 3, 6)
		step(0, 6, 6)
		cancel()
		<-done
	})
}
