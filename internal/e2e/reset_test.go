package e2e

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// apiReset walks the JSON API: start, code, refused passwords (each refusal
// must name the directory's rule), then a good one.
func apiReset(t *testing.T, in *instance, login, mail string, refused map[string]string, good string) {
	t.Helper()
	before := in.codeMailsTo(mail)
	status, body, _, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": login}, "")
	if status != http.StatusAccepted {
		t.Fatalf("start: %d %s", status, raw)
	}
	flowID := body["flow_id"].(string)
	code := in.waitCode(t, mail, before)
	if status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset/verify", map[string]string{"flow_id": flowID, "code": code}, ""); status != http.StatusOK {
		t.Fatalf("verify: %d %s", status, raw)
	}
	for pw, rule := range refused {
		status, body, _, raw := apiCall(t, in.URL, "/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": pw}, "")
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("password %q: %d %s, want 422", pw, status, raw)
		}
		e := body["error"].(map[string]any)
		if e["code"] != "password_refused" || !strings.Contains(string(raw), rule) {
			t.Fatalf("password %q: %s; want the rule %q", pw, raw, rule)
		}
	}
	status, body, _, raw = apiCall(t, in.URL, "/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": good}, "")
	if status != http.StatusOK || body["state"] != "done" {
		t.Fatalf("good password: %d %s", status, raw)
	}
}

// portalReset walks the HTML forms, as a browser without JavaScript would.
func portalReset(t *testing.T, in *instance, login, mail string, refused map[string]string, good string) {
	t.Helper()
	b := newBrowser(t, in.URL)
	if p := b.get("/"); p.Status != http.StatusOK || !strings.Contains(p.Body, `name="login"`) {
		t.Fatalf("start page: %d", p.Status)
	}
	before := in.codeMailsTo(mail)
	p := b.post("/reset/start", url.Values{"login": {login}})
	if p.Status != http.StatusSeeOther || p.Location != "/reset/code" {
		t.Fatalf("start: %d %q %s", p.Status, p.Location, p.Body)
	}
	if p = b.get("/reset/code"); p.Status != http.StatusOK || !strings.Contains(p.Body, `autocomplete="one-time-code"`) {
		t.Fatalf("code page: %d", p.Status)
	}
	code := in.waitCode(t, mail, before)
	if p = b.post("/reset/code", url.Values{"code": {code}}); p.Status != http.StatusSeeOther || p.Location != "/reset/password" {
		t.Fatalf("code: %d %q", p.Status, p.Location)
	}
	if p = b.get("/reset/password"); p.Status != http.StatusOK || !strings.Contains(p.Body, `autocomplete="new-password"`) {
		t.Fatalf("password page: %d", p.Status)
	}
	for pw, rule := range refused {
		p = b.post("/reset/password", url.Values{"password": {pw}, "confirm": {pw}})
		body := html.UnescapeString(p.Body)
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(body, rule) || !strings.Contains(body, `name="password"`) {
			t.Fatalf("password %q: %d; want the rule %q on the password form:\n%s", pw, p.Status, rule, p.Body)
		}
	}
	if p = b.post("/reset/password", url.Values{"password": {good}, "confirm": {good}}); p.Status != http.StatusSeeOther || p.Location != "/reset/done" {
		t.Fatalf("good password: %d %q %s", p.Status, p.Location, p.Body)
	}
	if p = b.get("/reset/done"); p.Status != http.StatusOK || !strings.Contains(p.Body, "Your password has been changed") {
		t.Fatalf("done page: %d", p.Status)
	}
}

// proveReset binds with the new password (works) and the old (refused).
func proveReset(t *testing.T, cfg ldapdir.Config, login, oldPw, newPw string) {
	t.Helper()
	if err := dirtest.Bind(t, cfg, login, newPw); err != nil {
		t.Fatalf("bind with the new password: %v", err)
	}
	if err := dirtest.Bind(t, cfg, login, oldPw); err == nil {
		t.Fatal("the old password still binds")
	}
}

func TestResetActiveDirectory(t *testing.T) {
	cfg := dirtest.ADConfig(t)
	cfg.Name = "corp"
	in := start(t, directoryYAML("ad", cfg, ""), directoryRulesOnly)
	// Samba's default policy: at least 7 characters, 3 of 4 character classes.
	refused := map[string]string{
		"Ab1":          "at least 7 characters",
		"alllowercase": "mix at least three kinds of characters",
	}
	t.Run("api", func(t *testing.T) {
		u := dirtest.CreateADUser(t, "Initial-Pass-1")
		apiReset(t, in, u.Login, u.Mail, refused, "Api-Reset-Pass-2")
		proveReset(t, cfg, u.Login, u.Password, "Api-Reset-Pass-2")
	})
	t.Run("portal", func(t *testing.T) {
		u := dirtest.CreateADUser(t, "Initial-Pass-1")
		// Log in by user principal name this time.
		portalReset(t, in, u.UPN, u.Mail, refused, "Form-Reset-Pass-3")
		proveReset(t, cfg, u.Login, u.Password, "Form-Reset-Pass-3")
	})
}

func TestResetOpenLDAP(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	cfg.Name = "people"
	in := start(t, directoryYAML("openldap", cfg, ""), directoryRulesOnly)
	t.Run("api", func(t *testing.T) {
		u := dirtest.CreateLDAPUser(t, "Initial-Pass-1")
		apiReset(t, in, u.Login, u.Mail, map[string]string{"short": "at least 8 characters"}, "Api-Reset-Pass-2")
		proveReset(t, cfg, u.Login, u.Password, "Api-Reset-Pass-2")
	})
	t.Run("portal", func(t *testing.T) {
		u := dirtest.CreateLDAPUser(t, "Initial-Pass-1")
		portalReset(t, in, u.Mail, u.Mail, map[string]string{"short": "at least 8 characters"}, "Form-Reset-Pass-3")
		proveReset(t, cfg, u.Login, u.Password, "Form-Reset-Pass-3")
		// A second reset back to the first password breaks ppolicy's history.
		portalReset(t, in, u.Login, u.Mail, map[string]string{"Form-Reset-Pass-3": "must not be one of your recent passwords"}, "Form-Reset-Pass-4")
		proveReset(t, cfg, u.Login, "Form-Reset-Pass-3", "Form-Reset-Pass-4")
	})
}

// directoryRulesOnly keeps sspr's own password rules out of the way, so the
// directory's refusals are what the person sees (TestPasswordRules covers
// sspr's rules).
const directoryRulesOnly = `password:
  preset: custom
  min_length: 1
  common_passwords: false
  merge_directory_policy: false
`
