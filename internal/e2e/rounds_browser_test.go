package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sspr/sspr/internal/factor/duo/duotest"
	"github.com/sspr/sspr/internal/factor/yubikey/yubikeytest"
)

// TestRoundsPortalInChromium: the portal in headless Chromium with RADIUS,
// Duo and YubiKey: a YubiKey enrolled by one touch, a reset through a real
// FreeRADIUS Access-Challenge, a Duo push approved, the YubiKey prompt,
// and the RADIUS and Duo user-name enrollment pages (with JavaScript off,
// a Duo push enrolled by a plain form). Screenshots go to
// $SSPR_TEST_SCREENSHOTS (rounds-*.png).
func TestRoundsPortalInChromium(t *testing.T) {
	env := freeRADIUSEnv(t)
	user := env["CHALLENGE_USER"]
	duoSrv := duotest.NewServer()
	t.Cleanup(duoSrv.Close)
	duoSrv.SetUser(user, &duotest.User{Push: duotest.Approve})
	duoSrv.SetUser("duo-"+user, &duotest.User{Push: duotest.Approve})
	yk := yubikeytest.NewServer()
	t.Cleanup(yk.Close)
	token := yubikeytest.NewToken()
	yk.Add(token)
	dir, srv := startRoundsDirectory(t, user, "enroller")
	cfg := `verification:
  factors: [radius, duo, yubikey]
  first_factor: ""
  required: {reset: 1, unlock: 1}
  radius:
    servers: [%q]
    secret: %q
    timeout: 2s
    retries: -1
  duo:
` + duoYAML(t, duoSrv, "") + "  yubikey:\n" + yubikeyYAML(t, yk)
	in := start(t, dir, fmt.Sprintf(cfg, env["ADDR"], env["SECRET"]))
	ctx := newBrowserCtx(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		must(err)
		return s
	}

	// Enrollment: one touch of the key.
	must(chromedp.Do(ctx, chromedp.Navigate(in.URL+"/enroll"), chromedp.WaitVisible(chromedp.ID("login")),
		sendKeys(chromedp.ID("login"), user), sendKeys(chromedp.ID("password"), roundsOldPassword),
		submit(chromedp.ID("password")), chromedp.WaitVisible(chromedp.ID("add-yubikey")),
		click(chromedp.ID("add-yubikey")), chromedp.WaitVisible(chromedp.ID("code"))))
	screenshot(t, ctx, "rounds-yubikey-enroll")
	if h := text("h1"); h != "Touch your YubiKey" {
		t.Fatalf("YubiKey enrollment page: %q", h)
	}
	must(chromedp.Do(ctx, sendKeys(chromedp.ID("code"), token.OTP()), submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.CSS(`.factor-kind`))))
	if s := text("main"); !strings.Contains(s, "YubiKey") {
		t.Fatalf("after enrolling the key: %q", s)
	}

	startReset := func(kind string) {
		t.Helper()
		must(chromedp.Do(ctx, chromedp.Navigate(in.URL+"/"), chromedp.WaitVisible(chromedp.ID("login")),
			sendKeys(chromedp.ID("login"), user), submit(chromedp.ID("login")),
			chromedp.WaitVisible(chromedp.CSS(`input[name=factor]`)),
			click(chromedp.CSS(`input[value=`+kind+`]`)), submit(chromedp.CSS(`input[value=`+kind+`]`)),
			chromedp.WaitVisible(chromedp.CSS(`h1`))))
	}

	// YubiKey prompt.
	startReset("yubikey")
	must(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("code"))))
	screenshot(t, ctx, "rounds-yubikey-prompt")
	if h := text("h1"); h != "Use your YubiKey" {
		t.Fatalf("YubiKey prompt: %q", h)
	}

	// Duo push, approved on the phone.
	startReset("duo")
	must(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("duo-push"))))
	screenshot(t, ctx, "rounds-duo-prompt")
	if s := text("#duo-push-wait"); !strings.Contains(s, "Approve the request on your phone") {
		t.Fatalf("Duo prompt: %q", s)
	}
	must(chromedp.Do(ctx, click(chromedp.ID("duo-push")), chromedp.WaitVisible(chromedp.ID("password"))))
	screenshot(t, ctx, "rounds-duo-approved")

	// RADIUS with an Access-Challenge round, to a changed password.
	startReset("radius")
	must(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("code"))))
	screenshot(t, ctx, "rounds-radius-prompt")
	must(chromedp.Do(ctx, sendKeys(chromedp.ID("code"), env["CHALLENGE_PASSWORD"]), submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.ID("server-message"))))
	screenshot(t, ctx, "rounds-radius-challenge")
	must(chromedp.Do(ctx, sendKeys(chromedp.ID("code"), env["CHALLENGE_CODE"]), submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.ID("password")),
		sendKeys(chromedp.ID("password"), "Quartz-Browser-8842"), sendKeys(chromedp.ID("confirm"), "Quartz-Browser-8842"),
		submit(chromedp.ID("password")), chromedp.WaitVisible(chromedp.CSS(`h1.success`))))
	screenshot(t, ctx, "rounds-radius-done")
	if err := bindAs(t, srv, user, "Quartz-Browser-8842"); err != nil {
		t.Fatalf("the directory refuses the new password: %v", err)
	}

	// The user-name enrollment pages (enroll: true).
	in2 := start(t, dir, fmt.Sprintf(strings.Replace(strings.Replace(cfg, "    retries: -1\n", "    retries: -1\n    enroll: true\n", 1),
		"  yubikey:\n", "    enroll: true\n  yubikey:\n", 1), env["ADDR"], env["SECRET"]))
	// This half without JavaScript: plain forms do it all.
	ctx = newBrowserCtx(t)
	must(chromedp.Do(ctx, disableScripts))
	must(chromedp.Do(ctx, chromedp.Navigate(in2.URL+"/enroll"), chromedp.WaitVisible(chromedp.ID("login")),
		sendKeys(chromedp.ID("login"), "enroller"), sendKeys(chromedp.ID("password"), roundsOldPassword),
		submit(chromedp.ID("password")), chromedp.WaitVisible(chromedp.ID("add-radius")),
		click(chromedp.ID("add-radius")), chromedp.WaitVisible(chromedp.ID("username"))))
	screenshot(t, ctx, "rounds-radius-enroll")
	must(chromedp.Do(ctx, sendKeys(chromedp.ID("username"), user), submit(chromedp.ID("username")),
		chromedp.WaitVisible(chromedp.ID("code"))))
	screenshot(t, ctx, "rounds-radius-enroll-confirm")
	must(chromedp.Do(ctx, click(chromedp.ID("cancel")), chromedp.WaitVisible(chromedp.ID("add-duo")),
		click(chromedp.ID("add-duo")), chromedp.WaitVisible(chromedp.ID("username")),
		sendKeys(chromedp.ID("username"), "duo-"+user), submit(chromedp.ID("username")),
		chromedp.WaitVisible(chromedp.ID("duo-push"))))
	screenshot(t, ctx, "rounds-duo-enroll-confirm")
	must(chromedp.Do(ctx, click(chromedp.ID("duo-push")), chromedp.WaitVisible(chromedp.CSS(`.factor-kind`))))
	if s := text("main"); !strings.Contains(s, "Duo") {
		t.Fatalf("after enrolling Duo: %q", s)
	}
	screenshot(t, ctx, "rounds-duo-enrolled")
}
