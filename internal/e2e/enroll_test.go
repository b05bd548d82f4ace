package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory/demo"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/mailsink"
	"github.com/sspr/sspr/internal/testenv/browsertest"
)

const aliceMail = "alice@demo.sspr.test"

// totpAt is RFC 6238 (SHA-1, 6 digits, 30 s), written out here so the test
// does not trust the code under test to compute its own answers.
func totpAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.ReplaceAll(secret, " ", "")))
	if err != nil {
		t.Fatalf("the TOTP key %q is not base32: %v", secret, err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:off+4])&0x7fffffff)%1_000_000)
}

// follow answers a redirect the way a browser would.
func (b *browser) follow(p page) page {
	b.t.Helper()
	if p.Status != http.StatusSeeOther || p.Location == "" {
		b.t.Fatalf("want a 303 redirect, got %d:\n%s", p.Status, p.Body)
	}
	return b.get(p.Location)
}

// must1 finds the first submatch of re in body or fails.
func must1(t *testing.T, re *regexp.Regexp, body, what string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s on the page:\n%s", what, body)
	}
	return html.UnescapeString(m[1])
}

var (
	totpSecretRE   = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)<`)
	backupCodeRE   = regexp.MustCompile(`<li><code>([0-9A-Z-]+)</code></li>`)
	confirmPosRE   = regexp.MustCompile(`data-position="(\d+)"`)
	factorRowRE    = regexp.MustCompile(`(?s)<li class="factor" data-kind="([a-z_]+)">.*?name="enrollment" value="([^"]+)"`)
	stepUpChoiceRE = regexp.MustCompile(`name="enrollment" value="([^"]+)"[^>]*> <span><span class="factor-kind">Backup codes<`)
)

// factorIDs lists the enrolled factors on the home page: kind → id.
func factorIDs(body string) map[string]string {
	out := map[string]string{}
	for _, m := range factorRowRE.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// waitNotices waits until n enrollment notices reached rcpt and returns them.
func (in *instance) waitNotices(t *testing.T, rcpt string, n int) []mailsink.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []mailsink.Message
	// WaitFor visits every message once, in order, under the sink's lock.
	_, err := in.Sink.WaitFor(ctx, func(m mailsink.Message) bool {
		if strings.EqualFold(strings.Join(m.To, ","), rcpt) && m.Subject == "Your recovery methods changed" {
			got = append(got, m)
		}
		return len(got) >= n
	})
	if err != nil {
		t.Fatalf("%d enrollment notices to %s, want %d: %v", len(got), rcpt, n, err)
	}
	return got
}

// TestEnrollWithoutScripts walks the enrollment portal as a plain HTTP
// client (no JavaScript): sign-in that does not tell unknown users from
// wrong passwords, an authenticator app and backup codes added, a second
// session that must prove one of them before changing anything, a removal,
// and a notice mail for every change.
func TestEnrollWithoutScripts(t *testing.T) {
	in := start(t, startDemoDirectory(t), `verification:
  factors: [email, totp, backup_codes]
  first_factor: email
  required:
    reset: 1
    unlock: 1
  totp:
    issuer: Example Corp
`)
	b := newBrowser(t, in.URL)

	p := b.get("/enroll")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Set up the ways you will prove who you are") {
		t.Fatalf("sign-in page: %d\n%s", p.Status, p.Body)
	}

	// A wrong password and an unknown login give the same page.
	wrong := b.post("/enroll/signin", url.Values{"login": {"alice"}, "password": {"Not-Her-Password-1"}})
	unknown := b.post("/enroll/signin", url.Values{"login": {"nobody-here"}, "password": {"Not-Her-Password-1"}})
	if wrong.Status != http.StatusUnprocessableEntity || wrong.Status != unknown.Status {
		t.Fatalf("wrong password %d, unknown login %d", wrong.Status, unknown.Status)
	}
	if strings.ReplaceAll(wrong.Body, `value="alice"`, `value="X"`) != strings.ReplaceAll(unknown.Body, `value="nobody-here"`, `value="X"`) {
		t.Fatalf("the pages differ:\n%s\n----\n%s", wrong.Body, unknown.Body)
	}
	if !strings.Contains(wrong.Body, `role="alert"`) || !strings.Contains(wrong.Body, "The username or the current password is not correct") {
		t.Fatalf("no error summary:\n%s", wrong.Body)
	}
	if wrong.Header.Get("Set-Cookie") != "" || unknown.Header.Get("Set-Cookie") != "" {
		t.Fatal("a refused sign-in set a cookie")
	}

	// Sign in.
	p = b.post("/enroll/signin", url.Values{"login": {"alice"}, "password": {"Winter-2026"}})
	if p.Status != http.StatusSeeOther || p.Location != "/enroll/home" {
		t.Fatalf("sign-in: %d %q\n%s", p.Status, p.Location, p.Body)
	}
	if c := p.Header.Get("Set-Cookie"); !strings.HasPrefix(c, "sspr_session=") || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") {
		t.Fatalf("session cookie %q", c)
	}
	p = b.follow(p)
	// The directory's mail address is a factor already: it is proved before
	// anything is added, and listed read-only.
	if !strings.Contains(p.Body, "Confirm it is you") || !strings.Contains(p.Body, `value="directory:mail"`) {
		t.Fatalf("the step-up with the directory's mail is not asked for:\n%s", p.Body)
	}
	p = stepUpForm(t, in, b, "alice@demo.sspr.test")
	if strings.Contains(p.Body, "not set up any recovery method yet") || !strings.Contains(p.Body, `data-source="directory"`) ||
		strings.Contains(p.Body, `value="directory:mail"`) || !strings.Contains(p.Body, `id="add-totp"`) || !strings.Contains(p.Body, `id="add-backup_codes"`) {
		t.Fatalf("home page:\n%s", p.Body)
	}

	// An authenticator app: a QR code, the key, the otpauth link; a wrong
	// code is refused, the app's code is taken.
	p = b.follow(b.post("/enroll/add", url.Values{"kind": {"totp"}}))
	secret := must1(t, totpSecretRE, p.Body, "TOTP key")
	if !strings.Contains(p.Body, `<img src="data:image/png;base64,`) || !strings.Contains(p.Body, `href="otpauth://totp/`) {
		t.Fatalf("the TOTP page lacks the QR code or the otpauth link:\n%s", p.Body)
	}
	now := time.Now()
	bad := "000000"
	if bad == totpAt(t, secret, now) {
		bad = "111111"
	}
	p = b.post("/enroll/add/finish", url.Values{"code": {bad}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "That is not correct") || !strings.Contains(p.Body, `id="totp-secret"`) {
		t.Fatalf("a wrong TOTP code: %d\n%s", p.Status, p.Body)
	}
	p = b.follow(b.post("/enroll/add/finish", url.Values{"code": {totpAt(t, secret, time.Now())}}))
	if !strings.Contains(p.Body, "Added. We sent a confirmation to your email address.") || factorIDs(p.Body)["totp"] == "" {
		t.Fatalf("after adding TOTP:\n%s", p.Body)
	}

	// Backup codes: shown once, one of them typed back.
	p = b.follow(b.post("/enroll/add", url.Values{"kind": {"backup_codes"}}))
	var codes []string
	for _, m := range backupCodeRE.FindAllStringSubmatch(p.Body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != 10 || !strings.Contains(p.Body, `download="backup-codes.txt"`) {
		t.Fatalf("backup codes page (%d codes):\n%s", len(codes), p.Body)
	}
	pos, _ := strconv.Atoi(must1(t, confirmPosRE, p.Body, "confirmation position"))
	if pos < 1 || pos > len(codes) || !strings.Contains(p.Body, fmt.Sprintf("enter code number %d", pos)) {
		t.Fatalf("confirmation position %d", pos)
	}
	p = b.follow(b.post("/enroll/add/finish", url.Values{"code": {strings.ToLower(codes[pos-1])}}))
	ids := factorIDs(p.Body)
	if ids["totp"] == "" || ids["backup_codes"] == "" || !strings.Contains(p.Body, "Backup codes (10 left)") {
		t.Fatalf("both factors should be listed: %v\n%s", ids, p.Body)
	}

	// A second session must prove a factor before any change.
	b2 := newBrowser(t, in.URL)
	p = b2.follow(b2.post("/enroll/signin", url.Values{"login": {"alice"}, "password": {"Winter-2026"}}))
	if !strings.Contains(p.Body, "Confirm it is you") || strings.Contains(p.Body, "/enroll/remove") {
		t.Fatalf("the second session is not asked to step up:\n%s", p.Body)
	}
	for path, form := range map[string]url.Values{
		"/enroll/add":    {"kind": {"totp"}},
		"/enroll/remove": {"enrollment": {ids["totp"]}},
	} {
		if p := b2.post(path, form); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "First confirm it is you") {
			t.Fatalf("%s before step-up: %d\n%s", path, p.Status, p.Body)
		}
	}
	choice := must1(t, stepUpChoiceRE, p.Body, "backup codes choice")
	p = b2.follow(b2.post("/enroll/verify/start", url.Values{"enrollment": {choice}}))
	if !strings.Contains(p.Body, `id="backup-code"`) {
		t.Fatalf("the step-up page asks for no backup code:\n%s", p.Body)
	}
	used := codes[pos%len(codes)]
	p = b2.follow(b2.post("/enroll/verify", url.Values{"code": {used}}))
	if !strings.Contains(p.Body, "Thank you, that worked") || !strings.Contains(p.Body, "/enroll/remove") {
		t.Fatalf("after step-up:\n%s", p.Body)
	}
	// The code is spent: a third session cannot step up with it again.
	b3 := newBrowser(t, in.URL)
	b3.follow(b3.post("/enroll/signin", url.Values{"login": {"alice"}, "password": {"Winter-2026"}}))
	b3.follow(b3.post("/enroll/verify/start", url.Values{"enrollment": {choice}}))
	if p := b3.post("/enroll/verify", url.Values{"code": {used}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "That is not correct") {
		t.Fatalf("a used backup code at step-up: %d\n%s", p.Status, p.Body)
	}

	// Remove the authenticator app.
	p = b2.follow(b2.post("/enroll/remove", url.Values{"enrollment": {ids["totp"]}}))
	if got := factorIDs(p.Body); got["totp"] != "" || got["backup_codes"] == "" || !strings.Contains(p.Body, "Removed.") {
		t.Fatalf("after removing TOTP: %v\n%s", got, p.Body)
	}

	// An email address: a malformed one is refused on its page, kept for
	// correcting; a real one gets a code.
	p = b2.post("/enroll/add", url.Values{"kind": {"email"}})
	if p.Location != "/enroll/add/email" {
		t.Fatalf("add email: %d %q", p.Status, p.Location)
	}
	if p = b2.follow(p); !strings.Contains(p.Body, `type="email"`) {
		t.Fatalf("email page:\n%s", p.Body)
	}
	p = b2.post("/enroll/add/start", url.Values{"kind": {"email"}, "email": {"alice at home"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `value="alice at home"`) || !strings.Contains(p.Body, `role="alert"`) {
		t.Fatalf("a malformed address: %d\n%s", p.Status, p.Body)
	}
	const private = "alice.private@example.org"
	p = b2.follow(b2.post("/enroll/add/start", url.Values{"kind": {"email"}, "email": {private}}))
	if !strings.Contains(p.Body, "a***@e***.org") {
		t.Fatalf("the code page does not say where the code went:\n%s", p.Body)
	}
	p = b2.follow(b2.post("/enroll/add/finish", url.Values{"code": {in.waitCode(t, private, 0)}}))
	if factorIDs(p.Body)["email"] == "" {
		t.Fatalf("the address is not listed:\n%s", p.Body)
	}
	for _, body := range []string{p.Body, wrong.Body} {
		if regexp.MustCompile(`<script>|<script [^>]*>[^<]|\sstyle=|\son[a-z]+=`).MatchString(body) {
			t.Errorf("inline script or style, which the CSP blocks:\n%s", body)
		}
	}

	// Sign out: the session is gone.
	p = b2.post("/enroll/signout", nil)
	if p.Status != http.StatusSeeOther || !strings.Contains(p.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("sign-out: %d %v", p.Status, p.Header)
	}
	if p = b2.get("/enroll/home"); p.Status != http.StatusSeeOther || p.Location != "/enroll" {
		t.Fatalf("home after sign-out: %d %q", p.Status, p.Location)
	}

	// Every change was announced.
	notices := in.waitNotices(t, aliceMail, 4)
	in.waitNotices(t, private, 1) // the new address hears of itself too
	var added, removed int
	for _, m := range notices {
		switch {
		case strings.Contains(m.TextBody, "was added to your account alice"):
			added++
		case strings.Contains(m.TextBody, "was removed from your account alice") && strings.Contains(m.TextBody, "authenticator app"):
			removed++
		}
	}
	if added != 3 || removed != 1 || len(notices) != 4 {
		t.Fatalf("notices: %d added, %d removed, %d in all", added, removed, len(notices))
	}
}

// startDemo starts the embedded directory and returns its YAML entry and
// the server, to bind against it.
func startDemo(t *testing.T) (string, *demo.Server) {
	t.Helper()
	srv, err := demo.Start(context.Background(), demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := ldapdir.Config{Name: "demo", URLs: []string{srv.URL()}, BindDN: srv.ServiceDN(), BindPassword: srv.ServicePassword(),
		BaseDN: srv.BaseDN(), AllowInsecurePasswordWrites: true}
	return directoryYAML("openldap", c, "    password_write: modify\n"), srv
}

// bindAs binds to the demo directory as uid with password.
func bindAs(t *testing.T, srv *demo.Server, uid, password string) error {
	t.Helper()
	conn, err := ldap.DialURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.Bind(demo.User{UID: uid}.DN(), password)
}

// onLocalhost serves in through a listener whose origin
// (http://localhost:PORT) is known before sspr starts: browsers allow
// WebAuthn over plain HTTP only on localhost, and the passkey origin must
// be configured up front.
type onLocalhost struct {
	ln     net.Listener
	Origin string
}

func listenLocalhost(t *testing.T) *onLocalhost {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &onLocalhost{ln: ln, Origin: fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)}
}

func (o *onLocalhost) serve(t *testing.T, in *instance) {
	target, _ := url.Parse(in.URL)
	srv := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(o.ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// TestPasskeyEnrollThenResetInBrowser: a passkey enrolled through the
// enrollment page and its real script in headless Chromium with a virtual
// WebAuthn authenticator, then used as the second factor of a password
// reset (email code + passkey); the new password binds to the directory.
func TestPasskeyEnrollThenResetInBrowser(t *testing.T) {
	ctx := browsertest.NewWithOptions(t, browsertest.Options{Timeout: 150 * time.Second})
	authID, err := browsertest.AddVirtualAuthenticator(ctx, browsertest.Passkey())
	if err != nil {
		t.Fatal(err)
	}
	local := listenLocalhost(t)
	dirYAML, dir := startDemo(t)
	in := start(t, dirYAML, fmt.Sprintf(`verification:
  factors: [email, passkey]
  first_factor: email
  required:
    reset: 2
    unlock: 1
  passkey:
    rp_id: localhost
    rp_name: Example Corp
    origins: [%q]
`, local.Origin))
	local.serve(t, in)
	must := func(err error) {
		t.Helper()
		if err != nil {
			screenshot(t, ctx, "failed")
			t.Fatal(err)
		}
	}
	text := func(css string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
		must(err)
		return s
	}

	// Enroll a passkey.
	must(chromedp.Do(ctx, chromedp.Navigate(local.Origin+"/enroll"), chromedp.WaitVisible(chromedp.ID("login"))))
	labelled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](everyInputLabelled))
	must(err)
	if !labelled {
		t.Error("an input on the sign-in page has no label")
	}
	screenshot(t, ctx, "enroll-signin")
	must(chromedp.Do(ctx,
		sendKeys(chromedp.ID("login"), "alice"),
		sendKeys(chromedp.ID("password"), "Winter-2026"),
		submit(chromedp.ID("password")),
	))
	// The directory's mail address is proved first, then the home page.
	must(stepUpChromium(t, ctx, in, "alice@demo.sspr.test"))
	must(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("add-passkey"))))
	screenshot(t, ctx, "enroll-home-empty")
	must(chromedp.Do(ctx, click(chromedp.ID("add-passkey")), chromedp.WaitVisible(chromedp.ID("passkey-create"))))
	screenshot(t, ctx, "enroll-passkey")
	must(chromedp.Do(ctx,
		sendKeys(chromedp.ID("passkey-name"), "Test phone"),
		click(chromedp.ID("passkey-create")),
		chromedp.WaitVisible(chromedp.ID("factors")),
	))
	screenshot(t, ctx, "enroll-home-passkey")
	if got := text("#factors"); !strings.Contains(got, "Passkey (Test phone)") {
		t.Fatalf("the list shows %q", got)
	}
	if got := text(".alert-info"); !strings.Contains(got, "Added.") {
		t.Fatalf("notice %q", got)
	}
	creds, err := browsertest.Credentials(ctx, authID)
	must(err)
	if len(creds) != 1 {
		t.Fatalf("the authenticator holds %d credentials", len(creds))
	}
	signCount := creds[0].SignCount
	must(chromedp.Do(ctx, click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("login"))))
	in.waitNotices(t, aliceMail, 1)

	// Reset the password with the mailed code and the passkey.
	before := in.codeMailsTo(aliceMail)
	must(chromedp.Do(ctx,
		chromedp.Navigate(local.Origin+"/"),
		chromedp.WaitVisible(chromedp.ID("login")),
		sendKeys(chromedp.ID("login"), "alice"),
		submit(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("code")),
	))
	code := in.waitCode(t, aliceMail, before)
	must(chromedp.Do(ctx,
		sendKeys(chromedp.ID("code"), code),
		submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.CSS(`input[name=factor][value=passkey]`)),
	))
	screenshot(t, ctx, "reset-choose")
	must(chromedp.Do(ctx,
		click(chromedp.CSS(`input[name=factor][value=passkey]`)),
		submit(chromedp.CSS(`input[name=factor][value=passkey]`)),
		chromedp.WaitVisible(chromedp.ID("passkey-button")),
	))
	screenshot(t, ctx, "reset-passkey")
	must(chromedp.Do(ctx, click(chromedp.ID("passkey-button")), chromedp.WaitVisible(chromedp.ID("password"))))
	const newPassword = "Passkey-Reset-42"
	must(chromedp.Do(ctx,
		sendKeys(chromedp.ID("password"), newPassword),
		sendKeys(chromedp.ID("confirm"), newPassword),
		submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("h1.success")),
	))
	screenshot(t, ctx, "reset-done")
	if got := text("h1.success"); got != "Your password has been changed" {
		t.Fatalf("done page heading %q", got)
	}
	if creds, err := browsertest.Credentials(ctx, authID); err != nil || len(creds) != 1 || creds[0].SignCount <= signCount {
		t.Errorf("the passkey was not used: %+v %v", creds, err)
	}
	if err := bindAs(t, dir, "alice", newPassword); err != nil {
		t.Fatalf("the new password does not bind: %v", err)
	}
	if err := bindAs(t, dir, "alice", "Winter-2026"); err == nil {
		t.Fatal("the old password still binds")
	}
}

// TestEnrollPagesInBrowser walks the code-based enrollment pages in Chromium
// with scripts on (the page scripts must not get in the way) and keeps
// screenshots of each on a phone-sized window.
func TestEnrollPagesInBrowser(t *testing.T) {
	ctx := browsertest.NewWithOptions(t, browsertest.Options{Timeout: 150 * time.Second})
	in := start(t, startDemoDirectory(t), `verification:
  factors: [email, totp, backup_codes]
  first_factor: email
  required:
    reset: 1
    unlock: 1
`)
	must := func(err error) {
		t.Helper()
		if err != nil {
			screenshot(t, ctx, "failed")
			t.Fatal(err)
		}
	}
	text := func(css string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
		must(err)
		return s
	}
	signIn := func() {
		must(chromedp.Do(ctx,
			chromedp.Navigate(in.URL+"/enroll"),
			chromedp.WaitVisible(chromedp.ID("login")),
			sendKeys(chromedp.ID("login"), "alice"),
			sendKeys(chromedp.ID("password"), "Winter-2026"),
			submit(chromedp.ID("password")),
			chromedp.WaitVisible(chromedp.CSS("main h1")),
		))
	}
	signIn()
	// The directory's mail address is a factor already: proved first.
	must(stepUpChromium(t, ctx, in, "alice@demo.sspr.test"))

	// The email page (then back).
	must(chromedp.Do(ctx, click(chromedp.ID("add-email")), chromedp.WaitVisible(chromedp.ID("email"))))
	screenshot(t, ctx, "enroll-add-email")
	must(chromedp.Do(ctx, chromedp.Navigate(in.URL+"/enroll/home"), chromedp.WaitVisible(chromedp.ID("add-totp"))))

	// An authenticator app.
	must(chromedp.Do(ctx, click(chromedp.ID("add-totp")), chromedp.WaitVisible(chromedp.ID("code"))))
	screenshot(t, ctx, "enroll-totp")
	labelled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](everyInputLabelled))
	must(err)
	if !labelled {
		t.Error("an input on the TOTP page has no label")
	}
	secret, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("totp-secret").textContent`))
	must(err)
	must(chromedp.Do(ctx,
		sendKeys(chromedp.ID("code"), totpAt(t, secret, time.Now())),
		submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.ID("factors")),
	))

	// Backup codes: typed back with letters and a dash, which the page's
	// scripts must leave alone.
	must(chromedp.Do(ctx, click(chromedp.ID("add-backup_codes")), chromedp.WaitVisible(chromedp.ID("backup-code"))))
	screenshot(t, ctx, "enroll-backup-codes")
	code, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`document.querySelectorAll("#backup-codes code")[Number(document.getElementById("backup-code").dataset.position) - 1].textContent`))
	must(err)
	printable, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById("print-codes").hidden`))
	must(err)
	if !printable {
		t.Error("the print button is hidden with scripts on")
	}
	must(chromedp.Do(ctx,
		sendKeys(chromedp.ID("backup-code"), code),
		submit(chromedp.ID("backup-code")),
		chromedp.WaitVisible(chromedp.ID("factors")),
	))
	screenshot(t, ctx, "enroll-home")
	if got := text("#factors"); !strings.Contains(got, "Authenticator app") || !strings.Contains(got, "Backup codes (10 left)") {
		t.Fatalf("the list shows %q", got)
	}

	// A new session asks for a step-up first.
	must(chromedp.Do(ctx, click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("login"))))
	signIn()
	screenshot(t, ctx, "enroll-stepup")
	if got := text("main h1"); got != "Confirm it is you" {
		t.Fatalf("heading %q", got)
	}
	must(chromedp.Do(ctx,
		click(chromedp.CSS(`input[name=enrollment]`)), // the first: the authenticator app
		submit(chromedp.CSS(`input[name=enrollment]`)),
		chromedp.WaitVisible(chromedp.ID("code")),
	))
	screenshot(t, ctx, "enroll-stepup-code")
}

// TestEnrollSecurityQuestions: the questions page asks the configured
// questions, refuses too few answers saying what it wants, and a later
// session steps up by answering them.
func TestEnrollSecurityQuestions(t *testing.T) {
	in := start(t, startDemoDirectory(t), `verification:
  factors: [email, questions]
  first_factor: email
  required:
    reset: 2
    unlock: 2
  questions:
    questions:
      - id: first-school
        text: "What was the name of your first school?"
      - id: first-street
        text: "What street did you live on at age ten?"
      - id: first-concert
        text: "What was the first concert you went to?"
    answers_required: 2
    asked: 2
    min_answer_length: 3
`)
	b := newBrowser(t, in.URL)
	b.follow(b.post("/enroll/signin", url.Values{"login": {"alice"}, "password": {"Winter-2026"}}))
	stepUpForm(t, in, b, "alice@demo.sspr.test")
	p := b.follow(b.post("/enroll/add", url.Values{"kind": {"questions"}}))
	for _, want := range []string{`name="answer.first-school"`, `name="answer.first-street"`, `name="answer.first-concert"`, "What street did you live on at age ten?"} {
		if !strings.Contains(p.Body, want) {
			t.Fatalf("the questions page lacks %q:\n%s", want, p.Body)
		}
	}
	p = b.post("/enroll/add/finish", url.Values{"answer.first-school": {"Hillside"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Please answer at least 2 questions") {
		t.Fatalf("one answer: %d\n%s", p.Status, p.Body)
	}
	p = b.follow(b.post("/enroll/add/finish", url.Values{"answer.first-school": {"Hillside"}, "answer.first-street": {"Elm Street"}}))
	if factorIDs(p.Body)["questions"] == "" {
		t.Fatalf("the questions are not listed:\n%s", p.Body)
	}

	b2 := newBrowser(t, in.URL)
	p = b2.follow(b2.post("/enroll/signin", url.Values{"login": {"alice"}, "password": {"Winter-2026"}}))
	id := must1(t, regexp.MustCompile(`name="enrollment" value="([0-9a-f]{24})"`), p.Body, "step-up choice")
	p = b2.follow(b2.post("/enroll/verify/start", url.Values{"enrollment": {id}}))
	if !strings.Contains(p.Body, `name="answer.first-school"`) || !strings.Contains(p.Body, `name="answer.first-street"`) {
		t.Fatalf("the step-up asks:\n%s", p.Body)
	}
	p = b2.follow(b2.post("/enroll/verify", url.Values{"answer.first-school": {"hillside"}, "answer.first-street": {"ELM  street"}}))
	if !strings.Contains(p.Body, "Thank you, that worked") {
		t.Fatalf("after answering:\n%s", p.Body)
	}
}
