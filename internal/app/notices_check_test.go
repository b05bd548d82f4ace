package app_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sspr/sspr/internal/app"
)

// TestCheckTemplateOverride: `sspr config check` reports an override
// template that does not parse under notifications.templates_dir, naming
// the file; one that parses passes.
func TestCheckTemplateOverride(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	yaml := baseYAML + "notifications:\n  templates_dir: " + dir + "\n"
	if err := os.WriteFile(filepath.Join(dir, "changed.txt"), []byte("Changed: {{.Data.Login}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if problems, _ := app.Check(parse(t, yaml), nil); has(problems, "notifications.templates_dir", "") {
		t.Fatalf("a good override was refused: %v", problems)
	}
	bad := filepath.Join(dir, "unlocked.html")
	if err := os.WriteFile(bad, []byte("<p>{{.Data.Login</p>"), 0o600); err != nil {
		t.Fatal(err)
	}
	if problems, _ := app.Check(parse(t, yaml), nil); !has(problems, "notifications.templates_dir", bad+" does not parse") {
		t.Fatalf("problems %v: want unlocked.html named as not parsing", problems)
	}
}
