package e2e

import (
	"encoding/csv"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// ldapPolicy adds a ppolicy entry with maxAge (seconds) under
// ou=policies and deletes it when the test ends.
func ldapPolicy(t *testing.T, maxAge string) string {
	t.Helper()
	cfg := dirtest.LDAPConfig(t)
	name := dirtest.UniqueName("ssprp")
	dn := "cn=" + name + ",ou=policies," + cfg.BaseDN
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "device", "pwdPolicy"})
	req.Attribute("cn", []string{name})
	req.Attribute("pwdAttribute", []string{"userPassword"})
	req.Attribute("pwdMaxAge", []string{maxAge})
	if err := dirtest.LDAPAdmin(t).Add(req); err != nil {
		t.Fatalf("adding a password policy: %v", err)
	}
	t.Cleanup(func() {
		if err := dirtest.LDAPAdmin(t).Del(ldap.NewDelRequest(dn, nil)); err != nil {
			t.Errorf("deleting %s: %v", dn, err)
		}
	})
	return dn
}

// renderPDF renders a PDF's first page with pdftoppm (an independent
// reader) and checks that it has ink; the picture is kept with the
// screenshots.
func renderPDF(t *testing.T, dir, name string, pdf []byte) {
	t.Helper()
	tool, err := exec.LookPath("pdftoppm")
	if err != nil {
		if os.Getenv(dirtest.RequireEnv) == "1" {
			t.Fatal("pdftoppm not installed (run scripts/testenv/tools.sh)")
		}
		t.Skip("pdftoppm not installed")
	}
	if !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Fatalf("%s is not a PDF: %.60q", name, pdf)
	}
	path := filepath.Join(dir, name+".pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "-png", "-r", "60", "-f", "1", "-l", "1", path, filepath.Join(dir, name+"-pdf")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm %s: %v\n%s", name, err, out)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, name+"-pdf*.png"))
	if len(matches) != 1 {
		t.Fatalf("pdftoppm made %v", matches)
	}
	f, err := os.Open(matches[0])
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
			if r, g, bl, _ := img.At(x, y).RGBA(); r+g+bl < 3*0xc000 {
				ink++
			}
		}
	}
	if ink < 500 {
		t.Fatalf("%s renders nearly blank (%d dark pixels)", name, ink)
	}
}

// TestAdminExpiryReports: against the real OpenLDAP, a password under a
// 30-day ppolicy shows as expiring, one under a 1-second policy as
// expired, and an account with pwdEndTime in ten days as expiring; the
// three reports open in Chromium (screenshots; the expiring ones with
// their chart) and their CSV and PDF exports parse (the PDFs rendered
// with pdftoppm).
func TestAdminExpiryReports(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	_, strictDN := dirtest.LDAPPolicyDNs(t)
	quickDN := ldapPolicy(t, "1")
	browserAdmin := dirtest.CreateLDAPUser(t, "Admin-Pass-2026")
	httpAdmin := dirtest.CreateLDAPUser(t, "Admin-Pass-2026")
	expiring := dirtest.CreateLDAPUser(t, "Initial-Pass1")
	expired := dirtest.CreateLDAPUser(t, "Initial-Pass1")
	ending := dirtest.CreateLDAPUser(t, "Initial-Pass1")
	admins := dirtest.CreateLDAPGroup(t, "groupOfNames", browserAdmin.DN, httpAdmin.DN)
	conn := dirtest.LDAPAdmin(t)
	dirtest.Modify(t, conn, expiring.DN, map[string][]string{"pwdPolicySubentry": {strictDN}})
	dirtest.Modify(t, conn, expired.DN, map[string][]string{"pwdPolicySubentry": {quickDN}})
	dirtest.Modify(t, conn, ending.DN, map[string][]string{"pwdEndTime": {time.Now().UTC().AddDate(0, 0, 10).Format("20060102150405Z")}})
	// New passwords (through the connector, as sspr writes them) start
	// the clocks of both policies.
	d, err := openldap.New(cfg, openldap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var expiredAt time.Time
	for _, u := range []dirtest.User{expiring, expired} {
		user, err := d.FindUser(t.Context(), u.Login)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.ResetPassword(t.Context(), user, "Strict-Pass10"); err != nil {
			t.Fatal(err)
		}
		if u.Login == expired.Login {
			user, _ = d.FindUser(t.Context(), u.Login)
			st, err := d.AccountStatus(t.Context(), user)
			if err != nil || st.PasswordExpires.IsZero() {
				t.Fatalf("the 1-second policy gives no expiry: %+v, %v", st, err)
			}
			expiredAt = st.PasswordExpires
		}
	}

	in := start(t, peopleOnlyYAML(cfg), `verification:
  factors: [email, totp]
admin:
  enabled: true
  roles:
    admin: ["`+admins+`"]
`)
	browserSecret := enrollTOTP(t, in, browserAdmin)
	httpSecret := enrollTOTP(t, in, httpAdmin)
	// The directory's own clock decides; wait until it has passed (the
	// sign-ins above take longer than a second anyway).
	for time.Now().Before(expiredAt.Add(time.Second)) {
		time.Sleep(100 * time.Millisecond)
	}

	dir := os.Getenv("SSPR_TEST_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	ctx := newBrowserCtx(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(chromedp.Do(ctx, disableScripts, chromedp.EmulateViewport(1280, 900)))
	must(chromedp.Do(ctx, chromedp.Navigate(in.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("login"))))
	must(chromedp.Do(ctx,
		sendKeys(chromedp.ID("login"), browserAdmin.Login),
		sendKeys(chromedp.ID("password"), browserAdmin.Password),
		submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("code")),
	))
	must(chromedp.Do(ctx,
		sendKeys(chromedp.ID("code"), totpAt(t, browserSecret, time.Now().Add(30*time.Second))),
		submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.CSS("nav")),
	))
	httpB := adminSignIn(t, in, httpAdmin, httpSecret)

	for _, rep := range []struct {
		slug, query string
		login       string
		others      []string
		chart       bool
	}{
		{"expiring", "?days=31", expiring.Login, []string{expired.Login, ending.Login}, true},
		{"expired", "", expired.Login, []string{expiring.Login, ending.Login}, false},
		{"accounts-expiring", "?days=31", ending.Login, []string{expiring.Login, expired.Login}, true},
	} {
		must(chromedp.Do(ctx, chromedp.Navigate(in.URL+"/admin/reports/"+rep.slug+rep.query), chromedp.WaitVisible(chromedp.CSS("h1"))))
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		must(err)
		shot := filepath.Join(dir, "admin-"+rep.slug+".png")
		must(os.WriteFile(shot, png, 0o644))
		t.Logf("screenshot: %s", shot)
		body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		must(err)
		if !strings.Contains(body, rep.login) {
			t.Fatalf("%s does not list %s:\n%s", rep.slug, rep.login, body)
		}
		for _, o := range rep.others {
			if strings.Contains(body, o) {
				t.Fatalf("%s lists %s, who belongs elsewhere:\n%s", rep.slug, o, body)
			}
		}
		if rep.chart {
			bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('svg rect[height]').length`))
			must(err)
			if bars < 31 {
				t.Fatalf("%s chart has %d bars, want one a day", rep.slug, bars)
			}
		}

		p := httpB.get("/admin/reports/" + rep.slug + ".csv" + rep.query)
		if p.Status != 200 || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("%s.csv: %d %s", rep.slug, p.Status, p.Header.Get("Content-Type"))
		}
		records, err := csv.NewReader(strings.NewReader(p.Body)).ReadAll()
		if err != nil {
			t.Fatalf("%s.csv does not parse: %v\n%s", rep.slug, err, p.Body)
		}
		if len(records) < 2 || records[0][1] != "login" {
			t.Fatalf("%s.csv: %v", rep.slug, records)
		}
		found := false
		for _, r := range records[1:] {
			if r[1] == rep.login {
				found = true
				if _, err := time.Parse(time.RFC3339, r[5]); err != nil {
					t.Fatalf("%s.csv date %q: %v", rep.slug, r[5], err)
				}
			}
		}
		if !found {
			t.Fatalf("%s.csv lacks %s:\n%s", rep.slug, rep.login, p.Body)
		}
		p = httpB.get("/admin/reports/" + rep.slug + ".pdf" + rep.query)
		if p.Status != 200 || p.Header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("%s.pdf: %d", rep.slug, p.Status)
		}
		renderPDF(t, dir, "admin-"+rep.slug, []byte(p.Body))
	}
}
