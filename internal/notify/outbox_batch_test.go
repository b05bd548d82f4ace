package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
	"github.com/sspr/sspr/internal/testenv/testclock"
)

// senderFunc adapts a function to notify.Sender.
type senderFunc func(ctx context.Context, m *store.Message) error

func (f senderFunc) Send(ctx context.Context, m *store.Message) error { return f(ctx, m) }

// A worker claims several due messages at once and sends each exactly once;
// one that shuts down half-way through what it claimed hands the rest back
// at once, without counting an attempt, instead of leaving them hidden for
// a whole lease.
func TestClaimedBatchIsSentOrHandedBack(t *testing.T) {
	storetest.Each(t, testClaimedBatchIsSentOrHandedBack)
}

func testClaimedBatchIsSentOrHandedBack(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	clk := testclock.New(t0)
	ids := enqueue(t, s, t0, "a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com")
	ctx, cancel := context.WithCancel(context.Background())
	var sent []string
	w := worker(s, senderFunc(func(_ context.Context, m *store.Message) error {
		sent = append(sent, m.Recipient)
		if len(sent) == 2 {
			cancel() // shutting down while the worker holds five claims
		}
		return nil
	}), clk, 5)
	w.ClaimBatch = 8
	if _, err := w.RunOnce(ctx); err == nil {
		t.Fatal("RunOnce after shutdown reported no error")
	}
	if len(sent) != 2 {
		t.Fatalf("sent %v after the shutdown began, want the two sent before it", sent)
	}
	for i, id := range ids {
		m := load(t, s, id)
		if i < 2 {
			if m.SentAt.IsZero() {
				t.Errorf("message %d was sent but is not recorded as sent", i)
			}
			continue
		}
		if !m.SentAt.IsZero() || m.Attempts != 0 || m.ClaimInstance != "" || m.NextAttemptAt.After(clk.Now()) {
			t.Errorf("untried message %d: sent %v, attempts %d, claim %q, due %v; want handed back, due now, no attempt",
				i, m.SentAt, m.Attempts, m.ClaimInstance, m.NextAttemptAt)
		}
	}
	// The next worker sends the rest, each once.
	sent = nil
	w2 := worker(s, senderFunc(func(_ context.Context, m *store.Message) error { sent = append(sent, m.Recipient); return nil }), clk, 5)
	if n := runOnce(t, w2); n != 3 || len(sent) != 3 {
		t.Errorf("the next round sent %d (%v), want the 3 handed back", n, sent)
	}
}

// ClaimDue takes at most its limit, urgent messages first.
func TestClaimDueTakesAtMostItsLimitUrgentFirst(t *testing.T) {
	storetest.Each(t, testClaimDueTakesAtMostItsLimitUrgentFirst)
}

func testClaimDueTakesAtMostItsLimitUrgentFirst(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	enqueue(t, s, t0.Add(-time.Minute), "n1@example.com", "n2@example.com", "n3@example.com")
	var code *store.Message
	if err := s.InTx(context.Background(), func(tx *store.Tx) error {
		code = &store.Message{CreatedAt: t0, Kind: "reset_code", Recipient: "code@example.com", Subject: "s", TextBody: "t",
			MessageID: "<code@example.com>", NextAttemptAt: t0, Urgent: true}
		return tx.EnqueueMessage(code)
	}); err != nil {
		t.Fatal(err)
	}
	var got []*store.Message
	if err := s.InTx(context.Background(), func(tx *store.Tx) (err error) {
		got, err = tx.ClaimDue(t0, t0.Add(time.Minute), "n", "i", 2)
		return
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != code.ID || got[0].Subject != "s" || got[1].Recipient != "n1@example.com" {
		t.Errorf("claimed %+v, want the code and then the oldest notice", got)
	}
}
