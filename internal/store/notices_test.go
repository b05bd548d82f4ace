package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// TestNoticeWindows: occurrences count within a window that starts with the
// first; a notice marked sent stays sent for the window; an ended window
// starts afresh, and the janitor deletes ended ones.
func TestNoticeWindows(t *testing.T) { storetest.Each(t, testNoticeWindows) }

func testNoticeWindows(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	bump := func(account string, now time.Time) (int, bool) {
		t.Helper()
		var n int
		var sent bool
		if err := s.InTx(ctx, func(tx *store.Tx) (err error) {
			n, sent, err = tx.BumpNoticeWindow("failures", account, now, 15*time.Minute)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n, sent
	}
	if n, sent := bump("a", t0); n != 1 || sent {
		t.Fatalf("first: %d %v", n, sent)
	}
	if n, _ := bump("a", t0.Add(5*time.Minute)); n != 2 {
		t.Fatalf("second: %d", n)
	}
	if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.MarkNoticeSent("failures", "a") }); err != nil {
		t.Fatal(err)
	}
	if n, sent := bump("a", t0.Add(14*time.Minute)); n != 3 || !sent {
		t.Fatalf("third, same window: %d %v", n, sent)
	}
	if n, sent := bump("b", t0.Add(2*time.Minute)); n != 1 || sent {
		t.Fatalf("another account: %d %v", n, sent)
	}
	if n, sent := bump("a", t0.Add(16*time.Minute)); n != 1 || sent {
		t.Fatalf("after the window: %d %v; want a new window", n, sent)
	}
	var deleted int64
	if err := s.InTx(ctx, func(tx *store.Tx) (err error) {
		deleted, err = tx.DeleteEndedNoticeWindows(t0.Add(20*time.Minute), 100)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if deleted != 1 { // b's; a's new window runs to t0+31m
		t.Fatalf("deleted %d ended windows, want 1", deleted)
	}
}
