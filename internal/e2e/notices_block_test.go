package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestBlockNoticeOncePerWindow: when the abuse controls refuse a known
// account's step (here: more codes to one address than
// sends_per_destination allows), notifications.block's admin hears of it
// through the real SMTP server, once per window however often it happens;
// the same refusals for a login that is nobody's raise nothing. The audit
// log (read from the SIEM file) has one notice.block.
func TestBlockNoticeOncePerWindow(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	cfg.Name = "people"
	u := dirtest.CreateLDAPUser(t, "Initial-Pass-1")
	const admin = "abuse-desk@example.test"
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	in := start(t, directoryYAML("openldap", cfg, ""), directoryRulesOnly+fmt.Sprintf(`abuse:
  sends_per_destination:
    limit: 1
    window: 1h
    block: 0s
notifications:
  block:
    admins: [%q]
  siem:
    file: %q
`, admin, file))
	begin := func(login string) {
		status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": login}, "")
		if status != http.StatusAccepted {
			t.Fatalf("start %s: %d %s", login, status, raw)
		}
	}
	stranger := dirtest.UniqueName("nobody")
	for range 3 {
		begin(stranger)
	}
	before := in.codeMailsTo(u.Mail)
	begin(u.Login)
	in.waitCode(t, u.Mail, before)
	for range 3 {
		begin(u.Login) // refused quietly: no code goes
	}
	m := in.waitMail(t, admin, "self-service refused for "+u.Login)
	if !strings.Contains(m.TextBody, "abuse controls refused") {
		t.Errorf("block notice: %s", m.TextBody)
	}
	// Wait (bounded) until the SIEM file has the last step's events, then
	// count: one notice.block, for the known account only.
	var text string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		b, _ := os.ReadFile(file)
		text = string(b)
		if strings.Count(text, `"reset.challenge"`) >= 3 || time.Now().After(deadline) {
			break
		}
	}
	if n := strings.Count(text, `"reset.challenge"`); n < 3 {
		t.Fatalf("the SIEM file has %d refused challenges, want 3:\n%s", n, text)
	}
	if n := strings.Count(text, `"notice.block"`); n != 1 {
		t.Fatalf("%d notice.block events, want 1:\n%s", n, text)
	}
	if n := in.mailsTo(admin); n != 1 {
		t.Errorf("the admin got %d mails, want 1", n)
	}
	if n := in.codeMailsTo(u.Mail); n != before+1 {
		t.Errorf("%d codes went, want 1", n-before)
	}
}
