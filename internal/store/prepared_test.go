package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
)

func TestReadTxReadsAndCannotWrite(t *testing.T) {
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

// TestReadTxDoesNotQueueBehindTheWriter: while a writing transaction is
// open (and has written), a ReadTx still runs, and sees the last committed
// state, not the writer's uncommitted one. With a single connection for
// everything the reader would wait for the writer, which waits for the
// reader: the writer gives up after a while and the test fails.
func TestReadTxDoesNotQueueBehindTheWriter(t *testing.T) {
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
func TestStatementsArePreparedOnce(t *testing.T) {
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

// BenchmarkFlowMix runs what a flow step does to the store, from parallel
// goroutines: a read of the flow (ReadTx, as a status page does), then a
// writing transaction that loads the flow, updates it, queues a mail and
// appends an audit row after reading the chain's head.
func BenchmarkFlowMix(b *testing.B) {
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, b.TempDir()+"/sspr.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const flows = 1000
	err = s.InTx(ctx, func(tx *store.Tx) error {
		for i := range flows {
			if err := tx.InsertFlow(newFlow(fmt.Sprint("bench-", i), t0.Add(time.Hour))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			token := []byte(fmt.Sprint("bench-", next.Add(1)%flows))
			err := s.ReadTx(ctx, func(tx *store.Tx) error {
				_, err := tx.FlowByTokenHash(token)
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
			err = s.InTx(ctx, func(tx *store.Tx) error {
				f, err := tx.FlowByTokenHash(token)
				if err != nil {
					return err
				}
				f.Attempts++
				if err := tx.UpdateFlow(f); err != nil {
					return err
				}
				if err := tx.EnqueueMessage(&store.Message{CreatedAt: t0, Kind: "reset_code", Recipient: "jane@example.com",
					Subject: "Your code", TextBody: "12345678", NextAttemptAt: t0}); err != nil {
					return err
				}
				head, _, err := tx.GetAuditHead()
				if err != nil {
					return err
				}
				r := &store.AuditRecord{At: t0, Event: "reset.verify", Actor: "jane", Outcome: "success", PrevHash: append([]byte{0}, head.Hash...), Hash: []byte("h")}
				if err := tx.InsertAudit(r); err != nil {
					return err
				}
				return tx.SetAuditHead(store.AuditHead{LastID: r.ID, Hash: r.Hash, MAC: []byte("m")})
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
