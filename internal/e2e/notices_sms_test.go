package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/sms/smstest"
)

// TestNoticeChannelsPerAction: notifications.enrollment by mail only (and
// to an admin), notifications.reset by SMS only: adding a phone sends its
// code but no SMS notice, and mails the person and the admin; a reset then
// texts the phone its notice and mails the person nothing.
func TestNoticeChannelsPerAction(t *testing.T) {
	tw := smstest.NewTwilio(t)
	const admin = "enrollments@example.test"
	in := start(t, startDemoDirectory(t), fmt.Sprintf(`verification:
  factors: [email, sms]
  first_factor: email
sms:
  provider: twilio
  default_country_code: "+1"
  twilio:
    account_sid: %q
    auth_token: %q
    from: "+15550100000"
    base_url: %q
notifications:
  enrollment:
    person: true
    sms: false
    admins: [%q]
  reset:
    person: false
    sms: true
`, tw.AccountSID, tw.AuthToken, tw.URL(), admin))
	const phone, mail = "+14155550142", "alice@demo.sspr.test"
	token, _, err := in.App.Enroll.SignIn(bg, "alice", "Winter-2026", "127.0.0.1", "en")
	if err != nil {
		t.Fatal(err)
	}
	stepUpInProcess(t, in, token, "alice")
	if _, err := in.App.Enroll.Begin(bg, token, factor.SMS, factor.Response{Values: map[string]string{"phone": "(415) 555-0142"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, 20*time.Second)
	defer cancel()
	msg, err := tw.WaitFor(ctx, func(m smstest.Message) bool { return m.To == phone })
	if err != nil {
		t.Fatalf("no enrollment code by SMS: %v", err)
	}
	if _, err := in.App.Enroll.Finish(bg, token, factor.Response{Values: map[string]string{"code": smsCodeRE.FindString(msg.Body)}}, ""); err != nil {
		t.Fatalf("finish SMS enrollment: %v", err)
	}
	in.waitMail(t, mail, "recovery methods changed")
	adm := in.waitMail(t, admin, "recovery methods of alice changed")
	if !strings.Contains(adm.TextBody, "alice") {
		t.Errorf("admin notice: %s", adm.TextBody)
	}
	smsNotices := func() int {
		n := 0
		for _, m := range tw.Messages() {
			if m.To == phone && !strings.Contains(m.Body, " is your ") {
				n++
			}
		}
		return n
	}
	if n := smsNotices(); n != 0 {
		t.Fatalf("%d SMS notices of the enrollment with sms: false", n)
	}

	before := in.codeMailsTo(mail)
	status, body, _, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": "alice"}, "")
	if status != http.StatusAccepted {
		t.Fatalf("start: %d %s", status, raw)
	}
	flowID := body["flow_id"].(string)
	code := in.waitCode(t, mail, before)
	if status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset/verify", map[string]string{"flow_id": flowID, "code": code}, ""); status != http.StatusOK {
		t.Fatalf("verify: %d %s", status, raw)
	}
	if status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": "Notice-Sms-Pass-77"}, ""); status != http.StatusOK {
		t.Fatalf("reset: %d %s", status, raw)
	}
	if _, err := tw.WaitFor(ctx, func(m smstest.Message) bool { return m.To == phone && strings.Contains(m.Body, "password") }); err != nil {
		t.Fatalf("no SMS notice of the reset: %v", err)
	}
	for _, m := range in.Sink.Messages() {
		if strings.Contains(m.Subject, "Your password was changed") {
			t.Errorf("a reset notice mailed to %v with person: false", m.To)
		}
	}
}
