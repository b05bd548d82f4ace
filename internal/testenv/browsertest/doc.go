// Package browsertest starts headless Chromium for tests and gives it
// virtual WebAuthn authenticators (the DevTools protocol's WebAuthn
// domain), so passkey registration and sign-in run end to end in a real
// browser with no hardware.
//
//	ctx := browsertest.New(t) // skips without chromium
//	id, err := browsertest.AddVirtualAuthenticator(ctx, browsertest.Passkey())
//	chromedp.Do(ctx, chromedp.Navigate(url), ...)
//
// Chromium is Debian's (scripts/testenv/browser.sh installs it). Without it
// the test is skipped, or fails when SSPR_TEST_REQUIRE_INTEGRATION=1.
package browsertest
