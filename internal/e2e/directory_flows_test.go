package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// apiUnlock walks the unlock flow through the API.
func apiUnlock(t *testing.T, in *instance, login, mail string) {
	t.Helper()
	before := in.codeMailsTo(mail)
	status, body, _, raw := apiCall(t, in.URL, "/api/v1/unlock", map[string]string{"login": login}, "")
	if status != http.StatusAccepted || body["action"] != "unlock" {
		t.Fatalf("start unlock: %d %s", status, raw)
	}
	flowID := body["flow_id"].(string)
	code := in.waitCode(t, mail, before)
	if status, body, _, raw := apiCall(t, in.URL, "/api/v1/reset/verify", map[string]string{"flow_id": flowID, "code": code}, ""); status != http.StatusOK || body["state"] != "verified" {
		t.Fatalf("verify: %d %s", status, raw)
	}
	if status, body, _, raw := apiCall(t, in.URL, "/api/v1/unlock/confirm", map[string]string{"flow_id": flowID}, ""); status != http.StatusOK || body["state"] != "done" {
		t.Fatalf("unlock: %d %s", status, raw)
	}
}

// portalUnlock walks the unlock flow through the HTML forms: the unlock
// happens as soon as the code is verified.
func portalUnlock(t *testing.T, in *instance, login, mail string) {
	t.Helper()
	b := newBrowser(t, in.URL)
	before := in.codeMailsTo(mail)
	if p := b.post("/reset/start", url.Values{"login": {login}, "action": {"unlock"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("start unlock: %d", p.Status)
	}
	p := b.post("/reset/code", url.Values{"code": {in.waitCode(t, mail, before)}})
	if p.Status != http.StatusSeeOther || p.Location != "/reset/done" {
		t.Fatalf("code: %d %q\n%s", p.Status, p.Location, p.Body)
	}
	if p = b.get("/reset/done"); !strings.Contains(p.Body, "Your account is unlocked") {
		t.Fatalf("done page:\n%s", p.Body)
	}
}

func mustBeLocked(t *testing.T, cfg ldapdir.Config, login, pw string) {
	t.Helper()
	if err := dirtest.Bind(t, cfg, login, pw); err == nil {
		t.Fatal("the account is not locked: its password still binds")
	}
}

// TestUnlockActiveDirectory: failed binds lock the account; the unlock flow,
// run by the least-privilege service account, unlocks it without changing
// the password, and the person is told on every channel.
func TestUnlockActiveDirectory(t *testing.T) {
	svc := dirtest.ADServiceConfig(t)
	svc.Name = "corp"
	in := start(t, directoryYAML("ad", svc, ""), "")
	admin := dirtest.ADConfig(t)
	for _, face := range []string{"api", "portal"} {
		t.Run(face, func(t *testing.T) {
			u := dirtest.CreateADUser(t, "Initial-Pass-1")
			dirtest.FailBinds(t, admin, u.DN, dirtest.ADLockoutThreshold(t))
			mustBeLocked(t, admin, u.Login, u.Password)
			if face == "api" {
				apiUnlock(t, in, u.Login, u.Mail)
			} else {
				portalUnlock(t, in, u.Login, u.Mail)
			}
			if err := dirtest.Bind(t, admin, u.Login, u.Password); err != nil {
				t.Fatalf("after the unlock flow the password does not bind: %v", err)
			}
			if in.mailsTo(u.Mail) < 2 {
				t.Errorf("no unlock notice was mailed")
			}
		})
	}
}

// TestUnlockOpenLDAP: a ppolicy lockout, unlocked through the portal.
func TestUnlockOpenLDAP(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	cfg.Name = "people"
	in := start(t, directoryYAML("openldap", cfg, ""), "")
	u := dirtest.CreateLDAPUser(t, "Initial-Pass-1")
	dirtest.FailBinds(t, cfg, u.DN, 5) // pwdMaxFailure 5
	mustBeLocked(t, cfg, u.Login, u.Password)
	portalUnlock(t, in, u.Login, u.Mail)
	if err := dirtest.Bind(t, cfg, u.Login, u.Password); err != nil {
		t.Fatalf("after the unlock flow the password does not bind: %v", err)
	}
}

// TestDisabledAccountIsRefusedWithItsReason: from outside the start looks
// like any other; once the code proves the mailbox, the person is told the
// account is disabled, and nothing is written.
func TestDisabledAccountIsRefusedWithItsReason(t *testing.T) {
	cfg := dirtest.ADConfig(t)
	cfg.Name = "corp"
	in := start(t, directoryYAML("ad", cfg, ""), directoryRulesOnly)
	u := dirtest.CreateADUserWith(t, "Initial-Pass-1", map[string][]string{"userAccountControl": {"514"}})
	before := in.codeMailsTo(u.Mail)
	_, body, _, _ := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": u.Login}, "")
	flowID := body["flow_id"].(string)
	code := in.waitCode(t, u.Mail, before)
	apiCall(t, in.URL, "/api/v1/reset/verify", map[string]string{"flow_id": flowID, "code": code}, "")
	status, body, _, raw := apiCall(t, in.URL, "/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": "Another-Pass-2"}, "")
	if status != http.StatusForbidden || body["error"].(map[string]any)["code"] != "account_disabled" ||
		!strings.Contains(string(raw), "disabled") {
		t.Fatalf("disabled account: %d %s", status, raw)
	}
}

// TestChangePassword: with the old password, through the API and the form;
// a wrong old password and an unknown login answer the same.
func TestChangePassword(t *testing.T) {
	for _, dir := range []string{"ad", "openldap"} {
		t.Run(dir, func(t *testing.T) {
			var cfg ldapdir.Config
			var u dirtest.User
			if dir == "ad" {
				cfg, u = dirtest.ADConfig(t), dirtest.CreateADUser(t, "Initial-Pass-1")
			} else {
				cfg, u = dirtest.LDAPConfig(t), dirtest.CreateLDAPUser(t, "Initial-Pass-1")
			}
			cfg.Name = dir
			in := start(t, directoryYAML(dir, cfg, ""), "")
			_, _, _, wrongOld := apiCall(t, in.URL, "/api/v1/change", map[string]string{"login": u.Login, "old_password": "Not-The-Pass-9", "password": "Changed-Pass-22"}, "")
			status, _, _, unknown := apiCall(t, in.URL, "/api/v1/change", map[string]string{"login": "nobody-" + u.Login, "old_password": "Not-The-Pass-9", "password": "Changed-Pass-22"}, "")
			if status != http.StatusUnprocessableEntity || string(wrongOld) != string(unknown) || !strings.Contains(string(unknown), "credentials_wrong") {
				t.Fatalf("wrong old password and unknown login must answer alike:\n%s\n%s", wrongOld, unknown)
			}
			status, _, _, raw := apiCall(t, in.URL, "/api/v1/change", map[string]string{"login": u.Login, "old_password": u.Password, "password": "Changed-Pass-22"}, "")
			if status != http.StatusOK {
				t.Fatalf("change: %d %s", status, raw)
			}
			proveReset(t, cfg, u.Login, u.Password, "Changed-Pass-22")
			// And once more through the form, without JavaScript.
			b := newBrowser(t, in.URL)
			p := b.post("/change", url.Values{"login": {u.Login}, "old_password": {"Changed-Pass-22"}, "password": {"Changed-Again-33"}, "confirm": {"Changed-Again-33"}})
			if p.Status != http.StatusOK || !strings.Contains(p.Body, "Your password has been changed") {
				t.Fatalf("change form: %d\n%s", p.Status, p.Body)
			}
			proveReset(t, cfg, u.Login, "Changed-Pass-22", "Changed-Again-33")
		})
	}
}
