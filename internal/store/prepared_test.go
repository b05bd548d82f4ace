package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

func TestReadTxReadsAndCannotWrite(t *testing.T) { storetest.Each(t, testReadTxReadsAndCannotWrite) }

func testReadTxReadsAndCannotWrite(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	inTx(t, s, func(tx *store.Tx) error { return tx.InsertFlow(newFlow("r1", t0.Add(time.Hour))) })
	err := s.ReadTx(context.Background(), func(tx *store.Tx) error {
		f, err := tx.FlowByTokenHash([]byte("r1"))
		if err != nil {
			return err
		}
		if f.Login != "jane" {
			t.Errorf("read flow of %q, want jane", f.Login)
		}
		if err := tx.InsertFlow(newFlow("r2", t0.Add(time.Hour))); err == nil {
			t.Error("a write in ReadTx succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	inTx(t, s, func(tx *store.Tx) error {
		if _, err := tx.FlowByTokenHash([]byte("r2")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the flow written in ReadTx: err = %v, want ErrNotFound", err)
		}
		return nil
	})
	// fn's error comes back as it is.
	boom := errors.New("boom")
	if err := s.ReadTx(context.Background(), func(*store.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("ReadTx = %v, want fn's error", err)
	}
}

// ReadOne runs its one statement, prepared or not, outside any
// transaction, and sees what was committed; a second statement panics,
// since it would see another snapshot; fn's error comes back as it is.
func TestReadOneRunsOneStatement(t *testing.T) { storetest.Each(t, testReadOneRunsOneStatement) }

func testReadOneRunsOneStatement(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	inTx(t, s, func(tx *store.Tx) error { return tx.InsertFlow(newFlow("o1", t0.Add(time.Hour))) })
	// Three times: the first runs the statement unprepared, the later
	// ones through the statement the next ReadOne prepared.
	for range 3 {
		err := s.ReadOne(context.Background(), func(tx *store.Tx) error {
			f, err := tx.FlowByTokenHash([]byte("o1"))
			if err == nil && f.Login != "jane" {
				t.Errorf("read flow of %q, want jane", f.Login)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ReadOne(context.Background(), func(tx *store.Tx) error {
		_, err := tx.FlowByTokenHash([]byte("nobody"))
		return err
	}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReadOne of a missing flow = %v, want ErrNotFound", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a second statement in ReadOne did not panic")
			}
		}()
		_ = s.ReadOne(context.Background(), func(tx *store.Tx) error {
			if _, err := tx.FlowByTokenHash([]byte("o1")); err != nil {
				return err
			}
			_, err := tx.Enrollments("dir", "cn=o1")
			return err
		})
	}()
	boom := errors.New("boom")
	if err := s.ReadOne(context.Background(), func(*store.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("ReadOne = %v, want fn's error", err)
	}
}

// TestReadTxDoesNotQueueBehindTheWriter: while a writing transaction is
// open (and has written), a ReadTx still runs, and sees the last committed
// state, not the writer's uncommitted one. With a single connection for
// everything the reader would wait for the writer, which waits for the
// reader: the writer gives up after a while and the test fails.
func TestReadTxDoesNotQueueBehindTheWriter(t *testing.T) {
	storetest.Each(t, testReadTxDoesNotQueueBehindTheWriter)
}

func testReadTxDoesNotQueueBehindTheWriter(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	inTx(t, s, func(tx *store.Tx) error { return tx.InsertFlow(newFlow("w1", t0.Add(time.Hour))) })
	written, readDone := make(chan struct{}), make(chan error, 1)
	go func() {
		<-written
		readDone <- s.ReadTx(context.Background(), func(tx *store.Tx) error {
			f, err := tx.FlowByTokenHash([]byte("w1"))
			if err == nil && f.State != "identified" {
				err = fmt.Errorf("the reader saw state %q, an uncommitted write", f.State)
			}
			return err
		})
	}()
	inTx(t, s, func(tx *store.Tx) error {
		f, err := tx.FlowByTokenHash([]byte("w1"))
		if err != nil {
			return err
		}
		f.State = "challenged"
		if err := tx.UpdateFlow(f); err != nil {
			return err
		}
		close(written)
		select {
		case err := <-readDone:
			if err != nil {
				t.Errorf("ReadTx beside an open writer: %v", err)
			}
		case <-time.After(30 * time.Second): // only a deadlock breaker
			t.Error("ReadTx waited for the open writing transaction")
		}
		return nil
	})
}

// TestStatementsArePreparedOnce: a statement run in one transaction is
// prepared before the next begins, and then reused, with the same results;
// a script of several statements is never kept.
func TestStatementsArePreparedOnce(t *testing.T) { storetest.Each(t, testStatementsArePreparedOnce) }

func testStatementsArePreparedOnce(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	before := store.PreparedStatements(s)
	for i := range 5 {
		inTx(t, s, func(tx *store.Tx) error {
			if err := tx.InsertFlow(newFlow(fmt.Sprint("p", i), t0.Add(time.Hour))); err != nil {
				return err
			}
			f, err := tx.FlowByTokenHash([]byte(fmt.Sprint("p", i)))
			if err != nil {
				return err
			}
			f.State = "challenged"
			return tx.UpdateFlow(f)
		})
	}
	after := store.PreparedStatements(s)
	if got := after - before; got != 3 { // insert, select, update
		t.Errorf("%d statements prepared by five transactions running three, want 3", got)
	}
	inTx(t, s, func(tx *store.Tx) error {
		for i := range 5 {
			f, err := tx.FlowByTokenHash([]byte(fmt.Sprint("p", i)))
			if err != nil {
				return err
			}
			if f.State != "challenged" || f.Version != 1 {
				t.Errorf("flow p%d: state %q version %d, want challenged 1", i, f.State, f.Version)
			}
		}
		return nil
	})
	if got := store.PreparedStatements(s); got != after {
		t.Errorf("running prepared statements again prepared %d more", got-after)
	}
	if store.IsPrepared(s, "CREATE TABLE x (a); CREATE TABLE y (b)") {
		t.Error("a script was kept as a prepared statement")
	}
}

// TestHotMultiRowReadsArePrepared: the reads every flow step makes that
// return rows (a limiter's buckets, a person's enrollments, the outbox
// claim) are parsed once, not on every call; they parsed the SQL each time
// before (issue 10: SQLite prepared on every limiter check and mail claim).
func TestHotMultiRowReadsArePrepared(t *testing.T) {
	storetest.Each(t, testHotMultiRowReadsArePrepared)
}

func testHotMultiRowReadsArePrepared(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	hot := func(tx *store.Tx) error {
		if _, err := tx.AbuseBuckets("identify_ip", "k", t0.Add(-time.Hour)); err != nil {
			return err
		}
		if _, err := tx.Enrollments("corp", "uid=jane"); err != nil {
			return err
		}
		_, err := tx.ClaimNext(t0, t0.Add(time.Minute), "n", "i")
		return err
	}
	c0 := store.PreparedStatements(s)
	inTx(t, s, hot)                                  // seen: prepared before the next transaction
	inTx(t, s, func(*store.Tx) error { return nil }) // prepares them
	c1 := store.PreparedStatements(s)
	if got := c1 - c0; got != 3 {
		t.Errorf("%d statements prepared after running the 3 hot reads, want 3", got)
	}
	for range 3 {
		inTx(t, s, hot)
	}
	if got := store.PreparedStatements(s) - c1; got != 0 {
		t.Errorf("%d statements prepared anew on later runs", got)
	}
	// They still answer: a count in a bucket, a claimed message.
	inTx(t, s, func(tx *store.Tx) error {
		if err := tx.AddAbuseCount("identify_ip", "k", t0, t0.Add(time.Hour)); err != nil {
			return err
		}
		if err := tx.EnqueueMessage(&store.Message{Kind: "code", Channel: "email", Recipient: "a@b", MessageID: "<m1@x>", NextAttemptAt: t0}); err != nil {
			return err
		}
		return nil
	})
	inTx(t, s, func(tx *store.Tx) error {
		bs, err := tx.AbuseBuckets("identify_ip", "k", t0.Add(-time.Hour))
		if err != nil || len(bs) != 1 || bs[0].Count != 1 {
			t.Errorf("buckets = %v, %v; want one with a count of 1", bs, err)
		}
		m, err := tx.ClaimNext(t0, t0.Add(time.Minute), "n", "i")
		if err != nil || m == nil || m.Recipient != "a@b" || m.Attempts != 1 || m.ClaimNode != "n" {
			t.Errorf("claimed %+v, %v; want the message, one attempt, claimed by n", m, err)
		}
		return nil
	})
}
