package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Checkpoints off the writer's path.
//
// In WAL mode a commit appends to the write-ahead log, and a checkpoint
// copies the log back into the database file, with an fsync. SQLite's
// automatic checkpoint runs inside the commit that crosses 1,000 pages, on
// the writer's one connection: every transaction queued behind it (a
// code's step, a password step) waited for those copies and that fsync —
// the 100–200 ms tails of the half-load soak. Here the writer's connection
// never checkpoints (wal_autocheckpoint=0); a connection of its own runs
// PASSIVE checkpoints every checkpointInterval, which in WAL mode go on
// beside the writer and readers without blocking either. The writer's
// close still checkpoints and removes the log.

const (
	checkpointInterval = 200 * time.Millisecond
)

type checkpointer struct {
	db     *sql.DB
	log    *slog.Logger
	warned time.Time
	stop   chan struct{}
	done   sync.WaitGroup
	frames atomic.Int64 // frames in the log after the last checkpoint
	runs   atomic.Int64
	closed sync.Once
	err    error
}

// startCheckpointer opens path's checkpoint connection and starts it.
func startCheckpointer(ctx context.Context, path string, log *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening the checkpoint connection: %w", err)
	}
	c := &checkpointer{db: db, log: log, stop: make(chan struct{})}
	c.done.Add(1)
	go c.loop()
	return c, nil
}

func (c *checkpointer) loop() {
	defer c.done.Done()
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.checkpoint()
		}
	}
}

// checkpoint copies what it can of the log into the database (PASSIVE:
// it never waits for a reader or the writer).
func (c *checkpointer) checkpoint() {
	var busy, logFrames, done int64
	if err := c.db.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done); err != nil {
		// Tried again at the next tick; said at most once a minute, as a
		// log nobody copies back grows until the disk is full.
		if time.Since(c.warned) > time.Minute && c.log != nil {
			c.warned = time.Now()
			c.log.Warn("store: checkpointing the write-ahead log failed; it grows until a checkpoint succeeds", "err", err)
		}
		return
	}
	c.runs.Add(1)
	c.frames.Store(logFrames - done)
}

// close stops the loop and closes its connection (before the writer's
// close, which checkpoints what is left and removes the log).
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	c.closed.Do(func() {
		close(c.stop)
		c.done.Wait()
		c.err = c.db.Close()
	})
	return c.err
}
