package store_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// roundTripCounter is a TCP proxy in front of PostgreSQL that counts the
// server's ReadyForQuery messages: one per round trip the client waited
// for (the end of a simple query, or of an extended-protocol Sync).
type roundTripCounter struct {
	ln    net.Listener
	ready atomic.Int64
	wg    sync.WaitGroup
}

func newRoundTripCounter(t *testing.T, server string) *roundTripCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &roundTripCounter{ln: ln}
	c.wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", server)
			if err != nil {
				client.Close()
				continue
			}
			c.wg.Go(func() { _, _ = io.Copy(up, client); up.Close() })
			c.wg.Go(func() { c.relay(client, up); client.Close() })
		}
	})
	t.Cleanup(func() { ln.Close(); c.wg.Wait() })
	return c
}

// relay copies the server's messages to the client, counting
// ReadyForQuery ('Z'). Without TLS (sslmode=disable) every server message
// is a type byte and a length.
func (c *roundTripCounter) relay(client, server net.Conn) {
	head := make([]byte, 5)
	for {
		if _, err := io.ReadFull(server, head); err != nil {
			return
		}
		body := make([]byte, int(binary.BigEndian.Uint32(head[1:]))-4)
		if _, err := io.ReadFull(server, body); err != nil {
			return
		}
		if head[0] == 'Z' {
			c.ready.Add(1)
		}
		if _, err := client.Write(append(head, body...)); err != nil {
			return
		}
	}
}

// openCounted opens a store on a new PostgreSQL database through a
// roundTripCounter.
func openCounted(t *testing.T) (*store.Store, *roundTripCounter) {
	t.Helper()
	dsn, err := url.Parse(storetest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	counter := newRoundTripCounter(t, dsn.Host)
	dsn.Host = counter.ln.Addr().String()
	q := dsn.Query()
	q.Set("sslmode", "disable")
	dsn.RawQuery = q.Encode()
	s, err := store.Open(context.Background(), "postgres", dsn.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, counter
}

// TestWritingTransactionRoundTrips: on PostgreSQL a writing transaction
// opens, takes the write lock and (in a batch) opens its first savepoint
// in one round trip, where database/sql's BEGIN, the lock and the
// savepoint took three (issue 14: every reset makes 7–8 writing
// transactions).
func TestWritingTransactionRoundTrips(t *testing.T) {
	storetest.Each(t, func(t *testing.T) {
		if storetest.Engine(t) != "postgres" {
			t.Skip("counts PostgreSQL's round trips")
		}
		testWritingTransactionRoundTrips(t)
	})
}

func testWritingTransactionRoundTrips(t *testing.T) {
	s, counter := openCounted(t)

	n := 0
	insert := func() error {
		return s.InTx(context.Background(), func(tx *store.Tx) error {
			n++
			return tx.InsertFlow(newFlow(fmt.Sprint("rt", n), t0.Add(time.Hour)))
		})
	}
	// The first run prepares the INSERT on the writer's connection.
	if err := insert(); err != nil {
		t.Fatal(err)
	}
	before := counter.ready.Load()
	if err := insert(); err != nil {
		t.Fatal(err)
	}
	// BEGIN with the lock, the INSERT, COMMIT.
	if got := counter.ready.Load() - before; got != 3 {
		t.Errorf("a transaction of one statement took %d round trips, want 3", got)
	}

	// Three transactions meeting in one batch.
	release, _ := holdWriter(t, s)
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- insert() }()
	}
	waitQueued(t, s, 3)
	before = counter.ready.Load()
	release() // the held transaction's COMMIT, then the batch
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// The held COMMIT; BEGIN with the lock and the first savepoint; three
	// INSERTs; two savepoints released and opened again; COMMIT.
	if got := counter.ready.Load() - before; got != 8 {
		t.Errorf("the held transaction's end and a batch of three took %d round trips, want 8", got)
	}
	err := s.ReadTx(context.Background(), func(tx *store.Tx) error {
		for i := 1; i <= 5; i++ {
			if _, err := tx.FlowByTokenHash([]byte(fmt.Sprint("rt", i))); err != nil {
				return fmt.Errorf("flow rt%d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// TestWriterSurvivesALostConnection: the writer keeps one connection to
// PostgreSQL between transactions (beginBatch); when the server ends it
// (a restart, an administrator, a proxy's idle timeout), the next
// transaction begins on a fresh one instead of failing.
func TestWriterSurvivesALostConnection(t *testing.T) {
	storetest.Each(t, func(t *testing.T) {
		if storetest.Engine(t) != "postgres" {
			t.Skip("ends PostgreSQL's connections")
		}
		dsn := storetest.NewDatabase(t)
		s, err := store.Open(context.Background(), "postgres", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		for i := range 3 {
			if err := s.InTx(context.Background(), func(tx *store.Tx) error {
				return tx.InsertFlow(newFlow(fmt.Sprint("lost", i), t0.Add(time.Hour)))
			}); err != nil {
				t.Fatalf("transaction %d: %v", i, err)
			}
			admin, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			var ended int
			err = admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&ended)
			admin.Close()
			if err != nil || ended == 0 {
				t.Fatalf("ending the store's connections: %d ended, %v", ended, err)
			}
		}
	})
}

// TestSwallowedFailureIsNotCommitted: on PostgreSQL a failed statement
// aborts its transaction, and COMMIT then rolls back while the protocol
// reports success. A transaction that ignored a failed statement must not
// be told it committed (pgBatch.Commit).
func TestSwallowedFailureIsNotCommitted(t *testing.T) {
	storetest.Each(t, func(t *testing.T) {
		if storetest.Engine(t) != "postgres" {
			t.Skip("SQLite does not abort a transaction on a failed statement")
		}
		s, _ := open(t)
		inTx(t, s, func(tx *store.Tx) error { return tx.InsertFlow(newFlow("taken", t0.Add(time.Hour))) })
		err := s.InTx(context.Background(), func(tx *store.Tx) error {
			if err := tx.InsertFlow(newFlow("fresh", t0.Add(time.Hour))); err != nil {
				return err
			}
			_ = tx.InsertFlow(newFlow("taken", t0.Add(time.Hour))) // fails: the token exists
			return nil
		})
		if err == nil {
			t.Error("a transaction with a failed statement reported a commit")
		}
		err = s.ReadTx(context.Background(), func(tx *store.Tx) error {
			_, err := tx.FlowByTokenHash([]byte("fresh"))
			return err
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the rolled-back transaction's flow: %v, want not found", err)
		}
		// The writer goes on.
		inTx(t, s, func(tx *store.Tx) error { return tx.InsertFlow(newFlow("after", t0.Add(time.Hour))) })
	})
}

// TestClaimsBesideTheWriter: an outbox claim and a delivery's record go
// through WriteOne. On PostgreSQL that is one round trip each, made while
// the writer is busy (they do not queue behind it or take the write lock).
// On either engine workers claiming at once never get the same message.
func TestClaimsBesideTheWriter(t *testing.T) { storetest.Each(t, testClaimsBesideTheWriter) }

func testClaimsBesideTheWriter(t *testing.T) {
	t.Parallel()
	const messages, workers = 60, 6
	s, _ := open(t)
	inTx(t, s, func(tx *store.Tx) error {
		for i := range messages {
			if err := tx.EnqueueMessage(newMessage(fmt.Sprintf("m%02d@example.com", i), t0)); err != nil {
				return err
			}
		}
		return nil
	})
	var mu sync.Mutex
	claims := map[int64]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				var got []*store.Message
				err := s.WriteOne(context.Background(), func(tx *store.Tx) error {
					var err error
					got, err = tx.ClaimDue(t0, t0.Add(time.Hour), "node", fmt.Sprint("w", w), 3)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					claims[m.ID]++
				}
				mu.Unlock()
				for _, m := range got {
					if err := s.WriteOne(context.Background(), func(tx *store.Tx) error { return tx.MarkSent(m.ID, t0) }); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(claims) != messages {
		t.Errorf("%d messages claimed, want %d", len(claims), messages)
	}
	for id, n := range claims {
		if n != 1 {
			t.Errorf("message %d claimed %d times", id, n)
		}
	}
	inTx(t, s, func(tx *store.Tx) error {
		due, err := tx.DueMessages(t0.Add(2*time.Hour), messages)
		if len(due) != 0 {
			t.Errorf("%d messages still due after every one was marked sent", len(due))
		}
		return err
	})
	if storetest.Engine(t) != "postgres" {
		return
	}

	// Beside a busy writer, one round trip each.
	ps, counter := openCounted(t)
	inTx(t, ps, func(tx *store.Tx) error { return tx.EnqueueMessage(newMessage("busy@example.com", t0)) })
	claimAndMark := func() (int, error) {
		var got []*store.Message
		if err := ps.WriteOne(context.Background(), func(tx *store.Tx) error {
			var err error
			got, err = tx.ClaimDue(t0, t0.Add(time.Hour), "node", "i", 3)
			return err
		}); err != nil || len(got) == 0 {
			return len(got), err
		}
		return len(got), ps.WriteOne(context.Background(), func(tx *store.Tx) error { return tx.MarkSent(got[0].ID, t0) })
	}
	// Once to have both statements prepared on a connection of the pool.
	if n, err := claimAndMark(); n != 1 || err != nil {
		t.Fatalf("claimed %d, %v", n, err)
	}
	inTx(t, ps, func(tx *store.Tx) error { return tx.EnqueueMessage(newMessage("busy2@example.com", t0)) })
	release, _ := holdWriter(t, ps)
	defer release()
	before := counter.ready.Load()
	done := make(chan error, 1)
	go func() {
		n, err := claimAndMark()
		if err == nil && n != 1 {
			err = fmt.Errorf("claimed %d messages, want 1", n)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second): // only a deadlock breaker
		t.Fatal("a claim waited for the busy writer")
	}
	if got := counter.ready.Load() - before; got != 2 {
		t.Errorf("a claim and its record took %d round trips, want 2", got)
	}
}
