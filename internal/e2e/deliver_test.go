package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory/demo"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/voice/voicetest"
	"github.com/sspr/sspr/internal/mailsink"
)

// spokenCode reads the code out of what a call said ("..., your
// verification code is 1, 2, 3, 4, 5, 6.").
func spokenCode(said string) string {
	var b strings.Builder
	for _, r := range said {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// waitCall waits for the n-th call (1-based) to number and returns the
// code it spoke.
func waitCall(t *testing.T, tw *voicetest.Twilio, number string, n int) string {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var calls []voicetest.Call
		for _, c := range tw.Calls() {
			if c.To == number {
				calls = append(calls, c)
			}
		}
		if len(calls) >= n {
			c := calls[n-1]
			if len(c.Said) == 0 {
				t.Fatalf("call %d said nothing: %s", n, c.Twiml)
			}
			return spokenCode(c.Said[0])
		}
	}
	t.Fatalf("no call %d to %s: %+v", n, number, tw.Calls())
	return ""
}

// TestVoiceCallReset: a phone enrolled by a call, then a complete reset
// over HTTP whose code is read from the call's TwiML (a local server
// speaking Twilio's Voice Calls API), ending in a password the directory
// accepts.
func TestVoiceCallReset(t *testing.T) {
	tw := voicetest.New(t)
	dirYAML, srv := startDemo(t)
	in := start(t, dirYAML, fmt.Sprintf(`verification:
  factors: [email, voice]
  first_factor: email
  voice:
    base_url: %q
    account_sid: %q
    auth_token: %q
    from: "+15550100000"
sms:
  default_country_code: "+1"
`, tw.URL(), tw.AccountSID, tw.AuthToken))
	const phone = "+14155550142"
	token, _, err := in.App.Enroll.SignIn(bg, "alice", "Winter-2026", "127.0.0.1", "en")
	if err != nil {
		t.Fatal(err)
	}
	stepUpInProcess(t, in, token, "alice")
	if _, err := in.App.Enroll.Begin(bg, token, "voice", factor.Response{Values: map[string]string{"phone": "(415) 555-0142"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.App.Enroll.Finish(bg, token, factor.Response{Values: map[string]string{"code": waitCall(t, tw, phone, 1)}}, ""); err != nil {
		t.Fatalf("finish voice enrollment: %v", err)
	}

	// Strangers (an unknown login, bob without a phone) see the same
	// step as alice, and nobody is called for them.
	var shapes []string
	for _, login := range []string{"nobody-here", "bob"} {
		g, _ := startAPIReset(t, in, login)
		status, body, raw := g.call("/api/v1/reset/choose", map[string]string{"factor": "voice"})
		if status != http.StatusOK {
			t.Fatalf("%s chooses voice: %d %s", login, status, raw)
		}
		shapes = append(shapes, shape(body))
	}
	f, _ := startAPIReset(t, in, "alice")
	status, body, raw := f.call("/api/v1/reset/choose", map[string]string{"factor": "voice"})
	if status != http.StatusOK || body["state"] != "challenged" {
		t.Fatalf("choose voice: %d %s", status, raw)
	}
	for i, s := range shapes {
		if s != shape(body) {
			t.Errorf("stranger %d sees another step:\n%s\nalice:\n%s", i, s, shape(body))
		}
	}
	call := tw.Calls()
	code := waitCall(t, tw, phone, 2)
	if len(code) < 6 {
		t.Fatalf("spoken code %q (%+v)", code, call)
	}
	// A wrong code first: refused, an attempt left.
	if status, _, raw := f.call("/api/v1/reset/verify", map[string]string{"code": "000000"}); status != http.StatusUnprocessableEntity {
		t.Fatalf("wrong code: %d %s", status, raw)
	}
	if status, body, raw := f.call("/api/v1/reset/verify", map[string]string{"code": code}); status != http.StatusOK || body["state"] != "verified" {
		t.Fatalf("voice code: %d %s", status, raw)
	}
	if status, _, raw := f.call("/api/v1/reset/password", map[string]string{"password": "Voice-Reset-Pass-77"}); status != http.StatusOK {
		t.Fatalf("reset: %d %s", status, raw)
	}
	if err := bindAs(t, srv, "alice", "Voice-Reset-Pass-77"); err != nil {
		t.Fatalf("the directory refuses the new password: %v", err)
	}
	for _, c := range tw.Calls() {
		if c.To != phone {
			t.Errorf("a call went to %s", c.To)
		}
	}
	if n := len(tw.Calls()); n != 2 {
		t.Errorf("%d calls; want the enrollment's and the reset's", n)
	}
	// The call spoke the code in the text's language, and never the
	// code's digits unseparated (text-to-speech would read a number).
	last := tw.Calls()[len(tw.Calls())-1]
	if !strings.Contains(last.Twiml, `language="en-US"`) || strings.Contains(last.Twiml, code) {
		t.Errorf("TwiML: %s", last.Twiml)
	}
}

// managerDirectory starts the embedded directory where bob manages alice
// and carol has no manager.
func managerDirectory(t *testing.T) (string, *demo.Server) {
	t.Helper()
	users := demo.DefaultUsers()
	for i := range users {
		if users[i].UID == "alice" {
			users[i].Extra["manager"] = []string{demo.User{UID: "bob"}.DN()}
		}
	}
	srv, err := demo.Start(context.Background(), demo.Options{Users: users})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := ldapdir.Config{Name: "demo", URLs: []string{srv.URL()}, BindDN: srv.ServiceDN(), BindPassword: srv.ServicePassword(),
		BaseDN: srv.BaseDN(), AllowInsecurePasswordWrites: true}
	return directoryYAML("openldap", c, "    password_write: modify\n"), srv
}

func startApproval(t *testing.T, ttl string) (*instance, *demo.Server) {
	t.Helper()
	dirYAML, srv := managerDirectory(t)
	in := start(t, dirYAML, fmt.Sprintf(`verification:
  factors: [email, manager_approval]
  first_factor: email
  required:
    reset: 2
    unlock: 2
  manager_approval:
    ttl: %s
`, ttl))
	return in, srv
}

var approvalLinkRE = regexp.MustCompile(`(?m)^\s*(http://\S+/approve\?decision=(approve|deny)&token=\S+?)\s*$`)

// approvalLinks waits for the approval mail to rcpt and returns its
// approve and deny links.
func approvalLinks(t *testing.T, in *instance, rcpt string) (approve, deny string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, 20*time.Second)
	defer cancel()
	m, err := in.Sink.WaitFor(ctx, func(m mailsink.Message) bool {
		return strings.EqualFold(strings.Join(m.To, ","), rcpt) && strings.Contains(m.TextBody, "/approve?")
	})
	if err != nil {
		t.Fatalf("no approval mail to %s: %v", rcpt, err)
	}
	for _, l := range approvalLinkRE.FindAllStringSubmatch(m.TextBody, -1) {
		if l[2] == "approve" {
			approve = l[1]
		} else {
			deny = l[1]
		}
	}
	if approve == "" || deny == "" {
		t.Fatalf("approval mail without both links:\n%s", m.TextBody)
	}
	return approve, deny
}

// emailThenApproval verifies login's email code and chooses manager
// approval; it returns the flow and the choose answer.
func emailThenApproval(t *testing.T, in *instance, login string) (*apiFlow, map[string]any) {
	t.Helper()
	rcpt := login + "@" + demo.MailDomain
	before := in.codeMailsTo(rcpt)
	f, _ := startAPIReset(t, in, login)
	if status, _, raw := f.call("/api/v1/reset/choose", map[string]string{"factor": "email"}); status != http.StatusOK {
		t.Fatalf("choose email: %d %s", status, raw)
	}
	// Identify sent a code already (the first factor), which choosing
	// email replaced; an earlier flow's code may still be on its way too.
	// The outbox delivers them when it does, so each code mail that comes
	// is tried in turn until one is this flow's current code (a replaced
	// one costs an attempt of five).
	for seen := before; ; seen++ {
		code := in.waitCode(t, rcpt, seen)
		status, body, raw := f.call("/api/v1/reset/verify", map[string]string{"code": code})
		if status == http.StatusOK && body["state"] == "choose" {
			break
		}
		if errCode(body) != "code_invalid" || seen-before >= 2 {
			t.Fatalf("email code: %d %s", status, raw)
		}
	}
	status, body, raw := f.call("/api/v1/reset/choose", map[string]string{"factor": "manager_approval"})
	if status != http.StatusOK || body["state"] != "challenged" {
		t.Fatalf("choose manager approval: %d %s", status, raw)
	}
	return f, body
}

// approvalPost posts the manager's confirmation form.
func approvalPost(t *testing.T, link, decision string) (int, string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"token": {u.Query().Get("token")}, "decision": {decision}}
	req, _ := http.NewRequest(http.MethodPost, u.Scheme+"://"+u.Host+"/approve", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func httpGet(t *testing.T, link string) (int, string) {
	t.Helper()
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestManagerApprovalReset: after the email code, alice's manager bob
// gets a mail (his address read from the directory) with approve and deny
// links. Opening a link decides nothing; the person's polls wait without
// costing attempts; bob's confirming POST approves; the same link is
// refused the second time; the reset completes with a password the
// directory accepts.
func TestManagerApprovalReset(t *testing.T) {
	in, srv := startApproval(t, "30m")
	f, _ := emailThenApproval(t, in, "alice")
	approve, _ := approvalLinks(t, in, "bob@"+demo.MailDomain)

	// Waiting: the same answer however often the person asks.
	for i := 0; i < 6; i++ {
		if status, body, raw := f.call("/api/v1/reset/verify", nil); status != http.StatusOK || body["state"] != "challenged" {
			t.Fatalf("poll %d while waiting: %d %s", i, status, raw)
		}
	}
	// The link shows the request and asks to confirm; a GET decides nothing.
	status, page := httpGet(t, approve)
	if status != http.StatusOK || !strings.Contains(page, "alice") || !strings.Contains(page, `name="decision" value="approve"`) {
		t.Fatalf("approval page: %d\n%s", status, page)
	}
	if strings.Contains(page, "Winter-2026") {
		t.Fatal("the approval page shows a secret")
	}
	if status, body, raw := f.call("/api/v1/reset/verify", nil); status != http.StatusOK || body["state"] != "challenged" {
		t.Fatalf("after the GET the flow must still wait: %d %s", status, raw)
	}
	if status, page := approvalPost(t, approve, "approve"); status != http.StatusOK || !strings.Contains(page, "You approved") {
		t.Fatalf("approve: %d\n%s", status, page)
	}
	// A used link is refused the second time, with either decision.
	if status, page := approvalPost(t, approve, "deny"); status != http.StatusConflict || !strings.Contains(page, "used already") {
		t.Fatalf("second use: %d\n%s", status, page)
	}
	if status, _ := httpGet(t, approve); status != http.StatusConflict {
		t.Fatalf("opening a used link: %d", status)
	}
	if status, body, raw := f.call("/api/v1/reset/verify", nil); status != http.StatusOK || body["state"] != "verified" {
		t.Fatalf("after approval: %d %s", status, raw)
	}
	if status, _, raw := f.call("/api/v1/reset/password", map[string]string{"password": "Approved-Reset-Pass-77"}); status != http.StatusOK {
		t.Fatalf("reset: %d %s", status, raw)
	}
	if err := bindAs(t, srv, "alice", "Approved-Reset-Pass-77"); err != nil {
		t.Fatalf("the directory refuses the new password: %v", err)
	}
	// An altered link is refused.
	if status, _ := httpGet(t, strings.Replace(approve, "token=", "token=x", 1)); status != http.StatusNotFound {
		t.Fatalf("altered link: %d", status)
	}
}

// TestManagerApprovalDenied: the manager denies; the person's next step
// is refused with a plain message and the flow has ended.
func TestManagerApprovalDenied(t *testing.T) {
	in, srv := startApproval(t, "30m")
	f, _ := emailThenApproval(t, in, "alice")
	_, deny := approvalLinks(t, in, "bob@"+demo.MailDomain)
	// The deny link proposes denial first; it still only asks.
	if status, page := httpGet(t, deny); status != http.StatusOK || !strings.Contains(page, `name="decision" value="deny"`) {
		t.Fatalf("deny page: %d\n%s", status, page)
	}
	if status, page := approvalPost(t, deny, "deny"); status != http.StatusOK || !strings.Contains(page, "You denied") {
		t.Fatalf("deny: %d\n%s", status, page)
	}
	status, body, raw := f.call("/api/v1/reset/verify", nil)
	if status != http.StatusForbidden || errCode(body) != "approval_denied" || !strings.Contains(raw, "denied this request") {
		t.Fatalf("after denial: %d %s", status, raw)
	}
	if status, _, raw := f.call("/api/v1/reset/password", map[string]string{"password": "Denied-Reset-Pass-77"}); status == http.StatusOK {
		t.Fatalf("a denied flow set a password: %s", raw)
	}
	if err := bindAs(t, srv, "alice", "Winter-2026"); err != nil {
		t.Fatalf("the old password must stand: %v", err)
	}
}

// TestManagerApprovalExpiredLink: a link past the approval window is
// refused, and the person's flow is told its challenge expired. The
// instance's clock moves past the one-minute window instead of waiting.
func TestManagerApprovalExpiredLink(t *testing.T) {
	in, _ := startApproval(t, "1m")
	f, _ := emailThenApproval(t, in, "alice")
	approve, _ := approvalLinks(t, in, "bob@"+demo.MailDomain)
	in.clock.Advance(61 * time.Second)
	if status, page := httpGet(t, approve); status != http.StatusGone || !strings.Contains(page, "expired") {
		t.Fatalf("expired link, GET: %d\n%s", status, page)
	}
	if status, page := approvalPost(t, approve, "approve"); status != http.StatusGone {
		t.Fatalf("expired link, POST: %d\n%s", status, page)
	}
	if status, body, raw := f.call("/api/v1/reset/verify", nil); status == http.StatusOK || errCode(body) != "code_expired" {
		t.Fatalf("person after expiry: %d %s", status, raw)
	}
}

// TestManagerApprovalNeverFirstAndStrangers: manager approval is never
// accepted as the first (and so never the only) factor, for anybody, with
// the same answer for a real person and an unknown login; and after the
// email code, a person without a manager sees the same waiting step as
// one with a manager, while no mail goes anywhere for them.
func TestManagerApprovalNeverFirstAndStrangers(t *testing.T) {
	in, _ := startApproval(t, "30m")
	var firsts []string
	for _, login := range []string{"alice", "nobody-here"} {
		f, _ := startAPIReset(t, in, login)
		status, body, _ := f.call("/api/v1/reset/choose", map[string]string{"factor": "manager_approval"})
		firsts = append(firsts, fmt.Sprint(status, " ", errCode(body)))
	}
	if firsts[0] != firsts[1] || !strings.Contains(firsts[0], "factor_not_allowed") {
		t.Fatalf("manager approval first: alice %q, stranger %q", firsts[0], firsts[1])
	}

	fa, withManager := emailThenApproval(t, in, "alice")
	fc, without := emailThenApproval(t, in, "carol")
	if a, c := shape(withManager), shape(without); a != c {
		t.Fatalf("the step differs:\nalice: %s\ncarol: %s", a, c)
	}
	approvalLinks(t, in, "bob@"+demo.MailDomain)
	for _, f := range []*apiFlow{fa, fc} {
		if status, body, raw := f.call("/api/v1/reset/verify", nil); status != http.StatusOK || body["state"] != "challenged" {
			t.Fatalf("waiting: %d %s", status, raw)
		}
	}
	for _, m := range in.Sink.Messages() {
		if strings.Contains(m.TextBody, "/approve?") && !strings.EqualFold(strings.Join(m.To, ","), "bob@"+demo.MailDomain) {
			t.Errorf("an approval mail went to %v", m.To)
		}
		if strings.Contains(m.TextBody, "Carol") && strings.Contains(m.TextBody, "/approve?") {
			t.Error("an approval request went out for a person without a manager")
		}
	}
}

// shape is a response's keys and values minus the flow ID, for comparing
// what two people see.
func shape(body map[string]any) string {
	c := map[string]any{}
	for k, v := range body {
		if k != "flow_id" && k != "expires_at" && k != "code_expires_at" {
			c[k] = v
		}
	}
	return fmt.Sprint(c)
}

// errCode is the refusal code of an API answer.
func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// TestVoiceEnrollInPortal: the enrollment portal, forms only, adds a
// phone for calls like a mobile for texts: the number asked on its page,
// confirmed by the code the call speaks, then listed.
func TestVoiceEnrollInPortal(t *testing.T) {
	tw := voicetest.New(t)
	dirYAML, _ := startDemo(t)
	in := start(t, dirYAML, fmt.Sprintf(`verification:
  factors: [email, voice]
  voice:
    base_url: %q
    account_sid: %q
    auth_token: %q
    from: "+15550100000"
sms:
  default_country_code: "+1"
`, tw.URL(), tw.AccountSID, tw.AuthToken))
	b := newBrowser(t, in.URL)
	b.follow(b.post("/enroll/signin", url.Values{"login": {"alice"}, "password": {"Winter-2026"}}))
	p := stepUpForm(t, in, b, "alice@"+demo.MailDomain)
	if !strings.Contains(p.Body, `id="add-voice"`) {
		t.Fatalf("home page offers no phone for calls:\n%s", p.Body)
	}
	p = b.post("/enroll/add", url.Values{"kind": {"voice"}})
	if p.Location != "/enroll/add/voice" {
		t.Fatalf("add voice: %d %q", p.Status, p.Location)
	}
	if p = b.follow(p); !strings.Contains(p.Body, `type="tel"`) || !strings.Contains(p.Body, "Phone number") {
		t.Fatalf("number page:\n%s", p.Body)
	}
	p = b.follow(b.post("/enroll/add/start", url.Values{"kind": {"voice"}, "phone": {"(415) 555-0142"}}))
	if !strings.Contains(p.Body, "Answer your phone") {
		t.Fatalf("confirm page:\n%s", p.Body)
	}
	p = b.follow(b.post("/enroll/add/finish", url.Values{"code": {waitCall(t, tw, "+14155550142", 1)}}))
	if factorIDs(p.Body)["voice"] == "" {
		t.Fatalf("the phone is not listed:\n%s", p.Body)
	}
}
