package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// TestBackupPostgresWhileWritingAndRestore: pg_dump while transactions
// write a flow and its message together gives a copy with whole
// transactions only (every flow has its message); it restores into a new
// database and refuses a database with tables.
func TestBackupPostgresWhileWritingAndRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewDatabase(t)
	s, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var stop atomic.Bool
	var written atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			err := s.InTx(ctx, func(tx *store.Tx) error {
				if err := tx.InsertFlow(newFlow(fmt.Sprintf("tok-%d", i), t0.Add(time.Hour))); err != nil {
					return err
				}
				return tx.EnqueueMessage(newMessage(fmt.Sprintf("p%d@example.com", i), t0))
			})
			if err != nil {
				t.Error(err)
				return
			}
			written.Add(1)
		}
	})
	// Some rows before the dump begins, more while it runs.
	for written.Load() < 20 {
		time.Sleep(10 * time.Millisecond)
	}
	backup := filepath.Join(t.TempDir(), "sspr.dump")
	err = store.BackupPostgres(ctx, dsn, backup)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	if err := store.BackupPostgres(ctx, dsn, backup); err == nil || !strings.Contains(err.Error(), "never overwrites") {
		t.Errorf("a backup over a file: %v", err)
	}
	if err := store.RestorePostgres(ctx, backup, dsn); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a restore into the database with tables: %v", err)
	}
	fresh := storetest.NewDatabase(t)
	if err := store.RestorePostgres(ctx, backup, fresh); err != nil {
		t.Fatal(err)
	}
	var flows, messages int64
	db := rawDB(t, fresh)
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM flows), (SELECT COUNT(*) FROM outbox)`).Scan(&flows, &messages); err != nil {
		t.Fatal(err)
	}
	if flows < 20 || flows != messages || flows > written.Load() {
		t.Errorf("restored %d flows and %d messages (%d transactions written): not whole transactions", flows, messages, written.Load())
	}
	// The restored database opens, and new rows continue after the old ones.
	r, err := store.OpenPostgres(ctx, fresh)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	inTx(t, r, func(tx *store.Tx) error {
		m := newMessage("after@example.com", t0)
		if err := tx.EnqueueMessage(m); err != nil {
			return err
		}
		if m.ID <= messages {
			return fmt.Errorf("a new message got id %d after %d restored", m.ID, messages)
		}
		return nil
	})
}
