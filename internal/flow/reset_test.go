package flow_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/demo"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/email"
	"github.com/sspr/sspr/internal/factor/questions"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/secrets"
	"github.com/sspr/sspr/internal/store"
)

type harness struct {
	reset  *flow.Reset
	store  *store.Store
	dir    *openldap.Directory
	clock  *testclock.Clock
	sleeps []time.Duration
	mu     sync.Mutex
}

// newHarness wires a reset flow to a real (embedded) LDAP directory and a
// real SQLite store. Codes are read back from the outbox.
func newHarness(t *testing.T, urls ...string) *harness {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "sspr.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newHarnessOn(t, st, urls...)
}

// newHarnessOn is newHarness on the store st.
func newHarnessOn(t *testing.T, st *store.Store, urls ...string) *harness {
	t.Helper()
	ctx := context.Background()
	srv, err := demo.Start(ctx, demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cfg := openldap.Preset()
	cfg.Name = "demo"
	cfg.URLs = append(urls, srv.URL())
	cfg.BindDN, cfg.BindPassword, cfg.BaseDN = srv.ServiceDN(), srv.ServicePassword(), srv.BaseDN()
	cfg.AllowInsecurePasswordWrites = true
	cfg.Timeout = 5 * time.Second
	dir, err := openldap.New(cfg, openldap.Options{PasswordWrite: "modify"})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := i18n.Load("en")
	if err != nil {
		t.Fatal(err)
	}
	comp, err := notify.NewComposer(cat, notify.Branding{Title: "Test", PortalURL: "https://sspr.example.test/"})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{store: st, dir: dir, clock: testclock.New(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))}
	ring, err := secrets.NewKeyRing(1, secrets.Key{Version: 1, Secret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	mailFactor, err := email.New(email.Config{Key: []byte("0123456789abcdef0123456789abcdef"), CodeLength: 8, TTL: 10 * time.Minute, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h.reset = &flow.Reset{
		Kit: &flow.Kit{
			Store: st, Directories: directory.NewSet(dir), Composer: comp, Sealer: ring,
			MailFrom: "noreply@example.test", Now: h.clock.Now, Audit: audit.NewChain([]byte("test secret")),
			Sleep: func(_ context.Context, d time.Duration) { h.mu.Lock(); h.sleeps = append(h.sleeps, d); h.mu.Unlock() },
		},
		Catalogue: &flow.Catalogue{Factors: map[factor.Kind]factor.Factor{factor.Email: mailFactor}, Offered: []factor.Kind{factor.Email},
			PreEnrollMail: true},
		Settings: flow.Settings{CodeLength: 8, CodeTTL: 10 * time.Minute, MaxCodeAttempts: 5, MaxCodesSent: 3,
			FlowTTL: 30 * time.Minute, IdentifyMinDuration: 300 * time.Millisecond, MaxPasswordAttempts: 10,
			ContinueURL: "https://sspr.example.test/reset/code", FirstFactor: factor.Email,
			Required: map[flow.Action]int{flow.ActionReset: 1, flow.ActionUnlock: 1}},
	}
	return h
}

var codeRE = regexp.MustCompile(`(?m)^\s+(\d{8})\s*$`)

// messages returns the outbox, oldest first.
func (h *harness) messages(t *testing.T) []*store.Message {
	t.Helper()
	var ms []*store.Message
	err := h.store.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		ms, err = tx.Messages(100)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
		ms[i], ms[j] = ms[j], ms[i]
	}
	for _, m := range ms {
		if err := notify.OpenMessage(h.reset.Sealer, m); err != nil {
			t.Fatal(err)
		}
	}
	return ms
}

// lastCode reads the newest mailed code.
func (h *harness) lastCode(t *testing.T) string {
	t.Helper()
	ms := h.messages(t)
	for i := len(ms) - 1; i >= 0; i-- {
		if m := codeRE.FindStringSubmatch(ms[i].TextBody); m != nil {
			return m[1]
		}
	}
	t.Fatal("no code in the outbox")
	return ""
}

func flowCode(err error) flow.Code {
	var fe *flow.Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	return "not a flow error: " + flow.Code(fmt.Sprint(err))
}

func wrongCode(right string) string {
	if right == "00000000" {
		return "00000001"
	}
	return "00000000"
}

func TestResetHappyPathAndDirectoryRefusal(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	token, st, err := h.reset.Start(ctx, flow.StartInput{Login: "alice", ClientIP: "192.0.2.7", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if st.State != flow.StateChallenged || st.CodeLength != 8 || st.AttemptsLeft != 5 {
		t.Fatalf("status after start = %+v", st)
	}
	ms := h.messages(t)
	if len(ms) != 1 || ms[0].Recipient != "alice@demo.sspr.test" || ms[0].Kind != "reset_code" || !ms[0].Urgent {
		t.Fatalf("outbox after start = %+v (the code must be urgent)", ms)
	}
	if _, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), "192.0.2.7"); err != nil {
		t.Fatalf("right code refused: %v", err)
	}
	// The directory's rule (8 characters, a digit) refuses, the flow stays usable.
	_, err = h.reset.SetPassword(ctx, token, "short1", "short1", "192.0.2.7")
	var fe *flow.Error
	if !errors.As(err, &fe) || fe.Code != flow.CodePasswordRefused || len(fe.Reasons) == 0 || fe.Reasons[0] != directory.ReasonTooShort {
		t.Fatalf("short password: err = %v, want password_refused/too_short", err)
	}
	if _, err := h.reset.SetPassword(ctx, token, "a", "b", ""); flowCode(err) != flow.CodePasswordMismatch {
		t.Fatalf("mismatch: %v", err)
	}
	st, err = h.reset.SetPassword(ctx, token, "Correct-Horse-9", "Correct-Horse-9", "192.0.2.7")
	if err != nil || st.State != flow.StateDone {
		t.Fatalf("good password: %v %+v", err, st)
	}
	u, err := h.dir.FindUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.dir.VerifyPassword(ctx, u, "Correct-Horse-9"); err != nil {
		t.Fatalf("new password does not bind: %v", err)
	}
	if err := h.dir.VerifyPassword(ctx, u, "Winter-2026"); directory.KindOf(err) != directory.KindInvalidCredentials {
		t.Fatalf("old password still binds: %v", err)
	}
	ms = h.messages(t)
	if len(ms) != 2 || ms[1].Kind != "password_notice" || ms[1].Recipient != "alice@demo.sspr.test" || ms[1].Urgent {
		t.Fatalf("no change notice, or an urgent one: %+v", ms)
	}
	// The audit log holds every step and its chain is intact.
	n, err := h.reset.Audit.Verify(ctx, h.store)
	if err != nil || n < 5 {
		t.Fatalf("audit: %d rows, %v", n, err)
	}
}

func TestCodeRefusedAfterExpiry(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	token, _, err := h.reset.Start(ctx, flow.StartInput{Login: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	code := h.lastCode(t)
	h.clock.Advance(10*time.Minute + time.Second)
	if _, err := h.reset.VerifyCode(ctx, token, code, ""); flowCode(err) != flow.CodeCodeExpired {
		t.Fatalf("expired code: %v", err)
	}
	// A fresh code works again.
	if _, err := h.reset.Resend(ctx, token, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.VerifyCode(ctx, token, code, ""); flowCode(err) != flow.CodeCodeInvalid {
		t.Fatalf("old code after resend: %v", err)
	}
	if _, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), ""); err != nil {
		t.Fatalf("new code: %v", err)
	}
}

func TestCodeRefusedAfterUse(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	token, _, _ := h.reset.Start(ctx, flow.StartInput{Login: "carol"})
	code := h.lastCode(t)
	if _, err := h.reset.VerifyCode(ctx, token, code, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.VerifyCode(ctx, token, code, ""); flowCode(err) != flow.CodeCodeUsed {
		t.Fatalf("second use: %v", err)
	}
	if _, err := h.reset.SetPassword(ctx, token, "Another-Pass-7", "Another-Pass-7", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.VerifyCode(ctx, token, code, ""); flowCode(err) != flow.CodeCodeUsed {
		t.Fatalf("use after done: %v", err)
	}
	if _, err := h.reset.SetPassword(ctx, token, "Third-Pass-77", "Third-Pass-77", ""); flowCode(err) != flow.CodeWrongState {
		t.Fatalf("second reset with a used flow: %v", err)
	}
}

func TestCodeRefusedAfterFiveWrongTries(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	token, _, _ := h.reset.Start(ctx, flow.StartInput{Login: "dave"})
	code := h.lastCode(t)
	for i := 1; i <= 4; i++ {
		_, err := h.reset.VerifyCode(ctx, token, wrongCode(code), "")
		var fe *flow.Error
		if !errors.As(err, &fe) || fe.Code != flow.CodeCodeInvalid || fe.AttemptsLeft != 5-i {
			t.Fatalf("wrong try %d: %v", i, err)
		}
	}
	if _, err := h.reset.VerifyCode(ctx, token, wrongCode(code), ""); flowCode(err) != flow.CodeTooManyAttempts {
		t.Fatalf("fifth wrong try: %v", err)
	}
	if _, err := h.reset.VerifyCode(ctx, token, code, ""); flowCode(err) != flow.CodeTooManyAttempts {
		t.Fatalf("right code after the flow died: %v", err)
	}
	// A resend cannot revive a dead flow.
	if _, err := h.reset.Resend(ctx, token, ""); flowCode(err) != flow.CodeWrongState {
		t.Fatalf("resend on a dead flow: %v", err)
	}
}

func TestResendKeepsAttemptCountAndIsCapped(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	token, _, _ := h.reset.Start(ctx, flow.StartInput{Login: "erin"})
	first := h.lastCode(t)
	if _, err := h.reset.VerifyCode(ctx, token, wrongCode(first), ""); flowCode(err) != flow.CodeCodeInvalid {
		t.Fatal(err)
	}
	st, err := h.reset.Resend(ctx, token, "")
	if err != nil || st.AttemptsLeft != 4 {
		t.Fatalf("resend: %v %+v (attempts must carry over)", err, st)
	}
	if _, err := h.reset.Resend(ctx, token, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.Resend(ctx, token, ""); flowCode(err) != flow.CodeTooManyCodes {
		t.Fatalf("fourth code: %v", err)
	}
	if got := len(h.messages(t)); got != 3 {
		t.Fatalf("%d mails, want 3", got)
	}
}

func TestUnknownLoginWalksTheSamePath(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	_, known, err := h.reset.Start(ctx, flow.StartInput{Login: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	unknownToken, unknown, err := h.reset.Start(ctx, flow.StartInput{Login: "nobody-here"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(known, unknown) {
		t.Fatalf("status differs:\nknown   %+v\nunknown %+v", known, unknown)
	}
	if got := len(h.messages(t)); got != 1 {
		t.Fatalf("%d mails, want only the known user's", got)
	}
	if len(h.sleeps) != 2 || h.sleeps[0] <= 0 || h.sleeps[1] <= 0 {
		t.Fatalf("identify was not padded: %v", h.sleeps)
	}
	// Every code is wrong for a decoy flow, with the same countdown.
	code := h.lastCode(t)
	for i := 1; i <= 4; i++ {
		_, err := h.reset.VerifyCode(ctx, unknownToken, code, "")
		var fe *flow.Error
		if !errors.As(err, &fe) || fe.Code != flow.CodeCodeInvalid || fe.AttemptsLeft != 5-i {
			t.Fatalf("decoy try %d: %v", i, err)
		}
	}
	if _, err := h.reset.VerifyCode(ctx, unknownToken, code, ""); flowCode(err) != flow.CodeTooManyAttempts {
		t.Fatalf("decoy fifth try: %v", err)
	}
	if _, err := h.reset.SetPassword(ctx, unknownToken, "Whatever-123", "Whatever-123", ""); flowCode(err) != flow.CodeWrongState {
		t.Fatalf("decoy set password: %v", err)
	}
}

func TestDirectoryDownIsSaidPlainly(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	dead := ldapdir.Config{Name: "dead", URLs: []string{"ldap://127.0.0.1:1"}, BindDN: "cn=x", BindPassword: "x", BaseDN: "dc=x",
		AllowInsecurePasswordWrites: true, Timeout: time.Second}
	dead = dead.WithDefaults(openldap.Preset())
	d, err := openldap.New(dead, openldap.Options{PasswordWrite: "modify"})
	if err != nil {
		t.Fatal(err)
	}
	h.reset.Directories = directory.NewSet(d)
	if _, _, err := h.reset.Start(ctx, flow.StartInput{Login: "alice"}); flowCode(err) != flow.CodeDirectoryDown {
		t.Fatalf("directory down: %v", err)
	}
}

func TestFailoverToSecondServer(t *testing.T) {
	h := newHarness(t, "ldap://127.0.0.1:1")
	ctx := context.Background()
	token, _, err := h.reset.Start(ctx, flow.StartInput{Login: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.SetPassword(ctx, token, "Failover-Pass-1", "Failover-Pass-1", ""); err != nil {
		t.Fatalf("reset with the first server dead: %v", err)
	}
}

func TestConcurrentSubmissionsWriteOnce(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	token, _, _ := h.reset.Start(ctx, flow.StartInput{Login: "carol"})
	if _, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), ""); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			pw := fmt.Sprintf("Concurrent-%d-pass", i)
			_, errs[i] = h.reset.SetPassword(ctx, token, pw, pw, "")
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case flowCode(err) != flow.CodeWrongState:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d submissions succeeded, want exactly 1 (%v)", ok, errs)
	}
}

func TestBadTokensAreNotFound(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	for _, tok := range []string{"", "x", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "' OR 1=1 --"} {
		if _, err := h.reset.VerifyCode(ctx, tok, "12345678", ""); flowCode(err) != flow.CodeFlowNotFound {
			t.Errorf("token %q: %v", tok, err)
		}
	}
	token, _, _ := h.reset.Start(ctx, flow.StartInput{Login: "alice"})
	h.clock.Advance(31 * time.Minute)
	if _, err := h.reset.Status(ctx, token); flowCode(err) != flow.CodeFlowNotFound {
		t.Fatalf("expired flow: %v", err)
	}
	if _, _, err := h.reset.Start(ctx, flow.StartInput{Login: "   "}); flowCode(err) != flow.CodeLoginRequired {
		t.Fatalf("blank login: %v", err)
	}
}

// Security questions never count first: they are not offered until another
// factor is verified, and choosing them earlier is refused.
func TestSecurityQuestionsNeverFirst(t *testing.T) {
	h := newHarness(t)
	q, err := questions.New(questions.Config{Questions: []questions.Question{
		{ID: "school", Text: "First school?"}, {ID: "street", Text: "First street?"}, {ID: "concert", Text: "First concert?"}}})
	if err != nil {
		t.Fatal(err)
	}
	h.reset.Factors[factor.Questions] = q
	h.reset.Offered = []factor.Kind{factor.Email, factor.Questions}
	h.reset.Settings.NotFirst = map[factor.Kind]bool{factor.Questions: true}
	ctx := context.Background()
	token, st, err := h.reset.Start(ctx, flow.StartInput{Login: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(st.Choices, factor.Questions) {
		t.Fatalf("questions offered before any factor: %v", st.Choices)
	}
	if _, err := h.reset.Choose(ctx, token, factor.Questions, ""); flowCode(err) != flow.CodeFactorNotAllowed {
		t.Fatalf("choosing questions first: %v", err)
	}
}
