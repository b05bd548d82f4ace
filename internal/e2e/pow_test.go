package e2e

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sspr/sspr/internal/abuse"
)

// TestProofOfWork: with proof of work on, a start without a solved puzzle
// is refused, a solved one starts the flow once (no replay), and a real
// browser solves it on its own.
func TestProofOfWork(t *testing.T) {
	in := start(t, startDemoDirectory(t), "abuse:\n  proof_of_work_bits: 8\n")
	status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": "alice"}, "")
	if status != http.StatusBadRequest || !strings.Contains(string(raw), "proof_of_work_required") {
		t.Fatalf("start without a puzzle: %d %s", status, raw)
	}
	resp, err := http.Get(in.URL + "/api/v1/pow")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Enabled   bool
		Challenge struct {
			Token, Nonce string
			Bits         int
		}
	}
	decodeJSON(t, resp, &got)
	if !got.Enabled || got.Challenge.Bits != 8 {
		t.Fatalf("pow challenge: %+v", got)
	}
	solution := abuse.Solve(abuse.Challenge{Nonce: got.Challenge.Nonce, Bits: got.Challenge.Bits})
	body := map[string]string{"login": "alice", "pow_token": got.Challenge.Token, "pow_solution": solution}
	if status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset", body, ""); status != http.StatusAccepted {
		t.Fatalf("start with a solved puzzle: %d %s", status, raw)
	}
	if status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset", body, ""); status != http.StatusBadRequest {
		t.Fatalf("a puzzle used twice: %d %s", status, raw)
	}
	wrong := map[string]string{"login": "alice", "pow_token": got.Challenge.Token, "pow_solution": strconv.Itoa(1 << 30)}
	if status, _, _, _ := apiCall(t, in.URL, "/api/v1/reset", wrong, ""); status != http.StatusBadRequest {
		t.Fatalf("a wrong solution was accepted")
	}

	// The portal's script solves it in a real browser.
	ctx := newBrowserCtx(t)
	err = chromedp.Do(ctx, chromedp.Navigate(in.URL+"/"), chromedp.WaitVisible(chromedp.ID("login")),
		sendKeys(chromedp.ID("login"), "bob"), click(chromedp.CSS("form[data-pow-nonce] button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("code")))
	if err != nil {
		screenshot(t, ctx, "pow")
		t.Fatalf("the browser did not get past the puzzle: %v", err)
	}
	in.waitCode(t, "bob@demo.sspr.test", 0)
}

func decodeJSON(t *testing.T, resp *http.Response, into any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatal(err)
	}
}
