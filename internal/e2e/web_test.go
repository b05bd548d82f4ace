package e2e

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestSecurityHeadersAndCrossOrigin(t *testing.T) {
	in := start(t, startDemoDirectory(t), "")
	for _, path := range []string{"/", "/healthz", "/api/openapi.yaml", "/static/sspr.css"} {
		resp, err := http.Get(in.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
		for h, want := range map[string]string{
			"Content-Security-Policy": "frame-ancestors 'none'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"X-Frame-Options":         "DENY",
		} {
			if !strings.Contains(resp.Header.Get(h), want) {
				t.Errorf("%s: %s = %q, want it to contain %q", path, h, resp.Header.Get(h), want)
			}
		}
		if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("%s: HSTS sent over plain http: %q", path, got)
		}
	}
	// The CSP forbids inline code: no page may rely on it.
	resp, _ := http.Get(in.URL + "/")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|\sstyle=|\son[a-z]+=`).Match(body) {
		t.Errorf("the start page has inline script or style, which the CSP blocks:\n%s", body)
	}

	// A form posted from another site is refused (CSRF), and says why.
	req, _ := http.NewRequest(http.MethodPost, in.URL+"/reset/start", strings.NewReader("login=alice"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "did not come from this site") {
		t.Fatalf("cross-site post: %d\n%s", resp.StatusCode, body)
	}
	if n := len(in.Sink.Messages()); n != 0 {
		t.Fatalf("a cross-site post sent %d mails", n)
	}
}

// TestMailLinksIgnoreHostHeader: a poisoned Host header must not end up in
// the link mailed to the user.
func TestMailLinksIgnoreHostHeader(t *testing.T) {
	in := start(t, startDemoDirectory(t), "")
	req, _ := http.NewRequest(http.MethodPost, in.URL+"/api/v1/reset", strings.NewReader(`{"login":"bob"}`))
	req.Host = "evil.example"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-Host", "evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	in.waitCode(t, "bob@demo.sspr.test", 0)
	m := in.Sink.Messages()[0]
	if strings.Contains(m.TextBody+m.HTMLBody, "evil.example") {
		t.Fatalf("the mail links to the Host header:\n%s", m.TextBody)
	}
	if !strings.Contains(m.TextBody, in.URL+"/reset/code") || !strings.Contains(m.HTMLBody, `href="`+in.URL+`/reset/code"`) {
		t.Fatalf("the mail does not link to the configured base URL %s:\n%s", in.URL, m.TextBody)
	}
}

func TestLanguageFollowsTheBrowser(t *testing.T) {
	in := start(t, startDemoDirectory(t), "")
	get := func(path, accept string) string {
		req, _ := http.NewRequest(http.MethodGet, in.URL+path, nil)
		req.Header.Set("Accept-Language", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if body := get("/", "de-DE,de;q=0.9,en;q=0.5"); !strings.Contains(body, "Passwort vergessen?") || !strings.Contains(body, `<html lang="de">`) {
		t.Errorf("German browser did not get German")
	}
	if body := get("/", "ja-JP"); !strings.Contains(body, "Forgot your password?") {
		t.Errorf("unsupported language did not fall back to English")
	}
	if body := get("/?lang=de", "en"); !strings.Contains(body, "Passwort vergessen?") {
		t.Errorf("?lang=de did not switch to German")
	}
	// API refusals are localised too, and mails are in the flow's language.
	status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": ""}, "de")
	if status != http.StatusBadRequest || !strings.Contains(string(raw), "Bitte geben Sie") {
		t.Errorf("German API refusal: %d %s", status, raw)
	}
	apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": "carol"}, "de")
	in.waitCode(t, "carol@demo.sspr.test", 0)
	if m := in.Sink.Messages()[0]; m.Subject != "Ihr Code zum Zurücksetzen des Passworts" {
		t.Errorf("German mail subject = %q", m.Subject)
	}
}

func TestPortalWithoutCookieStartsOver(t *testing.T) {
	in := start(t, startDemoDirectory(t), "")
	b := newBrowser(t, in.URL)
	for _, path := range []string{"/reset/code", "/reset/password", "/reset/done"} {
		p := b.get(path)
		if p.Status != http.StatusNotFound || !strings.Contains(p.Body, "expired or is no longer valid") || !strings.Contains(p.Body, `name="login"`) {
			t.Errorf("%s without a flow: %d", path, p.Status)
		}
	}
	p := b.post("/reset/code", url.Values{"code": {"12345678"}})
	if p.Status != http.StatusNotFound {
		t.Errorf("code without a flow: %d", p.Status)
	}
}
