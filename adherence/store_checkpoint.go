package adherence

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/pillbox/pillbox/internal/sqlitefile"
)

// checkpointIdle is how long the writer must be quiet before the WAL is
// copied back into the database file, by a PASSIVE checkpoint on a
// connection of its own. SQLite's automatic checkpoint (every 1000 WAL
// pages) runs inside whichever commit crosses the threshold and stalls that
// commit (a button press, say) for the copy and its fsync; a device commits
// a few times an hour, so checkpointing in the quiet after each burst means
// the automatic one almost never fires. Under sustained load (the clinic's
// ingest, benchmarks) the automatic one still runs: it is what lets the WAL
// start over, since a checkpoint running beside a stream of commits never
// finds the moment to.
const checkpointIdle = 2 * time.Second

// checkpointer copies the WAL back into the database file in the
// background. Its zero value (in-memory stores) does nothing.
type checkpointer struct {
	db     *sql.DB
	kick   chan chan struct{} // nil: just checkpoint; else closed when done
	idle   *time.Timer        // kicks once the writer has been quiet
	wg     sync.WaitGroup
	mu     sync.Mutex // guards kick against close
	closed bool
}

func (c *checkpointer) start(ctx context.Context, uri string) error {
	// Opened lazily, at the first checkpoint: an idle connection that had
	// read the database could pin the WAL (see openPool's ping).
	db, err := sql.Open("sqlite", uri+"?"+sqlitefile.BasePragmas)
	if err != nil {
		return fmt.Errorf("adherence: open db: %w", err)
	}
	db.SetMaxOpenConns(1)
	c.db, c.kick = db, make(chan chan struct{}, 1)
	c.idle = time.AfterFunc(time.Hour, c.nudge)
	c.idle.Stop()
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

// committed notes a commit: the checkpoint waits for a quiet moment.
func (c *checkpointer) committed() {
	if c.kick == nil {
		return
	}
	c.idle.Reset(checkpointIdle)
}

func (c *checkpointer) nudge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	select {
	case c.kick <- nil:
	default: // one is already pending
	}
}

// flush runs a checkpoint and waits for it.
func (c *checkpointer) flush() {
	if c.kick == nil {
		return
	}
	done := make(chan struct{})
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.kick <- done // the loop never waits on mu, so this cannot deadlock
	c.mu.Unlock()
	<-done
}

func (c *checkpointer) close() error {
	if c.kick == nil {
		return nil
	}
	c.idle.Stop()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.kick)
	c.mu.Unlock()
	c.wg.Wait()
	return c.db.Close()
}
