package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestResetRetiresOtherFlowsAndShowsDirectoryMail: over HTTP, a reset made
// in one flow ends the account's other verified flow (it cannot set the
// password again) and its enrollment session; afterwards /enroll lists the
// directory's mail address the reset was made with (read-only, no remove
// button) instead of "no recovery method yet", and asks to prove it before
// anything is added.
func TestResetRetiresOtherFlowsAndShowsDirectoryMail(t *testing.T) {
	in := start(t, startDemoDirectory(t), "")
	const mail = "erin@demo.sspr.test"

	enrolling := newBrowser(t, in.URL)
	enrolling.follow(enrolling.post("/enroll/signin", url.Values{"login": {"erin"}, "password": {"Harvest-2026"}}))

	first, _ := startAPIReset(t, in, "erin")
	if status, _, raw := first.call("/api/v1/reset/verify", map[string]string{"code": in.waitCode(t, mail, 0)}); status != http.StatusOK {
		t.Fatalf("first flow: %d %s", status, raw)
	}
	second, _ := startAPIReset(t, in, "erin")
	if status, _, raw := second.call("/api/v1/reset/verify", map[string]string{"code": in.waitCode(t, mail, 1)}); status != http.StatusOK {
		t.Fatalf("second flow: %d %s", status, raw)
	}
	if status, _, raw := first.call("/api/v1/reset/password", map[string]string{"password": "Retired-Others-1"}); status != http.StatusOK {
		t.Fatalf("reset: %d %s", status, raw)
	}
	if status, _, raw := second.call("/api/v1/reset/password", map[string]string{"password": "Second-Reset-22"}); status != http.StatusNotFound ||
		!strings.Contains(raw, "flow_not_found") {
		t.Fatalf("the other verified flow after the reset: %d %s", status, raw)
	}
	if p := enrolling.get("/enroll/home"); p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, `id="login"`) {
		t.Fatalf("the enrollment session signed in with the old password lives on:\n%s", p.Body)
	}

	b := newBrowser(t, in.URL)
	p := b.follow(b.post("/enroll/signin", url.Values{"login": {"erin"}, "password": {"Retired-Others-1"}}))
	if strings.Contains(p.Body, "not set up any recovery method yet") || !strings.Contains(p.Body, `value="directory:mail"`) ||
		!strings.Contains(p.Body, "e***@d***.test") {
		t.Fatalf("the step-up page does not offer the directory's mail:\n%s", p.Body)
	}
	if p := b.post("/enroll/add", url.Values{"kind": {"totp"}}); p.Status != http.StatusForbidden {
		t.Fatalf("adding a factor with the password alone: %d\n%s", p.Status, p.Body)
	}
	p = stepUpForm(t, in, b, mail)
	if !strings.Contains(p.Body, `data-source="directory"`) || !strings.Contains(p.Body, "From your directory entry") ||
		strings.Contains(p.Body, `name="enrollment" value="directory:mail"`) || strings.Contains(p.Body, "not set up any recovery method yet") {
		t.Fatalf("home page after the step-up:\n%s", p.Body)
	}
}
