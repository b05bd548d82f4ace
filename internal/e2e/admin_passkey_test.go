package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/testenv/browsertest"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestAdminPasskeySignInInBrowser: an admin whose only second factor is a
// passkey (enrolled through the portal in headless Chromium with a
// virtual authenticator) signs in to the console with the directory
// password and that passkey, through the page's script.
func TestAdminPasskeySignInInBrowser(t *testing.T) {
	ctx := browsertest.NewWithOptions(t, browsertest.Options{Timeout: 150 * time.Second})
	if _, err := browsertest.AddVirtualAuthenticator(ctx, browsertest.Passkey()); err != nil {
		t.Fatal(err)
	}
	cfg := dirtest.LDAPConfig(t)
	adminU := dirtest.CreateLDAPUser(t, "Admin-Pass-2026")
	admins := dirtest.CreateLDAPGroup(t, "groupOfNames", adminU.DN)
	local := listenLocalhost(t)
	in := start(t, peopleOnlyYAML(cfg), fmt.Sprintf(`verification:
  factors: [email, passkey]
  passkey:
    rp_id: localhost
    rp_name: Example Corp
    origins: [%q]
admin:
  enabled: true
  roles:
    admin: [%q]
`, local.Origin, admins))
	local.serve(t, in)
	must := func(err error) {
		t.Helper()
		if err != nil {
			screenshot(t, ctx, "admin-passkey-failed")
			t.Fatal(err)
		}
	}
	// Enroll the passkey in the portal.
	must(chromedp.Do(ctx, chromedp.Navigate(local.Origin+"/enroll"), chromedp.WaitVisible(chromedp.ID("login")),
		sendKeys(chromedp.ID("login"), adminU.Login),
		sendKeys(chromedp.ID("password"), adminU.Password),
		submit(chromedp.ID("password"))))
	must(stepUpChromium(t, ctx, in, adminU.Mail))
	must(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("add-passkey")), click(chromedp.ID("add-passkey")),
		chromedp.WaitVisible(chromedp.ID("passkey-create")),
		sendKeys(chromedp.ID("passkey-name"), "Admin key"),
		click(chromedp.ID("passkey-create")),
		chromedp.WaitVisible(chromedp.ID("factors")),
		click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("login"))))

	// Sign in to the console with it.
	must(chromedp.Do(ctx, chromedp.Navigate(local.Origin+"/admin/"), chromedp.WaitVisible(chromedp.ID("login")),
		sendKeys(chromedp.ID("login"), adminU.Login),
		sendKeys(chromedp.ID("password"), adminU.Password),
		submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("passkey-button"))))
	screenshot(t, ctx, "admin-passkey")
	must(chromedp.Do(ctx, click(chromedp.ID("passkey-button")), chromedp.WaitVisible(chromedp.CSS("nav"))))
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	must(err)
	if !strings.Contains(body, "Welcome") {
		t.Fatalf("after the passkey:\n%s", body)
	}
	rows := auditRows(t, in, store.AuditFilter{EventPrefix: "admin.signin", Actor: adminU.Login, Outcome: "success"})
	if len(rows) == 0 || !strings.Contains(rows[0].Detail, `"factor":"passkey"`) {
		t.Fatalf("the passkey sign-in is not audited: %+v", rows)
	}
}
