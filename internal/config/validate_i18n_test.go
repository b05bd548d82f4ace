package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/config"
)

// TestBrandingRules: portal.branding's rules, each problem under its key.
func TestBrandingRules(t *testing.T) {
	t.Parallel()
	good := writeFile(t, "logo.svg", `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>`)
	bad := writeFile(t, "evil.svg", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	checkRules(t, []rule{
		{"logo, favicon and colours that work", func(c *config.Config) {
			c.Portal.Branding.Logo, c.Portal.Branding.Favicon = good, good
			c.Portal.Branding.Colors.Primary, c.Portal.Branding.Colors.Accent = "#7a1f5c", "rgb(122, 31, 92)"
			c.Portal.Branding.Footer.Links = []config.BrandLink{{Text: "Privacy", URL: "https://example.com/privacy"}, {Text: "Call", URL: "tel:+15550100"}}
		}, nil},
		{"logo missing", func(c *config.Config) { c.Portal.Branding.Logo = "/nonexistent/logo.png" }, []string{"portal.branding.logo"}},
		{"favicon with a script", func(c *config.Config) { c.Portal.Branding.Favicon = bad }, []string{"portal.branding.favicon"}},
		{"colour not a colour", func(c *config.Config) { c.Portal.Branding.Colors.Text = "blackish" }, []string{"portal.branding.colors.text"}},
		{"button text unreadable", func(c *config.Config) { c.Portal.Branding.Colors.Primary = "#ffd400" }, []string{"portal.branding.colors.primary"}},
		{"footer link relative", func(c *config.Config) {
			c.Portal.Branding.Footer.Links = []config.BrandLink{{Text: "Privacy", URL: "/privacy"}, {URL: "https://example.com"}}
		}, []string{"portal.branding.footer.links[0].url", "portal.branding.footer.links[1].text"}},
		{"templates folder missing", func(c *config.Config) { c.Portal.Branding.Templates = "/nonexistent/templates" }, []string{"portal.branding.templates"}},
		{"languages dir missing", func(c *config.Config) { c.Portal.LanguagesDir = "/nonexistent/languages" }, []string{"portal.languages_dir"}},
		{"languages dir is a file", func(c *config.Config) { c.Portal.LanguagesDir = good }, []string{"portal.languages_dir"}},
	})
}

// TestBrokenBrandingNamesKeyAndFile: the message says which file and why,
// so an operator can fix it without reading code.
func TestBrokenBrandingNamesKeyAndFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logo := filepath.Join(dir, "logo.svg")
	if err := os.WriteFile(logo, []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, validYAML, nil)
	cfg.Portal.Branding.Logo = logo
	cfg.Portal.Branding.Colors.Accent = "#9db8ff"
	err := config.Validate(cfg)
	if err == nil {
		t.Fatal("Validate accepted a logo with an event handler and unreadable links")
	}
	msg := err.Error()
	for _, want := range []string{"portal.branding.logo: " + logo + " is an SVG with an event handler (onload on <svg>)", "portal.branding.colors.accent: links on the page background (#9db8ff on #f4f5f7)", "WCAG AA"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}
