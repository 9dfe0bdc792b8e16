package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

// The storage policy (docs/reliability.md): the dispenser never dispenses
// without a durable record of intent, so when its log cannot be written it
// holds pills back and says so on the display (the controller does that);
// it keeps running, serving its history; and it tells the caregivers by a
// path that does not need the log: a text sent directly, outside the
// outbox, which lives in the same database. A damaged database is kept
// aside, never deleted, and a new one starts with every event that could
// still be read from it.

// openedStore is the database as start-up found it.
type openedStore struct {
	store *adherence.Store
	// unwritable is why the log cannot be written, if it cannot.
	unwritable error
	// damaged describes a damaged database that was kept aside.
	damaged *damageReport
}

type damageReport struct {
	aside     string // the damaged file's new name
	recovered int    // events carried over into the new log
	complete  bool   // every event of the old log was read
	lastDoses map[string]dispenser.Kind
}

// openStore opens the database at path. A damaged file is moved aside and
// a new database started with what could be read from it; a file that
// cannot be written is opened read-only (or replaced by an empty store
// that refuses writes), so the daemon runs and holds pills back.
func openStore(ctx context.Context, path string, log *slog.Logger) (*openedStore, error) {
	s, err := adherence.Open(ctx, path)
	if err == nil {
		return &openedStore{store: s}, nil
	}
	if errors.Is(err, adherence.ErrDamaged) {
		log.Error("dispenserd: the database is damaged; keeping it aside and starting a new one", "err", err)
		if o, rerr := recoverDamaged(ctx, path, log); rerr == nil {
			return o, nil
		} else {
			err = errors.Join(err, rerr)
		}
	}
	log.Error("dispenserd: the database cannot be written; pills are held back until it can", "err", err)
	s, history, uerr := adherence.OpenUnwritable(ctx, path)
	if uerr != nil {
		return nil, errors.Join(err, uerr)
	}
	if !history {
		log.Error("dispenserd: the database cannot be read either; running on an empty log")
	}
	return &openedStore{store: s, unwritable: err}, nil
}

// recoverDamaged moves a damaged database aside and starts a new one with
// every event Salvage could read, keeping their ids (the clinic stores an
// event once by id) and the last trusted time. The notifier starts after
// them: what they caused was handled in the old log.
func recoverDamaged(ctx context.Context, path string, log *slog.Logger) (*openedStore, error) {
	aside, err := adherence.MoveAside(path, time.Now())
	if err != nil {
		return nil, err
	}
	salv, serr := adherence.Salvage(ctx, aside)
	if serr != nil {
		log.Error("dispenserd: part of the damaged log could not be read", "err", serr, "recovered", len(salv.Events))
	}
	s, err := adherence.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	d := &damageReport{aside: filepath.Base(aside), complete: salv.Complete, lastDoses: map[string]dispenser.Kind{}}
	last, err := s.Import(ctx, salv.Events)
	if err != nil {
		s.Close()
		return nil, err
	}
	d.recovered = len(salv.Events)
	for _, ev := range salv.Events {
		if _, ok := dispenser.StateForKind(ev.Kind); ok && ev.DoseID != "" {
			d.lastDoses[ev.DoseID] = ev.Kind
		}
	}
	if !salv.LastTrusted.IsZero() {
		if err := s.SetLastTrusted(ctx, salv.LastTrusted); err != nil {
			log.Warn("dispenserd: could not carry the last trusted time over", "err", err)
		}
	}
	if last.Seq > 0 {
		if _, err := s.ApplyNotifier(ctx, notify.Batch{Cursor: last.Seq}); err != nil {
			s.Close()
			return nil, err
		}
	}
	return &openedStore{store: s, damaged: d}, nil
}

// bootEvents are what start-up logs about a damaged database before the
// controller starts: a storage fault (which reaches a caregiver through
// the notifier) and, when part of the old log was lost, every dose whose
// window is open now and that the log cannot show as settled becomes
// uncertain, so that a dose the lost part gave is not given again.
func (d *damageReport) bootEvents(now time.Time, plan *schedule.Plan, meds []dispenser.Medication) []dispenser.Event {
	detail := fmt.Sprintf("storage damaged: log kept aside, %d events carried over; file=%s", d.recovered, d.aside)
	if !d.complete {
		detail += "; some events unreadable"
	}
	evs := []dispenser.Event{{Time: now, Kind: dispenser.KindFault, Detail: detail}}
	if d.complete {
		return evs
	}
	comp := map[string]int{}
	for _, m := range meds {
		comp[m.ID] = m.Compartment
	}
	for _, occ := range plan.Between(now.Add(-48*time.Hour), now.Add(48*time.Hour)) {
		if occ.Opens.After(now) || !occ.Closes.After(now) {
			continue
		}
		switch d.lastDoses[occ.ID] {
		case "", dispenser.KindDoseDue, dispenser.KindReminder:
			evs = append(evs, dispenser.Event{Time: now, Kind: dispenser.KindUncertain, DoseID: occ.ID,
				Medication: occ.Medication, Compartment: comp[occ.Medication], Scheduled: occ.At,
				Detail: "log damaged: may have been given"})
		}
	}
	return evs
}

func init() { register(component{name: "storage", wire: wireStorage}) }

// wireStorage sets up the direct text for when the log cannot be written.
func wireStorage(ctx context.Context, r *running) error {
	var phones []string
	for _, c := range r.file.Contacts {
		if c.Role == notify.RoleCaregiver {
			phones = append(phones, c.Phone)
		}
	}
	a := &storageAlarm{r: r, phones: phones, log: r.log, kick: make(chan struct{}, 1), sent: map[string]time.Time{},
		body: "Pillbox: " + r.file.Patient.FirstName + "'s pill dispenser cannot save its records, so it is holding pills back. Please check it (storage full or failing)."}
	r.events.failed, r.events.saved = a.failed, a.saved
	r.services = append(r.services, a.run)
	return nil
}

// storageAlarm texts every caregiver once when the log stops taking
// writes, directly through the sender, and again every alarmRepeat while
// it lasts. It needs no database: the outbox cannot be written either.
type storageAlarm struct {
	r      *running
	phones []string
	body   string
	log    *slog.Logger
	kick   chan struct{}

	mu      sync.Mutex
	failing bool
	sent    map[string]time.Time // by phone, this outage
}

// Timing of the alarm, on the daemon's clock.
const (
	alarmRepeat = 12 * time.Hour
	alarmRetry  = time.Minute
)

// failed is told of every failed write of the log.
func (a *storageAlarm) failed(error) {
	a.mu.Lock()
	start := !a.failing
	a.failing = true
	a.mu.Unlock()
	if start {
		a.wake()
	}
}

// saved is told of every successful write: the outage is over.
func (a *storageAlarm) saved() {
	a.mu.Lock()
	if a.failing {
		a.failing = false
		clear(a.sent)
		a.log.Info("dispenserd: the log takes writes again")
	}
	a.mu.Unlock()
}

func (a *storageAlarm) wake() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

func (a *storageAlarm) run(ctx context.Context) error {
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
			t = a.r.clock.AfterFunc(next.Sub(a.r.clock.Now()), a.wake)
		}
	}
}

// send texts the caregivers who have not heard of this outage (or not for
// alarmRepeat) and returns when to look again.
func (a *storageAlarm) send(ctx context.Context) time.Time {
	if a.r.sender == nil {
		return time.Time{}
	}
	now := a.r.clock.Now()
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
		if !last.IsZero() && now.Sub(last) < alarmRepeat {
			later(last.Add(alarmRepeat))
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := a.r.sender.Send(sctx, phone, a.body)
		cancel()
		var f notify.Failed
		switch {
		case err == nil:
			a.log.Warn("dispenserd: texted a caregiver directly: the log cannot be written")
			if a.r.noteText != nil {
				a.r.noteText(phone, a.body, now)
			}
			a.mu.Lock()
			a.sent[phone] = now
			a.mu.Unlock()
			later(now.Add(alarmRepeat))
		case errors.As(err, &f) && f.Failure().Class == notify.Permanent:
			a.log.Error("dispenserd: the direct text to a caregiver was refused", "err", err)
		default:
			a.log.Warn("dispenserd: the direct text to a caregiver failed; will retry", "err", err)
			later(now.Add(alarmRetry))
		}
	}
	return next
}
