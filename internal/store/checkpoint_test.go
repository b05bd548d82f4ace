package store

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestWriterCheckpointsLessOften: the writer lets walCheckpointPages of
// log build up, not SQLite's default 1,000, before it copies pages back
// into the database file: after some 2,000 pages of commits the log still
// holds them all (with the default it would have been checkpointed and
// reused from its start, staying near 1,000 pages).
func TestWriterCheckpointsLessOften(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/sspr.db"
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var pages int
	if err := s.db.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if pages != walCheckpointPages {
		t.Errorf("the writer's wal_autocheckpoint is %d, want %d", pages, walCheckpointPages)
	}
	body := strings.Repeat("x", 7000) // two pages a row
	for range 10 {
		err := s.InTx(ctx, func(tx *Tx) error {
			for range 100 {
				m := &Message{CreatedAt: time.Now(), Kind: "reset.code", Recipient: "a@example.com", Subject: "s", TextBody: body, NextAttemptAt: time.Now()}
				if err := tx.EnqueueMessage(m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if frames := st.Size() / 4096; frames < 1800 || frames > walCheckpointPages+500 {
		t.Errorf("the log holds %d pages after some 2,000 pages of commits, want them all (not checkpointed at 1,000)", frames)
	}
}
