package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/sms/smstest"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

var bg = context.Background()

// enrollBackupCodes signs in to the enrollment flow and enrolls backup
// codes, returning them.
func enrollBackupCodes(t *testing.T, in *instance, login, password string) []string {
	t.Helper()
	token, v, err := in.App.Enroll.SignIn(bg, login, password, "127.0.0.1", "en")
	if err != nil {
		t.Fatalf("enrollment sign-in: %v", err)
	}
	if v.Step == flow.StepVerify {
		stepUpInProcess(t, in, token, login) // the directory's mail is a factor already
	}
	if v, err = in.App.Enroll.Begin(bg, token, factor.BackupCodes, factor.Response{}); err != nil {
		t.Fatalf("begin backup codes: %v (step %s)", err, v.Step)
	}
	var codes []string
	for _, c := range v.PendingPrompt["codes"].([]any) {
		codes = append(codes, c.(string))
	}
	pos := int(v.PendingPrompt["confirm_position"].(float64))
	if _, err := in.App.Enroll.Finish(bg, token, factor.Response{Values: map[string]string{"code": codes[pos-1]}}, ""); err != nil {
		t.Fatalf("finish backup codes: %v", err)
	}
	return codes
}

type apiFlow struct {
	t  *testing.T
	in *instance
	id string
}

func (f *apiFlow) call(path string, body map[string]string) (int, map[string]any, string) {
	f.t.Helper()
	if body == nil {
		body = map[string]string{}
	}
	body["flow_id"] = f.id
	status, out, _, raw := apiCall(f.t, f.in.URL, path, body, "")
	return status, out, string(raw)
}

func startAPIReset(t *testing.T, in *instance, login string) (*apiFlow, map[string]any) {
	t.Helper()
	status, body, _, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": login}, "")
	if status != http.StatusAccepted {
		t.Fatalf("start: %d %s", status, raw)
	}
	return &apiFlow{t: t, in: in, id: body["flow_id"].(string)}, body
}

// TestPrivilegedAccountNeedsTwoFactors: the configuration asks for one
// factor; a member of a protected group still needs two, may not use the
// same factor twice, and each backup code works once.
func TestPrivilegedAccountNeedsTwoFactors(t *testing.T) {
	cfg := dirtest.ADConfig(t)
	cfg.Name = "corp"
	admin := dirtest.CreateADUser(t, "Initial-Pass-1")
	plain := dirtest.CreateADUser(t, "Initial-Pass-1")
	group := dirtest.CreateADGroup(t, admin.DN)
	in := start(t, directoryYAML("ad", cfg, fmt.Sprintf("    protected_groups: [%q]\n", group)), directoryRulesOnly+`verification:
  factors: [email, backup_codes]
  first_factor: email
  required: {reset: 1, unlock: 1}
  allow_protected_accounts: true
`)
	codes := enrollBackupCodes(t, in, admin.Login, admin.Password)

	// An ordinary account: one factor is enough.
	f, _ := startAPIReset(t, in, plain.Login)
	if status, body, raw := f.call("/api/v1/reset/verify", map[string]string{"code": in.waitCode(t, plain.Mail, 0)}); status != http.StatusOK || body["state"] != "verified" {
		t.Fatalf("ordinary account after one factor: %d %s", status, raw)
	}

	// The privileged account: before any factor the answer looks ordinary.
	stepUps := in.codeMailsTo(admin.Mail) // the enrollment's step-up codes
	f, body := startAPIReset(t, in, admin.Login)
	if body["factors_required"] != float64(1) {
		t.Fatalf("the start tells a stranger the account is privileged: %v", body)
	}
	status, body, raw := f.call("/api/v1/reset/verify", map[string]string{"code": in.waitCode(t, admin.Mail, stepUps)})
	if status != http.StatusOK || body["state"] != "choose" || body["factors_required"] != float64(2) {
		t.Fatalf("privileged account after one factor: %d %s (want choose, 2 required)", status, raw)
	}
	if status, body, raw := f.call("/api/v1/reset/choose", map[string]string{"factor": "email"}); status != http.StatusUnprocessableEntity ||
		body["error"].(map[string]any)["code"] != "factor_not_allowed" {
		t.Fatalf("the same factor twice: %d %s", status, raw)
	}
	if status, _, raw := f.call("/api/v1/reset/password", map[string]string{"password": "Admin-New-Pass-4"}); status != http.StatusConflict {
		t.Fatalf("a password before the second factor: %d %s", status, raw)
	}
	if status, _, raw := f.call("/api/v1/reset/choose", map[string]string{"factor": "backup_codes"}); status != http.StatusOK {
		t.Fatalf("choose backup codes: %d %s", status, raw)
	}
	if status, body, raw := f.call("/api/v1/reset/verify", map[string]string{"code": codes[0]}); status != http.StatusOK || body["state"] != "verified" {
		t.Fatalf("backup code: %d %s", status, raw)
	}
	if status, _, raw := f.call("/api/v1/reset/password", map[string]string{"password": "Admin-New-Pass-4"}); status != http.StatusOK {
		t.Fatalf("reset: %d %s", status, raw)
	}
	proveReset(t, cfg, admin.Login, admin.Password, "Admin-New-Pass-4")

	// Each backup code works once.
	f, _ = startAPIReset(t, in, admin.Login)
	f.call("/api/v1/reset/verify", map[string]string{"code": in.waitCode(t, admin.Mail, stepUps+1)})
	f.call("/api/v1/reset/choose", map[string]string{"factor": "backup_codes"})
	if status, _, raw := f.call("/api/v1/reset/verify", map[string]string{"code": codes[0]}); status != http.StatusUnprocessableEntity {
		t.Fatalf("a used backup code: %d %s", status, raw)
	}
	if status, body, raw := f.call("/api/v1/reset/verify", map[string]string{"code": codes[1]}); status != http.StatusOK || body["state"] != "verified" {
		t.Fatalf("the next backup code: %d %s", status, raw)
	}
}

// TestAbuseBlockSurvivesRestartAndNeverLocksTheDirectory: five failed
// verifications block the account (quietly: a right code is then refused
// like a wrong one), the block holds after a restart, and nothing sspr did
// locked the directory account, not even repeated wrong passwords at the
// enrollment sign-in.
func TestAbuseBlockSurvivesRestartAndNeverLocksTheDirectory(t *testing.T) {
	cfg := dirtest.ADConfig(t)
	cfg.Name = "corp"
	u := dirtest.CreateADUser(t, "Initial-Pass-1")
	db := filepath.Join(t.TempDir(), "sspr.db")
	dirs := directoryYAML("ad", cfg, "")
	in := startWithDB(t, db, dirs, "")
	for i := range 5 {
		f, _ := startAPIReset(t, in, u.Login)
		code := in.waitCode(t, u.Mail, i)
		if status, _, raw := f.call("/api/v1/reset/verify", map[string]string{"code": wrong(code)}); status != http.StatusUnprocessableEntity {
			t.Fatalf("wrong code %d: %d %s", i+1, status, raw)
		}
	}
	rightCodeRefused := func(in *instance, mailsBefore int) {
		t.Helper()
		f, _ := startAPIReset(t, in, u.Login)
		// Blocked: the answer is still "a code is on its way", but none is sent.
		time.Sleep(500 * time.Millisecond)
		if n := in.codeMailsTo(u.Mail); n != mailsBefore {
			t.Fatalf("a blocked account was sent a code (%d mails, want %d)", n, mailsBefore)
		}
		if status, _, raw := f.call("/api/v1/reset/verify", map[string]string{"code": "00000000"}); status != http.StatusUnprocessableEntity || !strings.Contains(raw, "code_invalid") {
			t.Fatalf("blocked account: %d %s", status, raw)
		}
	}
	rightCodeRefused(in, 5)

	// The block is in the database: a restarted instance keeps it.
	in.stop()
	in = startWithDB(t, db, dirs, "")
	rightCodeRefused(in, 0)

	// Wrong passwords at the enrollment sign-in: sspr stops before the
	// directory's lockout threshold.
	v := dirtest.CreateADUser(t, "Initial-Pass-1")
	for range dirtest.ADLockoutThreshold(t) + 3 {
		if _, _, err := in.App.Enroll.SignIn(bg, v.Login, "Not-The-Password-1", "192.0.2.44", "en"); err == nil {
			t.Fatal("a wrong password signed in")
		}
	}
	for _, acct := range []dirtest.User{u, v} {
		if err := dirtest.Bind(t, cfg, acct.Login, acct.Password); err != nil {
			t.Fatalf("the directory account %s was locked or changed: %v", acct.Login, err)
		}
	}
}

func wrong(code string) string {
	if code[0] == '9' {
		return "1" + code[1:]
	}
	return "9" + code[1:]
}

// totpCode computes an RFC 6238 code (SHA-1, 30 s, 6 digits) for the test.
func totpCode(secretBase32 string, at time.Time) string {
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.ReplaceAll(secretBase32, " ", "")))
	if err != nil {
		panic(err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	n := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", n%1000000)
}

var smsCodeRE = regexp.MustCompile(`\b(\d{6,10})\b`)

// TestSMSAndEncryptionAtRest: a phone enrolled and verified over SMS (a
// local server speaking Twilio's Messages API), a TOTP enrolled; a reset
// by SMS code; and the raw database file holds neither the phone number,
// nor the address, nor the TOTP secret.
func TestSMSAndEncryptionAtRest(t *testing.T) {
	tw := smstest.NewTwilio(t)
	db := filepath.Join(t.TempDir(), "sspr.db")
	in := startWithDB(t, db, startDemoDirectory(t), fmt.Sprintf(`verification:
  factors: [email, sms, totp]
  first_factor: email
sms:
  provider: twilio
  default_country_code: "+1"
  twilio:
    account_sid: %q
    auth_token: %q
    from: "+15550100000"
    base_url: %q
`, tw.AccountSID, tw.AuthToken, tw.URL()))
	const phone = "+14155550142"
	token, _, err := in.App.Enroll.SignIn(bg, "alice", "Winter-2026", "127.0.0.1", "en")
	if err != nil {
		t.Fatal(err)
	}
	stepUpInProcess(t, in, token, "alice")
	if _, err := in.App.Enroll.Begin(bg, token, factor.SMS, factor.Response{Values: map[string]string{"phone": "(415) 555-0142"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, 20*time.Second)
	defer cancel()
	msg, err := tw.WaitFor(ctx, func(m smstest.Message) bool { return m.To == phone })
	if err != nil {
		t.Fatalf("no enrollment code by SMS: %v", err)
	}
	if _, err := in.App.Enroll.Finish(bg, token, factor.Response{Values: map[string]string{"code": smsCodeRE.FindString(msg.Body)}}, ""); err != nil {
		t.Fatalf("finish SMS enrollment: %v", err)
	}
	v, err := in.App.Enroll.Begin(bg, token, factor.TOTP, factor.Response{})
	if err != nil {
		t.Fatal(err)
	}
	totpSecret := strings.ReplaceAll(v.PendingPrompt["secret_base32"].(string), " ", "")
	if _, err := in.App.Enroll.Finish(bg, token, factor.Response{Values: map[string]string{"code": totpCode(totpSecret, time.Now())}}, ""); err != nil {
		t.Fatalf("finish TOTP enrollment: %v", err)
	}

	// A reset by SMS code.
	f, _ := startAPIReset(t, in, "alice")
	if status, _, raw := f.call("/api/v1/reset/choose", map[string]string{"factor": "sms"}); status != http.StatusOK {
		t.Fatalf("choose sms: %d %s", status, raw)
	}
	// Code messages: the enrollment's first, then the reset's (notices of
	// the enrollments went to the phone in between).
	var codes []string
	for deadline := time.Now().Add(20 * time.Second); len(codes) < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		codes = codes[:0]
		for _, m := range tw.Messages() {
			if m.To == phone && strings.Contains(m.Body, " is your ") {
				codes = append(codes, smsCodeRE.FindString(m.Body))
			}
		}
	}
	if len(codes) < 2 {
		t.Fatalf("no reset code by SMS: %+v", tw.Messages())
	}
	code := codes[1]
	if status, body, raw := f.call("/api/v1/reset/verify", map[string]string{"code": code}); status != http.StatusOK || body["state"] != "verified" {
		t.Fatalf("SMS code: %d %s", status, raw)
	}
	if status, _, raw := f.call("/api/v1/reset/password", map[string]string{"password": "Sms-Reset-Pass-77"}); status != http.StatusOK {
		t.Fatalf("reset: %d %s", status, raw)
	}
	// Notices went to the phone too.
	if _, err := tw.WaitFor(ctx, func(m smstest.Message) bool { return m.To == phone && strings.Contains(m.Body, "password") }); err != nil {
		t.Errorf("no SMS notice of the reset: %v", err)
	}

	// Every byte on disk: the database and its write-ahead log (on
	// PostgreSQL, a plain dump of every table).
	in.stop()
	raw := databaseBytes(t, db)
	if len(raw) == 0 {
		t.Fatal("no database file")
	}
	for _, secret := range []string{"4155550142", "555-0142", "alice@demo.sspr.test", totpSecret, strings.ToLower(totpSecret)} {
		// A plain dump writes bytea columns in hex.
		if bytes.Contains(raw, []byte(secret)) || bytes.Contains(raw, []byte(hex.EncodeToString([]byte(secret)))) {
			t.Errorf("the database holds %q in clear", secret)
		}
	}
}

// databaseBytes is everything the database at db holds: the SQLite file
// and its write-ahead log, or, when SSPR_TEST_E2E_STORE=postgres put it
// in PostgreSQL, a plain pg_dump of it.
func databaseBytes(t *testing.T, db string) []byte {
	t.Helper()
	if dsn, ok := pgForPath.Load(db); ok {
		out, err := exec.Command("pg_dump", "--format=plain", "--no-owner", "--dbname="+dsn.(string)).Output()
		if err != nil {
			t.Fatalf("pg_dump: %v", err)
		}
		return out
	}
	var raw []byte
	for _, p := range []string{db, db + "-wal"} {
		b, _ := os.ReadFile(p)
		raw = append(raw, b...)
	}
	return raw
}

// TestSMSWebhookProvider: the generic webhook provider delivers a code.
func TestSMSWebhookProvider(t *testing.T) {
	wh := smstest.NewWebhook(t)
	in := start(t, startDemoDirectory(t), fmt.Sprintf(`verification:
  factors: [email, sms]
  first_factor: email
sms:
  provider: webhook
  default_country_code: "+49"
  webhook:
    url: %q
    method: POST
    content_type: application/json
    headers:
      - name: Authorization
        value: "Bearer test-token"
    body: '{"to": {{json .To}}, "text": {{json .Body}}}'
    success_status: [200, 202]
`, wh.URL()+"/send"))
	token, _, err := in.App.Enroll.SignIn(bg, "bob", "Spring-2026", "127.0.0.1", "en")
	if err != nil {
		t.Fatal(err)
	}
	stepUpInProcess(t, in, token, "bob")
	if _, err := in.App.Enroll.Begin(bg, token, factor.SMS, factor.Response{Values: map[string]string{"phone": "0151 2345 6789"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, 20*time.Second)
	defer cancel()
	req, err := wh.WaitFor(ctx, func(r smstest.Request) bool { return strings.Contains(string(r.Body), "+4915123456789") })
	if err != nil {
		t.Fatalf("the webhook got no message: %v", err)
	}
	if req.Header.Get("Authorization") != "Bearer test-token" || req.Path != "/send" {
		t.Errorf("webhook request: %s %v", req.Path, req.Header)
	}
	code := smsCodeRE.FindString(string(req.Body))
	if _, err := in.App.Enroll.Finish(bg, token, factor.Response{Values: map[string]string{"code": code}}, ""); err != nil {
		t.Fatalf("finish with the webhook's code: %v", err)
	}
}

// TestFailedSignInsDoNotBlockRecovery: an attacker failing the enrollment
// sign-in as somebody blocks only the sign-in, not that person's recovery.
func TestFailedSignInsDoNotBlockRecovery(t *testing.T) {
	in := start(t, startDemoDirectory(t), "")
	for range 8 {
		if _, _, err := in.App.Enroll.SignIn(bg, "erin", "Not-Her-Password-1", "198.51.100.7", "en"); err == nil {
			t.Fatal("a wrong password signed in")
		}
	}
	if _, _, err := in.App.Enroll.SignIn(bg, "erin", "Harvest-2026", "198.51.100.8", "en"); err == nil {
		t.Fatal("the sign-in was not blocked after repeated failures")
	}
	f, _ := startAPIReset(t, in, "erin")
	if status, body, raw := f.call("/api/v1/reset/verify", map[string]string{"code": in.waitCode(t, "erin@demo.sspr.test", 0)}); status != http.StatusOK || body["state"] != "verified" {
		t.Fatalf("recovery after failed sign-ins: %d %s", status, raw)
	}
}
