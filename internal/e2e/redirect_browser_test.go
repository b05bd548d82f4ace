package e2e

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestRedirectFactorsInBrowser: a whole reset in headless Chromium with the
// real pages and scripts: "Continue with Example SSO" to the OpenID
// Provider's login form and back, the certificate step shown, then
// "Continue with Example SAML" to the SAML IdP (on another site: its page
// posts cross-site to the ACS) and back, then a new password the directory
// accepts. Screenshots of each step are kept (SSPR_TEST_SCREENSHOTS).
func TestRedirectFactorsInBrowser(t *testing.T) {
	ctx := newBrowserCtx(t)
	dirYAML, srv := startRedirectDemo(t)
	lh := listenLocalhost(t)
	callback, acs := lh.Origin+"/reset/oidc/callback", lh.Origin+"/reset/saml/acs"
	op := startOP(t, nil, "localhost", callback)
	key, cert := rsaKeyPair(t)
	// The IdP is on 127.0.0.1, another site than localhost.
	idp := startIdP(t, key, cert, "", "", map[string]string{"https://sspr.example.test/saml": acs})
	md, _ := xml.Marshal(idp.idp.Metadata())
	mdFile := filepath.Join(t.TempDir(), "idp.xml")
	if err := os.WriteFile(mdFile, md, 0o600); err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writePEM(t, caFile, "CERTIFICATE", ca.cert.Raw)
	in := start(t, dirYAML, fmt.Sprintf(`verification:
  factors: [oidc, saml, certificate]
  first_factor: oidc
  required:
    reset: 2
    unlock: 1
  oidc:
    issuer: %q
    client_id: sspr
    client_secret: %q
    redirect_url: %q
    claim: sub
    attribute: employeeNumber
    label: Example SSO
  saml:
    entity_id: https://sspr.example.test/saml
    acs_url: %q
    idp_metadata_file: %q
    directory_attribute: mail
    label: Example SAML
  certificate:
    ca_files: [%q]
    map_by: email
    attribute: mail
`, op.issuer, oidcSecret, callback, acs, mdFile, caFile))
	lh.serve(t, in)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			screenshot(t, ctx, "redirect-failed")
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			body, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
			t.Fatalf("%s: %v (at %s)\n%.2000s", what, err, loc, body)
		}
	}
	must("start", chromedp.Do(ctx, chromedp.Navigate(lh.Origin+"/"), chromedp.WaitVisible(chromedp.ID("login")),
		sendKeys(chromedp.ID("login"), redirectUser), submit(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("redirect-link"))))
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("redirect-link")))
	must("OIDC button", err)
	if text != "Continue with Example SSO" {
		t.Fatalf("OIDC button %q", text)
	}
	screenshot(t, ctx, "redirect-oidc-step")
	must("to the OP", chromedp.Do(ctx, click(chromedp.ID("redirect-link")), chromedp.WaitVisible(chromedp.ID("username"))))
	screenshot(t, ctx, "redirect-oidc-provider")
	must("sign in at the OP", chromedp.Do(ctx, sendKeys(chromedp.ID("username"), "test-user@localhost"),
		sendKeys(chromedp.ID("password"), "verysecure"), submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS(`input[name=factor][value=certificate]`))))
	screenshot(t, ctx, "redirect-choose")
	choice := chromedp.CSS(`input[name=factor][value=certificate]`)
	must("certificate step", chromedp.Do(ctx, click(choice), submit(choice), chromedp.WaitVisible(chromedp.ID("certificate-form"))))
	screenshot(t, ctx, "redirect-certificate-step")
	choice = chromedp.CSS(`input[name=factor][value=saml]`)
	must("back to the choice", chromedp.Do(ctx, chromedp.Navigate(lh.Origin+"/reset/choose"), chromedp.WaitVisible(choice),
		click(choice), submit(choice), chromedp.WaitVisible(chromedp.ID("redirect-link"))))
	text, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("redirect-link")))
	must("SAML button", err)
	if text != "Continue with Example SAML" {
		t.Fatalf("SAML button %q", text)
	}
	screenshot(t, ctx, "redirect-saml-step")
	must("SAML sign-in and back", chromedp.Do(ctx, click(chromedp.ID("redirect-link")), chromedp.WaitVisible(chromedp.ID("password"))))
	screenshot(t, ctx, "redirect-password")
	const pw = "Browser-Pass-42"
	must("new password", chromedp.Do(ctx, sendKeys(chromedp.ID("password"), pw), sendKeys(chromedp.ID("confirm"), pw),
		submit(chromedp.ID("password")), chromedp.WaitVisible(chromedp.CSS("h1.success"))))
	screenshot(t, ctx, "redirect-done")
	if err := bindAs(t, srv, redirectUser, pw); err != nil {
		t.Fatalf("the directory refuses the new password: %v", err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(loc, lh.Origin) {
		t.Fatalf("ended at %s", loc)
	}
}
