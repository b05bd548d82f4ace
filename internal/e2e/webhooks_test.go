package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/forward"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestWebhookAndSIEMFile: configured through the real loader, a webhook
// receives the reset's audit events (only the types it chose) at a real
// HTTP server, each signed so that forward.VerifySignature accepts it, and
// the SIEM file gets every event as a JSON line.
func TestWebhookAndSIEMFile(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	cfg.Name = "people"
	u := dirtest.CreateLDAPUser(t, "Initial-Pass-1")
	const secret = "e2e-webhook-secret-0123456789"
	var mu sync.Mutex
	var got []forward.Event
	var bad []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := forward.VerifySignature([]byte(secret), r.Header.Get(forward.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
			bad = append(bad, err.Error())
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var e forward.Event
		if err := json.Unmarshal(body, &e); err != nil {
			bad = append(bad, err.Error())
		}
		got = append(got, e)
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	in := start(t, directoryYAML("openldap", cfg, ""), directoryRulesOnly+fmt.Sprintf(`notifications:
  webhooks:
    - name: soc
      url: %q
      secret: %q
      events: ["reset.*"]
  siem:
    file: %q
`, srv.URL+"/sspr", secret, file))
	apiReset(t, in, u.Login, u.Mail, nil, "Webhook-Reset-Pass-2")

	// The reset's last event is reset.password; wait for it (bounded).
	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range got {
			if e.Event == "reset.password" && e.Outcome == "success" {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(30 * time.Second); !done(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no reset.password event at the webhook; got %+v, refused %v", got, bad)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("the receiver refused: %v", bad)
	}
	seen := map[int64]bool{}
	for _, e := range got {
		if !strings.HasPrefix(e.Event, "reset.") {
			t.Errorf("the webhook got %s, which it did not choose", e.Event)
		}
		if seen[e.ID] {
			t.Errorf("event %d delivered twice", e.ID)
		}
		seen[e.ID] = true
	}
	// The file has every event, the webhook's among them.
	var lines []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		b, _ := os.ReadFile(file)
		lines = strings.Split(strings.TrimSpace(string(b)), "\n")
		if strings.Contains(string(b), `"reset.password"`) || time.Now().After(deadline) {
			break
		}
	}
	if len(lines) < len(got) || !strings.Contains(strings.Join(lines, "\n"), `"reset.password"`) {
		t.Fatalf("the SIEM file has %d lines, the webhook %d events:\n%s", len(lines), len(got), strings.Join(lines, "\n"))
	}
}
