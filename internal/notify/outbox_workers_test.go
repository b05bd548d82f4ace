package notify_test

import (
	"bytes"
	"context"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/mailsink"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// TestAdaptersImportNothingFromNotify: the delivery adapters sit below the
// outbox; "permanent failure" is a behaviour they implement, not a type they
// import.
func TestAdaptersImportNothingFromNotify(t *testing.T) {
	t.Parallel()
	for _, root := range []string{"../mail", "../sms"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			for _, imp := range f.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/sspr/sspr/internal/notify" {
					t.Errorf("%s imports %s", path, p)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestWorkersDeliverConcurrentlyOverKeptConnections: a backlog through a
// relay answering every command 5 ms late. Ordering-free facts only: every
// message arrives exactly once, several were in flight at once, and
// connections carried more than one message each.
func TestWorkersDeliverConcurrentlyOverKeptConnections(t *testing.T) {
	storetest.Each(t, testWorkersDeliverConcurrentlyOverKeptConnections)
}

func testWorkersDeliverConcurrentlyOverKeptConnections(t *testing.T) {
	t.Parallel()
	const n = 40
	// The first recipient waits (bounded) until a second transaction is
	// open: with one delivery at a time this never happens.
	var arrived atomic.Int32
	both := make(chan struct{})
	sink, err := mailsink.Start("", mailsink.Options{CommandDelay: 5 * time.Millisecond, RcptReply: func(string) (int, string) {
		if arrived.Add(1) == 2 {
			close(both)
		}
		select {
		case <-both:
		case <-time.After(20 * time.Second):
		}
		return 0, ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	s := openStore(t, "")
	var recipients []string
	for i := range n {
		recipients = append(recipients, fmt.Sprintf("user%02d@example.com", i))
	}
	ids := enqueue(t, s, t0, recipients...)
	snd := smtpSender(t, sink.Addr())
	w := worker(s, snd, testclock.New(t0), 5)
	w.Workers = 4
	w.Prepare()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	waitCount(t, sink, n)
	cancel()
	<-done

	got := sink.Messages()
	perRcpt, perConn := map[string]int{}, map[int]int{}
	for _, m := range got {
		perRcpt[m.To[0]]++
		perConn[m.Connection]++
	}
	if len(got) != n || len(perRcpt) != n {
		t.Fatalf("%d messages for %d recipients, want %d once each", len(got), len(perRcpt), n)
	}
	st := sink.Stats()
	if st.MaxInTransaction < 2 {
		t.Errorf("at most %d transaction(s) in flight at once, want several", st.MaxInTransaction)
	}
	if st.Connections >= n || snd.Dials() != st.Connections {
		t.Errorf("%d connections (%d dialled) for %d messages: connections are not reused", st.Connections, snd.Dials(), n)
	}
	reused := false
	for _, c := range perConn {
		reused = reused || c > 1
	}
	if !reused {
		t.Errorf("no connection carried more than one message: %v", perConn)
	}
	for _, id := range ids {
		if m := load(t, s, id); m.SentAt.IsZero() || m.Attempts != 1 || m.ClaimInstance != "" {
			t.Errorf("message %d: sent %v attempts %d claim %q", id, m.SentAt, m.Attempts, m.ClaimInstance)
		}
	}
	// Run closed the kept connections when it ended.
	deadline := time.Now().Add(10 * time.Second)
	for sink.Stats().Open != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if o := sink.Stats().Open; o != 0 {
		t.Errorf("%d connections left open after Run ended", o)
	}
}

// TestRestartReleasesOwnClaimsOnly: a process of node-a died while
// delivering; the next process of node-a takes its claim back at once,
// while a claim of node-b (which may still be sending) waits for its lease.
func TestRestartReleasesOwnClaimsOnly(t *testing.T) {
	storetest.Each(t, testRestartReleasesOwnClaimsOnly)
}

func testRestartReleasesOwnClaimsOnly(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	sink := startSink(t, "")
	clk := testclock.New(t0)
	ids := enqueue(t, s, t0, "mine@example.com", "theirs@example.com")
	err := s.InTx(context.Background(), func(tx *store.Tx) error {
		for _, node := range []string{"node-a", "node-b"} {
			if m, err := tx.ClaimNext(t0, t0.Add(time.Hour), node, "dead-instance"); err != nil || m == nil {
				return fmt.Errorf("claim for %s: %v %v", node, m, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := load(t, s, ids[0]); m.ClaimNode != "node-a" || m.ClaimInstance != "dead-instance" {
		t.Fatalf("claim not recorded: %q %q", m.ClaimNode, m.ClaimInstance)
	}
	w := worker(s, smtpSender(t, sink.Addr()), clk, 5) // node-a, a new instance
	if n := runOnce(t, w); n != 0 {
		t.Fatalf("claimed messages were sent before any release (%d)", n)
	}
	if n, err := w.ReleaseEarlierClaims(context.Background()); err != nil || n != 1 {
		t.Fatalf("ReleaseEarlierClaims = %d, %v; want 1", n, err)
	}
	if n := runOnce(t, w); n != 1 {
		t.Fatalf("after the release: sent %d, want 1", n)
	}
	if got := sink.Messages(); len(got) != 1 || got[0].To[0] != "mine@example.com" {
		t.Fatalf("sink: %+v", got)
	}
	// Its own live claims are not released: a second call finds nothing.
	if n, err := w.ReleaseEarlierClaims(context.Background()); err != nil || n != 0 {
		t.Errorf("second ReleaseEarlierClaims = %d, %v", n, err)
	}
	// node-b's claim goes back only when its lease ends.
	clk.Set(t0.Add(time.Hour))
	if n := runOnce(t, w); n != 1 || len(sink.Messages()) != 2 {
		t.Errorf("after node-b's lease: sent %d", n)
	}
	if m := load(t, s, ids[1]); m.Attempts != 2 {
		t.Errorf("attempts = %d, want 2 (the lost one counts)", m.Attempts)
	}
}

// TestRefusalRedacted: a relay that repeats the address in its refusal;
// neither the stored error nor the log keeps it.
func TestRefusalRedacted(t *testing.T) { storetest.Each(t, testRefusalRedacted) }

func testRefusalRedacted(t *testing.T) {
	t.Parallel()
	sink, err := mailsink.Start("", mailsink.Options{RcptReply: func(addr string) (int, string) {
		return 550, "5.1.1 <" + addr + ">: user unknown; also tell carol@example.org or call +1 415 555 0142"
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	s := openStore(t, "")
	var logs bytes.Buffer
	w := worker(s, smtpSender(t, sink.Addr()), testclock.New(t0), 5)
	w.Log = slog.New(slog.NewTextHandler(&logs, nil))
	id := enqueue(t, s, t0, "bob@example.com")[0]
	runOnce(t, w)
	m := load(t, s, id)
	if m.FailedAt.IsZero() || !strings.Contains(m.LastError, "550") || !strings.Contains(m.LastError, "5.1.1") || !strings.Contains(m.LastError, "user unknown") {
		t.Fatalf("not given up with the relay's reason: failed %v, error %q", m.FailedAt, m.LastError)
	}
	for _, secret := range []string{"bob@example.com", "carol@example.org", "415 555 0142"} {
		if strings.Contains(m.LastError, secret) {
			t.Errorf("last_error keeps %q: %q", secret, m.LastError)
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log keeps %q: %s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "giving a message up") {
		t.Errorf("the log does not say the message was given up: %s", logs.String())
	}
}

// TestSentRetentionZeroDeletesAtOnce: with no retention a sent message
// leaves no row at all.
func TestSentRetentionZeroDeletesAtOnce(t *testing.T) {
	storetest.Each(t, testSentRetentionZeroDeletesAtOnce)
}

func testSentRetentionZeroDeletesAtOnce(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	sink := startSink(t, "")
	w := worker(s, smtpSender(t, sink.Addr()), testclock.New(t0), 5)
	w.SentRetention = 0
	enqueue(t, s, t0, "a@example.com", "b@example.com")
	if n := runOnce(t, w); n != 2 || len(sink.Messages()) != 2 {
		t.Fatalf("sent %d, sink %d", n, len(sink.Messages()))
	}
	var all []*store.Message
	if err := s.InTx(context.Background(), func(tx *store.Tx) (err error) { all, err = tx.Messages(10); return }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 0 {
		t.Errorf("%d rows left after delivery", len(all))
	}
}

// TestTidy: sent rows go after SentRetention; failed rows lose recipient,
// subject and bodies after FailedRetention and go FailedMetadataRetention
// later; pending and recent rows stay. More rows than one batch holds.
func TestTidy(t *testing.T) { storetest.Each(t, testTidy) }

func testTidy(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	clk := testclock.New(t0)
	w := worker(s, nil, clk, 1)
	w.SentRetention, w.FailedRetention = 24*time.Hour, 7*24*time.Hour
	var rcpts []string
	for i := range 1200 {
		rcpts = append(rcpts, fmt.Sprintf("u%d@example.com", i))
	}
	ids := enqueue(t, s, t0, rcpts...)
	pending := enqueue(t, s, t0.Add(time.Hour), "later@example.com")[0]
	// 1100 sent at t0, one sent a day later, 99 failed at t0.
	err := s.InTx(context.Background(), func(tx *store.Tx) error {
		for i, id := range ids {
			var err error
			switch {
			case i < 1100:
				err = tx.MarkSent(id, t0)
			case i == 1100:
				err = tx.MarkSent(id, t0.Add(24*time.Hour))
			default:
				err = tx.MarkFailed(id, t0, "550 refused")
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tidy := func(at time.Time) notify.TidyResult {
		t.Helper()
		clk.Set(at)
		r, err := w.Tidy(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	count := func() (all, withContent int) {
		t.Helper()
		var ms []*store.Message
		if err := s.InTx(context.Background(), func(tx *store.Tx) (err error) { ms, err = tx.Messages(10000); return }); err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Recipient != "" {
				withContent++
			}
		}
		return len(ms), withContent
	}
	if r := tidy(t0.Add(24 * time.Hour)); r != (notify.TidyResult{}) {
		t.Errorf("at exactly the retention: %+v", r)
	}
	if r := tidy(t0.Add(24*time.Hour + time.Millisecond)); r != (notify.TidyResult{Sent: 1100}) {
		t.Errorf("a day later: %+v", r)
	}
	if r := tidy(t0.Add(7*24*time.Hour + time.Millisecond)); r != (notify.TidyResult{Sent: 1, Purged: 99}) {
		t.Errorf("a week later: %+v", r)
	}
	if all, content := count(); all != 100 || content != 1 {
		t.Errorf("after the purge: %d rows, %d with a recipient; want 100, 1 (the pending one)", all, content)
	}
	if m := load(t, s, ids[1150]); m.Subject != "" || m.TextBody != "" || m.HTMLBody != "" || m.LastError != "550 refused" || m.MessageID == "" {
		t.Errorf("purged failed row: %+v", m)
	}
	if r := tidy(t0.Add(7*24*time.Hour + notify.FailedMetadataRetention + time.Millisecond)); r != (notify.TidyResult{Failed: 99}) {
		t.Errorf("after the metadata retention: %+v", r)
	}
	if all, _ := count(); all != 1 || load(t, s, pending).SentAt.IsZero() == false {
		t.Errorf("%d rows left, want only the pending message", all)
	}
}
