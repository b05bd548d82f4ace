package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/mailsink"
	"github.com/sspr/sspr/internal/store"
)

// TestSMTPDownCodeArrivesLater: with the relay down, asking for a code still
// succeeds; the mail waits in the outbox and goes out, once, when the relay
// is back.
func TestSMTPDownCodeArrivesLater(t *testing.T) {
	in := start(t, startDemoDirectory(t), "")
	if err := in.Sink.Close(); err != nil {
		t.Fatal(err)
	}
	status, body, _, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": "alice"}, "")
	if status != http.StatusAccepted {
		t.Fatalf("start with SMTP down: %d %s", status, raw)
	}
	flowID := body["flow_id"].(string)

	// Wait until the worker has tried and failed at least twice.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ms []*store.Message
		err := in.App.Store().InTx(context.Background(), func(tx *store.Tx) error {
			var err error
			ms, err = tx.Messages(10)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 1 && ms[0].Attempts >= 2 && ms[0].LastError != "" && ms[0].SentAt.IsZero() {
			t.Logf("queued while SMTP is down: attempts=%d last_error=%q", ms[0].Attempts, ms[0].LastError)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the message was not retried while SMTP was down: %+v", ms)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The relay comes back on the same address.
	sink, err := mailsink.Start(in.sinkAddr, mailsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in.Sink = sink
	code := in.waitCode(t, "alice@demo.sspr.test", 0)
	// Several more worker rounds must not send it again.
	time.Sleep(1500 * time.Millisecond)
	if n := in.mailsTo("alice@demo.sspr.test"); n != 1 {
		t.Fatalf("%d mails delivered, want exactly 1", n)
	}
	if status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset/verify", map[string]string{"flow_id": flowID, "code": code}, ""); status != http.StatusOK {
		t.Fatalf("the late code does not work: %d %s", status, raw)
	}
}
