package flow_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/password"
	"github.com/sspr/sspr/internal/policy"
)

// withPolicies gives the harness's flows policies by LDAP filter on the
// demo directory: alice may not unlock, change or enroll; bob needs two
// factors of one kind he has (he cannot complete); everyone else keeps
// the default, which asks them to enroll an authenticator app.
func withPolicies(t *testing.T, h *harness) {
	t.Helper()
	set, err := policy.New([]*policy.Policy{
		{Name: "alice", Scope: policy.Scope{Filter: "(uid=alice)"}, Factors: []factor.Kind{factor.Email},
			Off: map[policy.Action]bool{policy.Unlock: true, policy.Change: true, policy.Enroll: true}},
		{Name: "bob", Scope: policy.Scope{Filter: "(uid=bob)"}, Factors: []factor.Kind{factor.Email},
			Required: map[policy.Action]int{policy.Reset: 2}},
	}, nil, &policy.Policy{Name: "default", Default: true, Factors: []factor.Kind{factor.Email},
		EnrollRequired: []factor.Kind{factor.TOTP}, EnrollMinimum: 2})
	if err != nil {
		t.Fatal(err)
	}
	h.reset.Policies = set
}

// TestPolicyRefusalsAfterTheFirstFactor: an action a policy switched off,
// and a person who has not enrolled what their policy needs, are refused
// plainly — but only once the first factor is verified: until then the
// answers are everybody's.
func TestPolicyRefusalsAfterTheFirstFactor(t *testing.T) {
	h := newHarness(t)
	withPolicies(t, h)
	ctx := context.Background()
	start := func(login string, a flow.Action) (string, flow.Status) {
		t.Helper()
		token, st, err := h.reset.Start(ctx, flow.StartInput{Action: a, Login: login, ClientIP: "192.0.2.7", Language: "en"})
		if err != nil {
			t.Fatalf("%s %s: %v", a, login, err)
		}
		return token, st
	}
	_, strangerSt := start("nobody-at-all", flow.ActionUnlock)
	for _, tc := range []struct {
		login  string
		action flow.Action
		want   flow.Code
		reason string
	}{
		{"alice", flow.ActionUnlock, flow.CodeActionNotAllowed, "policy_action_off"},
		{"bob", flow.ActionReset, flow.CodeNotEnrolled, "policy_not_enrolled"},
	} {
		token, st := start(tc.login, tc.action)
		if tc.action == flow.ActionUnlock && !sameStatus(st, strangerSt) {
			t.Errorf("%s: the start differs from a stranger's: %+v vs %+v", tc.login, st, strangerSt)
		}
		if _, err := h.reset.VerifyCode(ctx, token, wrongCode(h.lastCode(t)), "192.0.2.7"); flowCode(err) != flow.CodeCodeInvalid {
			t.Errorf("%s: a wrong code: %v, want code_invalid (nothing about the policy yet)", tc.login, err)
		}
		st, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), "192.0.2.7")
		if flowCode(err) != tc.want || st.State != flow.StateFailed {
			t.Errorf("%s %s after the first factor: %v, state %s; want %s, failed", tc.action, tc.login, err, st.State, tc.want)
		}
		if r := h.findAudit(t, string(tc.action)+".verify", "denied", tc.reason); r == nil {
			t.Errorf("%s: no audit record with reason %s", tc.login, tc.reason)
		}
	}
	// The same action for a population that has it: goes on.
	token, _ := start("carol", flow.ActionUnlock)
	if st, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), "192.0.2.7"); err != nil || st.State != flow.StateVerified {
		t.Errorf("carol's unlock: %v %+v", err, st)
	}
	// And alice may still reset.
	token, _ = start("alice", flow.ActionReset)
	if st, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), "192.0.2.7"); err != nil || st.State != flow.StateVerified {
		t.Errorf("alice's reset: %v %+v", err, st)
	}
}

func sameStatus(a, b flow.Status) bool {
	return a.State == b.State && a.Factor == b.Factor && a.FactorsRequired == b.FactorsRequired && a.AttemptsLeft == b.AttemptsLeft &&
		len(a.Choices) == len(b.Choices) && len(a.Notices) == 0 && len(b.Notices) == 0
}

// TestPolicySwitchesOffChangeAndEnroll: password change and enrollment
// switched off for a population are refused only to someone who proved the
// password; a wrong password gets the answer it always gets.
func TestPolicySwitchesOffChangeAndEnroll(t *testing.T) {
	h := newHarness(t)
	withPolicies(t, h)
	ctx := context.Background()
	c := h.change()
	c.Policies = h.reset.Policies
	in := flow.ChangeInput{Login: "alice", OldPassword: "Wrong-Old-1", NewPassword: "Changed-Pass-9", Confirm: "Changed-Pass-9", ClientIP: "192.0.2.40"}
	if err := c.Change(ctx, in); flowCode(err) != flow.CodeCredentialsWrong {
		t.Errorf("a wrong old password: %v, want credentials_wrong", err)
	}
	in.OldPassword = "Winter-2026"
	if err := c.Change(ctx, in); flowCode(err) != flow.CodeActionNotAllowed {
		t.Errorf("alice's change: %v, want action_not_allowed", err)
	}
	u, _ := h.dir.FindUser(ctx, "alice")
	if err := h.dir.VerifyPassword(ctx, u, "Winter-2026"); err != nil {
		t.Errorf("the refused change changed the password: %v", err)
	}
	if r := h.findAudit(t, "change.password", "denied", "policy_action_off"); r == nil {
		t.Error("the refused change is not audited")
	}
	if err := c.Change(ctx, flow.ChangeInput{Login: "carol", OldPassword: "Summer-2026", NewPassword: "Changed-Pass-9", Confirm: "Changed-Pass-9"}); err != nil {
		t.Errorf("carol's change: %v", err)
	}
	e := h.enroll()
	if _, _, err := e.SignIn(ctx, "alice", "Wrong-Old-1", "192.0.2.41", "en"); flowCode(err) != flow.CodeCredentialsWrong {
		t.Errorf("enrollment sign-in with a wrong password: %v", err)
	}
	if _, _, err := e.SignIn(ctx, "alice", "Winter-2026", "192.0.2.41", "en"); flowCode(err) != flow.CodeActionNotAllowed {
		t.Errorf("alice's enrollment sign-in: %v, want action_not_allowed", err)
	}
	_, v, err := e.SignIn(ctx, "carol", "Changed-Pass-9", "192.0.2.41", "en")
	if err != nil {
		t.Fatalf("carol's enrollment sign-in: %v", err)
	}
	// Her policy's enrollment requirements: an app, two kinds in all; she
	// has the directory's mail only.
	if r := v.Requirements; r == nil || r.Met || r.Minimum != 2 || len(r.Missing) != 1 || r.Missing[0] != factor.TOTP {
		t.Errorf("carol's enrollment requirements: %+v", r)
	}
}

// TestRedirectUnenrolled: by default a known person who has not enrolled
// enough walks the path an unknown login walks; with the opt-in, they are
// told to enroll (which is what reveals them), and strangers still are not.
func TestRedirectUnenrolled(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	// Two factors needed, only the directory's mail enrolled: nobody of
	// the demo directory can recover.
	h.reset.Settings.Required[flow.ActionReset] = 2
	_, known, err := h.reset.Start(ctx, flow.StartInput{Login: "alice", ClientIP: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	_, unknown, err := h.reset.Start(ctx, flow.StartInput{Login: "nobody-at-all", ClientIP: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	if !sameStatus(known, unknown) {
		t.Errorf("by default an unenrolled person differs from a stranger: %+v vs %+v", known, unknown)
	}
	h.reset.Settings.RedirectUnenrolled = true
	if _, _, err := h.reset.Start(ctx, flow.StartInput{Login: "alice", ClientIP: "192.0.2.9"}); flowCode(err) != flow.CodeNotEnrolled {
		t.Errorf("with redirect_unenrolled, alice: %v, want not_enrolled", err)
	}
	if r := h.findAudit(t, "reset.identify", "denied", "not_enrolled_redirected"); r == nil {
		t.Error("the redirect is not audited")
	}
	if _, _, err := h.reset.Start(ctx, flow.StartInput{Login: "nobody-at-all", ClientIP: "192.0.2.9"}); err != nil {
		t.Errorf("with redirect_unenrolled, a stranger: %v, want the usual start", err)
	}
}

// TestPolicyPasswordPreset: a population's policy names a stricter
// password preset than the global rules; its people are held to it, the
// others are not.
func TestPolicyPasswordPreset(t *testing.T) {
	h := newHarness(t)
	rules := func(name string) *password.Rules {
		p, err := password.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		p.Breach.Enabled = false
		r, err := password.NewRules(p, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	h.reset.Rules = rules(password.PresetCustom)
	h.reset.PresetRules = map[string]flow.PasswordRules{password.PresetPCI: rules(password.PresetPCI)}
	set, err := policy.New([]*policy.Policy{{Name: "strict", Scope: policy.Scope{Filter: "(uid=alice)"}, Factors: []factor.Kind{factor.Email},
		PasswordPreset: password.PresetPCI}}, nil, &policy.Policy{Name: "default", Factors: []factor.Kind{factor.Email}})
	if err != nil {
		t.Fatal(err)
	}
	h.reset.Policies = set
	ctx := context.Background()
	verified := func(login string) string {
		t.Helper()
		token, _, err := h.reset.Start(ctx, flow.StartInput{Login: login, ClientIP: "192.0.2.8"})
		if err != nil {
			t.Fatal(err)
		}
		if st, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), "192.0.2.8"); err != nil || st.State != flow.StateVerified {
			t.Fatalf("%s: %v %+v", login, err, st)
		}
		return token
	}
	const ten = "Tenchars-9" // 10 characters: under PCI's 12
	if _, err := h.reset.SetPassword(ctx, verified("alice"), ten, ten, "192.0.2.8"); flowCode(err) != flow.CodePasswordRefused {
		t.Errorf("alice (PCI preset) set a 10-character password: %v", err)
	}
	if _, err := h.reset.SetPassword(ctx, verified("carol"), ten, ten, "192.0.2.8"); err != nil {
		t.Errorf("carol (global rules) was refused a 10-character password: %v", err)
	}
}

// filterDown is the embedded directory whose filter evaluation fails, as a
// directory that is briefly unreachable (or cannot evaluate filters) does.
type filterDown struct{ *openldap.Directory }

func (filterDown) MatchesFilter(context.Context, *directory.User, string) (bool, error) {
	return false, errors.New("the directory did not answer")
}

// TestChangeWhenThePolicyCannotBeChosen: when the person's policy cannot be
// chosen, a wrong old password is answered as for an unknown login — only
// the person who knows the password hears that the directory failed.
// (It answered "directory down" for every known login before: anyone could
// tell accounts apart with a wrong password.)
func TestChangeWhenThePolicyCannotBeChosen(t *testing.T) {
	h := newHarness(t)
	withPolicies(t, h)
	h.reset.Directories = directory.NewSet(filterDown{h.dir})
	ctx := context.Background()
	c := h.change()
	c.Policies = h.reset.Policies
	in := flow.ChangeInput{Login: "alice", OldPassword: "Wrong-Old-1", NewPassword: "Changed-Pass-9", Confirm: "Changed-Pass-9", ClientIP: "192.0.2.42"}
	if err := c.Change(ctx, in); flowCode(err) != flow.CodeCredentialsWrong {
		t.Errorf("a known login with a wrong password: %v, want credentials_wrong", err)
	}
	in.Login = "nobody-here"
	if err := c.Change(ctx, in); flowCode(err) != flow.CodeCredentialsWrong {
		t.Errorf("an unknown login: %v, want credentials_wrong", err)
	}
	in.Login, in.OldPassword = "alice", "Winter-2026"
	if err := c.Change(ctx, in); flowCode(err) != flow.CodeDirectoryDown {
		t.Errorf("the right password: %v, want directory_down", err)
	}
}

// TestFlowWhosePolicyVanishedStartsOver: a flow that recorded a policy the
// configuration no longer has is not carried on under the global rules
// (which could be weaker): the person starts over.
func TestFlowWhosePolicyVanishedStartsOver(t *testing.T) {
	h := newHarness(t)
	withPolicies(t, h)
	ctx := context.Background()
	token, _, err := h.reset.Start(ctx, flow.StartInput{Action: flow.ActionReset, Login: "alice", ClientIP: "192.0.2.8", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), "192.0.2.8"); err != nil || st.State != flow.StateVerified {
		t.Fatalf("alice's first factor: %v %+v", err, st)
	}
	// The "alice" policy is renamed in the configuration.
	set, err := policy.New([]*policy.Policy{
		{Name: "alice-renamed", Scope: policy.Scope{Filter: "(uid=alice)"}, Factors: []factor.Kind{factor.Email}},
	}, nil, &policy.Policy{Name: "default", Default: true, Factors: []factor.Kind{factor.Email}})
	if err != nil {
		t.Fatal(err)
	}
	h.reset.Policies = set
	if _, err := h.reset.SetPassword(ctx, token, "Correct-Horse-9", "Correct-Horse-9", "192.0.2.8"); flowCode(err) != flow.CodeFlowNotFound {
		t.Errorf("the password step of a flow whose policy is gone: %v, want flow_not_found", err)
	}
}
