package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// newBrowserCtx starts headless Chromium (Debian's, installed by
// scripts/testenv/browser.sh) with a fresh profile.
func newBrowserCtx(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv(dirtest.RequireEnv) == "1" {
			t.Fatal("chromium is not installed (scripts/testenv/browser.sh installs it)")
		}
		t.Skip("chromium is not installed (scripts/testenv/browser.sh installs it)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(412, 915), // a phone-sized window
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// click, submit and sendKeys are chromedp's Click, Submit and SendKeys,
// run again when the node they found went away before they could act on
// it ("No node with given id found"): the page they queried was being
// replaced, by the navigation of the step before or by a page that
// re-asks by itself, and the action did nothing. chromedp retries the
// query of an action but not the action itself.
func click[S chromedp.Selectable](sel S, opts ...chromedp.QueryOption) chromedp.Action[chromedp.Void] {
	return againWhenGone(func() chromedp.Action[chromedp.Void] { return chromedp.Click(sel, opts...) })
}

func submit[S chromedp.Selectable](sel S, opts ...chromedp.QueryOption) chromedp.Action[chromedp.Void] {
	return againWhenGone(func() chromedp.Action[chromedp.Void] { return chromedp.Submit(sel, opts...) })
}

func sendKeys[S chromedp.Selectable](sel S, keys string, opts ...chromedp.QueryOption) chromedp.Action[chromedp.Void] {
	return againWhenGone(func() chromedp.Action[chromedp.Void] { return chromedp.SendKeys(sel, keys, opts...) })
}

func againWhenGone(action func() chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for tries := 1; ; tries++ {
			v, err := action()(ctx, t)
			if err == nil || tries == 20 || !nodeGone(err) || ctx.Err() != nil {
				return v, err
			}
			select {
			case <-ctx.Done():
				return v, err
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// nodeGone is the browser's answer about a node of a page that is no more.
func nodeGone(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "No node with given id") || strings.Contains(msg, "Could not find node with given id") ||
		strings.Contains(msg, "Cannot find context with specified id") || strings.Contains(msg, "Node is detached from document")
}

// screenshot keeps a picture of the page for people reviewing a failure.
func screenshot(t *testing.T, ctx context.Context, name string) {
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		dir := os.Getenv("SSPR_TEST_SCREENSHOTS")
		if dir == "" {
			dir = t.TempDir()
		}
		_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
}

const everyInputLabelled = `[...document.querySelectorAll('input:not([type=hidden]):not([hidden])')].every(i => i.labels && i.labels.length > 0)`

// disableScripts turns JavaScript off in the tab, as some people browse.
func disableScripts(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
	_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	return chromedp.Void{}, err
}

func browserReset(t *testing.T, scripts bool) {
	in := start(t, startDemoDirectory(t), "")
	ctx := newBrowserCtx(t)
	if !scripts {
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
	must(chromedp.Do(ctx, chromedp.Navigate(in.URL+"/"), chromedp.WaitVisible(chromedp.ID("login"))))
	labelled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](everyInputLabelled))
	must(err)
	if !labelled {
		t.Error("an input on the start page has no label")
	}
	screenshot(t, ctx, "start")
	must(chromedp.Do(ctx,
		sendKeys(chromedp.ID("login"), "alice"),
		submit(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("code")),
	))
	code := in.waitCode(t, "alice@demo.sspr.test", 0)
	screenshot(t, ctx, "code")
	must(chromedp.Do(ctx,
		sendKeys(chromedp.ID("code"), code[:4]+" "+code[4:]),
		submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.ID("password")),
		sendKeys(chromedp.ID("password"), "short"),
		sendKeys(chromedp.ID("confirm"), "short"),
		submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("form-error")),
	))
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("form-error")))
	must(err)
	screenshot(t, ctx, "refused")
	if !strings.Contains(text, "does not meet the password rules") || !strings.Contains(text, "At least 8 characters") {
		t.Fatalf("the refusal does not name the rule: %q", text)
	}
	must(chromedp.Do(ctx,
		sendKeys(chromedp.ID("password"), "Browser-Pass-42"),
		sendKeys(chromedp.ID("confirm"), "Browser-Pass-42"),
		submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("h1.success")),
	))
	text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1.success")))
	must(err)
	screenshot(t, ctx, "done")
	if text != "Your password has been changed" {
		t.Fatalf("done page heading %q", text)
	}
}

// TestBrowserResetWithScripts and ...WithoutScripts walk the portal in a real
// browser; the flow must work the same with JavaScript off.
func TestBrowserResetWithScripts(t *testing.T)    { browserReset(t, true) }
func TestBrowserResetWithoutScripts(t *testing.T) { browserReset(t, false) }
