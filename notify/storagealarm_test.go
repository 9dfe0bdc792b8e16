package notify_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

// refused is a send error the provider says will never go through.
type refused struct{}

func (refused) Error() string { return "refused" }
func (refused) Failure() notify.Failure {
	return notify.Failure{Class: notify.Permanent, Code: 21211}
}

// The storage alarm texts each caregiver once per outage, retries a failed
// send, gives up on a refused one, and repeats a long outage.
func TestStorageAlarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := schedule.NewSimClock(time.Date(2027, 1, 12, 8, 0, 0, 0, time.UTC))
		var mu sync.Mutex
		var sent, noted []string
		var fail error
		snd := senderFunc(func(_ context.Context, to, body string) (notify.Sent, error) {
			mu.Lock()
			defer mu.Unlock()
			if fail != nil {
				return notify.Sent{}, fail
			}
			sent = append(sent, to)
			return notify.Sent{SID: "SM1"}, nil
		})
		setFail := func(err error) {
			mu.Lock()
			fail = err
			mu.Unlock()
		}
		a := notify.NewStorageAlarm(snd, clock, dispenser.Patient{FirstName: "Margaret"}, contacts,
			slog.New(slog.DiscardHandler), func(to, body string, _ time.Time) {
				mu.Lock()
				noted = append(noted, to)
				mu.Unlock()
				if body != "Pillbox: Margaret's pill dispenser cannot save its records, so it is holding pills back. Please check it (storage full or failing)." {
					t.Errorf("alarm text = %q", body)
				}
			})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- a.Run(ctx) }()
		want := func(step string, n int) {
			t.Helper()
			synctest.Wait() // the alarm has done all it will until the clock moves
			mu.Lock()
			defer mu.Unlock()
			if len(sent) != n || !slices.Equal(noted, sent) {
				t.Fatalf("%s: texts %v (noted %v), want %d", step, sent, noted, n)
			}
			for i, to := range sent {
				if want := []string{anaPhone, davidPhone}[i%2]; to != want {
					t.Fatalf("%s: text %d went to %s, want the caregiver %s", step, i, to, want)
				}
			}
		}
		a.Failed(errors.New("disk full"))
		want("first failure", 2)
		a.Failed(errors.New("disk full"))
		clock.Advance(time.Hour)
		want("same outage", 2)
		a.Saved()
		setFail(errors.New("network down"))
		a.Failed(errors.New("disk full"))
		want("send failing", 2)
		setFail(nil)
		clock.Advance(notify.AlarmRetry)
		want("retried", 4)
		clock.Advance(notify.AlarmRepeat)
		want("long outage", 6)
		a.Saved()
		setFail(refused{})
		a.Failed(errors.New("disk full"))
		clock.Advance(notify.AlarmRetry)
		want("refused: no retry", 6)
		cancel()
		<-done
	})
}
