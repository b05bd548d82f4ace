package flow_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/password"
)

// breached is a tiny breach corpus.
type breached []string

func (b breached) Contains(pw string) (bool, error) { return slices.Contains(b, pw), nil }

func withRules(t *testing.T, h *harness) {
	t.Helper()
	p, err := password.Preset(password.PresetNIST, password.MultiFactor(true))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := password.NewRules(p, breached{"Summer2024!Summer"}, true)
	if err != nil {
		t.Fatal(err)
	}
	h.reset.Rules = rules
}

// TestPasswordRulesOfAVerifiedFlow: the rules are shown only to a verified
// reset flow, merged with the directory's policy; the live check and the
// final submission refuse a breached password before the directory is
// asked, and the refusal is audited (without the password).
func TestPasswordRulesOfAVerifiedFlow(t *testing.T) {
	h := newHarness(t)
	withRules(t, h)
	ctx := context.Background()
	unverified, _, err := h.reset.Start(ctx, flow.StartInput{Login: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.PasswordRules(ctx, unverified); flowCode(err) != flow.CodeWrongState {
		t.Fatalf("rules before verification: %v", err)
	}
	if _, err := h.reset.CheckPassword(ctx, unverified, "x"); flowCode(err) != flow.CodeWrongState {
		t.Fatalf("check before verification: %v", err)
	}
	token := h.verified(t, "alice")
	rules, err := h.reset.PasswordRules(ctx, token)
	if err != nil || len(rules) == 0 {
		t.Fatalf("rules: %v %v", rules, err)
	}
	res, err := h.reset.CheckPassword(ctx, token, "Summer2024!Summer")
	if err != nil || res.OK {
		t.Fatalf("a breached password passed the live check: %+v %v", res, err)
	}
	if res, _ := h.reset.CheckPassword(ctx, token, "Lantern-Otter-Marmalade-7"); !res.OK {
		t.Fatalf("a good password failed: %+v", res)
	}
	_, err = h.reset.SetPassword(ctx, token, "Summer2024!Summer", "Summer2024!Summer", "192.0.2.1")
	var fe *flow.Error
	if flowCode(err) != flow.CodePasswordRefused || !errorAs(err, &fe) || len(fe.Checks) == 0 {
		t.Fatalf("a breached password was not refused by sspr's rules: %v", err)
	}
	found := false
	for _, r := range h.auditRows(t) {
		if r.Event == "reset.password" && r.Reason == "password_rules" {
			found = true
			if strings.Contains(r.Detail, "Summer2024") {
				t.Fatal("the audit row holds the password")
			}
		}
	}
	if !found {
		t.Fatal("the refusal by sspr's rules is not audited")
	}
	if _, err := h.reset.SetPassword(ctx, token, "Lantern-Otter-Marmalade-7", "Lantern-Otter-Marmalade-7", "192.0.2.1"); err != nil {
		t.Fatalf("a good password after the refusal: %v", err)
	}
	// The anonymous check (no flow) uses the rules for everyone.
	if res, err := h.reset.CheckPasswordFor(ctx, "alice", "Summer2024!Summer"); err != nil || res.OK {
		t.Fatalf("anonymous check: %+v %v", res, err)
	}
	h.reset.Rules = nil
	if res, err := h.reset.CheckPasswordFor(ctx, "alice", "x"); err != nil || !res.OK {
		t.Fatalf("without rules everything passes to the directory: %+v %v", res, err)
	}
}

// TestInspector: the read-only checks an operator runs see the account's
// status, policy and what self-service can do, and report a directory that
// cannot check itself.
func TestInspector(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	in := &flow.Inspector{Directories: h.reset.Directories.(*directory.Set)}
	v, err := in.ShowUser(ctx, "alice")
	if err != nil || v.User == nil || v.Status == nil || !slices.Contains(v.Can, "reset") || !slices.Contains(v.Can, "unlock") {
		t.Fatalf("show user: %+v %v", v, err)
	}
	if _, err := in.ShowUser(ctx, "nobody-at-all"); directory.KindOf(err) != directory.KindNotFound {
		t.Fatalf("an unknown login: %v", err)
	}
	reports := in.CheckDirectories(ctx)
	if len(reports) != 1 || reports[0].Directory != "demo" {
		t.Fatalf("reports: %+v", reports)
	}
}

func errorAs(err error, target **flow.Error) bool { return errors.As(err, target) }
