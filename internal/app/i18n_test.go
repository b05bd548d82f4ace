package app_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
)

// TestLanguageFileProblems: config check (and start) name the file and the
// message of an operator's broken language file; a file that only lacks
// messages is a warning listing them (capped), and English stands in.
func TestLanguageFileProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sv := filepath.Join(dir, "sv.json")
	nb := filepath.Join(dir, "nb.json")
	for path, content := range map[string]string{
		sv: `{"mail.greeting": "Hej {namn},"}`,
		nb: `{"start.title": "Glemt passordet?"}`,
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := parse(t, baseYAML+"portal:\n  languages_dir: "+dir+"\n")
	problems, warnings := app.Check(cfg, nil)
	if !has(problems, "portal.languages_dir", sv+`: "mail.greeting" has placeholders {namn}, English has {name}`) {
		t.Errorf("problems %v lack sv.json's placeholder", problems)
	}
	if !has(warnings, "portal.languages_dir", nb+`: "app.help_desk" is missing: English is shown instead`) ||
		!has(warnings, "portal.languages_dir", nb+": and ") {
		t.Errorf("warnings %v do not list nb.json's missing messages", warnings)
	}
	listed := 0
	for _, w := range warnings {
		if strings.HasPrefix(w.Message, nb) {
			listed++
		}
	}
	if listed != 21 { // 20 named, then "and N more"
		t.Errorf("%d warnings for nb.json, want 21", listed)
	}
	// sspr serve refuses to start on the same file, saying the same.
	_, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{})
	if err == nil || !strings.Contains(err.Error(), "portal.languages_dir") || !strings.Contains(err.Error(), sv) || !strings.Contains(err.Error(), `"mail.greeting"`) {
		t.Errorf("New: %v", err)
	}
	// Fixed, it checks clean but for the warnings.
	if err := os.WriteFile(sv, []byte(`{"mail.greeting": "Hej {name},"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if problems, _ := app.Check(cfg, nil); len(problems) != 0 {
		t.Errorf("after the fix: %v", problems)
	}
}

// TestBrokenLogoIsAConfigProblem: a logo with active content is refused
// when the configuration is read, naming the key and the file.
func TestBrokenLogoIsAConfigProblem(t *testing.T) {
	t.Parallel()
	logo := filepath.Join(t.TempDir(), "logo.svg")
	if err := os.WriteFile(logo, []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := parseErr(baseYAML + "portal:\n  branding:\n    logo: " + logo + "\n")
	if err == nil || !strings.Contains(err.Error(), "portal.branding.logo: "+logo+" is an SVG with a <script> element, which is refused") {
		t.Errorf("err = %v", err)
	}
}

func parseErr(yaml string) (any, error) { return config.Parse([]byte(yaml), nil) }

// TestBrokenTemplateIsAConfigProblem: config check names the key and the
// template file that does not parse.
func TestBrokenTemplateIsAConfigProblem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "start.html"), []byte(`{{define "content"}}{{if}}{{end}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := parse(t, baseYAML+"portal:\n  branding:\n    templates: "+dir+"\n")
	problems, _ := app.Check(cfg, nil)
	if !has(problems, "portal.branding.templates", "start.html") || !has(problems, "portal.branding.templates", dir) {
		t.Errorf("problems = %v", problems)
	}
}
