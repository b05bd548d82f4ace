package notify_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/mail"
	"github.com/sspr/sspr/internal/mailsink"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	if path == "" {
		_, path = storetest.Target(t) // a SQLite file or a PostgreSQL database of its own
	}
	s, err := storetest.Reopen(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func enqueue(t *testing.T, s *store.Store, due time.Time, recipients ...string) []int64 {
	t.Helper()
	var ids []int64
	err := s.InTx(context.Background(), func(tx *store.Tx) error {
		for i, to := range recipients {
			m := &store.Message{CreatedAt: t0, Kind: "reset.code", Recipient: to, Subject: "Your code",
				TextBody: "Your code is 12345678.\n", HTMLBody: "<p>12345678</p>",
				MessageID: fmt.Sprintf("<m%d-%d@example.com>", due.UnixMilli(), i), NextAttemptAt: due}
			if err := tx.EnqueueMessage(m); err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func load(t *testing.T, s *store.Store, id int64) *store.Message {
	t.Helper()
	var all []*store.Message
	if err := s.InTx(context.Background(), func(tx *store.Tx) (err error) { all, err = tx.Messages(1000); return }); err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("message %d not in the outbox", id)
	return nil
}

func startSink(t *testing.T, addr string) *mailsink.Sink {
	t.Helper()
	s, err := mailsink.Start(addr, mailsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func smtpSender(t *testing.T, addr string) *mail.SMTPSender {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	s, err := mail.NewSMTPSender(mail.Config{Host: host, Port: p, Security: mail.None, From: "Password reset <noreply@example.com>", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func worker(s notify.OutboxStore, snd notify.Sender, clk *testclock.Clock, maxAttempts int) *notify.Worker {
	return &notify.Worker{
		Store: s, Sender: snd, Log: quiet, Now: clk.Now, PollInterval: time.Hour,
		MaxAttempts: maxAttempts, InitialBackoff: time.Second, MaxBackoff: 8 * time.Second, Lease: time.Minute,
		SentRetention: time.Hour, Node: "node-a",
	}
}

func runOnce(t *testing.T, w *notify.Worker) int {
	t.Helper()
	n, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDueMessageDeliveredOnce(t *testing.T) { storetest.Each(t, testDueMessageDeliveredOnce) }

func testDueMessageDeliveredOnce(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	sink := startSink(t, "")
	clk := testclock.New(t0)
	w := worker(s, smtpSender(t, sink.Addr()), clk, 5)
	now := enqueue(t, s, t0, "a@example.com")
	later := enqueue(t, s, t0.Add(time.Hour), "b@example.com")

	if n := runOnce(t, w); n != 1 {
		t.Fatalf("RunOnce sent %d, want 1", n)
	}
	if n := runOnce(t, w); n != 0 {
		t.Fatalf("second RunOnce sent %d, want 0", n)
	}
	got := sink.Messages()
	if len(got) != 1 || got[0].To[0] != "a@example.com" || got[0].Subject != "Your code" {
		t.Fatalf("sink got %d messages: %+v", len(got), got)
	}
	if m := load(t, s, now[0]); !m.SentAt.Equal(t0) || m.Attempts != 1 || m.LastError != "" {
		t.Errorf("sent message: sent %v attempts %d err %q", m.SentAt, m.Attempts, m.LastError)
	}
	if m := load(t, s, later[0]); !m.SentAt.IsZero() || m.Attempts != 0 {
		t.Errorf("a message not yet due was touched: %+v", m)
	}
	clk.Set(t0.Add(time.Hour))
	if n := runOnce(t, w); n != 1 || len(sink.Messages()) != 2 {
		t.Errorf("at its time, the later message: sent %d, sink %d", n, len(sink.Messages()))
	}
}

func TestRetryWithBackoffThenDeliveredExactlyOnce(t *testing.T) {
	storetest.Each(t, testRetryWithBackoffThenDeliveredExactlyOnce)
}

func testRetryWithBackoffThenDeliveredExactlyOnce(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	sink := startSink(t, "")
	addr := sink.Addr()
	if err := sink.Close(); err != nil { // the relay is down
		t.Fatal(err)
	}
	clk := testclock.New(t0)
	w := worker(s, smtpSender(t, addr), clk, 100)
	id := enqueue(t, s, t0, "jane@example.com")[0]

	// 1s, doubling, capped at MaxBackoff (8s).
	for i, want := range []time.Duration{1, 2, 4, 8, 8, 8} {
		now := clk.Now()
		if n := runOnce(t, w); n != 0 {
			t.Fatalf("attempt %d: sent %d with the relay down", i+1, n)
		}
		m := load(t, s, id)
		if m.Attempts != i+1 {
			t.Errorf("attempt %d: attempts = %d", i+1, m.Attempts)
		}
		if got := m.NextAttemptAt.Sub(now); got != want*time.Second {
			t.Errorf("attempt %d: next attempt in %v, want %v", i+1, got, want*time.Second)
		}
		if !strings.Contains(m.LastError, addr) || !m.FailedAt.IsZero() || !m.SentAt.IsZero() {
			t.Errorf("attempt %d: last error %q, failed %v, sent %v", i+1, m.LastError, m.FailedAt, m.SentAt)
		}
		// Not due before its time.
		clk.Set(m.NextAttemptAt.Add(-time.Millisecond))
		if n := runOnce(t, w); n != 0 || load(t, s, id).Attempts != i+1 {
			t.Fatalf("attempt %d: retried before next_attempt_at", i+1)
		}
		clk.Set(m.NextAttemptAt)
	}

	// The relay comes back on the same address.
	back := startSink(t, addr)
	if n := runOnce(t, w); n != 1 {
		t.Fatalf("after the relay came back: sent %d, want 1", n)
	}
	clk.Set(clk.Now().Add(time.Hour))
	if n := runOnce(t, w); n != 0 {
		t.Fatalf("a delivered message was sent again (%d)", n)
	}
	if got := back.Messages(); len(got) != 1 || got[0].To[0] != "jane@example.com" {
		t.Fatalf("the sink received %d messages, want exactly 1", len(got))
	}
	if m := load(t, s, id); m.Attempts != 7 || m.SentAt.IsZero() || m.LastError != "" {
		t.Errorf("after delivery: attempts %d sent %v last error %q", m.Attempts, m.SentAt, m.LastError)
	}
}

func TestMaxAttemptsGivesUp(t *testing.T) { storetest.Each(t, testMaxAttemptsGivesUp) }

func testMaxAttemptsGivesUp(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	sink := startSink(t, "")
	addr := sink.Addr()
	sink.Close()
	clk := testclock.New(t0)
	w := worker(s, smtpSender(t, addr), clk, 3)
	id := enqueue(t, s, t0, "jane@example.com")[0]
	for i := 1; i <= 3; i++ {
		runOnce(t, w)
		m := load(t, s, id)
		if failed := !m.FailedAt.IsZero(); failed != (i == 3) {
			t.Fatalf("after attempt %d: failed = %v", i, failed)
		}
		clk.Set(m.NextAttemptAt)
	}
	m := load(t, s, id)
	if m.Attempts != 3 || m.LastError == "" || !m.SentAt.IsZero() {
		t.Errorf("given up: attempts %d err %q sent %v", m.Attempts, m.LastError, m.SentAt)
	}
	// A relay that comes back later does not resurrect it.
	back := startSink(t, addr)
	clk.Set(t0.Add(24 * time.Hour))
	if n := runOnce(t, w); n != 0 || len(back.Messages()) != 0 {
		t.Errorf("a failed message was sent (%d, sink %d)", n, len(back.Messages()))
	}
}

// failing is a Sender that always fails with err.
type failing struct {
	err   error
	calls atomic.Int32
}

func (f *failing) Send(context.Context, *store.Message) error { f.calls.Add(1); return f.err }

// refusal is an adapter's own permanent error: the outbox knows it only by
// its Permanent method.
type refusal struct{ error }

func (refusal) Permanent() bool { return true }

func TestPermanentErrorGivesUpAtOnce(t *testing.T) {
	storetest.Each(t, testPermanentErrorGivesUpAtOnce)
}

func testPermanentErrorGivesUpAtOnce(t *testing.T) {
	t.Parallel()
	sink := startSink(t, "")
	for _, tc := range []struct {
		name   string
		sender notify.Sender
		to     string
		want   string
	}{
		{"sender says permanent", &failing{err: fmt.Errorf("relay: %w", refusal{errors.New("550 5.1.1 no such user")})}, "jane@example.com", "550 5.1.1"},
		{"smtp: recipient with a line break", smtpSender(t, sink.Addr()), "jane@example.com\r\nBcc: evil@example.com", "line break"},
		{"smtp: recipient not an address", smtpSender(t, sink.Addr()), "not an address", "recipient"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openStore(t, "")
			clk := testclock.New(t0)
			w := worker(s, tc.sender, clk, 10)
			id := enqueue(t, s, t0, tc.to)[0]
			runOnce(t, w)
			m := load(t, s, id)
			if m.Attempts != 1 || !m.FailedAt.Equal(t0) || !strings.Contains(m.LastError, tc.want) {
				t.Errorf("attempts %d failed %v last error %q; want given up after 1 with %q", m.Attempts, m.FailedAt, m.LastError, tc.want)
			}
			clk.Set(t0.Add(time.Hour))
			if n := runOnce(t, w); n != 0 || load(t, s, id).Attempts != 1 {
				t.Error("a permanently failed message was tried again")
			}
		})
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("the sink received %d messages", n)
	}
}

func TestTemporaryErrorRetries(t *testing.T) { storetest.Each(t, testTemporaryErrorRetries) }

func testTemporaryErrorRetries(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	f := &failing{err: errors.New("451 try again later")}
	w := worker(s, f, testclock.New(t0), 10)
	id := enqueue(t, s, t0, "jane@example.com")[0]
	runOnce(t, w)
	if m := load(t, s, id); !m.FailedAt.IsZero() || m.LastError != "451 try again later" || !m.NextAttemptAt.Equal(t0.Add(time.Second)) {
		t.Errorf("after a temporary error: %+v", m)
	}
	if f.calls.Load() != 1 {
		t.Errorf("sender called %d times in one round", f.calls.Load())
	}
}

func TestConcurrentWorkersDeliverEachMessageOnce(t *testing.T) {
	storetest.Each(t, testConcurrentWorkersDeliverEachMessageOnce)
}

func testConcurrentWorkersDeliverEachMessageOnce(t *testing.T) {
	t.Parallel()
	const n = 30
	for _, tc := range []struct {
		name       string
		sameHandle bool // one *store.Store, or two opened on the same database (two processes, or nodes)
	}{
		{"one store", true},
		{"two stores on one file", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, path := storetest.Target(t)
			s1 := openStore(t, path)
			s2 := s1
			if !tc.sameHandle {
				s2 = openStore(t, path)
			}
			sink := startSink(t, "")
			clk := testclock.New(t0)
			var recipients []string
			for i := 0; i < n; i++ {
				recipients = append(recipients, fmt.Sprintf("user%02d@example.com", i))
			}
			ids := enqueue(t, s1, t0, recipients...)
			workers := []*notify.Worker{
				worker(s1, smtpSender(t, sink.Addr()), clk, 5),
				worker(s2, smtpSender(t, sink.Addr()), clk, 5),
			}
			var total atomic.Int64
			var wg sync.WaitGroup
			for _, w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for round := 0; round < 3; round++ {
						sent, err := w.RunOnce(context.Background())
						if err != nil {
							t.Error(err)
							return
						}
						total.Add(int64(sent))
					}
				}()
			}
			wg.Wait()
			if total.Load() != n {
				t.Errorf("workers report %d sent, want %d", total.Load(), n)
			}
			got := sink.Messages()
			seen := map[string]int{}
			for _, m := range got {
				seen[m.To[0]]++
			}
			if len(got) != n || len(seen) != n {
				t.Errorf("sink received %d messages for %d recipients, want %d each once", len(got), len(seen), n)
			}
			for to, c := range seen {
				if c != 1 {
					t.Errorf("%s received %d copies", to, c)
				}
			}
			for _, id := range ids {
				if m := load(t, s1, id); m.SentAt.IsZero() || m.Attempts != 1 {
					t.Errorf("message %d: sent %v attempts %d", id, m.SentAt, m.Attempts)
				}
			}
		})
	}
}

func TestLeaseHidesClaimedMessage(t *testing.T) { storetest.Each(t, testLeaseHidesClaimedMessage) }

func testLeaseHidesClaimedMessage(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	sink := startSink(t, "")
	clk := testclock.New(t0)
	w := worker(s, smtpSender(t, sink.Addr()), clk, 5)
	id := enqueue(t, s, t0, "jane@example.com")[0]
	// Another worker claimed it and died before recording anything.
	err := s.InTx(context.Background(), func(tx *store.Tx) error {
		ok, err := tx.ClaimMessage(id, t0, t0.Add(time.Minute))
		if !ok && err == nil {
			err = errors.New("claim failed")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := runOnce(t, w); n != 0 {
		t.Fatalf("a message under another worker's lease was sent")
	}
	clk.Set(t0.Add(time.Minute))
	if n := runOnce(t, w); n != 1 || len(sink.Messages()) != 1 {
		t.Fatalf("after the lease ran out: sent %d, sink %d", n, len(sink.Messages()))
	}
	if m := load(t, s, id); m.Attempts != 2 {
		t.Errorf("attempts = %d, want 2 (the lost one counts)", m.Attempts)
	}
}

func TestRunDeliversAndStops(t *testing.T) { storetest.Each(t, testRunDeliversAndStops) }

func testRunDeliversAndStops(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	sink := startSink(t, "")
	w := worker(s, smtpSender(t, sink.Addr()), testclock.New(t0), 5)
	w.Prepare()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	enqueue(t, s, t0, "jane@example.com")
	w.Kick() // PollInterval is an hour: only the first round or the kick can send it
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if _, err := sink.WaitFor(wctx, nil); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// stallingSender delivers the first message at once and holds every later
// one until released.
type stallingSender struct {
	sent    atomic.Int32
	stalled chan struct{} // closed when the second send starts
	release chan struct{}
	once    sync.Once
}

func (s *stallingSender) Send(ctx context.Context, m *store.Message) error {
	if s.sent.Add(1) == 1 {
		return nil
	}
	s.once.Do(func() { close(s.stalled) })
	<-s.release
	return nil
}

// TestSentMessageRecordedBeforeTheRestOfTheRound: a worker that claimed
// several messages records each one sent as soon as the relay took it, not
// after the last of its round was tried — so a node killed while its relay
// stalls on a later message (the three-node test's case) leaves nothing it
// sent unrecorded, for another node to send again.
func TestSentMessageRecordedBeforeTheRestOfTheRound(t *testing.T) {
	storetest.Each(t, testSentMessageRecordedBeforeTheRestOfTheRound)
}

func testSentMessageRecordedBeforeTheRestOfTheRound(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	clk := testclock.New(t0)
	snd := &stallingSender{stalled: make(chan struct{}), release: make(chan struct{})}
	w := worker(s, snd, clk, 5)
	w.ClaimBatch = 4
	ids := enqueue(t, s, t0, "a@example.com", "b@example.com", "c@example.com")

	done := make(chan int, 1)
	go func() { n, _ := w.RunOnce(context.Background()); done <- n }()
	select {
	case <-snd.stalled:
	case <-time.After(time.Minute):
		t.Fatal("the second send never started")
	}
	// The relay holds the second message: the first must already be
	// recorded sent (its record may still be committing: wait for it,
	// without a deadline that a slow machine could miss).
	var first *store.Message
	for range 6000 {
		if first = load(t, s, ids[0]); !first.SentAt.IsZero() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if first.SentAt.IsZero() {
		t.Fatalf("while the relay stalls on the next message, the sent one is still unrecorded: %+v", first)
	}
	if m := load(t, s, ids[1]); !m.SentAt.IsZero() {
		t.Fatalf("the stalled message is recorded sent before the relay answered: %+v", m)
	}
	close(snd.release)
	if n := <-done; n != 3 {
		t.Errorf("RunOnce sent %d, want 3", n)
	}
	for _, id := range ids {
		if m := load(t, s, id); m.SentAt.IsZero() || m.Attempts != 1 {
			t.Errorf("message %d after the round: sent %v, attempts %d", id, m.SentAt, m.Attempts)
		}
	}
	if got := snd.sent.Load(); got != 3 {
		t.Errorf("the relay was handed %d messages, want 3", got)
	}
}
