package flow_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/abuse"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow"
)

func codeResp(code string) factor.Response {
	return factor.Response{Values: map[string]string{"code": code}}
}

// enrollOwnMail signs login in, proves the directory's mail and enrolls an
// address of their own; it returns the session token.
func (h *harness) enrollOwnMail(t *testing.T, login, password, addr string) string {
	t.Helper()
	e, ctx := h.enroll(), context.Background()
	token, _, err := e.SignIn(ctx, login, password, "192.0.2.30", "en")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.StartVerify(ctx, token, "directory:mail"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.FinishVerify(ctx, token, codeResp(h.lastCode(t))); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Begin(ctx, token, factor.Email, factor.Response{Values: map[string]string{"email": addr}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Finish(ctx, token, codeResp(h.lastCode(t)), "home"); err != nil {
		t.Fatal(err)
	}
	return token
}

// The enrollment session's life: what a session may do before and after a
// step-up with a stored factor, wrong and malformed input, removing,
// cancelling, signing out and expiry.
func TestEnrollSessionLifecycle(t *testing.T) {
	h := newHarness(t)
	e, ctx := h.enroll(), context.Background()
	h.enrollOwnMail(t, "bob", "Spring-2026", "bob.home@example.test")
	if ms := h.messages(t); ms[len(ms)-1].Kind != "enrollment_notice" {
		t.Fatalf("no notice of the new factor: %s", ms[len(ms)-1].Kind)
	}

	// A new session: the stored address is the factor now, the directory's
	// is no longer offered.
	token, v, err := e.SignIn(ctx, "bob", "Spring-2026", "192.0.2.31", "en")
	if err != nil {
		t.Fatal(err)
	}
	if v.Step != flow.StepVerify || len(v.Factors) != 1 || v.Factors[0].Source != "user" || v.Factors[0].Label != "b***@e***.test" {
		t.Fatalf("second session: %+v", v)
	}
	id := v.Factors[0].ID
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"verify without a challenge", second(e.FinishVerify(ctx, token, codeResp("12345678")))},
		{"finish without an enrollment", second(e.Finish(ctx, token, codeResp("12345678"), ""))},
		{"step-up with the directory's mail", second(e.StartVerify(ctx, token, "directory:mail"))},
		{"step-up with somebody's enrollment", second(e.StartVerify(ctx, token, "no-such-enrollment"))},
		{"remove before the step-up", second(e.Remove(ctx, token, id))},
	} {
		want := map[string]flow.Code{"verify without a challenge": flow.CodeWrongState, "finish without an enrollment": flow.CodeWrongState,
			"step-up with the directory's mail": flow.CodeFactorNotAllowed, "step-up with somebody's enrollment": flow.CodeFactorNotAllowed,
			"remove before the step-up": flow.CodeStepUpRequired}[tc.name]
		if flowCode(tc.err) != want {
			t.Errorf("%s: %v, want %s", tc.name, tc.err, want)
		}
	}
	if v, err = e.StartVerify(ctx, token, id); err != nil || v.Step != flow.StepVerify || v.PendingKind != factor.Email {
		t.Fatalf("start the step-up: %v %+v", err, v)
	}
	code := h.lastCode(t)
	if ms := h.messages(t); ms[len(ms)-1].Recipient != "bob.home@example.test" {
		t.Fatalf("the step-up code went to %s", ms[len(ms)-1].Recipient)
	}
	if _, err := e.FinishVerify(ctx, token, codeResp(wrongCode(code))); flowCode(err) != flow.CodeCodeInvalid {
		t.Fatalf("a wrong step-up code: %v", err)
	}
	if r := h.findAudit(t, "enroll.verify", "failure", "wrong_response"); r == nil {
		t.Fatal("the wrong step-up code is not audited")
	}
	if v, err = e.FinishVerify(ctx, token, codeResp(code)); err != nil || v.Step != flow.StepReady {
		t.Fatalf("the right step-up code: %v %+v", err, v)
	}

	// Input the factor refuses, a kind that is not offered, a wrong
	// confirmation, cancelling.
	if _, err := e.Begin(ctx, token, factor.Email, factor.Response{Values: map[string]string{"email": "not an address"}}); flowCode(err) != flow.CodeBadEnrollmentInput {
		t.Fatalf("a malformed address: %v", err)
	}
	if _, err := e.Begin(ctx, token, factor.TOTP, factor.Response{}); flowCode(err) != flow.CodeFactorNotAllowed {
		t.Fatalf("a kind that is not offered: %v", err)
	}
	if v, err = e.Begin(ctx, token, factor.Email, factor.Response{Values: map[string]string{"email": "bob.work@example.test"}}); err != nil || v.Step != flow.StepConfirm {
		t.Fatalf("begin: %v %+v", err, v)
	}
	if _, err := e.Finish(ctx, token, codeResp(wrongCode(h.lastCode(t))), ""); flowCode(err) != flow.CodeCodeInvalid {
		t.Fatalf("a wrong confirmation code: %v", err)
	}
	if v, err = e.Cancel(ctx, token); err != nil || v.Step != flow.StepReady || v.PendingKind != "" {
		t.Fatalf("cancel: %v %+v", err, v)
	}

	// Remove the address: announced to it, and the directory's mail is
	// offered again (read-only).
	if v, err = e.Remove(ctx, token, id); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if len(v.Factors) != 1 || v.Factors[0].ID != "directory:mail" {
		t.Fatalf("after removing: %+v", v.Factors)
	}
	notified := false
	for _, m := range h.messages(t) {
		notified = notified || (m.Kind == "enrollment_notice" && m.Recipient == "bob.home@example.test" && strings.Contains(m.TextBody, "bob"))
	}
	if !notified {
		t.Fatal("the removed address was not told")
	}
	if _, err := e.Remove(ctx, token, "directory:mail"); flowCode(err) != flow.CodeFactorNotAllowed {
		t.Fatalf("removing the directory's mail: %v", err)
	}

	// The step-up window closes; the session expires; signing out ends it.
	h.clock.Advance(16 * time.Minute)
	if _, err := e.Begin(ctx, token, factor.Email, factor.Response{Values: map[string]string{"email": "bob.work@example.test"}}); flowCode(err) != flow.CodeStepUpRequired {
		t.Fatalf("after the step-up window: %v", err)
	}
	h.clock.Advance(15 * time.Minute)
	if _, err := e.View(ctx, token); flowCode(err) != flow.CodeSessionNotFound {
		t.Fatalf("an expired session: %v", err)
	}
	token, _, _ = e.SignIn(ctx, "bob", "Spring-2026", "", "en")
	if err := e.SignOut(ctx, token); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{token, "", "short", strings.Repeat("A", 43)} {
		if _, err := e.View(ctx, tok); flowCode(err) != flow.CodeSessionNotFound {
			t.Errorf("token %q: %v", tok, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// The directory is down: sign-in says so plainly and counts nothing.
func TestEnrollSignInDirectoryDown(t *testing.T) {
	h := newHarness(t)
	dead := ldapdir.Config{Name: "dead", URLs: []string{"ldap://127.0.0.1:1"}, BindDN: "cn=x", BindPassword: "x", BaseDN: "dc=x",
		AllowInsecurePasswordWrites: true, Timeout: time.Second}.WithDefaults(openldap.Preset())
	d, err := openldap.New(dead, openldap.Options{PasswordWrite: "modify"})
	if err != nil {
		t.Fatal(err)
	}
	h.reset.Directories = directory.NewSet(d)
	if _, _, err := h.enroll().SignIn(context.Background(), "alice", "Winter-2026", "", "en"); flowCode(err) != flow.CodeDirectoryDown {
		t.Fatalf("sign-in with the directory down: %v", err)
	}
	if _, _, err := h.enroll().SignIn(context.Background(), "alice", "", "", "en"); flowCode(err) != flow.CodeCredentialsWrong {
		t.Fatalf("no password: %v", err)
	}
	err = h.change().Change(context.Background(), flow.ChangeInput{Login: "alice", OldPassword: "Winter-2026", NewPassword: "Down-Pass-123", Confirm: "Down-Pass-123"})
	if flowCode(err) != flow.CodeDirectoryDown {
		t.Fatalf("change with the directory down: %v", err)
	}
}

// Change: what is refused before the directory is asked, the directory's
// own rule, a wrong and a right old password, and the notice.
func TestChangePaths(t *testing.T) {
	h := newHarness(t)
	c, ctx := h.change(), context.Background()
	for _, tc := range []struct {
		in   flow.ChangeInput
		want flow.Code
	}{
		{flow.ChangeInput{Login: "  ", OldPassword: "x", NewPassword: "New-Pass-123", Confirm: "New-Pass-123"}, flow.CodeLoginRequired},
		{flow.ChangeInput{Login: "alice", NewPassword: "New-Pass-123", Confirm: "New-Pass-123"}, flow.CodeCredentialsWrong},
		{flow.ChangeInput{Login: "alice", OldPassword: "Winter-2026", NewPassword: "New-Pass-123", Confirm: "New-Pass-124"}, flow.CodePasswordMismatch},
		{flow.ChangeInput{Login: "alice", OldPassword: "Winter-2026"}, flow.CodePasswordRequired},
		{flow.ChangeInput{Login: "alice", OldPassword: "Winter-2026", NewPassword: strings.Repeat("x", 600), Confirm: strings.Repeat("x", 600)}, flow.CodePasswordTooLong},
		{flow.ChangeInput{Login: "alice", OldPassword: "Wrong-Old-1", NewPassword: "New-Pass-123", Confirm: "New-Pass-123"}, flow.CodeCredentialsWrong},
		{flow.ChangeInput{Login: "nobody-at-all", OldPassword: "Wrong-Old-1", NewPassword: "New-Pass-123", Confirm: "New-Pass-123"}, flow.CodeCredentialsWrong},
	} {
		if err := c.Change(ctx, tc.in); flowCode(err) != tc.want {
			t.Errorf("%+v: %v, want %s", tc.in, err, tc.want)
		}
	}
	// The directory's rule: at least 8 characters and a digit.
	err := c.Change(ctx, flow.ChangeInput{Login: "alice", OldPassword: "Winter-2026", NewPassword: "short1", Confirm: "short1"})
	var fe *flow.Error
	if !errors.As(err, &fe) || fe.Code != flow.CodePasswordRefused || len(fe.Reasons) == 0 {
		t.Fatalf("a password the directory refuses: %v", err)
	}
	if r := h.findAudit(t, "change.password", "failure", "policy_violation"); r == nil || r.Actor != "alice" {
		t.Fatalf("policy violation audit: %+v", r)
	}
	if err := c.Change(ctx, flow.ChangeInput{Login: "alice", OldPassword: "Winter-2026", NewPassword: "Changed-Pass-9", Confirm: "Changed-Pass-9",
		ClientIP: "192.0.2.40", Language: "en"}); err != nil {
		t.Fatal(err)
	}
	ms := h.messages(t)
	if len(ms) != 1 || ms[0].Kind != "password_notice" || ms[0].Recipient != "alice@demo.sspr.test" {
		t.Fatalf("outbox after the change: %+v", ms)
	}
	u, _ := h.dir.FindUser(ctx, "alice")
	if err := h.dir.VerifyPassword(ctx, u, "Changed-Pass-9"); err != nil {
		t.Fatalf("the new password does not bind: %v", err)
	}
	if r := h.findAudit(t, "change.password", "success", ""); r == nil || r.Subject != u.DN {
		t.Fatalf("success audit: %+v", r)
	}
}

// Unlock on a verified unlock flow: the outcome is recorded and logged,
// and the password is left as it is.
func TestUnlockOutcome(t *testing.T) {
	h := newHarness(t)
	logs := h.captureLog()
	ctx := context.Background()
	token, _, err := h.reset.Start(ctx, flow.StartInput{Action: flow.ActionUnlock, Login: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.SetPassword(ctx, token, "Not-For-Unlock-1", "Not-For-Unlock-1", ""); flowCode(err) != flow.CodeWrongState {
		t.Fatalf("a password on an unlock flow: %v", err)
	}
	st, err := h.reset.Unlock(ctx, token, "")
	if err != nil || st.State != flow.StateDone {
		t.Fatalf("unlock: %v %+v", err, st)
	}
	if !strings.Contains(logs.String(), `"event":"unlock.unlock"`) {
		t.Fatalf("the unlock outcome is not logged:\n%s", logs)
	}
	u, _ := h.dir.FindUser(ctx, "carol")
	if err := h.dir.VerifyPassword(ctx, u, "Summer-2026"); err != nil {
		t.Fatalf("unlock changed the password: %v", err)
	}
}

// badChange is the demo directory whose password change fails for a reason
// that is not the person's (the service's rights).
type badChange struct{ *openldap.Directory }

func (badChange) ChangePassword(context.Context, *directory.User, string, string) error {
	return &directory.Error{Kind: directory.KindAccessDenied, Op: "change", Diagnostic: "no rights (test)"}
}

// A change the directory refuses for its own reasons counts against no one.
func TestChangeDirectoryErrorsDoNotCount(t *testing.T) {
	h := newHarness(t)
	p := abuse.DefaultPolicy()
	p.UserFailures = abuse.Rule{Limit: 2, Window: time.Hour, Block: time.Hour}
	h.limit(p)
	ctx := context.Background()
	in := flow.ChangeInput{Login: "dave", OldPassword: "Autumn-2026", NewPassword: "Counted-Not-1", Confirm: "Counted-Not-1"}
	h.reset.Directories = directory.NewSet(badChange{h.dir})
	for range 3 {
		if err := h.change().Change(ctx, in); flowCode(err) != flow.CodeResetNotPermitted {
			t.Fatalf("a change the directory refuses: %v", err)
		}
	}
	h.reset.Directories = directory.NewSet(h.dir)
	if err := h.change().Change(ctx, in); err != nil {
		t.Fatalf("directory errors were counted as wrong passwords: %v", err)
	}
}

// cannotVerify is a directory that cannot check a person's password (as
// Entra ID with client credentials cannot).
type cannotVerify struct{ directory.Directory }

func (cannotVerify) VerifiesPasswords() bool { return false }

// TestSignInsAnswerAnAccountWithoutPasswordCheckLikeAnUnknownLogin: the
// enrollment and the admin console sign-ins share one password check, so
// an account in a directory that cannot check passwords gets the answer an
// unknown login gets at both — not "directory down", which would tell a
// stranger the account exists.
func TestSignInsAnswerAnAccountWithoutPasswordCheckLikeAnUnknownLogin(t *testing.T) {
	h := newHarness(t)
	h.reset.Directories = directory.NewSet(cannotVerify{h.dir})
	e := h.enroll()
	a := &flow.Admin{Enroll: e, IdleTimeout: 15 * time.Minute, SessionTTL: time.Hour}
	ctx := context.Background()
	for _, login := range []string{"alice", "nobody-here"} {
		if _, _, err := e.SignIn(ctx, login, "Winter-2026", "192.0.2.9", "en"); flowCode(err) != flow.CodeCredentialsWrong {
			t.Errorf("enroll sign-in as %s: %v, want credentials_wrong", login, err)
		}
		if _, _, err := a.SignIn(ctx, login, "Winter-2026", "192.0.2.9"); flowCode(err) != flow.CodeCredentialsWrong {
			t.Errorf("admin sign-in as %s: %v, want credentials_wrong", login, err)
		}
	}
}
