package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/sms/smstest"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// wrongAssertion is a passkey answer no credential made.
const wrongAssertion = `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"AAAA","authenticatorData":"AAAA","signature":"AAAA","userHandle":"AAAA"}}`

// enrollTOTPAndBackupCodes enrolls an authenticator app and backup codes
// for login in one enrollment session (the first enrollment proves the
// session for the second).
func enrollTOTPAndBackupCodes(t *testing.T, in *instance, login, password string) {
	t.Helper()
	token, _, err := in.App.Enroll.SignIn(bg, login, password, "127.0.0.1", "en")
	if err != nil {
		t.Fatalf("enrollment sign-in: %v", err)
	}
	// The directory's mail is a factor already: prove it before adding more.
	stepUpInProcess(t, in, token, login)
	v, err := in.App.Enroll.Begin(bg, token, factor.TOTP, factor.Response{})
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.ReplaceAll(v.PendingPrompt["secret_base32"].(string), " ", "")
	if _, err := in.App.Enroll.Finish(bg, token, factor.Response{Values: map[string]string{"code": totpCode(secret, time.Now())}}, ""); err != nil {
		t.Fatalf("finish TOTP enrollment: %v", err)
	}
	if v, err = in.App.Enroll.Begin(bg, token, factor.BackupCodes, factor.Response{}); err != nil {
		t.Fatalf("begin backup codes: %v", err)
	}
	codes := v.PendingPrompt["codes"].([]any)
	pos := int(v.PendingPrompt["confirm_position"].(float64))
	if _, err := in.App.Enroll.Finish(bg, token, factor.Response{Values: map[string]string{"code": codes[pos-1].(string)}}, ""); err != nil {
		t.Fatalf("finish backup codes: %v", err)
	}
}

// TestNoEnumerationAcrossAccountStates: an enrolled account, an unknown
// login, an account with nothing enrolled, a locked one and a disabled one
// all get the same status, body and headers on every step a stranger can
// reach (start, choosing a factor, wrong responses).
func TestNoEnumerationAcrossAccountStates(t *testing.T) {
	cfg := dirtest.ADConfig(t)
	cfg.Name = "corp"
	tw := smstest.NewTwilio(t)
	in := start(t, directoryYAML("ad", cfg, ""), fmt.Sprintf(`verification:
  factors: [email, sms, totp, backup_codes, passkey, questions, attributes]
  first_factor: email
  pre_enroll_mail: true
  pre_enroll_mobile: true
  required: {reset: 2, unlock: 2}
  attributes:
    - attribute: employeeID
      label: Employee ID
  questions:
    questions:
      - {id: school, text: "First school?"}
      - {id: street, text: "First street?"}
      - {id: pet, text: "First pet?"}
abuse:
  ip_failures: {limit: 1000, window: 1h, block: 1h}
sms:
  provider: twilio
  default_country_code: "+1"
  twilio:
    account_sid: %q
    auth_token: %q
    from: "+15550100000"
    base_url: %q
`, tw.AccountSID, tw.AuthToken, tw.URL()))
	// The enrolled account's mobile number pre-enrolls it for SMS.
	enrolled := dirtest.CreateADUserWith(t, "Initial-Pass-1", map[string][]string{"mobile": {"+14155550199"}})
	// A real authenticator app and real backup codes for the enrolled
	// account: its challenges are real, everyone else's decoys, and they
	// must look alike.
	enrollTOTPAndBackupCodes(t, in, enrolled.Login, enrolled.Password)
	unenrolled := dirtest.CreateADUser(t, "Initial-Pass-1")
	// No mail attribute and nothing enrolled: this account cannot recover.
	del := ldap.NewModifyRequest(unenrolled.DN, nil)
	del.Delete("mail", nil)
	if err := dirtest.ADAdmin(t).Modify(del); err != nil {
		t.Fatal(err)
	}
	locked := dirtest.CreateADUser(t, "Initial-Pass-1")
	dirtest.FailBinds(t, cfg, locked.DN, dirtest.ADLockoutThreshold(t))
	disabled := dirtest.CreateADUserWith(t, "Initial-Pass-1", map[string][]string{"userAccountControl": {"514"}})

	run := func(login string) []answer {
		var out []answer
		rec := func(status int, h http.Header, raw []byte) {
			out = append(out, answer{status, normaliseHeader(h), normaliseBody(string(raw))})
		}
		status, body, h, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": login}, "")
		rec(status, h, raw)
		id, _ := body["flow_id"].(string)
		for _, step := range []struct {
			path string
			body map[string]string
		}{
			{"/api/v1/reset/verify", map[string]string{"code": "00000000"}},
			{"/api/v1/reset/resend", nil},
			{"/api/v1/reset/choose", map[string]string{"factor": "sms"}},
			{"/api/v1/reset/resend", nil},
			{"/api/v1/reset/choose", map[string]string{"factor": "totp"}},
			{"/api/v1/reset/status", nil},
			{"/api/v1/reset/resend", nil},
			{"/api/v1/reset/verify", map[string]string{"code": "000000"}},
			{"/api/v1/reset/choose", map[string]string{"factor": "backup_codes"}},
			{"/api/v1/reset/resend", nil},
			{"/api/v1/reset/verify", map[string]string{"code": "AAAAA-BBBBB"}},
			{"/api/v1/reset/choose", map[string]string{"factor": "passkey"}},
			{"/api/v1/reset/resend", nil},
			{"/api/v1/reset/verify", map[string]string{"response": wrongAssertion}},
			{"/api/v1/reset/choose", map[string]string{"factor": "questions"}},
			{"/api/v1/reset/choose", map[string]string{"factor": "attributes"}},
		} {
			b := map[string]any{"flow_id": id}
			for k, v := range step.body {
				b[k] = v
				if k == "response" {
					b[k] = json.RawMessage(v)
				}
			}
			status, _, h, raw := apiCall(t, in.URL, step.path, b, "")
			rec(status, h, raw)
		}
		return out
	}
	want := run(enrolled.Login)
	// The enrolled account's SMS challenges were real: a text went out.
	ctx, cancel := context.WithTimeout(bg, 20*time.Second)
	defer cancel()
	if _, err := tw.WaitFor(ctx, func(m smstest.Message) bool { return m.To == "+14155550199" }); err != nil {
		t.Fatalf("no text to the enrolled account: %v", err)
	}
	steps := []string{"start", "wrong email code", "resend email", "choose sms", "resend sms", "choose totp", "status", "resend totp", "wrong totp",
		"choose backup codes", "resend backup codes", "wrong backup code", "choose passkey (options)", "resend passkey",
		"wrong passkey", "choose questions (refused before a first factor)", "choose attributes (refused before a first factor)"}
	if len(want) != len(steps) {
		t.Fatalf("%d answers for %d steps", len(want), len(steps))
	}
	for name, login := range map[string]string{
		"unknown login": "no-such-" + enrolled.Login, "nothing enrolled": unenrolled.Login,
		"locked": locked.Login, "disabled": disabled.Login,
	} {
		t.Run(name, func(t *testing.T) {
			got := run(login)
			for i := range steps {
				same(t, steps[i], want[i], got[i])
			}
		})
	}
}
