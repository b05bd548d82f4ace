package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEnrollmentAPI: the JSON API signs in with the directory password,
// enrolls backup codes, lists them masked, and needs a step-up in a new
// session before removing them.
func TestEnrollmentAPI(t *testing.T) {
	in := start(t, startDemoDirectory(t), "")
	call := func(path string, body map[string]any) (int, map[string]any, string) {
		t.Helper()
		status, out, _, raw := apiCall(t, in.URL, path, body, "")
		return status, out, string(raw)
	}
	_, _, wrongPw := call("/api/v1/enroll/signin", map[string]any{"login": "carol", "password": "Not-Her-Password-1"})
	_, _, unknown := call("/api/v1/enroll/signin", map[string]any{"login": "nobody", "password": "Not-Her-Password-1"})
	if wrongPw != unknown || !strings.Contains(unknown, "credentials_wrong") {
		t.Fatalf("wrong password and unknown login differ:\n%s\n%s", wrongPw, unknown)
	}
	status, body, raw := call("/api/v1/enroll/signin", map[string]any{"login": "carol", "password": "Summer-2026"})
	if status != http.StatusOK || body["step"] != "verify" || !strings.Contains(raw, `"id":"directory:mail"`) || !strings.Contains(raw, `"source":"directory"`) {
		t.Fatalf("sign-in (the directory's mail is a factor already: step up with it): %d %s", status, raw)
	}
	sid := body["session_id"].(string)
	if status, _, raw := call("/api/v1/enroll/add", map[string]any{"session_id": sid, "factor": "backup_codes"}); status != http.StatusForbidden || !strings.Contains(raw, "step_up_required") {
		t.Fatalf("add before the step-up: %d %s", status, raw)
	}
	before := in.codeMailsTo("carol@demo.sspr.test")
	call("/api/v1/enroll/verify/start", map[string]any{"session_id": sid, "enrollment_id": "directory:mail"})
	if status, body, raw := call("/api/v1/enroll/verify", map[string]any{"session_id": sid, "code": in.waitCode(t, "carol@demo.sspr.test", before)}); status != http.StatusOK || body["step"] != "ready" {
		t.Fatalf("step-up with the directory's mail: %d %s", status, raw)
	}
	status, body, raw = call("/api/v1/enroll/add", map[string]any{"session_id": sid, "factor": "backup_codes"})
	if status != http.StatusOK || body["step"] != "confirm" {
		t.Fatalf("add: %d %s", status, raw)
	}
	prompt := body["pending_prompt"].(map[string]any)
	codes := prompt["codes"].([]any)
	pos := int(prompt["confirm_position"].(float64))
	status, body, raw = call("/api/v1/enroll/add/finish", map[string]any{"session_id": sid, "code": codes[pos-1]})
	if status != http.StatusOK || len(body["factors"].([]any)) != 2 {
		t.Fatalf("finish (backup codes and the directory's mail): %d %s", status, raw)
	}
	if strings.Contains(raw, codes[0].(string)) {
		t.Fatal("a backup code is shown again after enrollment")
	}
	id := body["factors"].([]any)[0].(map[string]any)["id"].(string)

	// A new session must step up before changing anything.
	_, body, _ = call("/api/v1/enroll/signin", map[string]any{"login": "carol", "password": "Summer-2026"})
	sid2 := body["session_id"].(string)
	if body["step"] != "verify" {
		t.Fatalf("a second session was not asked to verify: %v", body["step"])
	}
	if status, _, raw := call("/api/v1/enroll/remove", map[string]any{"session_id": sid2, "enrollment_id": id}); status != http.StatusForbidden || !strings.Contains(raw, "step_up_required") {
		t.Fatalf("remove without step-up: %d %s", status, raw)
	}
	call("/api/v1/enroll/verify/start", map[string]any{"session_id": sid2, "enrollment_id": id})
	if status, _, raw := call("/api/v1/enroll/verify", map[string]any{"session_id": sid2, "code": codes[0]}); status != http.StatusOK {
		t.Fatalf("step-up with a backup code: %d %s", status, raw)
	}
	status, body, raw = call("/api/v1/enroll/remove", map[string]any{"session_id": sid2, "enrollment_id": id})
	if status != http.StatusOK || len(body["factors"].([]any)) != 1 || strings.Contains(raw, id) {
		t.Fatalf("remove (only the directory's mail is left): %d %s", status, raw)
	}
	// Every change was announced by mail.
	n := 0
	for deadline := time.Now().Add(10 * time.Second); n < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		n = 0
		for _, m := range in.Sink.Messages() {
			if strings.Join(m.To, "") == "carol@demo.sspr.test" && strings.Contains(m.Subject, "recovery methods") {
				n++
			}
		}
	}
	if n < 2 {
		b, _ := json.Marshal(in.Sink.Messages())
		t.Fatalf("%d change notices, want 2 (added, removed): %s", n, b)
	}
}
