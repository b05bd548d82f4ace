package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sspr/sspr/internal/store"
)

// TestWriterLeavesCheckpointsToTheCheckpointer: commits never checkpoint
// on the writer's connection (the log keeps every frame past SQLite's
// automatic threshold of 1,000 pages while the checkpointer is paused); a
// checkpoint on the checkpointer's connection copies them all while the
// store stays open, and the log is then reused instead of growing.
func TestWriterLeavesCheckpointsToTheCheckpointer(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sspr.db")
	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	store.PauseCheckpoints(s)
	write := func(prefix string, n int) {
		t.Helper()
		for i := range n {
			if err := s.InTx(ctx, func(tx *store.Tx) error {
				return tx.EnqueueMessage(newMessage(fmt.Sprintf("%s%d", prefix, i), t0))
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("a", 800)
	// A checkpoint does not shrink the log, so this test reads the count
	// of frames, not the file size; the first PASSIVE call (by WALFrames)
	// reports the log as the writer left it.
	frames := store.WALFrames(s)
	if frames <= 1000 {
		t.Fatalf("the log holds %d frames after 800 transactions with the checkpointer paused; the writer must have checkpointed (want > 1000)", frames)
	}
	if left := store.Checkpoint(s); left != 0 {
		t.Fatalf("a checkpoint beside the idle writer left %d frames", left)
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	grown := fi.Size()
	// After a complete checkpoint the writer starts the log over: the
	// same work again does not make the file bigger.
	write("b", 800)
	if left := store.Checkpoint(s); left != 0 {
		t.Fatalf("second checkpoint left %d frames", left)
	}
	fi, err = os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > grown {
		t.Errorf("the log grew from %d to %d bytes: it was not reused after a checkpoint", grown, fi.Size())
	}
	got := countMessages(t, s)
	if !got["a799"] || !got["b799"] {
		t.Error("messages lost across checkpoints")
	}
}
