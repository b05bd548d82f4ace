package api

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sspr/sspr/internal/testenv/browsertest"
)

// TestOpenAPILint runs Redocly CLI (pinned, installed by
// scripts/testenv/tools.sh) on openapi.yaml with its recommended rules and
// fails on any error. Without the tool it skips, unless
// SSPR_TEST_REQUIRE_INTEGRATION=1.
func TestOpenAPILint(t *testing.T) {
	cli := browsertest.NodeFile(t, "node_modules/@redocly/cli/bin/cli.js")
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv(browsertest.RequireEnv) == "1" {
			t.Fatal("node is not installed (scripts/testenv/tools.sh installs it)")
		}
		t.Skip("node is not installed")
	}
	doc, err := filepath.Abs("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, cli, "lint", "--format=stylish", doc)
	cmd.Dir = t.TempDir() // no redocly.yaml: the recommended rules
	// No telemetry, no update check: the test runs offline.
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint found errors in openapi.yaml: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
