package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/mailsink"
	"github.com/sspr/sspr/internal/testenv/browsertest"
)

// brandColour is the brand's primary and accent colour in these tests:
// a plum no part of sspr's own palette uses, so seeing it proves the
// configuration, not the build, coloured the page.
const brandColour = "#7a1f5c"

// brandLogo is a plain SVG logo (a plum square with a white bar).
const brandLogo = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40"><rect width="40" height="40" rx="6" fill="#7a1f5c"/><rect x="10" y="17" width="20" height="6" fill="#fff"/><text x="48" y="27" font-family="sans-serif" font-size="16" fill="#7a1f5c">Plum</text></svg>`

// swedish is an operator-added language: a few messages, the rest English.
const swedish = `{
 "app.language_name": "Svenska",
 "start.title": "Glömt ditt lösenord?",
 "start.submit": "Fortsätt",
 "flow.login_required": "Ange ditt användarnamn eller din e-postadress.",
 "mail.greeting": "Hej {name},"
}`

// brandedFiles writes the logo and the languages folder.
func brandedFiles(t *testing.T) (logo, langDir string) {
	t.Helper()
	dir := t.TempDir()
	logo = filepath.Join(dir, "logo.svg")
	langDir = filepath.Join(dir, "languages")
	if err := os.Mkdir(langDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for path, content := range map[string]string{logo: brandLogo, filepath.Join(langDir, "sv.json"): swedish} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return logo, langDir
}

// startBranded runs sspr like start does, with portal.branding and
// portal.languages_dir set (the shared harness writes its own portal
// section). Nothing is rebuilt: the look and the languages come from the
// configuration and the files it names.
func startBranded(t *testing.T, directoriesYAML, logo, langDir string) *instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	sink, err := mailsink.Start("127.0.0.1:0", mailsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	_, smtpPort, _ := net.SplitHostPort(sink.Addr())
	inst := &instance{Sink: sink, sinkAddr: sink.Addr(), URL: "http://localhost:" + port}
	yaml := fmt.Sprintf(`
server:
  listen: %q
  base_url: %q
storage:
  path: %q
secrets:
  hmac_key: "c3Nwci1lMmUtdGVzdC1rZXktdGhhdC1pcy1sb25nLWVub3VnaA=="
directories:
%s
mail:
  from: "Password reset <noreply@example.test>"
  smtp:
    host: 127.0.0.1
    port: %s
    security: none
    timeout: 5s
  outbox:
    poll_interval: 200ms
    initial_backoff: 200ms
    max_backoff: 1s
reset:
  identify_min_duration: 150ms
portal:
  title: "Plum Corp"
  help_desk:
    email: helpdesk@example.test
  languages_dir: %q
  branding:
    logo: %q
    favicon: %q
    colors:
      primary: %q
      accent: %q
    footer:
      text: "Plum Corp, 1 Example Street"
      links:
        - text: Privacy notice
          url: https://plum.example.test/privacy
log:
  level: warn
`, ln.Addr().String(), inst.URL, filepath.Join(t.TempDir(), "sspr.db"), directoriesYAML, smtpPort, langDir, logo, logo, brandColour, brandColour)
	cfg, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	inst.App = a
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()
	inst.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
		a.Close()
	}
	t.Cleanup(inst.stop)
	return inst
}

// TestPortalLanguagesAndBrandingInBrowser opens the portal in headless
// Chromium in each built-in language and in an operator-added one
// (Swedish, from portal.languages_dir), keeping a screenshot of each
// (i18n-start-<lang>.png), and checks on every page that the branding of
// the configuration is applied: the logo loads from its file, buttons and
// links take the brand colour from the generated stylesheet, the footer
// shows. Then, with JavaScript off, the language switcher's link changes
// the language.
func TestPortalLanguagesAndBrandingInBrowser(t *testing.T) {
	logo, langDir := brandedFiles(t)
	in := startBranded(t, startDemoDirectory(t), logo, langDir)
	cat, _, err := i18n.LoadWith(i18n.Options{Default: "en", Dir: langDir})
	if err != nil {
		t.Fatal(err)
	}
	axe := browsertest.AxeScript(t)
	ctx := browsertest.NewWithOptions(t, browsertest.Options{Timeout: 5 * time.Minute})
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			screenshot(t, ctx, "i18n-failed")
			t.Fatalf("%s: %v", what, err)
		}
	}
	const rgb = "rgb(122, 31, 92)" // brandColour
	for _, lang := range []string{"en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv"} {
		must(lang, chromedp.Do(ctx, chromedp.Navigate(in.URL+"/?lang="+lang), chromedp.WaitVisible(chromedp.ID("login"))))
		title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
		must(lang+" title", err)
		if want := cat.T(lang, "start.title"); title != want {
			t.Errorf("%s: heading %q, want %q", lang, title, want)
		}
		htmlLang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
		must(lang+" lang", err)
		if htmlLang != lang {
			t.Errorf("%s: <html lang=%q>", lang, htmlLang)
		}
		// Every language's switcher lists all nine, each in its own name.
		names, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('.langs a')].map(a => a.textContent).join('|')`))
		must(lang+" switcher", err)
		if names != "English|Deutsch|Español|Français|Italiano|Nederlands|Polski|Português (Brasil)|Svenska" {
			t.Errorf("%s: switcher %q", lang, names)
		}
		look, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`(() => {
			const img = document.querySelector('header .brand img.logo');
			const button = document.querySelector('main button[type=submit]');
			const link = document.querySelector('.foot-links a');
			return {
				logo: !!img && img.complete && img.naturalWidth > 0,
				button: button ? getComputedStyle(button).backgroundColor : '',
				link: link ? getComputedStyle(link).color : '',
				footer: document.querySelector('.brand-foot')?.textContent || '',
				icon: document.querySelector('link[rel=icon]')?.getAttribute('href') || '',
			};
		})()`))
		must(lang+" branding", err)
		if look["logo"] != true || look["button"] != rgb || look["link"] != rgb || look["footer"] != "Plum Corp, 1 Example Street" ||
			!strings.HasPrefix(fmt.Sprint(look["icon"]), "/static/brand/favicon?v=") {
			t.Errorf("%s: branding not applied: %v", lang, look)
		}
		screenshot(t, ctx, "i18n-start-"+lang)
		// The brand's colours pass axe-core's WCAG AA checks in either
		// scheme the visitor prefers (two languages are enough: the rules
		// are about colours and structure, not words).
		if lang == "en" || lang == "pl" {
			for _, scheme := range []string{"light", "dark"} {
				must("scheme", browsertest.SetColorScheme(ctx, scheme))
				violations, err := browsertest.Axe(ctx, axe, browsertest.AxeTags)
				must("axe", err)
				for _, v := range violations {
					t.Errorf("%s, %s scheme, branded: %s", lang, scheme, v)
				}
			}
			must("scheme", browsertest.SetColorScheme(ctx, ""))
		}
	}

	// Without JavaScript, the switcher is plain links: French from German.
	must("scripts off", chromedp.Do(ctx, disableScripts))
	must("german", chromedp.Do(ctx, chromedp.Navigate(in.URL+"/?lang=de"), chromedp.WaitVisible(chromedp.ID("login")),
		click(chromedp.CSS(`.langs a[hreflang=fr]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang=fr] #login`))))
	if title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1"))); err != nil || title != "Mot de passe oublié ?" {
		t.Errorf("after choosing Français the heading is %q (%v)", title, err)
	}
	screenshot(t, ctx, "i18n-switched-fr")
}

// TestOperatorLanguageAndBrandedMail: a request that asks for Swedish
// (Accept-Language) gets the operator's Swedish page and API message, and
// English where the file has no text; the code mail is in Swedish where it
// can be and carries the logo, the brand's footer and its colours.
func TestOperatorLanguageAndBrandedMail(t *testing.T) {
	logo, langDir := brandedFiles(t)
	in := startBranded(t, startDemoDirectory(t), logo, langDir)
	get := func(path, lang string) (int, string, http.Header) {
		req, _ := http.NewRequest(http.MethodGet, in.URL+path, nil)
		req.Header.Set("Accept-Language", lang)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	_, body, _ := get("/", "sv-SE,sv;q=0.9,en;q=0.5")
	for _, want := range []string{`<html lang="sv">`, "Glömt ditt lösenord?", "Fortsätt", "Username or email address", `href="/static/brand.css?v=`} {
		if !strings.Contains(body, want) {
			t.Errorf("Swedish start page lacks %q", want)
		}
	}
	status, out, _, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": ""}, "sv")
	if status != http.StatusBadRequest || !strings.Contains(string(raw), "Ange ditt användarnamn eller din e-postadress.") {
		t.Errorf("API in Swedish: %d %v", status, out)
	}
	// The brand's files: the stylesheet and the logo, with their types,
	// cached by their content's hash; the SVG may run and load nothing.
	css := strings.SplitN(strings.SplitN(body, `href="/static/brand.css?v=`, 2)[1], `"`, 2)[0]
	code, sheet, h := get("/static/brand.css?v="+css, "")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/css") || !strings.Contains(sheet, "--btn:"+brandColour) || !strings.Contains(h.Get("Cache-Control"), "immutable") {
		t.Errorf("brand.css: %d %v %q", code, h, sheet)
	}
	code, svg, h := get("/static/brand/logo?v=x", "")
	if code != 200 || h.Get("Content-Type") != "image/svg+xml" || svg != brandLogo || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("logo: %d %v", code, h)
	}
	// The code mail, asked for in Swedish.
	req, _ := http.NewRequest(http.MethodPost, in.URL+"/api/v1/reset", strings.NewReader(`{"login":"alice"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Language", "sv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	in.waitCode(t, "alice@demo.sspr.test", 0)
	var m mailsink.Message
	for _, msg := range in.Sink.Messages() {
		if strings.Contains(strings.Join(msg.To, ","), "alice@") {
			m = msg
		}
	}
	for _, want := range []string{"Hej ", "/static/brand/logo?v=", `alt="Plum Corp"`, "Plum Corp, 1 Example Street", "https://plum.example.test/privacy", brandColour} {
		if !strings.Contains(m.HTMLBody, want) {
			t.Errorf("HTML mail lacks %q:\n%.3000s", want, m.HTMLBody)
		}
	}
	if !strings.Contains(m.TextBody, "Privacy notice: https://plum.example.test/privacy") {
		t.Errorf("text mail lacks the footer link:\n%s", m.TextBody)
	}
}
