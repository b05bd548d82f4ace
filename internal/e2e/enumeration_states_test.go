package e2e

import (
	"net/http"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestNoEnumerationAcrossAccountStates: an enrolled account, an unknown
// login, an account with nothing enrolled, a locked one and a disabled one
// all get the same status, body and headers on every step a stranger can
// reach (start, choosing a factor, wrong responses).
func TestNoEnumerationAcrossAccountStates(t *testing.T) {
	cfg := dirtest.ADConfig(t)
	cfg.Name = "corp"
	in := start(t, directoryYAML("ad", cfg, ""), `verification:
  factors: [email, totp, backup_codes]
  first_factor: email
  pre_enroll_mail: true
`)
	enrolled := dirtest.CreateADUser(t, "Initial-Pass-1")
	// Real backup codes for the enrolled account: its backup-code challenge
	// is real, everyone else's a decoy, and they must look alike.
	enrollBackupCodes(t, in, enrolled.Login, enrolled.Password)
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
			{"/api/v1/reset/choose", map[string]string{"factor": "totp"}},
			{"/api/v1/reset/status", nil},
			{"/api/v1/reset/verify", map[string]string{"code": "000000"}},
			{"/api/v1/reset/choose", map[string]string{"factor": "backup_codes"}},
			{"/api/v1/reset/verify", map[string]string{"code": "AAAAA-BBBBB"}},
		} {
			b := map[string]string{"flow_id": id}
			for k, v := range step.body {
				b[k] = v
			}
			status, _, h, raw := apiCall(t, in.URL, step.path, b, "")
			rec(status, h, raw)
		}
		return out
	}
	want := run(enrolled.Login)
	steps := []string{"start", "wrong email code", "choose totp", "status", "wrong totp", "choose backup codes", "wrong backup code"}
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
