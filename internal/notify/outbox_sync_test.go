package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// waitError is a receiver asking for a wait (HTTP Retry-After).
type waitError struct{ d time.Duration }

func (e waitError) Error() string             { return "throttled" }
func (e waitError) RetryAfter() time.Duration { return e.d }

type recordingSender struct {
	got []*store.Message
	err error
}

func (r *recordingSender) Send(_ context.Context, m *store.Message) error {
	r.got = append(r.got, m)
	return r.err
}

// Channel "sync" goes to the Sync sender, not the mail sender; a wait the
// receiver names outlasts the worker's own backoff, and a shorter one
// does not shorten it.
func TestSyncChannelAndRetryAfter(t *testing.T) { storetest.Each(t, testSyncChannelAndRetryAfter) }

func testSyncChannelAndRetryAfter(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	clk := testclock.New(t0)
	mailSnd, syncSnd := &recordingSender{}, &recordingSender{err: waitError{5 * time.Minute}}
	w := worker(s, mailSnd, clk, 5)
	w.Sync = syncSnd
	var id int64
	err := s.InTx(context.Background(), func(tx *store.Tx) error {
		m := &store.Message{CreatedAt: t0, Kind: "sync.password", Channel: "sync", Recipient: "m365", Subject: "{}",
			TextBody: "pw", MessageID: "<s1@sspr>", NextAttemptAt: t0}
		err := tx.EnqueueMessage(m)
		id = m.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	runOnce(t, w)
	if len(mailSnd.got) != 0 || len(syncSnd.got) != 1 {
		t.Fatalf("mail sender got %d, sync sender %d", len(mailSnd.got), len(syncSnd.got))
	}
	if m := load(t, s, id); !m.NextAttemptAt.Equal(t0.Add(5 * time.Minute)) {
		t.Fatalf("next attempt %v, want the 5 minutes asked for", m.NextAttemptAt)
	}
	clk.Set(t0.Add(5 * time.Minute))
	syncSnd.err = waitError{time.Millisecond}
	runOnce(t, w)
	if m := load(t, s, id); !m.NextAttemptAt.Equal(t0.Add(5*time.Minute + 2*time.Second)) {
		t.Fatalf("next attempt %v, want the worker's own 2 s backoff", m.NextAttemptAt)
	}
	var _ notify.Sender = syncSnd
}
