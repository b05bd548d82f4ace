package e2e

import (
	"context"
	"crypto/sha1"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sspr/sspr/internal/password/breach"
)

// breachedPassword is in the test corpus: it passes every other rule.
const breachedPassword = "Velvet-Thunder-Parade-88"

// buildCorpus writes a small Pwned-Passwords file (SHA-1 "HASH:COUNT"
// lines, as Have I Been Pwned publishes them) and builds a corpus from it.
func buildCorpus(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	for _, pw := range []string{breachedPassword, "Summer2024!", "Winter-2026"} {
		fmt.Fprintf(&b, "%X:%d\r\n", sha1.Sum([]byte(pw)), 42)
	}
	for i := range 2000 { // some bulk, so shards are not trivially empty
		fmt.Fprintf(&b, "%X:1\r\n", sha1.Sum(fmt.Appendf(nil, "filler-%d", i)))
	}
	in := filepath.Join(dir, "pwned-passwords-sha1.txt")
	if err := os.WriteFile(in, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "corpus")
	if _, err := breach.Build(context.Background(), breach.BuildOptions{Inputs: []string{in}, Out: out}); err != nil {
		t.Fatal(err)
	}
	return out
}

func passwordYAML(corpus string) string {
	return fmt.Sprintf(`password:
  preset: nist-800-63b-4
  multi_factor: true
  banned_words: [examplecorp]
  breach:
    corpus: %q
    on_error: refuse
`, corpus)
}

// startVerifiedAPIFlow starts a reset for alice and verifies it.
func startVerifiedAPIFlow(t *testing.T, in *instance) string {
	t.Helper()
	before := in.codeMailsTo("alice@demo.sspr.test")
	_, body, _, _ := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": "alice"}, "")
	flowID := body["flow_id"].(string)
	code := in.waitCode(t, "alice@demo.sspr.test", before)
	if status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset/verify", map[string]string{"flow_id": flowID, "code": code}, ""); status != http.StatusOK {
		t.Fatalf("verify: %d %s", status, raw)
	}
	return flowID
}

// TestPasswordRules: sspr's own rules (NIST preset, a banned word, the
// breach corpus, the person's own name) refuse before the directory is
// asked, through the API check, the reset itself and the form without JS.
func TestPasswordRules(t *testing.T) {
	in := start(t, startDemoDirectory(t), passwordYAML(buildCorpus(t)))
	flowID := startVerifiedAPIFlow(t, in)

	for _, tc := range []struct {
		password, rule string
	}{
		{"short", "length.min"},
		{breachedPassword, "breach"},
		{"Ex4mpleC0rp-Spring", "banned"},  // normalised and fuzzy
		{"Alice-Archer-Rocks", "context"}, // the person's own name
		{"password123", "common"},         // a common password
	} {
		status, body, _, raw := apiCall(t, in.URL, "/api/v1/password/check", map[string]string{"flow_id": flowID, "password": tc.password}, "")
		if status != http.StatusOK || body["ok"] != false || !failedRule(body, tc.rule) {
			t.Errorf("check %q: %d %s; want rule %s failed", tc.password, status, raw, tc.rule)
		}
		status, _, _, raw = apiCall(t, in.URL, "/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": tc.password}, "")
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(raw), `"id":"`+tc.rule+`"`) {
			t.Errorf("reset with %q: %d %s; want rule %s", tc.password, status, raw, tc.rule)
		}
	}
	status, body, _, raw := apiCall(t, in.URL, "/api/v1/password/check", map[string]string{"flow_id": flowID, "password": "Quiet-Lantern-Meadow-7"}, "de")
	if status != http.StatusOK || body["ok"] != true || body["score_label"] == "" {
		t.Fatalf("a good password: %d %s", status, raw)
	}
	if !strings.Contains(string(raw), "Mindestens 8 Zeichen") {
		t.Errorf("the check is not in the asked language: %s", raw)
	}
	// The flow survived every refusal and the good password goes through.
	if status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": "Quiet-Lantern-Meadow-7"}, ""); status != http.StatusOK {
		t.Fatalf("good password: %d %s", status, raw)
	}

	// The HTML form refuses the same way without any script.
	b := newBrowser(t, in.URL)
	before := in.codeMailsTo("alice@demo.sspr.test")
	b.post("/reset/start", url.Values{"login": {"alice"}})
	b.post("/reset/code", url.Values{"code": {in.waitCode(t, "alice@demo.sspr.test", before)}})
	p := b.get("/reset/password")
	if !strings.Contains(html.UnescapeString(p.Body), "At least 8 characters") || !strings.Contains(p.Body, `id="rules"`) {
		t.Fatalf("the password page does not list the rules:\n%s", p.Body)
	}
	p = b.post("/reset/password", url.Values{"password": {breachedPassword}, "confirm": {breachedPassword}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(p.Body), "Has not appeared in a known data breach") {
		t.Fatalf("breached password through the form: %d\n%s", p.Status, p.Body)
	}
}

func failedRule(body map[string]any, id string) bool {
	checks, _ := body["checks"].([]any)
	for _, c := range checks {
		m := c.(map[string]any)
		if m["id"] == id && m["passed"] == false {
			return true
		}
	}
	return false
}

// TestBreachCorpusMissingRefuses: with on_error refuse, a missing corpus
// stops new passwords with a plain message instead of waving them through.
func TestBreachCorpusMissingRefuses(t *testing.T) {
	in := start(t, startDemoDirectory(t), passwordYAML(filepath.Join(t.TempDir(), "no-corpus-here")))
	flowID := startVerifiedAPIFlow(t, in)
	status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": "Quiet-Lantern-Meadow-7"}, "")
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(raw), `"id":"breach"`) {
		t.Fatalf("missing corpus: %d %s", status, raw)
	}
}

// TestBrowserLiveChecklist: in a real browser, the checklist and strength
// meter follow what the person types.
func TestBrowserLiveChecklist(t *testing.T) {
	in := start(t, startDemoDirectory(t), passwordYAML(buildCorpus(t)))
	ctx := newBrowserCtx(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(chromedp.Do(ctx, chromedp.Navigate(in.URL+"/"), chromedp.WaitVisible(chromedp.ID("login")),
		sendKeys(chromedp.ID("login"), "alice"), submit(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("code"))))
	code := in.waitCode(t, "alice@demo.sspr.test", 0)
	must(chromedp.Do(ctx, sendKeys(chromedp.ID("code"), code), submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.ID("rules"))))

	state := func(id string) string {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector('li[data-id=%q]')||{getAttribute:()=>"missing"}).getAttribute("data-state") || ""`, id)))
		must(err)
		return v
	}
	waitState := func(id, want string) {
		t.Helper()
		js := fmt.Sprintf(`new Promise(r => { const t0 = Date.now(); (function poll(){ const li = document.querySelector('li[data-id=%q]');
			if ((li && li.getAttribute("data-state")) === %q || Date.now() - t0 > 5000) { r(true); } else { setTimeout(poll, 50); } })(); })`, id, want)
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise))
		must(err)
		if got := state(id); got != want {
			screenshot(t, ctx, "checklist-"+id)
			t.Fatalf("checklist item %s is %q, want %q", id, got, want)
		}
	}
	must(chromedp.Do(ctx, sendKeys(chromedp.ID("password"), "abc")))
	waitState("length.min", "fail")
	must(chromedp.Do(ctx, sendKeys(chromedp.ID("password"), "-Quiet-Lantern-7")))
	waitState("length.min", "pass")
	screenshot(t, ctx, "checklist")
	// Wait for the answer about the whole password: on a loaded machine the
	// keys go in slowly and an earlier answer (about "abc-Quie") may be the
	// one on screen when the length rule first passes.
	meterShown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(r => { const t0 = Date.now(); (function poll(){
		const ok = !document.getElementById("strength").hidden && document.getElementById("meter").value >= 3;
		if (ok || Date.now() - t0 > 5000) { r(ok); } else { setTimeout(poll, 50); } })(); })`, chromedp.EvalAwaitPromise))
	must(err)
	if !meterShown {
		t.Error("the strength meter is not shown, or rates a long passphrase weak")
	}
}
