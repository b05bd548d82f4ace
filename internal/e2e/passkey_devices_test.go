package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/sspr/sspr/internal/testenv/browsertest"
)

// present turns an authenticator's automatic user presence on or off: one
// that is off never answers, as a device left in a drawer.
func present(ctx context.Context, id webauthn.AuthenticatorID, on bool) error {
	_, err := chromedp.Call(ctx, webauthn.SetAutomaticPresenceSimulation,
		webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: id, Enabled: on})
	return err
}

// TestPasskeysOnTwoDevicesInBrowser: a person enrolls passkeys on two
// devices (two virtual authenticators in Chromium). Before any factor the
// passkey options are the same for them and for an unknown login (no
// credential named); a passkey works as the first factor, from the device
// never used before; and after a first factor the options list both
// passkeys, so the other device works too. (Before, only the most recently
// used passkey was offered, so the other could never be used.)
func TestPasskeysOnTwoDevicesInBrowser(t *testing.T) {
	ctx := browsertest.NewWithOptions(t, browsertest.Options{Timeout: 180 * time.Second})
	laptop, err := browsertest.AddVirtualAuthenticator(ctx, browsertest.Passkey())
	if err != nil {
		t.Fatal(err)
	}
	local := listenLocalhost(t)
	dirYAML, _ := startDemo(t)
	in := start(t, dirYAML, fmt.Sprintf(`verification:
  factors: [email, passkey]
  first_factor: email
  required:
    reset: 2
    unlock: 1
  passkey:
    rp_id: localhost
    rp_name: Example Corp
    origins: [%q]
`, local.Origin))
	local.serve(t, in)
	must := func(err error) {
		t.Helper()
		if err != nil {
			screenshot(t, ctx, "failed")
			t.Fatal(err)
		}
	}
	text := func(css string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
		must(err)
		return s
	}
	// used is the signature count of the passkey on an authenticator: it
	// rises each time that passkey answers.
	used := func(id webauthn.AuthenticatorID) float64 {
		t.Helper()
		creds, err := browsertest.Credentials(ctx, id)
		must(err)
		if len(creds) != 1 {
			t.Fatalf("the authenticator holds %d credentials", len(creds))
		}
		return creds[0].SignCount
	}

	// Enroll a passkey on the laptop, then one on the phone in the same
	// session (the laptop put away meanwhile).
	must(chromedp.Do(ctx,
		chromedp.Navigate(local.Origin+"/enroll"),
		chromedp.WaitVisible(chromedp.ID("login")),
		sendKeys(chromedp.ID("login"), "alice"),
		sendKeys(chromedp.ID("password"), "Winter-2026"),
		submit(chromedp.ID("password")),
	))
	// Alice's directory mail is a factor already: prove it first.
	must(stepUpChromium(t, ctx, in, "alice@demo.sspr.test"))
	must(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("add-passkey"))))
	addPasskey := func(name string) {
		t.Helper()
		must(chromedp.Do(ctx, click(chromedp.ID("add-passkey")), chromedp.WaitVisible(chromedp.ID("passkey-create"))))
		must(chromedp.Do(ctx,
			sendKeys(chromedp.ID("passkey-name"), name),
			click(chromedp.ID("passkey-create")),
			chromedp.WaitVisible(chromedp.ID("factors")),
		))
		if got := text("#factors"); !strings.Contains(got, "Passkey ("+name+")") {
			t.Fatalf("the list shows %q", got)
		}
	}
	addPasskey("Laptop")
	must(present(ctx, laptop, false))
	// Chromium allows one built-in authenticator: the "phone" is a roaming
	// one holding discoverable credentials (a security key with a PIN
	// behaves the same).
	phone, err := browsertest.AddVirtualAuthenticator(ctx, browsertest.Authenticator{Transport: "usb", ResidentKey: true,
		UserVerification: true, UserVerified: true})
	must(err)
	addPasskey("Phone")
	for id, name := range map[webauthn.AuthenticatorID]string{laptop: "laptop", phone: "phone"} {
		creds, err := browsertest.Credentials(ctx, id)
		must(err)
		if len(creds) != 1 || !creds[0].IsResidentCredential {
			t.Fatalf("the %s holds %+v, want one discoverable credential", name, creds)
		}
	}
	must(chromedp.Do(ctx, click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("login"))))

	// Before a factor is verified, the options are alike for alice (two
	// passkeys) and for a login that does not exist.
	options := func(login string) string {
		t.Helper()
		status, body, _, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": login}, "")
		if status != 202 {
			t.Fatalf("start %s: %d %s", login, status, raw)
		}
		status, _, _, raw = apiCall(t, in.URL, "/api/v1/reset/choose", map[string]string{"flow_id": body["flow_id"].(string), "factor": "passkey"}, "")
		if status != 200 {
			t.Fatalf("choose passkey for %s: %d %s", login, status, raw)
		}
		return normaliseBody(string(raw))
	}
	if a, u := options("alice"), options("nobody-with-passkeys"); a != u || strings.Contains(a, "allowCredentials") {
		t.Fatalf("passkey options before a first factor:\nalice:   %s\nunknown: %s", a, u)
	}

	// Reset 1: the passkey first, from the phone (never used), then the
	// mailed code.
	must(present(ctx, laptop, false))
	must(present(ctx, phone, true))
	before := in.codeMailsTo(aliceMail)
	must(chromedp.Do(ctx,
		chromedp.Navigate(local.Origin+"/"),
		chromedp.WaitVisible(chromedp.ID("login")),
		sendKeys(chromedp.ID("login"), "alice"),
		submit(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.Navigate(local.Origin+"/reset/choose"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=factor][value=passkey]`)),
		click(chromedp.CSS(`input[name=factor][value=passkey]`)),
		submit(chromedp.CSS(`input[name=factor][value=passkey]`)),
		chromedp.WaitVisible(chromedp.ID("passkey-button")),
		click(chromedp.ID("passkey-button")),
		chromedp.WaitVisible(chromedp.CSS(`input[name=factor][value=email]`)),
	))
	screenshot(t, ctx, "passkey-first")
	must(chromedp.Do(ctx,
		submit(chromedp.CSS(`input[name=factor][value=email]`)),
		chromedp.WaitVisible(chromedp.ID("code")),
	))
	code := in.waitCode(t, aliceMail, before+1)
	must(chromedp.Do(ctx,
		sendKeys(chromedp.ID("code"), code),
		submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.ID("password")),
	))
	if used(phone) == 0 {
		t.Fatal("the phone's passkey was not the one used")
	}

	// Reset 2: the mailed code first, then the passkey from the laptop
	// (the phone, now the most recently used, put away).
	must(present(ctx, phone, false))
	must(present(ctx, laptop, true))
	laptopBefore := used(laptop)
	before = in.codeMailsTo(aliceMail)
	must(chromedp.Do(ctx,
		chromedp.Navigate(local.Origin+"/"),
		chromedp.WaitVisible(chromedp.ID("login")),
		sendKeys(chromedp.ID("login"), "alice"),
		submit(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("code")),
	))
	code = in.waitCode(t, aliceMail, before)
	must(chromedp.Do(ctx,
		sendKeys(chromedp.ID("code"), code),
		submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.CSS(`input[name=factor][value=passkey]`)),
		submit(chromedp.CSS(`input[name=factor][value=passkey]`)),
		chromedp.WaitVisible(chromedp.ID("passkey-button")),
		click(chromedp.ID("passkey-button")),
		chromedp.WaitVisible(chromedp.ID("password")),
	))
	screenshot(t, ctx, "passkey-second-device")
	if used(laptop) <= laptopBefore {
		t.Fatal("the laptop's passkey was not the one used")
	}
}
