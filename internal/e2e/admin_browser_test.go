package e2e

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestAdminConsoleInChromium signs an admin in to the console in headless
// Chromium with JavaScript off (password, then the authenticator app's
// code), opens the reports and the audit log, checks that the charts are
// drawn (SVG bars) and saves screenshots as test artefacts
// ($SSPR_TEST_SCREENSHOTS, else the test's temporary folder; the paths are
// logged).
func TestAdminConsoleInChromium(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	adminU := dirtest.CreateLDAPUser(t, "Admin-Pass-2026")
	others := []dirtest.User{dirtest.CreateLDAPUser(t, "Other-Pass-2026"), dirtest.CreateLDAPUser(t, "Other-Pass-2026")}
	admins := dirtest.CreateLDAPGroup(t, "groupOfNames", adminU.DN)
	in := start(t, peopleOnlyYAML(cfg), `verification:
  factors: [email, totp]
admin:
  enabled: true
  roles:
    admin: ["`+admins+`"]
`)
	secret := enrollTOTP(t, in, adminU)
	enrollTOTP(t, in, others[0])
	dirtest.FailBinds(t, cfg, others[1].DN, 5) // someone locked out
	// Something for the activity chart: failed sign-ins to the portal.
	for i := 0; i < 3; i++ {
		newBrowser(t, in.URL).post("/enroll/signin", url.Values{"login": {others[0].Login}, "password": {"Not-The-Password-1"}})
	}

	ctx := newBrowserCtx(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	dir := os.Getenv("SSPR_TEST_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()) // the window, as a person first sees it
		must(err)
		path := filepath.Join(dir, "admin-"+name+".png")
		must(os.WriteFile(path, png, 0o644))
		t.Logf("screenshot: %s", path)
	}
	must(chromedp.Do(ctx, disableScripts, chromedp.EmulateViewport(1280, 900)))
	must(chromedp.Do(ctx, chromedp.Navigate(in.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("login"))))
	shot("signin")
	must(chromedp.Do(ctx,
		sendKeys(chromedp.ID("login"), adminU.Login),
		sendKeys(chromedp.ID("password"), adminU.Password),
		submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("code")),
	))
	labelled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](everyInputLabelled))
	must(err)
	if !labelled {
		t.Error("an input on the second-factor page has no label")
	}
	must(chromedp.Do(ctx,
		sendKeys(chromedp.ID("code"), totpAt(t, secret, time.Now().Add(30*time.Second))),
		submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.CSS("nav")),
	))
	shot("home")
	for _, page := range []struct{ path, name string }{
		{"/admin/reports/coverage", "coverage"}, {"/admin/reports/activity?days=14", "activity"},
		{"/admin/reports/locked", "locked"}, {"/admin/audit", "audit"},
	} {
		must(chromedp.Do(ctx, chromedp.Navigate(in.URL+page.path), chromedp.WaitVisible(chromedp.CSS("h1"))))
		shot(page.name)
		body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		must(err)
		switch page.name {
		case "coverage":
			bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('svg rect[height]').length`))
			must(err)
			// The OU's enrolled and not-enrolled bars, and the legend's swatches.
			if bars < 4 || !strings.Contains(body, "enrolled") {
				t.Fatalf("coverage chart has %d bars:\n%s", bars, body)
			}
		case "activity":
			if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('svg').length`)); n != 1 {
				t.Fatalf("activity page has %d charts", n)
			}
		case "locked":
			if !strings.Contains(body, others[1].Login) {
				t.Fatalf("the locked-out person is not listed:\n%s", body)
			}
		case "audit":
			if !strings.Contains(body, "The audit chain verifies") || !strings.Contains(body, "admin.report.coverage") {
				t.Fatalf("audit page:\n%s", body)
			}
		}
	}
}
