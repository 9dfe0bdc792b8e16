package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
)

// The storage policy at start-up (docs/reliability.md): a damaged
// database is kept aside, never deleted, and a new one starts with every
// event that could still be read from it (dispenser.DamagedLog says what
// that means for the doses); a database that cannot be written is opened
// read-only, so the daemon runs, serves its history and holds pills back
// (the controller does that) while notify.StorageAlarm texts the
// caregivers by a path that does not need the log.

// openedStore is the database as start-up found it.
type openedStore struct {
	store *adherence.Store
	// unwritable is why the log cannot be written, if it cannot.
	unwritable error
	// damaged describes a damaged database that was kept aside.
	damaged *dispenser.DamagedLog
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
	last, err := s.Import(ctx, salv.Events)
	if err != nil {
		s.Close()
		return nil, err
	}
	d := dispenser.NewDamagedLog(filepath.Base(aside), salv.Events, salv.Complete)
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
	return &openedStore{store: s, damaged: &d}, nil
}
