package flow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"log/slog"

	"github.com/sspr/sspr/internal/abuse"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/store"
)

// logBuffer is a slog destination tests read back (JSON, one record a line).
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// captureLog sends the harness's log to a buffer.
func (h *harness) captureLog() *logBuffer {
	buf := &logBuffer{}
	h.reset.Log = slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return buf
}

func (h *harness) enroll() *flow.Enroll {
	r := h.reset
	return &flow.Enroll{Kit: r.Kit, Catalogue: r.Catalogue, SessionTTL: 30 * time.Minute, StepUpWindow: 15 * time.Minute,
		CodeTTL: r.Settings.CodeTTL, ContinueURL: r.Settings.ContinueURL, SignInMinDuration: r.Settings.IdentifyMinDuration}
}

func (h *harness) change() *flow.Change {
	return &flow.Change{Kit: h.reset.Kit}
}

// limit puts the real abuse controls (stored in the harness's store) in
// front of the flows.
func (h *harness) limit(p abuse.Policy) {
	h.reset.Limiter = newStoreLimiter(p, h.store, h.clock.Now)
}

// auditRows reads the whole audit log, oldest first.
func (h *harness) auditRows(t *testing.T) []*store.AuditRecord {
	t.Helper()
	var rows []*store.AuditRecord
	err := h.store.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		rows, err = tx.AuditRecords(0, 10000)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func (h *harness) findAudit(t *testing.T, event, outcome, reason string) *store.AuditRecord {
	t.Helper()
	for _, r := range h.auditRows(t) {
		if r.Event == event && r.Outcome == outcome && r.Reason == reason {
			return r
		}
	}
	return nil
}

// verified starts a reset flow for login and verifies its mailed code.
func (h *harness) verified(t *testing.T, login string) string {
	t.Helper()
	ctx := context.Background()
	token, _, err := h.reset.Start(ctx, flow.StartInput{Login: login, ClientIP: "192.0.2.10"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), "192.0.2.10"); err != nil {
		t.Fatalf("verifying %s: %v", login, err)
	}
	return token
}

// A successful reset retires every other flow of the account (verified or
// waiting for a code) and every enrollment session: none can set the
// password again (OWASP Forgot Password Cheat Sheet).
func TestResetRetiresTheAccountsOtherFlowsAndSessions(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	first := h.verified(t, "alice")
	second := h.verified(t, "alice")
	waiting, _, err := h.reset.Start(ctx, flow.StartInput{Login: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	waitingCode := h.lastCode(t)
	bobs := h.verified(t, "bob")
	session, _, err := h.enroll().SignIn(ctx, "alice", "Winter-2026", "192.0.2.10", "en")
	if err != nil {
		t.Fatal(err)
	}

	if _, err := h.reset.SetPassword(ctx, first, "Retire-Others-1", "Retire-Others-1", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.SetPassword(ctx, second, "Second-Reset-2", "Second-Reset-2", ""); flowCode(err) != flow.CodeFlowNotFound {
		t.Fatalf("the other verified flow set the password again: %v", err)
	}
	if _, err := h.reset.VerifyCode(ctx, waiting, waitingCode, ""); flowCode(err) != flow.CodeFlowNotFound {
		t.Fatalf("the waiting flow still verifies: %v", err)
	}
	if _, err := h.enroll().View(ctx, session); flowCode(err) != flow.CodeSessionNotFound {
		t.Fatalf("the enrollment session signed in with the old password lives on: %v", err)
	}
	u, _ := h.dir.FindUser(ctx, "alice")
	if err := h.dir.VerifyPassword(ctx, u, "Retire-Others-1"); err != nil {
		t.Fatalf("the first reset's password does not bind: %v", err)
	}
	// Another account's flow is untouched.
	if _, err := h.reset.SetPassword(ctx, bobs, "Bobs-Own-Pass-3", "Bobs-Own-Pass-3", ""); err != nil {
		t.Fatalf("bob's flow: %v", err)
	}
	if r := h.findAudit(t, "reset.password", "success", ""); r == nil || !strings.Contains(r.Detail, `"retired_flows":2`) ||
		!strings.Contains(r.Detail, `"retired_sessions":1`) {
		t.Fatalf("the reset's audit row does not say what it retired: %+v", r)
	}
}

// A password change retires the account's flows and sessions too.
func TestChangeRetiresTheAccountsFlowsAndSessions(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pending := h.verified(t, "carol")
	session, _, err := h.enroll().SignIn(ctx, "carol", "Summer-2026", "", "en")
	if err != nil {
		t.Fatal(err)
	}
	err = h.change().Change(ctx, flow.ChangeInput{Login: "carol", OldPassword: "Summer-2026", NewPassword: "Changed-Pass-44", Confirm: "Changed-Pass-44"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.SetPassword(ctx, pending, "Reset-After-5", "Reset-After-5", ""); flowCode(err) != flow.CodeFlowNotFound {
		t.Fatalf("a flow verified before the change still resets: %v", err)
	}
	if _, err := h.enroll().View(ctx, session); flowCode(err) != flow.CodeSessionNotFound {
		t.Fatalf("the session lives on: %v", err)
	}
}

// statusDown is the demo directory with an account status that cannot be
// read (the directory's status read fails; everything else works).
type statusDown struct{ *openldap.Directory }

func (statusDown) AccountStatus(context.Context, *directory.User) (*directory.AccountStatus, error) {
	return nil, &directory.Error{Kind: directory.KindUnavailable, Op: "status", Diagnostic: "status read failed (test)"}
}

// The disabled/protected guards refuse when the status cannot be read, and
// the flow stays verified so the person can try again.
func TestGuardFailsClosedWhenStatusCannotBeRead(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	token := h.verified(t, "dave")
	h.reset.Directories = directory.NewSet(statusDown{h.dir})
	st, err := h.reset.SetPassword(ctx, token, "Guarded-Pass-6", "Guarded-Pass-6", "")
	if flowCode(err) != flow.CodeDirectoryDown || st.State != flow.StateVerified {
		t.Fatalf("unreadable status: %v, state %s; want directory_unavailable and still verified", err, st.State)
	}
	u, _ := h.dir.FindUser(ctx, "dave")
	if err := h.dir.VerifyPassword(ctx, u, "Autumn-2026"); err != nil {
		t.Fatalf("the password was changed although the account could not be checked: %v", err)
	}
	h.reset.Directories = directory.NewSet(h.dir)
	if _, err := h.reset.SetPassword(ctx, token, "Guarded-Pass-6", "Guarded-Pass-6", ""); err != nil {
		t.Fatalf("retry once the directory answers: %v", err)
	}
}

// /change is limited per account (only wrong passwords count) and per
// client address; a blocked account gets the wrong-password answer and the
// block is in the audit log.
func TestChangeIsLimitedPerAccountAndAddress(t *testing.T) {
	h := newHarness(t)
	p := abuse.DefaultPolicy()
	p.UserFailures = abuse.Rule{Limit: 3, Window: time.Hour, Block: time.Hour}
	p.IPFailures = abuse.Rule{Limit: 100, Window: time.Hour}
	p.IPIdentifies = abuse.Rule{Limit: 6, Window: 10 * time.Minute}
	h.limit(p)
	c := h.change()
	ctx := context.Background()
	in := func(old, ip string) flow.ChangeInput {
		return flow.ChangeInput{Login: "erin", OldPassword: old, NewPassword: "Limited-Pass-7", Confirm: "Limited-Pass-7", ClientIP: ip}
	}
	for i := range 3 {
		if err := c.Change(ctx, in("Wrong-Guess-"+string(rune('a'+i)), "198.51.100.1")); flowCode(err) != flow.CodeCredentialsWrong {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	// The right password from another address: the account is blocked.
	if err := c.Change(ctx, in("Harvest-2026", "198.51.100.2")); flowCode(err) != flow.CodeCredentialsWrong {
		t.Fatalf("change after 3 wrong guesses: %v, want the wrong-password answer", err)
	}
	u, _ := h.dir.FindUser(ctx, "erin")
	if err := h.dir.VerifyPassword(ctx, u, "Harvest-2026"); err != nil {
		t.Fatalf("a blocked account's password was changed: %v", err)
	}
	if h.findAudit(t, "change.password", "denied", "rate_limited") == nil {
		t.Fatal("the block is not in the audit log")
	}
	// Per address: the sixth request from one address passes, the seventh not.
	for i := range 3 {
		if err := c.Change(ctx, in("Wrong", "198.51.100.1")); flowCode(err) != flow.CodeCredentialsWrong {
			t.Fatalf("request %d: %v", i+4, err)
		}
	}
	if err := c.Change(ctx, in("Wrong", "198.51.100.1")); flowCode(err) != flow.CodeRateLimited {
		t.Fatalf("seventh request from one address: %v, want rate_limited", err)
	}
}

// People type passwords into login fields: a login that matches no account
// is recorded as a keyed hash, never as typed; known accounts keep their
// canonical login.
func TestAuditHoldsNoTypedLoginThatMatchesNoAccount(t *testing.T) {
	h := newHarness(t)
	h.reset.LoginHashKey = []byte("installation login key")
	logs := h.captureLog()
	ctx := context.Background()
	const typed = "Typed-Password-In-Login-9"
	if _, _, err := h.reset.Start(ctx, flow.StartInput{Login: typed}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.enroll().SignIn(ctx, typed, "whatever", "", "en"); flowCode(err) != flow.CodeCredentialsWrong {
		t.Fatal(err)
	}
	err := h.change().Change(ctx, flow.ChangeInput{Login: typed, OldPassword: "x", NewPassword: "New-Pass-123", Confirm: "New-Pass-123"})
	if flowCode(err) != flow.CodeCredentialsWrong {
		t.Fatal(err)
	}
	if _, _, err := h.reset.Start(ctx, flow.StartInput{Login: "ALICE"}); err != nil {
		t.Fatal(err)
	}
	want := flow.HashLogin([]byte("installation login key"), typed)
	hashed, canonical := 0, 0
	for _, r := range h.auditRows(t) {
		if strings.Contains(strings.ToLower(r.Actor+r.Detail+r.Subject), strings.ToLower(typed)) {
			t.Fatalf("audit row %s holds the typed login: %+v", r.Event, r)
		}
		switch r.Actor {
		case want:
			hashed++
		case "alice":
			canonical++
		}
	}
	if hashed != 3 || canonical != 1 || !strings.HasPrefix(want, flow.LoginHashPrefix) {
		t.Fatalf("%d hashed and %d canonical actors, want 3 and 1", hashed, canonical)
	}
	if strings.Contains(strings.ToLower(logs.String()), strings.ToLower(typed)) {
		t.Fatal("the log holds the typed login")
	}
}

// Reset, unlock and change outcomes are logged at INFO, without passwords
// or typed logins.
func TestOutcomesAreLogged(t *testing.T) {
	h := newHarness(t)
	logs := h.captureLog()
	ctx := context.Background()
	token := h.verified(t, "bob")
	if _, err := h.reset.SetPassword(ctx, token, "Logged-Pass-88", "Logged-Pass-88", ""); err != nil {
		t.Fatal(err)
	}
	err := h.change().Change(ctx, flow.ChangeInput{Login: "no-such-person", OldPassword: "Old-Pass-1", NewPassword: "Logged-Pass-99", Confirm: "Logged-Pass-99"})
	if flowCode(err) != flow.CodeCredentialsWrong {
		t.Fatal(err)
	}
	var reset, change map[string]any
	for _, r := range logs.records(t) {
		if r["msg"] != "self-service outcome" || r["level"] != "INFO" {
			continue
		}
		switch r["event"] {
		case "reset.password":
			reset = r
		case "change.password":
			change = r
		}
	}
	if reset == nil || reset["outcome"] != "success" || reset["directory"] != "demo" || reset["login"] != "bob" || reset["flow"] == "" {
		t.Fatalf("reset outcome log: %v", reset)
	}
	if change == nil || change["outcome"] != "failure" || change["reason"] != "unknown_login" ||
		!strings.HasPrefix(change["login"].(string), flow.LoginHashPrefix) {
		t.Fatalf("change outcome log: %v", change)
	}
	for _, secret := range []string{"Logged-Pass-88", "Logged-Pass-99", "Old-Pass-1", "no-such-person"} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("the log holds %q", secret)
		}
	}
}

// badBind is the demo directory whose password check fails for a reason
// that is not the person's (sspr's configuration: a bind it may not make).
type badBind struct{ *openldap.Directory }

func (badBind) VerifyPassword(context.Context, *directory.User, string) error {
	return &directory.Error{Kind: directory.KindConfidentialityRequired, Op: "bind", Diagnostic: "needs TLS (test)"}
}

// Only a wrong password (or an unknown login) counts against a person at
// sign-in; a directory error is said plainly and counts against no one.
func TestSignInCountsOnlyWrongPasswords(t *testing.T) {
	h := newHarness(t)
	p := abuse.DefaultPolicy()
	p.UserFailures = abuse.Rule{Limit: 2, Window: time.Hour, Block: time.Hour}
	h.limit(p)
	ctx := context.Background()
	h.reset.Directories = directory.NewSet(badBind{h.dir})
	for range 3 {
		if _, _, err := h.enroll().SignIn(ctx, "alice", "Winter-2026", "", "en"); flowCode(err) != flow.CodeDirectoryDown {
			t.Fatalf("misconfigured bind: %v, want directory_unavailable", err)
		}
	}
	h.reset.Directories = directory.NewSet(h.dir)
	if _, _, err := h.enroll().SignIn(ctx, "alice", "Winter-2026", "", "en"); err != nil {
		t.Fatalf("directory errors were counted as failed sign-ins: %v", err)
	}
	for range 2 {
		if _, _, err := h.enroll().SignIn(ctx, "alice", "Wrong-Pass-1", "", "en"); flowCode(err) != flow.CodeCredentialsWrong {
			t.Fatal(err)
		}
	}
	// Two wrong passwords block sign-ins, quietly, and the block is audited.
	if _, _, err := h.enroll().SignIn(ctx, "alice", "Winter-2026", "", "en"); flowCode(err) != flow.CodeCredentialsWrong {
		t.Fatalf("sign-in after two wrong passwords: %v", err)
	}
	r := h.findAudit(t, "enroll.signin", "denied", "rate_limited")
	if r == nil || !strings.Contains(r.Detail, `"quiet":true`) {
		t.Fatalf("quiet block not audited: %+v", r)
	}
}

// A person whose only factor is the directory's mail must verify it before
// adding factors; the page lists it read-only.
func TestEnrollStepUpWithPreEnrolledDirectoryMail(t *testing.T) {
	h := newHarness(t)
	e := h.enroll()
	ctx := context.Background()
	token, v, err := e.SignIn(ctx, "alice", "Winter-2026", "192.0.2.20", "en")
	if err != nil {
		t.Fatal(err)
	}
	if v.Step != flow.StepVerify || len(v.Factors) != 1 || v.Factors[0].ID != "directory:mail" || v.Factors[0].Source != flow.SourceDirectory ||
		v.Factors[0].Kind != factor.Email || v.Factors[0].Label != "a***@d***.test" {
		t.Fatalf("view after sign-in: %+v", v)
	}
	add := factor.Response{Values: map[string]string{"email": "alice.private@example.test"}}
	if _, err := e.Begin(ctx, token, factor.Email, add); flowCode(err) != flow.CodeStepUpRequired {
		t.Fatalf("adding a factor with the directory password alone: %v", err)
	}
	if _, err := e.Remove(ctx, token, "directory:mail"); flowCode(err) != flow.CodeStepUpRequired {
		t.Fatalf("remove before step-up: %v", err)
	}
	if _, err := e.StartVerify(ctx, token, "directory:mail"); err != nil {
		t.Fatal(err)
	}
	ms := h.messages(t)
	if last := ms[len(ms)-1]; last.Recipient != "alice@demo.sspr.test" || last.Kind != "enroll_verify_code" {
		t.Fatalf("step-up code went to %s (%s)", last.Recipient, last.Kind)
	}
	code := h.lastCode(t)
	if _, err := e.FinishVerify(ctx, token, factor.Response{Values: map[string]string{"code": wrongCode(code)}}); flowCode(err) != flow.CodeCodeInvalid {
		t.Fatalf("wrong step-up code: %v", err)
	}
	v, err = e.FinishVerify(ctx, token, factor.Response{Values: map[string]string{"code": code}})
	if err != nil || v.Step != flow.StepReady {
		t.Fatalf("right step-up code: %v %+v", err, v)
	}
	// The directory's method cannot be removed here.
	if _, err := e.Remove(ctx, token, "directory:mail"); flowCode(err) != flow.CodeFactorNotAllowed {
		t.Fatalf("removing the directory's mail: %v", err)
	}
	if v, err = e.Begin(ctx, token, factor.Email, add); err != nil || v.Step != flow.StepConfirm {
		t.Fatalf("begin after step-up: %v %+v", err, v)
	}
	if v, err = e.Finish(ctx, token, factor.Response{Values: map[string]string{"code": h.lastCode(t)}}, "private"); err != nil {
		t.Fatalf("finish: %v", err)
	}
	if len(v.Factors) != 1 || v.Factors[0].Source != "user" || v.Factors[0].Kind != factor.Email {
		t.Fatalf("after enrolling an address of their own: %+v", v.Factors)
	}
}
