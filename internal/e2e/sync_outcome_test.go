package e2e

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sspr/sspr/internal/agent"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/sync/hook"
	"github.com/sspr/sspr/internal/testenv/browsertest"
)

// syncTargets is three signed webhooks a reset's new password goes to,
// one per outcome the person can see: "hr" is down (503) until release
// is called and then takes the password (delivered), "payroll" throttles
// for an hour (429, Retry-After: 3600: still being delivered, with when),
// "legacy" answers 404 with an internal error text (failed: the person is
// told plainly, never the text).
type syncTargets struct {
	srv      *httptest.Server
	released atomic.Bool
	got      atomic.Int32 // passwords "hr" took
}

const syncSecret = "sync-outcome-e2e-secret-0123456789"

// internalDetail is what the failing target says; it must never reach the person.
const internalDetail = "LDAP error 32 at ou=payroll-internal,dc=corp"

func newSyncTargets(t *testing.T) *syncTargets {
	s := &syncTargets{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !hook.VerifySignature([]byte(syncSecret), body, r.Header.Get(hook.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/hr":
			if !s.released.Load() {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "maintenance", http.StatusServiceUnavailable)
				return
			}
			s.got.Add(1)
			w.WriteHeader(http.StatusNoContent)
		case "/payroll":
			w.Header().Set("Retry-After", "3600")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		default:
			http.Error(w, internalDetail, http.StatusNotFound)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *syncTargets) yaml() string {
	target := func(name string) string {
		return fmt.Sprintf(`    - name: %s
      type: hook
      map: login
      hook:
        url: %q
        secret: %q
        timeout: 5s
`, name, s.srv.URL+"/"+name, syncSecret)
	}
	return "sync:\n  alert_to: [admins@example.test]\n  targets:\n" + target("hr") + target("payroll") + target("legacy")
}

// startWithSyncTargets is an instance whose resets go on to the three
// webhooks; the outbox retries "hr" every second while it is down, for as
// long as a test takes.
func startWithSyncTargets(t *testing.T) (*instance, *syncTargets) {
	s := newSyncTargets(t)
	in := start(t, startDemoDirectory(t), s.yaml())
	return in, s
}

// TestSyncOutcomesInTheAPIAndTheAgent: the done answer of a reset lists
// each target; /reset/status then shows one delivered, one pending with
// the time of the next try, one failed with a plain reason and the help
// desk, all in the documented shape; no other flow_id reads it. The
// login-screen agent says one line per target after the change.
func TestSyncOutcomesInTheAPIAndTheAgent(t *testing.T) {
	in, targets := startWithSyncTargets(t)
	c := newDocClient(t, in.URL)
	status, body := c.call("startReset", map[string]any{"login": "alice"})
	if status != http.StatusAccepted {
		t.Fatalf("start: %d %v", status, body)
	}
	flowID := body["flow_id"].(string)
	if status, body := c.call("verifyCode", map[string]any{"flow_id": flowID, "code": in.waitCode(t, "alice@demo.sspr.test", 0)}); status != http.StatusOK {
		t.Fatalf("verify: %d %v", status, body)
	}
	status, body = c.call("setPassword", map[string]any{"flow_id": flowID, "password": "Outcome-Harbour-2026"})
	if status != http.StatusOK || body["state"] != "done" {
		t.Fatalf("reset: %d %v", status, body)
	}
	if names := syncNames(body); names != "hr,payroll,legacy" {
		t.Fatalf("the done answer's sync list = %q (%v)", names, body["sync"])
	}

	byName := func(body map[string]any) map[string]map[string]any {
		out := map[string]map[string]any{}
		list, _ := body["sync"].([]any)
		for _, x := range list {
			o := x.(map[string]any)
			out[o["target"].(string)] = o
		}
		return out
	}
	var got map[string]map[string]any
	waitFor(t, "legacy failed and payroll waiting", func() bool {
		status, body := c.call("resetStatus", map[string]any{"flow_id": flowID})
		if status != http.StatusOK {
			t.Fatalf("status: %d %v", status, body)
		}
		got = byName(body)
		return got["legacy"]["state"] == "failed" && got["payroll"]["retry_at"] != nil
	})
	if o := got["legacy"]; o["reason"] != "refused" || !strings.Contains(o["message"].(string), "did not accept the new password") ||
		!strings.Contains(o["message"].(string), "contact the help desk") {
		t.Fatalf("legacy = %v", o)
	}
	retryAt, err := time.Parse(time.RFC3339, got["payroll"]["retry_at"].(string))
	if err != nil || got["payroll"]["state"] != "pending" || time.Until(retryAt) < 50*time.Minute {
		t.Fatalf("payroll = %v (%v), want pending, retried in about an hour", got["payroll"], err)
	}
	if got["hr"]["state"] != "pending" {
		t.Fatalf("hr delivered while down: %v", got["hr"])
	}
	targets.released.Store(true)
	waitFor(t, "hr delivered", func() bool {
		_, body := c.call("resetStatus", map[string]any{"flow_id": flowID})
		got = byName(body)
		return got["hr"]["state"] == "delivered"
	})
	if targets.got.Load() != 1 || got["hr"]["message"] != "hr has the new password." {
		t.Fatalf("hr took %d passwords; %v", targets.got.Load(), got["hr"])
	}
	_, _, _, raw := apiCall(t, in.URL, "/api/v1/reset/status", map[string]string{"flow_id": flowID}, "")
	if strings.Contains(string(raw), internalDetail) {
		t.Fatalf("the status shows a target's own error: %s", raw)
	}
	// Another flow (a stranger's, just started) sees nothing of it.
	status, body = c.call("startReset", map[string]any{"login": "bob"})
	if status != http.StatusAccepted {
		t.Fatalf("start: %d", status)
	}
	if _, other := c.call("resetStatus", map[string]any{"flow_id": body["flow_id"]}); other["sync"] != nil {
		t.Fatalf("another flow shows a sync list: %v", other)
	}

	t.Run("agent", func(t *testing.T) {
		conv := &scripted{}
		before := in.codeMailsTo("alice@demo.sspr.test")
		conv.answer = func(prompt string) (string, error) {
			switch {
			case strings.HasPrefix(prompt, "Type 1 to choose a new password"):
				return "1", nil
			case strings.HasPrefix(prompt, "Enter the code we sent to your email"):
				return in.waitCode(t, "alice@demo.sspr.test", before), nil
			case strings.HasPrefix(prompt, "New password"), strings.HasPrefix(prompt, "Type the new password again"):
				return "Outcome-Lantern-2027", nil
			}
			return "", fmt.Errorf("unexpected prompt %q", prompt)
		}
		rec := &agent.Recovery{Client: agentClient(t, in), Conv: conv, Texts: agent.TextsFor("en_US.UTF-8")}
		res := rec.Run(context.Background(), "alice", "")
		text := strings.Join(conv.transcript, "\n")
		if res.Outcome != agent.OutcomeOK {
			t.Fatalf("outcome %q:\n%s", res.Outcome, text)
		}
		for _, want := range []string{"SAY Your password was changed.", "SAY hr is being updated.", "SAY payroll is being updated.",
			"SAY legacy is being updated."} {
			if !strings.Contains(text, want) {
				t.Errorf("transcript lacks %q:\n%s", want, text)
			}
		}
	})

	// A change with the old password: the answer lists the targets and
	// its flow_id reads their outcomes like a reset's.
	t.Run("change through the API", func(t *testing.T) {
		status, body := c.call("changePassword", map[string]any{"login": "alice", "old_password": "Outcome-Lantern-2027",
			"password": "Outcome-Meadow-2028"})
		if status != http.StatusOK || body["state"] != "done" || body["action"] != "change" || syncNames(body) != "hr,payroll,legacy" {
			t.Fatalf("change: %d %v", status, body)
		}
		waitFor(t, "the change's outcomes", func() bool {
			_, body := c.call("resetStatus", map[string]any{"flow_id": body["flow_id"]})
			got = byName(body)
			return got["hr"]["state"] == "delivered" && got["legacy"]["state"] == "failed"
		})
	})
	t.Run("change in the portal", func(t *testing.T) {
		b := newBrowser(t, in.URL)
		p := b.post("/change", url.Values{"login": {"alice"}, "old_password": {"Outcome-Meadow-2028"},
			"password": {"Outcome-Willow-2029"}, "confirm": {"Outcome-Willow-2029"}})
		if p.Status != http.StatusSeeOther || p.Location != "/reset/done" {
			t.Fatalf("change: %d %q", p.Status, p.Location)
		}
		waitFor(t, "the done page's outcomes", func() bool {
			p = b.get("/reset/done?check=1")
			body := html.UnescapeString(p.Body)
			if p.Status != http.StatusOK || !strings.Contains(body, "Your password has been changed") || strings.Contains(body, "Step 3") {
				t.Fatalf("done page: %d\n%s", p.Status, p.Body)
			}
			return strings.Contains(body, `data-target="hr" data-state="delivered"`) &&
				strings.Contains(body, `data-target="legacy" data-state="failed"`)
		})
	})
}

func syncNames(body map[string]any) string {
	list, _ := body["sync"].([]any)
	var names []string
	for _, x := range list {
		names = append(names, x.(map[string]any)["target"].(string))
	}
	return strings.Join(names, ",")
}

// waitFor polls cond until it holds (the outbox worker runs on its own
// schedule), failing after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// browserSyncOutcomes walks a reset in Chromium to the done page, which
// shows each target's outcome: with scripts the list updates itself
// (no reload), without them "Check again" reloads it.
func browserSyncOutcomes(t *testing.T, scripts bool) {
	in, targets := startWithSyncTargets(t)
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
	must(chromedp.Do(ctx, chromedp.Navigate(in.URL+"/"), chromedp.WaitVisible(chromedp.ID("login")),
		sendKeys(chromedp.ID("login"), "alice"), submit(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("code"))))
	code := in.waitCode(t, "alice@demo.sspr.test", 0)
	must(chromedp.Do(ctx, sendKeys(chromedp.ID("code"), code), submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.ID("password")),
		sendKeys(chromedp.ID("password"), "Browser-Outcome-42"), sendKeys(chromedp.ID("confirm"), "Browser-Outcome-42"),
		submit(chromedp.ID("password")), chromedp.WaitVisible(chromedp.ID("sync-status"))))
	must(chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.sameDocument = 1`)))
	state := func(name string) string {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
			`(document.querySelector('#sync-status li[data-target=%q]') || {getAttribute: () => ""}).getAttribute("data-state")`, name)))
		must(err)
		return s
	}
	// settle waits for the states; without scripts it clicks "Check again".
	settle := func(what string, want map[string]string) {
		t.Helper()
		waitFor(t, what, func() bool {
			for name, s := range want {
				if state(name) != s {
					if !scripts {
						must(chromedp.Do(ctx, click(chromedp.ID("sync-again")), chromedp.WaitVisible(chromedp.ID("sync-status"))))
					} else {
						time.Sleep(500 * time.Millisecond)
					}
					return false
				}
			}
			return true
		})
	}
	settle("three states", map[string]string{"hr": "pending", "payroll": "pending", "legacy": "failed"})
	// payroll's next try is named (its Retry-After was an hour).
	waitFor(t, "payroll's next try", func() bool {
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("sync-status")))
		must(err)
		if strings.Contains(text, "trying again in about 60 minutes") || strings.Contains(text, "trying again in about 59 minutes") {
			return true
		}
		if !scripts {
			must(chromedp.Do(ctx, click(chromedp.ID("sync-again")), chromedp.WaitVisible(chromedp.ID("sync-status"))))
		}
		return false
	})
	screenshot(t, ctx, "sync-three-states")
	targets.released.Store(true)
	settle("hr delivered", map[string]string{"hr": "delivered", "payroll": "pending", "legacy": "failed"})
	screenshot(t, ctx, "sync-delivered")
	if scripts {
		// The three states pass axe-core's WCAG A/AA checks in both
		// colour schemes (the marks repeat what the words say).
		axe := browsertest.AxeScript(t)
		for _, scheme := range []string{"light", "dark"} {
			must(browsertest.SetColorScheme(ctx, scheme))
			violations, err := browsertest.Axe(ctx, axe, browsertest.AxeTags)
			must(err)
			for _, v := range violations {
				t.Errorf("done page with sync outcomes (%s scheme): %s", scheme, v)
			}
		}
		must(browsertest.SetColorScheme(ctx, ""))
	}

	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("main")))
	must(err)
	body = html.UnescapeString(body)
	for _, want := range []string{"Your other accounts", "hr: updated to the new password", "payroll: being updated",
		"legacy: not updated", "legacy did not accept the new password.", "contact the help desk", "Check again"} {
		if !strings.Contains(body, want) {
			t.Errorf("the done page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, internalDetail) {
		t.Errorf("the done page shows a target's own error:\n%s", body)
	}
	same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.sameDocument === 1`))
	must(err)
	if scripts != same {
		t.Errorf("scripts %v: the page was reloaded %v (the script should update it in place; without scripts, the link reloads)", scripts, !same)
	}
	if scripts {
		live, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("sync-live")))
		must(err)
		if !strings.Contains(live, "hr") {
			t.Errorf("the change was not announced: %q", live)
		}
	}
	refresh, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('meta[http-equiv]').length`))
	must(err)
	if refresh != 0 {
		t.Error("the done page refreshes itself with a meta tag")
	}
	// The janitor deletes the finished flow (reset.finished_retention):
	// the page then says the outcome is no longer shown, not that the
	// reset expired.
	must(in.App.Store().InTx(context.Background(), func(tx *store.Tx) error {
		_, err := tx.DeleteFinishedFlows(time.Now().Add(time.Hour), 100)
		return err
	}))
	const gone = "The outcome of your password change is no longer shown here."
	waitFor(t, "the status gone", func() bool {
		if !scripts {
			must(chromedp.Do(ctx, click(chromedp.ID("sync-again")), chromedp.WaitVisible(chromedp.ID("main"))))
		}
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("main")))
		must(err)
		return strings.Contains(text, gone) && !strings.Contains(text, "has expired")
	})
}

func TestBrowserSyncOutcomesWithScripts(t *testing.T)    { browserSyncOutcomes(t, true) }
func TestBrowserSyncOutcomesWithoutScripts(t *testing.T) { browserSyncOutcomes(t, false) }
