package notify

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/schedule"
)

// StorageAlarm texts every caregiver once when the event log stops taking
// writes, directly through the sender, and again every AlarmRepeat while
// it lasts (docs/reliability.md). It needs no database: the outbox, in the
// same database, cannot be written either, so the notifier's own path is
// closed. The log tells it of every write (Failed, Saved).
type StorageAlarm struct {
	sender Sender
	clock  schedule.Clock
	phones []string
	body   string
	log    *slog.Logger
	// noted, when set, is told of each text sent (the simulator shows it).
	noted func(to, body string, at time.Time)
	kick  chan struct{}

	mu      sync.Mutex
	failing bool
	sent    map[string]time.Time // by phone, this outage
}

// Timing of the storage alarm, on its clock.
const (
	AlarmRepeat = 12 * time.Hour
	AlarmRetry  = time.Minute
)

// NewStorageAlarm returns the alarm for the caregivers among contacts.
// noted may be nil.
func NewStorageAlarm(sender Sender, clock schedule.Clock, patient dispenser.Patient, contacts []Contact,
	logger *slog.Logger, noted func(to, body string, at time.Time)) *StorageAlarm {
	var phones []string
	for _, c := range contacts {
		if c.Role == RoleCaregiver {
			phones = append(phones, c.Phone)
		}
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &StorageAlarm{sender: sender, clock: clock, phones: phones, log: logger, noted: noted,
		kick: make(chan struct{}, 1), sent: map[string]time.Time{},
		body: "Pillbox: " + patient.FirstName + "'s pill dispenser cannot save its records, so it is holding pills back. Please check it (storage full or failing)."}
}

// Failed is told of every failed write of the log.
func (a *StorageAlarm) Failed(error) {
	a.mu.Lock()
	start := !a.failing
	a.failing = true
	a.mu.Unlock()
	if start {
		a.wake()
	}
}

// Saved is told of every successful write: the outage is over.
func (a *StorageAlarm) Saved() {
	a.mu.Lock()
	if a.failing {
		a.failing = false
		clear(a.sent)
		a.log.Info("notify: the log takes writes again")
	}
	a.mu.Unlock()
}

func (a *StorageAlarm) wake() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// Run sends the alarm's texts until ctx ends.
func (a *StorageAlarm) Run(ctx context.Context) error {
	var t schedule.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.kick:
		}
		if t != nil {
			t.Stop()
			t = nil
		}
		if next := a.send(ctx); !next.IsZero() {
			t = a.clock.AfterFunc(next.Sub(a.clock.Now()), a.wake)
		}
	}
}

// send texts the caregivers who have not heard of this outage (or not for
// AlarmRepeat) and returns when to look again.
func (a *StorageAlarm) send(ctx context.Context) time.Time {
	now := a.clock.Now()
	var next time.Time
	later := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, phone := range a.phones {
		a.mu.Lock()
		failing, last := a.failing, a.sent[phone]
		a.mu.Unlock()
		if !failing {
			return time.Time{}
		}
		if !last.IsZero() && now.Sub(last) < AlarmRepeat {
			later(last.Add(AlarmRepeat))
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := a.sender.Send(sctx, phone, a.body)
		cancel()
		var f Failed
		switch {
		case err == nil:
			a.log.Warn("notify: texted a caregiver directly: the log cannot be written")
			if a.noted != nil {
				a.noted(phone, a.body, now)
			}
			a.mu.Lock()
			a.sent[phone] = now
			a.mu.Unlock()
			later(now.Add(AlarmRepeat))
		case errors.As(err, &f) && f.Failure().Class == Permanent:
			a.log.Error("notify: the direct text to a caregiver was refused", "err", err)
		default:
			a.log.Warn("notify: the direct text to a caregiver failed; will retry", "err", err)
			later(now.Add(AlarmRetry))
		}
	}
	return next
}
