package adherence

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// checkpointEvery is how many commits pass between background checkpoints.
// SQLite's automatic checkpoint would run inside whichever commit crossed its
// threshold, stalling that one commit (a button press, say) for as long as it
// takes to copy the WAL into the database and fsync it; a PASSIVE checkpoint
// on a connection of its own blocks neither the writer nor the readers. Once
// a checkpoint has caught up, the next commit starts the WAL over, and
// journal_size_limit trims the file.
const checkpointEvery = 64

// checkpointer copies the WAL back into the database file in the
// background. Its zero value (in-memory stores) does nothing.
type checkpointer struct {
	db      *sql.DB
	kick    chan chan struct{} // nil: just checkpoint; else closed when done
	commits atomic.Int64
	wg      sync.WaitGroup
	closed  sync.Once
}

func (c *checkpointer) start(ctx context.Context, uri string) error {
	db, err := openPool(ctx, uri+"?"+basePragmas, 1)
	if err != nil {
		return err
	}
	c.db, c.kick = db, make(chan chan struct{}, 1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for done := range c.kick {
			// A failure (a reader holding an old snapshot) only means the
			// WAL is copied at the next kick instead.
			c.db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
			if done != nil {
				close(done)
			}
		}
	}()
	return nil
}

// committed counts a commit and wakes the checkpointer now and then.
func (c *checkpointer) committed() {
	if c.kick == nil {
		return
	}
	if c.commits.Add(1)%checkpointEvery == 0 {
		select {
		case c.kick <- nil:
		default: // one is already pending
		}
	}
}

// flush runs a checkpoint and waits for it.
func (c *checkpointer) flush() {
	if c.kick == nil {
		return
	}
	done := make(chan struct{})
	c.kick <- done
	<-done
}

func (c *checkpointer) close() error {
	if c.kick == nil {
		return nil
	}
	var err error
	c.closed.Do(func() {
		close(c.kick)
		c.wg.Wait()
		err = c.db.Close()
	})
	return err
}
