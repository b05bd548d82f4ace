package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow"
)

// directoryMailID is the enrollment ID of the directory's mail address when
// it serves as a pre-enrolled email factor.
const directoryMailID = "directory:mail"

// stepUpInProcess proves the directory's mail address in a fresh enrollment
// session (flow API), as a person whose only factor is that address must
// before adding others. It returns the session's view after the step-up.
func stepUpInProcess(t *testing.T, in *instance, token, login string) flow.SessionView {
	t.Helper()
	u, err := in.App.Reset.Directories.FindUser(bg, login)
	if err != nil {
		t.Fatalf("looking up %s: %v", login, err)
	}
	before := in.codeMailsTo(u.Email)
	v, err := in.App.Enroll.StartVerify(bg, token, directoryMailID)
	if err != nil {
		t.Fatalf("step-up with the directory's mail (%s): %v", u.Email, err)
	}
	v, err = in.App.Enroll.FinishVerify(bg, token, factor.Response{Values: map[string]string{"code": in.waitCode(t, u.Email, before)}})
	if err != nil || v.Step != flow.StepReady {
		t.Fatalf("step-up code: %v (step %s)", err, v.Step)
	}
	return v
}

// stepUpForm proves the directory's mail address through the enrollment
// pages (no scripts), for a browser just signed in.
func stepUpForm(t *testing.T, in *instance, b *browser, mail string) page {
	t.Helper()
	before := in.codeMailsTo(mail)
	p := b.follow(b.post("/enroll/verify/start", url.Values{"enrollment": {directoryMailID}}))
	if !strings.Contains(p.Body, `name="code"`) {
		t.Fatalf("the step-up page asks for no code:\n%s", p.Body)
	}
	p = b.follow(b.post("/enroll/verify", url.Values{"code": {in.waitCode(t, mail, before)}}))
	if !strings.Contains(p.Body, "Thank you, that worked") {
		t.Fatalf("after the step-up:\n%s", p.Body)
	}
	return p
}

// stepUpChromium proves the directory's mail address on the enrollment
// step-up page open in Chromium, and waits for the home page.
func stepUpChromium(t *testing.T, ctx context.Context, in *instance, mail string) error {
	t.Helper()
	before := in.codeMailsTo(mail)
	choice := chromedp.CSS(`input[name=enrollment][value="` + directoryMailID + `"]`)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(choice), click(choice), submit(choice),
		chromedp.WaitVisible(chromedp.ID("code"))); err != nil {
		return err
	}
	return chromedp.Do(ctx, sendKeys(chromedp.ID("code"), in.waitCode(t, mail, before)), submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.ID("factors")))
}
