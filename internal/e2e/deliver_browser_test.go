package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sspr/sspr/internal/directory/demo"
)

// TestManagerApprovalInBrowser: in headless Chromium, a person verifies
// the email code, picks manager approval and waits on the portal's
// waiting page (which re-asks by itself); the manager, in another tab,
// opens the mail's approve link, sees who asks, confirms; the person's
// page moves on by itself to the new password, and the reset completes.
// Screenshots of the waiting page and the manager's pages are kept
// (SSPR_TEST_SCREENSHOTS) like the other browser tests'.
func TestManagerApprovalInBrowser(t *testing.T) {
	t.Run("scripts", func(t *testing.T) { browserApproval(t, true) })
	// Without JavaScript the waiting page's "Check now" button moves on.
	t.Run("no-scripts", func(t *testing.T) { browserApproval(t, false) })
}

func browserApproval(t *testing.T, scripts bool) {
	in, srv := startApproval(t, "30m")
	ctx := newBrowserCtx(t)
	suffix := ""
	if !scripts {
		suffix = "-noscript"
		if err := chromedp.Do(ctx, disableScripts); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(chromedp.Do(ctx, chromedp.Navigate(in.URL+"/"), chromedp.WaitVisible(chromedp.ID("login")),
		sendKeys(chromedp.ID("login"), "alice"),
		submit(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("code")),
	))
	code := in.waitCode(t, "alice@"+demo.MailDomain, 0)
	must(chromedp.Do(ctx,
		sendKeys(chromedp.ID("code"), code),
		submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.CSS(`input[value="manager_approval"]`)),
		click(chromedp.CSS(`input[value="manager_approval"]`)),
		submit(chromedp.CSS(`input[value="manager_approval"]`)),
		chromedp.WaitVisible(chromedp.ID("approval-wait")),
	))
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	must(err)
	screenshot(t, ctx, "approval-waiting"+suffix)
	if heading != "Waiting for your manager" {
		t.Fatalf("waiting page heading %q", heading)
	}

	approve, _ := approvalLinks(t, in, "bob@"+demo.MailDomain)
	manager, cancel := chromedp.NewContext(ctx) // another tab
	defer cancel()
	must(chromedp.Do(manager, chromedp.Navigate(approve), chromedp.WaitVisible(chromedp.CSS(`button[value="approve"]`))))
	shown, err := chromedp.Run(manager, chromedp.Text(chromedp.CSS("main")))
	must(err)
	screenshot(t, manager, "approval-manager"+suffix)
	if !strings.Contains(shown, "Alice Archer (alice)") || !strings.Contains(shown, "127.0.0.1") {
		t.Fatalf("the approval page does not say who asks from where:\n%s", shown)
	}
	must(chromedp.Do(manager, click(chromedp.CSS(`button[value="approve"]`)), chromedp.WaitVisible(chromedp.CSS(".alert-info"))))
	done, err := chromedp.Run(manager, chromedp.Text(chromedp.CSS(".alert-info")))
	must(err)
	screenshot(t, manager, "approval-manager-done"+suffix)
	if !strings.Contains(done, "You approved") {
		t.Fatalf("after approving: %q", done)
	}

	// The person's page asks again by itself (or, without scripts, when
	// the person presses "Check now") and reaches the password.
	if !scripts {
		must(chromedp.Do(ctx, click(chromedp.CSS(`#approval-wait button`))))
	}
	must(chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.ID("password")),
		sendKeys(chromedp.ID("password"), "Browser-Approved-42"),
		sendKeys(chromedp.ID("confirm"), "Browser-Approved-42"),
		submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("h1.success")),
	))
	screenshot(t, ctx, "approval-done"+suffix)
	if err := bindAs(t, srv, "alice", "Browser-Approved-42"); err != nil {
		t.Fatalf("the directory refuses the new password: %v", err)
	}
}
