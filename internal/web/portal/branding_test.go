package portal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTemplateOverrides: a file in the folder replaces the built-in
// template of its name; a misspelt name or a template that does not parse
// is refused, naming the file.
func TestTemplateOverrides(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("message.html", `{{define "content"}}<h1>Our own message page</h1>{{end}}`)
	if err := CheckTemplates(dir); err != nil {
		t.Fatal(err)
	}
	pages, err := parsePages(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := pages["message"].ExecuteTemplate(&b, "content", nil); err != nil || b.String() != "<h1>Our own message page</h1>" {
		t.Errorf("override not used: %q %v", b.String(), err)
	}
	bad := write("strat.html", `x`)
	if err := CheckTemplates(dir); err == nil || !strings.Contains(err.Error(), bad+" is not a portal template") {
		t.Errorf("misspelt name: %v", err)
	}
	os.Remove(bad)
	write("start.html", `{{define "content"}}{{if}}{{end}}`)
	if err := CheckTemplates(dir); err == nil || !strings.Contains(err.Error(), "start.html") || !strings.Contains(err.Error(), dir) {
		t.Errorf("broken template: %v", err)
	}
}
