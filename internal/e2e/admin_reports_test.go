package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sspr/sspr/internal/agent"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// reportsDirectoryYAML is the test OpenLDAP seeing only test people, with
// protected a protected group (its members are privileged).
func reportsDirectoryYAML(cfg ldapdir.Config, protected string) string {
	return directoryYAML("openldap", cfg, "    user_filter: \"(&(objectClass=inetOrgPerson)(uid=sspr*))\"\n"+
		"    group_base_dn: \""+os.Getenv("SSPR_TEST_LDAP_GROUPS_DN")+"\"\n"+
		"    protected_groups: [\""+protected+"\"]\n")
}

func reportsYAML(admins, minLength string) string {
	return `verification:
  factors: [email, totp]
  first_factor: email
  required: {reset: 1, unlock: 1}
password:
  preset: custom
  min_length: ` + minLength + `
  common_passwords: false
  merge_directory_policy: false
admin:
  enabled: true
  roles:
    admin: ["` + admins + `"]
    auditor: ["` + admins + `"]
  cost_per_call:
    amount: 20
    currency: EUR
`
}

// pdfInk renders a PDF's first page with poppler's pdftoppm (an
// independent reader), keeps the picture under dir and counts its inked
// pixels.
func pdfInk(t *testing.T, pdf []byte, dir, name string) int {
	t.Helper()
	tool, err := exec.LookPath("pdftoppm")
	if err != nil {
		t.Fatal("pdftoppm not installed (run scripts/testenv/tools.sh)")
	}
	path := filepath.Join(dir, name+".pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", path, filepath.Join(dir, name+"-pdf")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm %s: %v\n%s", name, err, out)
	}
	f, err := os.Open(filepath.Join(dir, name+"-pdf.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	ink := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 < 200 || g>>8 < 200 || bl>>8 < 200 {
				ink++
			}
		}
	}
	return ink
}

// TestAdminReportsInChromium makes something for each of the further
// reports to show (a refused and an accepted reset, failed sign-ins, a
// privileged account without a strong factor, a registered agent), then
// opens every report in headless Chromium with JavaScript off, checks
// its chart and contents and saves a screenshot; each report's CSV
// parses, its JSON decodes and its PDF renders with pdftoppm; the
// compliance page and the configuration page (no secret on it) open too.
func TestAdminReportsInChromium(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	adminU := dirtest.CreateLDAPUser(t, "Admin-Pass-2026")
	viewer := dirtest.CreateLDAPUser(t, "Viewer-Pass-2026") // signs in with Chromium: a TOTP step is used once
	weak := dirtest.CreateLDAPUser(t, "Weak-Pass-2026")
	person := dirtest.CreateLDAPUser(t, "Person-Pass-2026")
	admins := dirtest.CreateLDAPGroup(t, "groupOfNames", adminU.DN, viewer.DN)
	protected := dirtest.CreateLDAPGroup(t, "groupOfNames", adminU.DN, weak.DN)
	in := start(t, reportsDirectoryYAML(cfg, protected), reportsYAML(admins, "10"))
	secret := enrollTOTP(t, in, adminU)
	viewerSecret := enrollTOTP(t, in, viewer)

	// A reset: one password refused by sspr's rules, then one accepted.
	f, _ := startAPIReset(t, in, person.Login)
	if status, body, raw := f.call("/api/v1/reset/verify", map[string]string{"code": in.waitCode(t, person.Mail, 0)}); status != http.StatusOK || body["state"] != "verified" {
		t.Fatalf("verify: %d %s", status, raw)
	}
	if status, _, raw := f.call("/api/v1/reset/password", map[string]string{"password": "short"}); status != http.StatusUnprocessableEntity {
		t.Fatalf("a short password: %d %s", status, raw)
	}
	if status, _, raw := f.call("/api/v1/reset/password", map[string]string{"password": "Quiet-Lantern-Meadow-72"}); status != http.StatusOK {
		t.Fatalf("a good password: %d %s", status, raw)
	}
	// Failed sign-ins for the failures report.
	for range 3 {
		newBrowser(t, in.URL).post("/enroll/signin", url.Values{"login": {person.Login}, "password": {"Not-The-Password-1"}})
	}
	// A login-screen agent.
	token, _, err := in.App.Agents.IssueToken(t.Context(), "kiosk-12", time.Hour, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := agent.Register(t.Context(), agentClient(t, in), token, "2.4.6", filepath.Join(t.TempDir(), "id.json"), false); err != nil {
		t.Fatalf("register: %v", err)
	}

	dir := os.Getenv("SSPR_TEST_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	// Exports through the console's own session (HTTP).
	b := adminSignIn(t, in, adminU, secret)
	reports := []struct {
		slug string
		// want are texts the page shows; csvWant is in the CSV, notWant
		// is not.
		want    []string
		csvWant string
		notWant string
	}{
		{"failures", []string{"failed verifications and blocks from", "invalid_credentials", "password_rules"}, "invalid_credentials", ""},
		{"factors", []string{"totp", "email"}, "email", ""},
		{"privileged", []string{weak.Login, "1 with weak factors only", "none"}, weak.Login, "," + adminU.Login + ","},
		{"refusals", []string{"rule:length.min"}, "rule:length.min", ""},
		{"calls-avoided", []string{"1 calls avoided", "20.00 EUR"}, "20.00", ""},
		{"admin-actions", []string{adminU.Login, "admin.signin"}, "admin.signin", ""},
		{"agents", []string{"kiosk-12", "2.4.6", "active"}, "kiosk-12", ""},
	}
	for _, r := range reports {
		base := "/admin/reports/" + r.slug
		p := b.get(base + ".csv")
		rows, err := csv.NewReader(strings.NewReader(p.Body)).ReadAll()
		if p.Status != http.StatusOK || err != nil || len(rows) < 1 {
			t.Fatalf("%s.csv: %d %v\n%s", r.slug, p.Status, err, p.Body)
		}
		if r.notWant != "" && strings.Contains(p.Body, r.notWant) {
			t.Errorf("%s.csv has %q:\n%s", r.slug, r.notWant, p.Body)
		}
		if r.csvWant != "" && !strings.Contains(p.Body, r.csvWant) {
			t.Errorf("%s.csv lacks %q:\n%s", r.slug, r.csvWant, p.Body)
		}
		p = b.get(base + ".json")
		var v map[string]any
		if p.Status != http.StatusOK || json.Unmarshal([]byte(p.Body), &v) != nil {
			t.Fatalf("%s.json: %d\n%s", r.slug, p.Status, p.Body)
		}
		p = b.get(base + ".pdf")
		if p.Status != http.StatusOK || !strings.HasPrefix(p.Body, "%PDF-") {
			t.Fatalf("%s.pdf: %d %.40q", r.slug, p.Status, p.Body)
		}
		if ink := pdfInk(t, []byte(p.Body), dir, "admin-"+r.slug); ink < 2000 {
			t.Errorf("%s.pdf renders (nearly) blank: %d inked pixels", r.slug, ink)
		}
	}
	// Exports are audited like pages.
	if rows := auditRows(t, in, store.AuditFilter{Actor: adminU.Login, EventPrefix: "admin.report.calls_avoided_pdf", Outcome: "success"}); len(rows) != 1 {
		t.Fatalf("the PDF export is not audited: %+v", rows)
	}

	ctx := newBrowserCtx(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
		must(err)
		path := filepath.Join(dir, "admin-"+name+".png")
		must(os.WriteFile(path, png, 0o644))
		t.Logf("screenshot: %s", path)
	}
	must(chromedp.Do(ctx, disableScripts, chromedp.EmulateViewport(1280, 900)))
	must(chromedp.Do(ctx, chromedp.Navigate(in.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("login")),
		sendKeys(chromedp.ID("login"), viewer.Login),
		sendKeys(chromedp.ID("password"), viewer.Password),
		submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("code")),
		sendKeys(chromedp.ID("code"), totpAt(t, viewerSecret, time.Now().Add(30*time.Second))),
		submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.CSS("nav")),
	))
	text := func(path string) string {
		t.Helper()
		must(chromedp.Do(ctx, chromedp.Navigate(in.URL+path), chromedp.WaitVisible(chromedp.CSS("h1"))))
		body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		must(err)
		return body
	}
	for _, r := range reports {
		body := text("/admin/reports/" + r.slug)
		shot("report-" + r.slug)
		charts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('main svg').length`))
		must(err)
		bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('main svg rect[height]').length`))
		must(err)
		if charts != 1 || bars < 2 {
			t.Errorf("%s: %d charts, %d bars", r.slug, charts, bars)
		}
		for _, w := range r.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s does not show %q:\n%s", r.slug, w, body)
			}
		}
	}
	body := text("/admin/reports")
	shot("reports")
	if !strings.Contains(body, "Help-desk calls avoided") {
		t.Errorf("the reports index:\n%s", body)
	}
	body = text("/admin/compliance")
	shot("compliance")
	for _, w := range append([]string{"AC-7", "§164.312(b)", "10.2.1.2", "Art. 21(2)(j)", "§5.1.1.2", "Multi-factor authentication"}, "Privileged accounts with weak factors") {
		if !strings.Contains(body, w) {
			t.Errorf("the compliance page lacks %q", w)
		}
	}
	body = text("/admin/config")
	shot("config")
	for _, s := range []string{e2eHMACKey, cfg.BindPassword} {
		if strings.Contains(body, s) {
			t.Errorf("the configuration page shows a secret")
		}
	}
	if !strings.Contains(body, "hmac_key: \""+config.Redacted+"\"") || !strings.Contains(body, "min_length: 10") || !strings.Contains(body, "First start") {
		t.Errorf("the configuration page:\n%s", body)
	}
	raw := b.get("/admin/config.json").Body
	for _, s := range []string{e2eHMACKey, cfg.BindPassword} {
		if strings.Contains(raw, s) {
			t.Errorf("the configuration JSON shows a secret")
		}
	}
}

// TestAdminConfigHistory changes the password policy and a secret by a
// reload (what SIGHUP does) and by a restart, and checks that the audit
// log records each setting's old → new value, the secret only as
// "changed", and that /admin/config lists them.
func TestAdminConfigHistory(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	adminU := dirtest.CreateLDAPUser(t, "Admin-Pass-2026")
	admins := dirtest.CreateLDAPGroup(t, "groupOfNames", adminU.DN)
	protected := dirtest.CreateLDAPGroup(t, "groupOfNames", adminU.DN)
	db := filepath.Join(t.TempDir(), "sspr.db")
	in := startWithDB(t, db, reportsDirectoryYAML(cfg, protected), reportsYAML(admins, "10"))
	secret := enrollTOTP(t, in, adminU)

	// A reload with a stricter policy and a new SMTP password.
	next := *in.App.Config()
	twelve := 12
	next.Password.MinLength = &twelve
	next.Mail.SMTP.Password = config.Secret{Value: "smtp-secret-4711"}
	reloaded, err := in.App.Reload(context.Background(), &next, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	t.Cleanup(func() { reloaded.Close() })
	rows := auditRows(t, in, store.AuditFilter{EventPrefix: "config.reload", Limit: 1})
	if len(rows) != 1 {
		t.Fatal("the reload is not audited")
	}
	var d struct {
		Changes []config.Change `json:"changes"`
	}
	if err := json.Unmarshal([]byte(rows[0].Detail), &d); err != nil {
		t.Fatal(err)
	}
	want := map[string]config.Change{
		"password.min_length": {Key: "password.min_length", Old: "10", New: "12"},
		"mail.smtp.password":  {Key: "mail.smtp.password", Old: config.SecretChanged, New: config.SecretChanged},
	}
	if len(d.Changes) != len(want) {
		t.Fatalf("reload changes: %+v", d.Changes)
	}
	for _, c := range d.Changes {
		if want[c.Key] != c {
			t.Fatalf("reload change %+v, want %+v", c, want[c.Key])
		}
	}
	if strings.Contains(rows[0].Detail, "smtp-secret-4711") {
		t.Fatal("the audit log holds the secret")
	}

	// The console lists them (read from the audit log, whichever App serves).
	b := adminSignIn(t, in, adminU, secret)
	p := b.get("/admin/config")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "<code>password.min_length</code></td><td>10</td><td>12</td>") ||
		!strings.Contains(p.Body, "<code>mail.smtp.password</code></td><td>changed</td><td>changed</td>") || strings.Contains(p.Body, "smtp-secret-4711") {
		t.Fatalf("the configuration page does not list the reload:\n%s", p.Body)
	}

	// A restart with another policy records it at start, against what the
	// reload left.
	in.stop()
	in2 := startWithDB(t, db, reportsDirectoryYAML(cfg, protected), reportsYAML(admins, "14"))
	// Serve records the start before it answers: one answer means it is done.
	if status, _ := httpGet(t, in2.URL+"/admin/"); status != http.StatusOK {
		t.Fatalf("the restarted console: %d", status)
	}
	rows = auditRows(t, in2, store.AuditFilter{EventPrefix: "config.start", Limit: 1})
	if len(rows) != 1 || !strings.Contains(rows[0].Detail, `{"key":"password.min_length","old":"12","new":"14"}`) ||
		!strings.Contains(rows[0].Detail, `{"key":"mail.smtp.password","old":"changed","new":"changed"}`) {
		for _, r := range rows {
			t.Logf("%s %s", r.Event, r.Detail)
		}
		t.Fatal("the restart's changes are not recorded")
	}
	var history []flow.ConfigEvent
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	history, err = in2.App.AdminFlow().ConfigHistory(t.Context(), 10)
	must(err)
	if len(history) != 3 || history[0].Event != "config.start" || history[1].Event != "config.reload" || !history[2].FirstStart {
		t.Fatalf("history: %+v", history)
	}
}
