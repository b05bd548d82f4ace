package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// NodeDir is where scripts/testenv/tools.sh installs the pinned npm tools
// (axe-core, Redocly CLI): $SSPR_TEST_NODE_DIR, else
// ${SSPR_TEST_STATE:-/tmp/sspr-testenv}/node.
func NodeDir() string {
	if d := os.Getenv("SSPR_TEST_NODE_DIR"); d != "" {
		return d
	}
	state := os.Getenv("SSPR_TEST_STATE")
	if state == "" {
		state = "/tmp/sspr-testenv"
	}
	return filepath.Join(state, "node")
}

// NodeFile returns the path of rel under NodeDir. When it is missing the
// test is skipped, or fails when SSPR_TEST_REQUIRE_INTEGRATION=1 (the test
// command), so a check that must run cannot silently vanish.
func NodeFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(NodeDir(), rel)
	if _, err := os.Stat(p); err != nil {
		msg := fmt.Sprintf("%s is not installed (scripts/testenv/tools.sh installs it): %v", rel, err)
		if os.Getenv(RequireEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// AxeScript reads axe-core's browser bundle (see NodeFile).
func AxeScript(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(NodeFile(t, "node_modules/axe-core/axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// AxeTags are the rule sets every portal page must pass: WCAG 2.0 and 2.1,
// levels A and AA.
var AxeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// AxeViolation is one broken rule and where.
type AxeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

func (v AxeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s\n    %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n    "))
}

// Axe runs axe-core on the tab's current page and returns its violations
// of tags. The script goes in through the DevTools protocol
// (Runtime.evaluate), not a <script> tag, so the page's strict CSP stays as
// it is served.
func Axe(ctx context.Context, script string, tags []string) ([]AxeViolation, error) {
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](script+"\n;void 0")); err != nil {
		return nil, fmt.Errorf("browsertest: injecting axe-core: %w", err)
	}
	quoted := make([]string, len(tags))
	for i, tag := range tags {
		quoted[i] = fmt.Sprintf("%q", tag)
	}
	run := `axe.run(document, {runOnly: {type: "tag", values: [` + strings.Join(quoted, ",") + `]}, resultTypes: ["violations"]})
	.then(r => r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
		nodes: v.nodes.map(n => n.target.join(" ") + " — " + (n.failureSummary || "").replace(/\s+/g, " "))})))`
	awaitPromise := func(p *runtime.EvaluateParams) { p.AwaitPromise = new(true) }
	return chromedp.Run(ctx, chromedp.Evaluate[[]AxeViolation](run, awaitPromise))
}

// SetColorScheme makes the tab's pages match prefers-color-scheme: scheme
// ("light" or "dark"), as a browser set to that scheme would.
func SetColorScheme(ctx context.Context, scheme string) error {
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	})
	return err
}
