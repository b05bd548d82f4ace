package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
)

// TestBackupWhileWritingAndRestore: a backup taken while transactions
// commit is a consistent, checked copy holding every message committed
// before it began; Restore refuses while the database is open, then puts
// the backup in place (keeping the old file), and the store opens on it.
// SQLite only: backups of a PostgreSQL database are pg_dump's (docs/operations.md).
func TestBackupWhileWritingAndRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "sspr.db")
	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.EnqueueMessage(newMessage(fmt.Sprintf("before%d", i), t0)) }); err != nil {
			t.Fatal(err)
		}
	}
	// Writers keep committing during the backup.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var written atomic.Int64
	for w := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				if err := s.InTx(ctx, func(tx *store.Tx) error {
					return tx.EnqueueMessage(newMessage(fmt.Sprintf("during%d-%d", w, i), t0))
				}); err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
			}
		})
	}
	backup := filepath.Join(dir, "backup.db")
	err = store.Backup(ctx, path, backup)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup while writing: %v", err)
	}
	if written.Load() == 0 {
		t.Fatal("nothing was written during the backup; the test proves nothing")
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	if err := store.Backup(ctx, path, backup); err == nil {
		t.Error("a second backup overwrote the first")
	}
	sc, err := store.Inspect(ctx, backup)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Newest != sc.Known || len(sc.Pending()) != 0 || len(sc.Unknown) != 0 || sc.Rows["outbox"] < 50 {
		t.Errorf("backup schema %d of %d, pending %v, unknown %v, %d messages", sc.Newest, sc.Known, sc.Pending(), sc.Unknown, sc.Rows["outbox"])
	}

	// Open: refused.
	if _, err := store.Restore(ctx, backup, path, time.Now()); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("restore over an open database: %v, want ErrInUse", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	kept, err := store.Restore(ctx, backup, path, time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC))
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if kept != path+".before-restore-20261207T010203Z" {
		t.Errorf("kept %q", kept)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("the replaced database was not kept: %v", err)
	}
	s2, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got := countMessages(t, s2)
	for i := range 50 {
		if !got[fmt.Sprintf("before%d", i)] {
			t.Fatalf("message before%d, committed before the backup, is not in the restored database", i)
		}
	}
	if int64(len(got)) > 50+written.Load() {
		t.Errorf("%d messages restored, more than were ever written", len(got))
	}
}

// TestRestoreRefusesANewerSchemaAndDamage: a backup whose schema a newer
// sspr wrote, or whose file is damaged, is not restored, and the database
// in place is untouched.
// SQLite only: backups of a PostgreSQL database are pg_dump's (docs/operations.md).
func TestRestoreRefusesANewerSchemaAndDamage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "sspr.db")
	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	newer := filepath.Join(dir, "newer.db")
	if err := store.Backup(ctx, path, newer); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	sc, err := store.Inspect(ctx, newer)
	if err != nil || len(sc.Unknown) != 1 || sc.Unknown[0] != 9999 {
		t.Fatalf("inspect of a newer schema: %+v %v", sc.Unknown, err)
	}
	var tooNew *store.SchemaTooNewError
	if _, err := store.Restore(ctx, newer, path, time.Now()); !errors.As(err, &tooNew) {
		t.Errorf("restore of a newer schema: %v", err)
	}
	damaged := filepath.Join(dir, "damaged.db")
	b, _ := os.ReadFile(newer)
	for i := 4096; i < len(b) && i < 4096*6; i++ {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(damaged, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Restore(ctx, damaged, path, time.Now()); err == nil {
		t.Error("a damaged backup was restored")
	}
	if entries, _ := filepath.Glob(path + ".before-restore-*"); len(entries) != 0 {
		t.Errorf("a refused restore moved the database: %v", entries)
	}
}
