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
	err = s.ReadTx(context.Background(), func(tx *store.Tx) error {
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
