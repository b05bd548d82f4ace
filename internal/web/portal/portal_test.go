package portal_test

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/directory/demo"
	"github.com/sspr/sspr/internal/mailsink"
	"github.com/sspr/sspr/internal/password/breach"
)

// The portal's handlers, driven over real HTTP against a whole sspr: the
// embedded demo directory (with its digit rule and its locked account), a
// real SMTP catcher, and a small breached-password corpus, as `sspr demo`
// runs them.

// breached are the passwords on the test corpus; each passes every other
// rule, so only the breach rule can refuse it.
var breached = []string{"Summer2024!", "Welcome2024!"}

type env struct {
	t    *testing.T
	url  string
	sink *mailsink.Sink
	ldap *demo.Server
	c    *http.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ldapSrv, err := demo.Start(ctx, demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ldapSrv.Close() })
	sink, err := mailsink.Start("127.0.0.1:0", mailsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, webPort, _ := net.SplitHostPort(ln.Addr().String())
	base := "http://localhost:" + webPort // browsers allow passkeys over http only on localhost

	var list strings.Builder
	for _, pw := range breached {
		fmt.Fprintf(&list, "%X:1\n", sha1.Sum([]byte(pw)))
	}
	in := filepath.Join(dir, "pwned.txt")
	if err := os.WriteFile(in, []byte(list.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	corpus := filepath.Join(dir, "breach")
	if _, err := breach.Build(ctx, breach.BuildOptions{Inputs: []string{in}, Out: corpus, Source: "portal test"}); err != nil {
		t.Fatal(err)
	}

	cfg := config.Defaults()
	cfg.Server.Listen = ln.Addr().String()
	cfg.Server.BaseURL = base
	cfg.Storage.Path = filepath.Join(dir, "sspr.db")
	cfg.Secrets.HMACKey.Value = "c3Nwci1wb3J0YWwtdGVzdC1rZXktdGhhdC1pcy1sb25nLWVub3VnaA=="
	cfg.Directories = []config.Directory{{
		Name: "demo", Type: "openldap", URLs: []string{ldapSrv.URL()},
		BindDN: ldapSrv.ServiceDN(), BindPassword: config.Secret{Value: ldapSrv.ServicePassword()},
		BaseDN: ldapSrv.BaseDN(), PasswordWrite: "modify", PasswordPolicyDN: demo.PolicyDN,
		AllowInsecurePasswordWrites: true,
	}}
	_, port, _ := net.SplitHostPort(sink.Addr())
	cfg.Mail.From = "sspr test <noreply@test.sspr>"
	cfg.Mail.SMTP.Host = "127.0.0.1"
	cfg.Mail.SMTP.Port, _ = strconv.Atoi(port)
	cfg.Mail.SMTP.Security = "none"
	cfg.Mail.Outbox.PollInterval = 100 * time.Millisecond
	cfg.Mail.Outbox.InitialBackoff = 100 * time.Millisecond
	cfg.Reset.IdentifyMinDuration = 10 * time.Millisecond
	cfg.Portal.Title = "Example Corp"
	cfg.Password.Breach.Corpus = corpus
	if err := config.Validate(&cfg); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(ctx, &cfg, log, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
	})
	jar, _ := cookiejar.New(nil)
	return &env{t: t, url: base, sink: sink, ldap: ldapSrv, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

type resp struct {
	status int
	header http.Header
	body   string
}

func (e *env) do(req *http.Request) resp {
	e.t.Helper()
	req.Header.Set("Accept-Language", "en")
	r, err := e.c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, r.Header, string(b)}
}

func (e *env) get(path string) resp {
	req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
	return e.do(req)
}

// post sends a form as the portal's own page would (same origin).
func (e *env) post(path string, form url.Values) resp {
	req, _ := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return e.do(req)
}

// postJSON sends JSON as the page's script would.
func (e *env) postJSON(path string, body any) resp {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", e.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return e.do(req)
}

var codeRE = regexp.MustCompile(`(?m)^\s+(\d{6,10})\s*$`)

// code waits for the n-th (from 1) code mail to rcpt and returns it.
func (e *env) code(rcpt string, n int) (string, mailsink.Message) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	seen := 0
	m, err := e.sink.WaitFor(ctx, func(m mailsink.Message) bool {
		if strings.EqualFold(strings.Join(m.To, ","), rcpt) && codeRE.MatchString(m.TextBody) {
			seen++
		}
		return seen == n
	})
	if err != nil {
		e.t.Fatalf("no code mail %d to %s: %v", n, rcpt, err)
	}
	return codeRE.FindStringSubmatch(m.TextBody)[1], m
}

// verified walks a flow for login up to the step after the code.
func (e *env) verified(action, login string) resp {
	e.t.Helper()
	r := e.post("/reset/start", url.Values{"login": {login}, "action": {action}})
	if r.status != http.StatusOK || !strings.Contains(r.body, `name="code"`) {
		e.t.Fatalf("start %s %s: %d\n%s", action, login, r.status, r.body)
	}
	code, _ := e.code(login+"@"+demo.MailDomain, 1)
	return e.post("/reset/code", url.Values{"code": {code}})
}

func title(body string) string {
	m := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestPageTitlesNameTheStep: every step's title says the step, then the
// site; a page reporting a refusal starts with "Error:".
func TestPageTitlesNameTheStep(t *testing.T) {
	e := newEnv(t)
	if got := title(e.get("/").body); got != "Forgot your password? — Example Corp" {
		t.Errorf("start page title %q", got)
	}
	if got := title(e.get("/change").body); got != "Change your password — Example Corp" {
		t.Errorf("change page title %q", got)
	}
	if got := title(e.get("/enroll").body); got != "Set up your recovery methods — Example Corp" {
		t.Errorf("enroll page title %q", got)
	}
	r := e.post("/reset/start", url.Values{"login": {""}})
	if got := title(r.body); got != "Error: Forgot your password? — Example Corp" {
		t.Errorf("refused start title %q", got)
	}
	r = e.verified("reset", "alice")
	if got := title(r.body); got != "Choose a new password — Example Corp" {
		t.Errorf("password page title %q", got)
	}
	if got := title(e.get("/no/such/page").body); got != "This page does not exist. — Example Corp" {
		t.Errorf("missing page title %q", got)
	}
}

// TestBreachShowsLive: the live checklist reports a breached password as it
// is typed, worded as what is wrong, with a "Very weak" meter; the page
// carries the (hidden) item for the script to show.
func TestBreachShowsLive(t *testing.T) {
	e := newEnv(t)
	r := e.verified("reset", "alice")
	if !regexp.MustCompile(`<li data-id="breach"[^>]* hidden>`).MatchString(r.body) {
		t.Fatalf("the password page has no hidden breach item:\n%s", r.body)
	}
	r = e.postJSON("/reset/password/check", map[string]string{"password": breached[0]})
	var res struct {
		OK         bool   `json:"ok"`
		ScoreLabel string `json:"score_label"`
		Checks     []struct {
			ID      string `json:"id"`
			Message string `json:"message"`
			Passed  bool   `json:"passed"`
			Problem bool   `json:"problem"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.body), &res); err != nil || r.status != http.StatusOK {
		t.Fatalf("check: %d %v\n%s", r.status, err, r.body)
	}
	found := false
	for _, c := range res.Checks {
		if c.ID == "breach" {
			found = true
			if c.Passed || !c.Problem || !strings.HasPrefix(c.Message, "Has appeared in a known data breach") {
				t.Errorf("breach item: %+v", c)
			}
		}
	}
	if !found || res.OK || res.ScoreLabel != "Very weak" {
		t.Errorf("live check of a breached password: %+v", res)
	}
}

// TestRefusalsSayWhatIsWrong: the breach refusal does not read as its
// opposite, and the demo directory's refusal names the missing digit.
func TestRefusalsSayWhatIsWrong(t *testing.T) {
	e := newEnv(t)
	e.verified("reset", "alice")
	r := e.post("/reset/password", url.Values{"password": {breached[0]}, "confirm": {breached[0]}})
	alert := regexp.MustCompile(`(?s)<div class="alert alert-error".*?</div>`).FindString(r.body)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(alert, "Has appeared in a known data breach") || strings.Contains(alert, "Has not appeared") {
		t.Errorf("breach refusal: %d\n%s", r.status, r.body)
	}
	const noDigit = "Marmalade-Otter-Lantern"
	r = e.post("/reset/password", url.Values{"password": {noDigit}, "confirm": {noDigit}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "It must contain at least one digit.") {
		t.Errorf("directory refusal without a digit: %d\n%s", r.status, r.body)
	}
}

// TestMismatchMarksTheConfirmField: two different passwords mark the
// repeat field invalid and point it at the error, not the first field.
func TestMismatchMarksTheConfirmField(t *testing.T) {
	e := newEnv(t)
	e.verified("reset", "alice")
	for _, path := range []string{"/reset/password", "/change"} {
		form := url.Values{"password": {"Kettle-Harbour-42"}, "confirm": {"Kettle-Harbour-43"}}
		if path == "/change" {
			form.Set("login", "bob")
			form.Set("old_password", "Spring-2026")
		}
		r := e.post(path, form)
		if r.status != http.StatusBadRequest {
			t.Fatalf("%s: %d", path, r.status)
		}
		confirm := regexp.MustCompile(`<input id="confirm"[^>]*>`).FindString(r.body)
		pw := regexp.MustCompile(`<input id="password"[^>]*>`).FindString(r.body)
		if !strings.Contains(confirm, `aria-invalid="true"`) || !strings.Contains(confirm, `aria-describedby="form-error"`) {
			t.Errorf("%s: confirm field not marked: %s", path, confirm)
		}
		if strings.Contains(pw, "aria-invalid") || strings.Contains(pw, "form-error") {
			t.Errorf("%s: the new-password field is marked for a mismatch: %s", path, pw)
		}
	}
}

// TestChangeShowsRulesAndChecklist: /change lists the rules and answers
// the live checklist, with the login typed as context.
func TestChangeShowsRulesAndChecklist(t *testing.T) {
	e := newEnv(t)
	r := e.get("/change")
	if !strings.Contains(r.body, `id="rules"`) || !strings.Contains(r.body, `data-check-url="/change/check"`) || !strings.Contains(r.body, "At least") {
		t.Fatalf("change page lacks the checklist:\n%s", r.body)
	}
	r = e.postJSON("/change/check", map[string]string{"login": "bob", "password": breached[1]})
	if r.status != http.StatusOK || !strings.Contains(r.body, `"id":"breach"`) || !strings.Contains(r.body, "Has appeared in a known data breach") {
		t.Errorf("change check: %d\n%s", r.status, r.body)
	}
	// A cross-site script may not use it.
	req, _ := http.NewRequest(http.MethodPost, e.url+"/change/check", strings.NewReader(`{"password":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := e.do(req); r.status != http.StatusForbidden || !strings.Contains(r.body, `"code":"forbidden_origin"`) {
		t.Errorf("cross-site check: %d %s", r.status, r.body)
	}
}

// TestUnlockTheLockedDemoAccount: the demo's locked account can be
// unlocked, and the code mail speaks of unlocking, not of a reset.
func TestUnlockTheLockedDemoAccount(t *testing.T) {
	e := newEnv(t)
	r := e.get("/")
	if !strings.Contains(r.body, "frank") {
		// Only the demo (with a mailbox) shows the banner.
		t.Log("no demo banner outside sspr demo, as expected")
	}
	e.post("/reset/start", url.Values{"login": {demo.LockedUser}, "action": {"unlock"}})
	code, m := e.code(demo.LockedUser+"@"+demo.MailDomain, 1)
	if m.Subject != "Your code to unlock your account" || strings.Contains(m.TextBody, "reset the password") {
		t.Errorf("unlock code mail: %q\n%s", m.Subject, m.TextBody)
	}
	r = e.post("/reset/code", url.Values{"code": {code}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "Your account is unlocked") {
		t.Fatalf("unlock: %d\n%s", r.status, r.body)
	}
	if got := title(r.body); got != "Your account is unlocked — Example Corp" {
		t.Errorf("done title %q", got)
	}
}

// TestAPIErrorsAreJSON: under /api/ every refusal is the documented JSON
// error, including unknown paths, wrong methods and cross-origin calls;
// elsewhere a missing page is a page.
func TestAPIErrorsAreJSON(t *testing.T) {
	e := newEnv(t)
	check := func(name string, r resp, status int, code string) {
		t.Helper()
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if r.status != status || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") ||
			json.Unmarshal([]byte(r.body), &body) != nil || body.Error.Code != code || body.Error.Message == "" {
			t.Errorf("%s: %d %s\n%s", name, r.status, r.header.Get("Content-Type"), r.body)
		}
	}
	check("unknown path", e.get("/api/v1/nothing"), http.StatusNotFound, "not_found")
	r := e.get("/api/v1/reset")
	check("wrong method", r, http.StatusMethodNotAllowed, "method_not_allowed")
	if r.header.Get("Allow") != "POST" {
		t.Errorf("Allow = %q", r.header.Get("Allow"))
	}
	req, _ := http.NewRequest(http.MethodPost, e.url+"/api/v1/reset", strings.NewReader(`{"login":"alice"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	check("cross-origin", e.do(req), http.StatusForbidden, "forbidden_origin")

	r = e.get("/no/such/page")
	if r.status != http.StatusNotFound || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(r.body, "This page does not exist.") {
		t.Errorf("missing portal page: %d %s", r.status, r.header.Get("Content-Type"))
	}
}
