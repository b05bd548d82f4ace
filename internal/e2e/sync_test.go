package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestResetSyncsAndPreHookRefuses: a reset through the API runs the
// pre-hook first (a refusal is shown in the hook's own words and nothing
// is written), then the new password reaches a post-change hook target
// through the outbox once the directory took it; a change with the old
// password is synced too.
func TestResetSyncsAndPreHookRefuses(t *testing.T) {
	dir := t.TempDir()
	got := filepath.Join(dir, "synced.jsonl")
	post := filepath.Join(dir, "post-hook")
	pre := filepath.Join(dir, "pre-hook")
	if err := os.WriteFile(post, []byte("#!/bin/sh\ncat >> "+got+"\necho >> "+got+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	// The pre-hook refuses passwords that contain the company's name.
	if err := os.WriteFile(pre, []byte("#!/bin/sh\nif grep -qi examplecorp; then echo 'It must not contain the company name.'; exit 1; fi\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	in := start(t, startDemoDirectory(t), fmt.Sprintf(`sync:
  alert_to: [admins@example.test]
  targets:
    - name: hr-system
      type: hook
      hook:
        command: [%q]
        timeout: 5s
  pre_hooks:
    - name: no-company-name
      command: [%q]
      timeout: 5s
`, post, pre))
	status, body, _, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": "alice"}, "")
	if status != http.StatusAccepted {
		t.Fatalf("start: %d %s", status, raw)
	}
	flowID := body["flow_id"].(string)
	if status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset/verify", map[string]string{"flow_id": flowID, "code": in.waitCode(t, "alice@demo.sspr.test", 0)}, ""); status != http.StatusOK {
		t.Fatalf("verify: %d %s", status, raw)
	}
	status, _, _, raw = apiCall(t, in.URL, "/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": "ExampleCorp-Pass-2026"}, "")
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(raw), "It must not contain the company name.") {
		t.Fatalf("the pre-hook's refusal: %d %s", status, raw)
	}
	newPW := "Lantern-Harbour-2026"
	if status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": newPW}, ""); status != http.StatusOK {
		t.Fatalf("reset: %d %s", status, raw)
	}
	waitSynced := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			b, _ := os.ReadFile(got)
			if strings.Contains(string(b), want) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		b, _ := os.ReadFile(got)
		t.Fatalf("the hook target never got %q; it got:\n%s", want, b)
	}
	waitSynced(newPW)
	b, _ := os.ReadFile(got)
	if strings.Contains(string(b), "ExampleCorp") {
		t.Fatal("a refused password was synced")
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(string(b), "\n", 2)[0]), &first); err != nil {
		t.Fatalf("the hook got no JSON: %v\n%s", err, b)
	}

	// A change with the old password syncs too.
	changed := "Kettle-Meadow-2027"
	if status, _, _, raw := apiCall(t, in.URL, "/api/v1/change", map[string]string{"login": "alice", "old_password": newPW, "password": changed}, ""); status != http.StatusOK {
		t.Fatalf("change: %d %s", status, raw)
	}
	waitSynced(changed)
	if strings.Count(readFile(t, got), newPW) != 1 {
		t.Fatalf("the reset was synced more than once:\n%s", readFile(t, got))
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
