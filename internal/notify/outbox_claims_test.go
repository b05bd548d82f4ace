package notify_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
	"github.com/sspr/sspr/internal/testenv/testclock"
)

// countingStore counts the writes a worker asks for: each one is a commit
// (SQLite) or, on PostgreSQL, a transaction under the write lock (InTx)
// or one statement beside it (WriteOne).
type countingStore struct {
	*store.Store
	txs, ones atomic.Int32
}

func (c *countingStore) InTx(ctx context.Context, fn func(*store.Tx) error) error {
	c.txs.Add(1)
	return c.Store.InTx(ctx, fn)
}

func (c *countingStore) WriteOne(ctx context.Context, fn func(*store.Tx) error) error {
	c.ones.Add(1)
	return c.Store.WriteOne(ctx, fn)
}

// recipientSender accepts every message except those to fail, which it
// answers with a temporary error.
type recipientSender struct {
	fail string
	sent atomic.Int32
}

func (s *recipientSender) Send(ctx context.Context, m *store.Message) error {
	if m.Recipient == s.fail {
		return errors.New("451 try again later")
	}
	s.sent.Add(1)
	return nil
}

// TestRoundEndsAfterAShortClaim: a round that claimed fewer messages than
// ClaimBatch took everything due, so it does not claim again only to find
// nothing — under load that empty claim was half of all claims, each a
// writing transaction. A full claim is followed by another, and failures
// are recorded with one.
func TestRoundEndsAfterAShortClaim(t *testing.T) { storetest.Each(t, testRoundEndsAfterAShortClaim) }

func testRoundEndsAfterAShortClaim(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		messages int
		batch    int
		fail     bool
		sent     int32
		// writes are all the round's writes; inTx those that are
		// transactions of the writer (the others are WriteOne: a claim
		// alone, a delivery's record).
		writes, inTx int32
	}{
		// One claim of 3, and a record per message.
		{name: "short", messages: 3, batch: 8, sent: 3, writes: 1 + 3},
		// Full claims (4, 4) are followed by a claim that finds nothing.
		{name: "full", messages: 8, batch: 4, sent: 8, writes: 3 + 8},
		// A claim of 3 (one fails), a record per sent message, and the
		// failure recorded in a transaction with a claim, which finds
		// nothing due yet.
		{name: "failure", messages: 3, batch: 8, fail: true, sent: 2, writes: 1 + 2 + 1, inTx: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &countingStore{Store: openStore(t, "")}
			var recipients []string
			for i := range c.messages {
				recipients = append(recipients, string(rune('a'+i))+"@example.com")
			}
			ids := enqueue(t, s.Store, t0, recipients...)
			snd := &recipientSender{}
			if c.fail {
				snd.fail = recipients[1]
			}
			w := worker(s, snd, testclock.New(t0), 5)
			w.ClaimBatch = c.batch
			n, err := w.RunOnce(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if int32(n) != c.sent || snd.sent.Load() != c.sent {
				t.Errorf("RunOnce reports %d sent, the relay took %d; want %d", n, snd.sent.Load(), c.sent)
			}
			if got := s.txs.Load() + s.ones.Load(); got != c.writes {
				t.Errorf("the round wrote %d times, want %d", got, c.writes)
			}
			if got := s.txs.Load(); got != c.inTx {
				t.Errorf("the round used %d transactions of the writer, want %d", got, c.inTx)
			}
			for i, id := range ids {
				m := load(t, s.Store, id)
				failed := c.fail && i == 1
				if m.SentAt.IsZero() != failed || m.Attempts != 1 {
					t.Errorf("message to %s after the round: sent %v, attempts %d, last error %q", m.Recipient, m.SentAt, m.Attempts, m.LastError)
				}
				if failed && m.LastError == "" {
					t.Errorf("the failed message's error was not recorded")
				}
			}
		})
	}
}

var _ notify.OutboxStore = (*countingStore)(nil)
