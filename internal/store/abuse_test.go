package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

func TestAbuseCounterBuckets(t *testing.T) { storetest.Each(t, testAbuseCounterBuckets) }

func testAbuseCounterBuckets(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	inTx(t, s, func(tx *store.Tx) error {
		// alice: 2 events at t0, 1 at +10m, 1 at +20m; bob: 1 at t0.
		for _, m := range []int{0, 0, 10, 20} {
			at := t0.Add(time.Duration(m) * time.Minute)
			if err := tx.AddAbuseCount("fail", "alice", at, at.Add(time.Hour)); err != nil {
				return err
			}
		}
		return tx.AddAbuseCount("fail", "bob", t0, t0.Add(time.Hour))
	})
	tests := []struct {
		name  string
		key   string
		since time.Time
		want  int
	}{
		{"all", "alice", t0.Add(-time.Second), 4},
		{"strictly after since", "alice", t0, 2},
		{"recent", "alice", t0.Add(15 * time.Minute), 1},
		{"none", "alice", t0.Add(time.Hour), 0},
		{"other key", "bob", t0.Add(-time.Second), 1},
		{"unknown key", "carol", t0.Add(-time.Second), 0},
	}
	for _, tc := range tests {
		inTx(t, s, func(tx *store.Tx) error {
			n, err := tx.SumAbuseCounts("fail", tc.key, tc.since)
			if err != nil {
				return err
			}
			if n != tc.want {
				t.Errorf("%s: sum = %d, want %d", tc.name, n, tc.want)
			}
			return nil
		})
	}
	inTx(t, s, func(tx *store.Tx) error {
		bs, err := tx.AbuseBuckets("fail", "alice", t0.Add(-time.Second))
		if err != nil {
			return err
		}
		want := []store.AbuseBucket{{t0, 2}, {t0.Add(10 * time.Minute), 1}, {t0.Add(20 * time.Minute), 1}}
		if !slices.Equal(bs, want) {
			t.Errorf("buckets = %+v, want %+v", bs, want)
		}
		// Taking back comes off the newest non-empty bucket, and never
		// below zero.
		for range 2 {
			if ok, err := tx.TakeBackAbuseCount("fail", "alice", t0.Add(-time.Second)); err != nil || !ok {
				t.Errorf("TakeBackAbuseCount = %v, %v; want true", ok, err)
			}
		}
		if bs, _ = tx.AbuseBuckets("fail", "alice", t0.Add(-time.Second)); !slices.Equal(bs, want[:1]) {
			t.Errorf("after taking back two: buckets = %+v, want %+v", bs, want[:1])
		}
		if ok, err := tx.TakeBackAbuseCount("fail", "alice", t0); err != nil || ok {
			t.Errorf("TakeBackAbuseCount with nothing after since = %v, %v; want false", ok, err)
		}
		if n, _ := tx.SumAbuseCounts("fail", "alice", t0.Add(-time.Second)); n != 2 {
			t.Errorf("sum after taking back = %d, want 2", n)
		}
		return nil
	})
}

func TestAbuseNonceOnce(t *testing.T) { storetest.Each(t, testAbuseNonceOnce) }

func testAbuseNonceOnce(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	inTx(t, s, func(tx *store.Tx) error {
		for i, want := range []bool{true, false, false} {
			got, err := tx.UseAbuseNonce("nonce", "n1", t0.Add(time.Minute))
			if err != nil {
				return err
			}
			if got != want {
				t.Errorf("attempt %d: fresh = %v, want %v", i, got, want)
			}
		}
		got, err := tx.UseAbuseNonce("nonce", "n2", t0.Add(time.Minute))
		if err != nil || !got {
			t.Errorf("another nonce: fresh = %v, %v; want true", got, err)
		}
		return nil
	})
	// Once forgotten (expired and cleaned up), the key is fresh again; a
	// challenge's expiry makes sure that no longer matters.
	inTx(t, s, func(tx *store.Tx) error {
		if _, err := tx.DeleteExpiredAbuse(t0.Add(time.Minute)); err != nil {
			return err
		}
		got, err := tx.UseAbuseNonce("nonce", "n1", t0.Add(time.Minute))
		if err != nil || !got {
			t.Errorf("after cleanup: fresh = %v, %v; want true", got, err)
		}
		return nil
	})
}

func TestAbuseBlocksSurviveReopen(t *testing.T) { storetest.Each(t, testAbuseBlocksSurviveReopen) }

func testAbuseBlocksSurviveReopen(t *testing.T) {
	t.Parallel()
	s, path := open(t)
	inTx(t, s, func(tx *store.Tx) error {
		if err := tx.SetAbuseBlock(&store.AbuseBlock{Kind: "user", Key: "alice", Until: t0.Add(24 * time.Hour), Reason: "failures", CreatedAt: t0}); err != nil {
			return err
		}
		if err := tx.SetAbuseBlock(&store.AbuseBlock{Kind: "ip", Key: "192.0.2.1", Until: t0.Add(time.Hour), Reason: "failures", CreatedAt: t0}); err != nil {
			return err
		}
		// An ended block is not active.
		return tx.SetAbuseBlock(&store.AbuseBlock{Kind: "user", Key: "old", Until: t0, Reason: "failures", CreatedAt: t0.Add(-time.Hour)})
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := storetest.Reopen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	inTx(t, s2, func(tx *store.Tx) error {
		b, err := tx.ActiveAbuseBlock("user", "alice", t0.Add(time.Hour))
		if err != nil {
			return err
		}
		want := store.AbuseBlock{Kind: "user", Key: "alice", Until: t0.Add(24 * time.Hour), Reason: "failures", CreatedAt: t0}
		if *b != want {
			t.Errorf("block = %+v, want %+v", *b, want)
		}
		if _, err := tx.ActiveAbuseBlock("user", "old", t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ended block: err = %v, want ErrNotFound", err)
		}
		// One read for the three subjects of a step: the ended block,
		// an unblocked subject and a zero subject match nothing.
		of, err := tx.ActiveAbuseBlocksOf(t0, [3]store.AbuseSubject{{Kind: "ip", Key: "192.0.2.1"}, {Kind: "user", Key: "old"}, {}})
		if err != nil {
			return err
		}
		if len(of) != 1 || of[0].Kind != "ip" || of[0].Key != "192.0.2.1" || !of[0].Until.Equal(t0.Add(time.Hour)) {
			t.Errorf("ActiveAbuseBlocksOf = %+v, want the ip block only", of)
		}
		of, err = tx.ActiveAbuseBlocksOf(t0.Add(2*time.Hour), [3]store.AbuseSubject{{Kind: "ip", Key: "192.0.2.1"}, {Kind: "user", Key: "alice"}, {Kind: "ip", Key: "alice"}})
		if err != nil {
			return err
		}
		if len(of) != 1 || of[0].Kind != "user" || of[0].Key != "alice" {
			t.Errorf("ActiveAbuseBlocksOf two hours on = %+v, want alice's user block only", of)
		}
		list, err := tx.ActiveAbuseBlocks(t0)
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].Kind != "ip" || list[1].Kind != "user" {
			t.Errorf("active blocks = %+v, want ip then user", list)
		}
		ok, err := tx.DeleteAbuseBlock("user", "alice")
		if err != nil || !ok {
			t.Errorf("DeleteAbuseBlock = %v, %v; want true", ok, err)
		}
		if _, err := tx.ActiveAbuseBlock("user", "alice", t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after delete: err = %v, want ErrNotFound", err)
		}
		return nil
	})
}

func TestDeleteExpiredAbuse(t *testing.T) { storetest.Each(t, testDeleteExpiredAbuse) }

func testDeleteExpiredAbuse(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	inTx(t, s, func(tx *store.Tx) error {
		for _, e := range []struct {
			key  string
			keep time.Duration
		}{{"a", time.Minute}, {"b", time.Hour}, {"c", 2 * time.Hour}} {
			if err := tx.AddAbuseCount("k", e.key, t0, t0.Add(e.keep)); err != nil {
				return err
			}
		}
		if _, err := tx.UseAbuseNonce("pow", "n", t0.Add(time.Hour)); err != nil {
			return err
		}
		if err := tx.SetAbuseBlock(&store.AbuseBlock{Kind: "ip", Key: "x", Until: t0.Add(time.Hour), CreatedAt: t0}); err != nil {
			return err
		}
		return tx.SetAbuseBlock(&store.AbuseBlock{Kind: "ip", Key: "y", Until: t0.Add(3 * time.Hour), CreatedAt: t0})
	})
	inTx(t, s, func(tx *store.Tx) error {
		n, err := tx.DeleteExpiredAbuse(t0.Add(time.Hour))
		if err != nil {
			return err
		}
		if n != 4 { // buckets a, b, the nonce and block x
			t.Errorf("deleted %d rows, want 4", n)
		}
		for key, want := range map[string]int{"a": 0, "b": 0, "c": 1} {
			if got, _ := tx.SumAbuseCounts("k", key, time.Time{}); got != want {
				t.Errorf("count of %s after cleanup = %d, want %d", key, got, want)
			}
		}
		if n, err := tx.DeleteAbuseCounts("k", "c"); err != nil || n != 1 {
			t.Errorf("DeleteAbuseCounts = %d, %v; want 1", n, err)
		}
		return nil
	})
}

// TestAbuseEventsMigrateToCounters: a database from before counters per
// bucket (migrations up to 0004) with used proof-of-work nonces and counted
// events: after the upgrade the nonces are still spent, the events are gone
// (they were short-lived counts) and the blocks are kept.
// SQLite only: it replays the SQLite migrations of a release that predates PostgreSQL, which never had abuse_events rows to move.
func TestAbuseEventsMigrateToCounters(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sspr.db")
	db := rawDB(t, path)
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 4; v++ {
		files, _ := filepath.Glob(fmt.Sprintf("migrations/sqlite/%04d_*.sql", v))
		if len(files) != 1 {
			t.Fatalf("migration %04d: %v", v, files)
		}
		body, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", files[0], err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?, 0)`, v); err != nil {
			t.Fatal(err)
		}
	}
	exp := t0.Add(time.Minute).UnixMilli()
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO abuse_events (kind, key, at, keep_until) VALUES ('pow_nonce', 'spent', %d, %d)`, t0.UnixMilli(), exp),
		fmt.Sprintf(`INSERT INTO abuse_events (kind, key, at, keep_until) VALUES ('identify_ip', '192.0.2.1', %d, %d)`, t0.UnixMilli(), exp),
		fmt.Sprintf(`INSERT INTO abuse_blocks (kind, key, until, reason, created_at) VALUES ('user', 'alice', %d, 'verify_failure_user', %d)`, exp, t0.UnixMilli()),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inTx(t, s, func(tx *store.Tx) error {
		if fresh, err := tx.UseAbuseNonce("pow_nonce", "spent", t0.Add(time.Minute)); err != nil || fresh {
			t.Errorf("a nonce spent before the upgrade: fresh = %v, %v; want false", fresh, err)
		}
		if _, err := tx.ActiveAbuseBlock("user", "alice", t0); err != nil {
			t.Errorf("block after the upgrade: %v", err)
		}
		if n, err := tx.SumAbuseCounts("identify_ip", "192.0.2.1", time.Time{}); err != nil || n != 0 {
			t.Errorf("identify count after the upgrade = %d, %v; want 0 (dropped)", n, err)
		}
		return nil
	})
	var tables int
	if err := rawDB(t, path).QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'abuse_events'`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("abuse_events still there (%d, %v)", tables, err)
	}
}

// AddAbuseCounts and CountAbuseAndRead do what AddAbuseCount,
// SumAbuseCounts and ActiveAbuseBlocksOf do, for several buckets, windows
// and subjects in one statement — a bucket named twice counted twice,
// keep_until kept at the later; LiftAbuseBlocksUnder lifts exactly the
// blocks whose own window went under its limit.
func TestAbuseCountsInOneStatement(t *testing.T) { storetest.Each(t, testAbuseCountsInOneStatement) }

func testAbuseCountsInOneStatement(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	b0, b1 := t0, t0.Add(time.Minute)
	inTx(t, s, func(tx *store.Tx) error {
		if err := tx.AddAbuseCounts(nil); err != nil {
			return err
		}
		for _, adds := range [][]store.AbuseAdd{
			{{Kind: "a", Key: "k1", Start: b0, KeepUntil: b1}},
			{{Kind: "a", Key: "k1", Start: b0, KeepUntil: b1}, {Kind: "b", Key: "k1", Start: b0, KeepUntil: b1}},
			{{Kind: "a", Key: "k1", Start: b1, KeepUntil: b1}, {Kind: "a", Key: "k1", Start: b1, KeepUntil: b1.Add(time.Hour)}},
		} {
			if err := tx.AddAbuseCounts(adds); err != nil {
				return err
			}
		}
		return nil
	})
	ws := []store.AbuseWindow{{Kind: "a", Key: "k1"}, {Kind: "b", Key: "k1"}, {Kind: "a", Key: "k1", Since: b0}, {Kind: "a", Key: "k2"}, {Kind: "b", Key: "k1", Since: b0}}
	want := []int{4, 1, 2, 0, 0}
	inTx(t, s, func(tx *store.Tx) error {
		for _, b := range []store.AbuseBlock{
			{Kind: "ip", Key: "k1", Until: t0.Add(time.Hour), Reason: "a", CreatedAt: t0},
			{Kind: "user", Key: "k1", Until: t0.Add(time.Hour), Reason: "b", CreatedAt: t0},
			{Kind: "user", Key: "k2", Until: t0, Reason: "a", CreatedAt: t0}, // ended
		} {
			if err := tx.SetAbuseBlock(&b); err != nil {
				return err
			}
		}
		return nil
	})
	subjects := [3]store.AbuseSubject{{Kind: "ip", Key: "k1"}, {Kind: "user", Key: "k2"}, {}}
	for n := range len(ws) + 1 {
		got := make([]int, n)
		var blocks []*store.AbuseBlock
		inTx(t, s, func(tx *store.Tx) (err error) {
			blocks, _, err = tx.CountAbuseAndRead(nil, t0, subjects, ws[:n], got)
			return err
		})
		if fmt.Sprint(got) != fmt.Sprint(want[:n]) {
			t.Errorf("sums of %d windows %v, want %v", n, got, want[:n])
		}
		if len(blocks) != 1 || blocks[0].Kind != "ip" || blocks[0].Key != "k1" || blocks[0].Reason != "a" || !blocks[0].Until.Equal(t0.Add(time.Hour)) {
			t.Errorf("blocks beside %d windows: %+v, want the ip block of k1 only", n, blocks)
		}
	}
	// Counter a of k1 counts 4 (2 after b0), b counts 1. The ip block
	// (reason a) goes when its window is under its limit; the user block
	// (reason b) stays while its window is not, and a lift naming another
	// reason than the block's touches nothing.
	inTx(t, s, func(tx *store.Tx) error {
		return tx.LiftAbuseBlocksUnder(t0, []store.AbuseLift{
			{Kind: "user", Key: "k1", Reason: "b", Limit: 1},          // 1 < 1: stays
			{Kind: "user", Key: "k1", Reason: "a", Limit: 100},        // not its reason: stays
			{Kind: "ip", Key: "k1", Reason: "a", Since: b0, Limit: 3}, // 2 < 3: lifted
		})
	})
	inTx(t, s, func(tx *store.Tx) error {
		blocks, err := tx.ActiveAbuseBlocksOf(t0, [3]store.AbuseSubject{{Kind: "ip", Key: "k1"}, {Kind: "user", Key: "k1"}, {}})
		if err == nil && (len(blocks) != 1 || blocks[0].Kind != "user") {
			err = fmt.Errorf("after the lift: %+v, want the user block only", blocks)
		}
		return err
	})
	// keep_until is the later one: the bucket at b1 outlives b1+1h-1ms.
	inTx(t, s, func(tx *store.Tx) error {
		if _, err := tx.DeleteExpiredAbuse(b1.Add(time.Hour - time.Millisecond)); err != nil {
			return err
		}
		n, err := tx.SumAbuseCounts("a", "k1", time.Time{})
		if err == nil && n != 2 {
			err = fmt.Errorf("after expiry: %d counted, want 2 (the bucket at b1)", n)
		}
		return err
	})
}
