package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// holdWriter runs a transaction that waits until release is closed, so the
// transactions queued meanwhile all meet in the next batch.
func holdWriter(t *testing.T, s *store.Store) (release func(), held <-chan struct{}) {
	t.Helper()
	started, stop := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.InTx(context.Background(), func(*store.Tx) error {
			close(started)
			<-stop
			return nil
		})
	}()
	<-started
	return func() {
		close(stop)
		if err := <-done; err != nil {
			t.Error(err)
		}
	}, started
}

// waitQueued waits until n transactions wait for the (held) writer.
func waitQueued(t *testing.T, s *store.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for store.Queued(s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d transactions queued", store.Queued(s), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func countMessages(t *testing.T, s *store.Store) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	inTx(t, s, func(tx *store.Tx) error {
		ms, err := tx.Messages(1000)
		for _, m := range ms {
			got[m.Recipient] = true
		}
		return err
	})
	return got
}

// Transactions that share a commit stay independent: the ones that fail
// are rolled back alone, the others are committed, each caller gets its
// own answer — and they did share commits.
func TestBatchedTransactionsFailAlone(t *testing.T) {
	storetest.Each(t, testBatchedTransactionsFailAlone)
}

func testBatchedTransactionsFailAlone(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	release, _ := holdWriter(t, s)
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.InTx(context.Background(), func(tx *store.Tx) error {
				if err := tx.EnqueueMessage(newMessage(fmt.Sprintf("m%d", i), t0)); err != nil {
					return err
				}
				if i%3 == 0 {
					return fmt.Errorf("refused %d", i)
				}
				return nil
			})
		})
	}
	waitQueued(t, s, n)
	c0, _ := store.Commits(s)
	release()
	wg.Wait()
	c1, carried := store.Commits(s)
	got := countMessages(t, s)
	for i := range n {
		want := i%3 != 0
		if (errs[i] == nil) != want || got[fmt.Sprintf("m%d", i)] != want {
			t.Errorf("transaction %d: err %v, row kept %v; want kept %v", i, errs[i], got[fmt.Sprintf("m%d", i)], want)
		}
	}
	// The held one, then all n together.
	if c1-c0 != 2 {
		t.Errorf("%d commits for the held transaction and %d queued ones, want 2", c1-c0, n)
	}
	t.Logf("%d commits carried %d transactions", c1, carried)
}

// A panic in one transaction of a batch is raised in its own caller, its
// writes are rolled back, and the others commit.
func TestPanicInABatchStaysWithItsCaller(t *testing.T) {
	storetest.Each(t, testPanicInABatchStaysWithItsCaller)
}

func testPanicInABatchStaysWithItsCaller(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	release, _ := holdWriter(t, s)
	var wg sync.WaitGroup
	var recovered any
	var otherErr error
	wg.Go(func() {
		defer func() { recovered = recover() }()
		_ = s.InTx(context.Background(), func(tx *store.Tx) error {
			if err := tx.EnqueueMessage(newMessage("panicked", t0)); err != nil {
				return err
			}
			panic("boom")
		})
	})
	wg.Go(func() {
		otherErr = s.InTx(context.Background(), func(tx *store.Tx) error {
			return tx.EnqueueMessage(newMessage("other", t0))
		})
	})
	waitQueued(t, s, 2)
	release()
	wg.Wait()
	if recovered != "boom" {
		t.Errorf("the caller recovered %v, want the panic", recovered)
	}
	got := countMessages(t, s)
	if otherErr != nil || !got["other"] || got["panicked"] {
		t.Errorf("other: %v, rows %v", otherErr, got)
	}
}

// A transaction whose caller gave up before it started never runs.
func TestCancelledBeforeItStartsNeverRuns(t *testing.T) {
	storetest.Each(t, testCancelledBeforeItStartsNeverRuns)
}

func testCancelledBeforeItStartsNeverRuns(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	release, _ := holdWriter(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- s.InTx(ctx, func(tx *store.Tx) error { return tx.EnqueueMessage(newMessage("late", t0)) })
	}()
	waitQueued(t, s, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	release()
	if got := countMessages(t, s); got["late"] {
		t.Error("a cancelled transaction ran")
	}
}

// After Close, InTx answers with an error instead of waiting forever.
func TestInTxAfterClose(t *testing.T) { storetest.Each(t, testInTxAfterClose) }

func testInTxAfterClose(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	s.Close()
	if err := s.InTx(context.Background(), func(*store.Tx) error { return nil }); err == nil {
		t.Error("InTx after Close succeeded")
	}
}

// AfterCommit functions run once the transaction is committed, and only
// then: in a batch, the transactions that failed (and a read that failed)
// never run theirs, and what a function sees of the store includes its
// transaction's writes.
func TestAfterCommitRunsOnlyOnceCommitted(t *testing.T) {
	storetest.Each(t, testAfterCommitRunsOnlyOnceCommitted)
}

func testAfterCommitRunsOnlyOnceCommitted(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	release, _ := holdWriter(t, s)
	const n = 12
	var ran [n]atomic.Int32
	var sawRow [n]bool
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.InTx(context.Background(), func(tx *store.Tx) error {
				id := fmt.Sprintf("after%d", i)
				if err := tx.EnqueueMessage(newMessage(id, t0)); err != nil {
					return err
				}
				tx.AfterCommit(func() {
					ran[i].Add(1)
					sawRow[i] = countMessages(t, s)[id]
				})
				if i%4 == 0 {
					return fmt.Errorf("refused %d", i)
				}
				return nil
			})
		})
	}
	waitQueued(t, s, n)
	release()
	wg.Wait()
	for i := range n {
		committed := i%4 != 0
		if (errs[i] == nil) != committed {
			t.Fatalf("transaction %d: err %v", i, errs[i])
		}
		want := int32(0)
		if committed {
			want = 1
		}
		if got := ran[i].Load(); got != want {
			t.Errorf("transaction %d (committed %v): its AfterCommit ran %d times, want %d", i, committed, got, want)
		}
		if committed && !sawRow[i] {
			t.Errorf("transaction %d: its AfterCommit ran before its row could be read", i)
		}
	}
	var readRan int
	readErr := s.ReadTx(context.Background(), func(tx *store.Tx) error {
		tx.AfterCommit(func() { readRan++ })
		return errors.New("a failed read")
	})
	if readErr == nil || readRan != 0 {
		t.Errorf("a failed read ran its AfterCommit (%d times, err %v)", readRan, readErr)
	}
}

// The audit chain stays whole across a batch: transactions that append
// once or twice, that append and then fail or panic (the last of the batch
// among them), and that read the head back in the middle of the batch
// (which must see the head their own append set, and the newest row's
// hash), all share one commit; the chain then verifies with exactly the
// committed events. The batch keeps the chain's end itself (auditTail),
// so this is what guards that bookkeeping.
func TestAuditChainAcrossABatch(t *testing.T) {
	storetest.Each(t, testAuditChainAcrossABatch)
}

func testAuditChainAcrossABatch(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	chain := audit.NewChain([]byte("batch test key"))
	release, _ := holdWriter(t, s)
	const n = 32
	errs := make([]error, n)
	appended := make([]int, n)
	var wg sync.WaitGroup
	run := func(i int) {
		defer func() {
			if v := recover(); v != nil && v != "boom" {
				t.Errorf("transaction %d panicked: %v", i, v)
			}
		}()
		errs[i] = s.InTx(context.Background(), func(tx *store.Tx) error {
			ev := func(k int) audit.Event {
				return audit.Event{At: t0, Event: "test.batch", Flow: fmt.Sprintf("t%d-%d", i, k), Outcome: audit.Success}
			}
			appended[i] = 0
			if err := chain.Append(tx, ev(0)); err != nil {
				return err
			}
			appended[i]++
			switch i % 5 {
			case 0:
				if err := chain.Append(tx, ev(1)); err != nil {
					return err
				}
				appended[i]++
			case 1:
				return fmt.Errorf("refused %d", i)
			case 2:
				head, ok, err := tx.GetAuditHead()
				if err != nil || !ok {
					return fmt.Errorf("reading the head: %v, %v", ok, err)
				}
				last, err := tx.LastAuditHash()
				if err != nil {
					return err
				}
				if !bytes.Equal(head.Hash, last) {
					return fmt.Errorf("transaction %d: head %x, newest row %x", i, head.Hash, last)
				}
			case 3:
				panic("boom")
			}
			return nil
		})
	}
	for i := range n - 1 {
		wg.Go(func() { run(i) })
	}
	// The last to queue appends and fails: the batch's last transaction
	// is rolled back, and the head written before COMMIT must be the one
	// before it.
	waitQueued(t, s, n-1)
	wg.Go(func() { run(n - 1) })
	waitQueued(t, s, n)
	c0, _ := store.Commits(s)
	release()
	wg.Wait()
	if c1, _ := store.Commits(s); c1-c0 != 2 {
		t.Fatalf("%d commits, want 2 (the held transaction, then one batch)", c1-c0)
	}
	want := 0
	for i := range n {
		// n-1 is refused too (31 % 5 == 1); 3 panics, so errs has nil.
		failed := i%5 == 1 || i%5 == 3
		if i%5 != 3 && (errs[i] != nil) != failed {
			t.Errorf("transaction %d: err %v, want failure %v", i, errs[i], failed)
		}
		if !failed {
			want += appended[i]
		}
	}
	got, err := chain.Verify(context.Background(), s)
	if err != nil || got != want {
		t.Fatalf("Verify = %d, %v; want %d records", got, err, want)
	}
}
