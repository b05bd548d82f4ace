package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/mailsink"
	"github.com/sspr/sspr/internal/store"
)

// TestOutboxMailAfterKill runs `sspr serve`, lets it claim a mail while the
// relay stalls, kills it with SIGKILL mid-send and starts it again on the
// same database: the restarted node takes its dead predecessor's claim back
// at once, so the mail arrives within seconds — not after the 90 s lease
// (2 × smtp.timeout + 30 s) that protects claims of other nodes.
//
// Delivery is at least once: killed after the relay had the mail but
// before sspr heard the relay's final reply, the restart sends it again,
// with the same Message-ID.
func TestOutboxMailAfterKill(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   mailsink.Options
		copies int
	}{
		{"killed before the relay had the mail", mailsink.Options{CommandDelay: time.Hour}, 1},
		{"killed after the relay had it, before its reply", mailsink.Options{AcceptDelay: time.Hour}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) { outboxMailAfterKill(t, tc.opts, tc.copies) })
	}
}

func outboxMailAfterKill(t *testing.T, stall mailsink.Options, copies int) {
	sink, err := mailsink.Start("", stall)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	host, port, _ := net.SplitHostPort(sink.Addr())
	dir := t.TempDir()
	db := filepath.Join(dir, "sspr.db")
	cfg := filepath.Join(dir, "sspr.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
server:
  listen: "127.0.0.1:0"
  base_url: http://localhost/
storage:
  path: %s
secrets:
  hmac_key: c3Nwci1vdXRib3gtY3Jhc2gtdGVzdC1rZXktMzItYnl0ZXMh
directories:
  - name: lab
    type: openldap
    urls: [ldaps://127.0.0.1:1]
    bind_dn: cn=sspr,dc=example,dc=test
    bind_password: unused
    base_dn: dc=example,dc=test
mail:
  from: "Password reset <noreply@example.com>"
  smtp:
    host: %s
    port: %s
    security: none
    timeout: 30s
  outbox:
    node_id: crash-test-node
log:
  level: debug
`, db, host, port)), 0o600); err != nil {
		t.Fatal(err)
	}

	// A code mail waits in the outbox, as a flow step leaves it.
	st, err := store.OpenSQLite(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	const msgID = "<crash-test-1@example.com>"
	err = st.InTx(context.Background(), func(tx *store.Tx) error {
		return tx.EnqueueMessage(&store.Message{CreatedAt: time.Now(), Kind: "reset.code", Recipient: "jane@example.com",
			Subject: "Your code", TextBody: "Your code is 12345678.\n", MessageID: msgID, NextAttemptAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	outbox := func() *store.Message {
		t.Helper()
		var ms []*store.Message
		if err := st.InTx(context.Background(), func(tx *store.Tx) (err error) { ms, err = tx.Messages(10); return }); err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 {
			t.Fatalf("%d outbox rows, want 1", len(ms))
		}
		return ms[0]
	}

	var log1 syncBuffer
	first := exec.Command(binary, "serve", "--config", cfg)
	first.Stderr, first.Stdout = &log1, &log1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	// Wait until it has claimed the mail and is connected to the relay,
	// which does not answer (or, with AcceptDelay, has the mail and does
	// not answer).
	deadline := time.Now().Add(60 * time.Second)
	for {
		m := outbox()
		if m.ClaimNode == "crash-test-node" && sink.Stats().Open > 0 && len(sink.Messages()) == copies-1 {
			if time.Until(m.NextAttemptAt) < time.Minute {
				t.Fatalf("the claim's lease ends at %v: too short to tell a release from a lease", m.NextAttemptAt)
			}
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("sspr ended (%v) before claiming the mail:\n%s", err, log1.String())
		default:
		}
		if time.Now().After(deadline) {
			first.Process.Kill()
			<-exited
			t.Fatalf("sspr did not claim the mail: %+v\n%s", m, log1.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	if n := len(sink.Messages()); n != copies-1 {
		t.Fatalf("the relay got %d messages before the kill", n)
	}

	// The relay answers again; the node restarts on the same database.
	sink.SetCommandDelay(0)
	sink.SetAcceptDelay(0)
	var log2 syncBuffer
	second := exec.Command(binary, "serve", "--config", cfg)
	second.Stderr, second.Stdout = &log2, &log2
	restarted := time.Now()
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = second.Process.Signal(os.Interrupt)
		_ = second.Wait()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seen := 0
	got, err := sink.WaitFor(ctx, func(mailsink.Message) bool { seen++; return seen == copies })
	if err != nil {
		t.Fatalf("the mail did not arrive after the restart: %v\n%s", err, log2.String())
	}
	// Generous for a loaded machine, yet far below the 90 s lease: only
	// the release can explain it.
	took := time.Since(restarted)
	t.Logf("the mail arrived %v after the restart", took)
	if took > 5*time.Second {
		t.Errorf("the mail arrived %v after the restart, want within 5s", took)
	}
	if got.MessageID != msgID[1:len(msgID)-1] || got.To[0] != "jane@example.com" {
		t.Errorf("got %q to %v", got.MessageID, got.To)
	}
	// Recorded as sent (a moment after the relay's reply), exactly once.
	deadline = time.Now().Add(30 * time.Second)
	for outbox().SentAt.IsZero() {
		if time.Now().After(deadline) {
			t.Fatalf("not recorded as sent:\n%s", log2.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	msgs := sink.Messages()
	if len(msgs) != copies {
		t.Errorf("the relay got %d copies, want %d", len(msgs), copies)
	}
	for _, m := range msgs {
		if m.MessageID != msgs[0].MessageID {
			t.Errorf("a copy has another Message-ID: %q, %q", m.MessageID, msgs[0].MessageID)
		}
	}
	if m := outbox(); m.Attempts != 2 {
		t.Errorf("attempts = %d, want 2 (the one cut by the kill counts)", m.Attempts)
	}
	if !strings.Contains(log2.String(), "earlier process of this node stopped while delivering") {
		t.Errorf("the restart does not say it took the claim back:\n%s", log2.String())
	}
	st.Close()
}
