package openldap_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/directory/ldapdir/ldapdirtest"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

func TestOpenLDAPLockoutStatusAndUnlock(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	u := dirtest.CreateLDAPUser(t, "Initial-Pass1")
	d := newLDAP(t, cfg, openldap.Options{})
	user := find(t, d, u.Login)
	if st := status(t, d, user); st.Locked || st.Disabled || st.MustChange {
		t.Fatalf("fresh user: %+v", st)
	}
	dirtest.FailBinds(t, cfg, u.DN, 5) // pwdMaxFailure 5 in the default policy
	wantErr(t, d.VerifyPassword(ctx(t), user, u.Password), directory.KindLocked)
	st := status(t, d, user)
	if !st.Locked || st.LockedAt.IsZero() || !st.LockoutEnds.IsZero() || st.FailedAttempts != 5 {
		t.Fatalf("after 5 failed binds (no lockout duration: until unlocked): %+v", st)
	}
	if err := d.Unlock(ctx(t), user); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := d.VerifyPassword(ctx(t), user, u.Password); err != nil {
		t.Fatalf("bind after Unlock: %v", err)
	}
	if st := status(t, d, user); st.Locked || st.FailedAttempts != 0 {
		t.Fatalf("after Unlock: %+v", st)
	}
	if err := d.Unlock(ctx(t), user); err != nil {
		t.Fatalf("Unlock of an account that is not locked: %v", err)
	}

	// An administrator's lock for good is "disabled", and stays.
	dirtest.Modify(t, dirtest.LDAPAdmin(t), u.DN, map[string][]string{"pwdAccountLockedTime": {"000001010000Z"}})
	if st := status(t, d, user); !st.Disabled || st.Locked {
		t.Fatalf("pwdAccountLockedTime 000001010000Z: %+v", st)
	}
	wantErr(t, d.Unlock(ctx(t), user), directory.KindDisabled)
}

func TestOpenLDAPMustChangeAndChangePassword(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	u := dirtest.CreateLDAPUser(t, "Initial-Pass1")
	d := newLDAP(t, cfg, openldap.Options{})
	user := find(t, d, u.Login)
	// slapd honours pwdReset only under a policy with pwdMustChange TRUE:
	// the strict one.
	_, strictDN := dirtest.LDAPPolicyDNs(t)
	dirtest.Modify(t, dirtest.LDAPAdmin(t), u.DN, map[string][]string{"pwdPolicySubentry": {strictDN}})

	if err := d.SetMustChange(ctx(t), user, true); err != nil {
		t.Fatalf("SetMustChange(true): %v", err)
	}
	if st := status(t, d, user); !st.MustChange {
		t.Fatalf("pwdReset TRUE: %+v", st)
	}
	wantErr(t, d.VerifyPassword(ctx(t), user, u.Password), directory.KindMustChange)
	if err := d.ChangePassword(ctx(t), user, u.Password, "Changed-Pass2"); err != nil {
		t.Fatalf("ChangePassword while pwdReset: %v", err)
	}
	if err := d.VerifyPassword(ctx(t), user, "Changed-Pass2"); err != nil {
		t.Fatalf("bind after the change: %v", err)
	}
	if st := status(t, d, user); st.MustChange || st.PasswordLastSet.IsZero() {
		t.Fatalf("after the change: %+v", st)
	}
	wantErr(t, d.ChangePassword(ctx(t), user, "Wrong-Old-Pass1", "Changed-Pass3"), directory.KindInvalidCredentials)
	wantErr(t, d.ChangePassword(ctx(t), user, "Changed-Pass2", u.Password), directory.KindPolicyViolation, directory.ReasonHistory)
	e := wantErr(t, d.ChangePassword(ctx(t), user, "Changed-Pass2", "Short-1"), directory.KindPolicyViolation, directory.ReasonTooShort)
	if e.MinLength != 10 {
		t.Errorf("MinLength = %d, want the strict policy's 10", e.MinLength)
	}
	ldapdirtest.SetAndClearMustChange(t, d, user, "Changed-Pass2")
}

func TestOpenLDAPPolicy(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	u := dirtest.CreateLDAPUser(t, "Initial-Pass1")
	d := newLDAP(t, cfg, openldap.Options{})
	user := find(t, d, u.Login)
	defDN, strictDN := dirtest.LDAPPolicyDNs(t)

	p, err := d.EffectivePolicy(ctx(t), user)
	if err != nil {
		t.Fatalf("EffectivePolicy: %v", err)
	}
	want := directory.PasswordPolicy{Source: defDN, MinLength: 8, HistoryLength: 5, LockoutThreshold: 5}
	if *p != want {
		t.Fatalf("default policy = %+v, want %+v", *p, want)
	}
	// Without PasswordPolicyDN, the entry named cn=default is found.
	noDefault := cfg
	noDefault.PasswordPolicyDN = ""
	if p, err := newLDAP(t, noDefault, openldap.Options{}).EffectivePolicy(ctx(t), user); err != nil || p.Source != defDN {
		t.Fatalf("default policy found by name: %+v, %v", p, err)
	}

	dirtest.Modify(t, dirtest.LDAPAdmin(t), u.DN, map[string][]string{"pwdPolicySubentry": {strictDN}})
	// A User describes the account as its lookup found it: look it up
	// again to see a change made since.
	user = find(t, d, u.Login)
	p, err = d.EffectivePolicy(ctx(t), user)
	if err != nil {
		t.Fatalf("EffectivePolicy with pwdPolicySubentry: %v", err)
	}
	want = directory.PasswordPolicy{Source: strictDN, MinLength: 10, HistoryLength: 2, MaxAge: 30 * 24 * time.Hour,
		LockoutThreshold: 3, LockoutDuration: 5 * time.Minute, LockoutWindow: 10 * time.Minute, MustChangeAfterReset: true}
	if *p != want {
		t.Fatalf("per-user policy = %+v, want %+v", *p, want)
	}
	if err := d.ResetPassword(ctx(t), user, "Nine-Chr1"); err == nil {
		t.Fatal("9 characters accepted under the strict policy")
	} else {
		e := wantErr(t, err, directory.KindPolicyViolation, directory.ReasonTooShort)
		if e.MinLength != 10 {
			t.Errorf("MinLength = %d, want 10", e.MinLength)
		}
	}
	if err := d.ResetPassword(ctx(t), user, "Strict-Pass10"); err != nil {
		t.Fatalf("reset under the strict policy: %v", err)
	}
	st := status(t, d, user)
	if got := st.PasswordExpires.Sub(st.PasswordLastSet); got != 30*24*time.Hour || st.PasswordExpired {
		t.Fatalf("expiry under pwdMaxAge 30 days: %+v", st)
	}
	// Lockout under the strict policy ends after 5 minutes.
	dirtest.FailBinds(t, cfg, u.DN, 3)
	st = status(t, d, user)
	if !st.Locked || st.LockoutEnds.Sub(st.LockedAt) != 5*time.Minute {
		t.Fatalf("lockout with pwdLockoutDuration 300: %+v", st)
	}
}

func TestOpenLDAPGroupsAndProtected(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	u := dirtest.CreateLDAPUser(t, "Initial-Pass1")
	a := dirtest.CreateLDAPGroup(t, "groupOfNames", u.DN)
	b := dirtest.CreateLDAPGroup(t, "groupOfUniqueNames", a)
	c := dirtest.CreateLDAPGroup(t, "groupOfNames", b)
	other := dirtest.CreateLDAPGroup(t, "groupOfNames")
	// A cycle: a is also a member of c.
	dirtest.Modify(t, dirtest.LDAPAdmin(t), a, map[string][]string{"member": {u.DN, c}})

	pc := cfg
	pc.ProtectedGroups = []string{c}
	d := newLDAP(t, pc, openldap.Options{})
	user := find(t, d, u.Login)
	groups, err := d.Groups(ctx(t), user)
	if err != nil {
		t.Fatalf("Groups: %v", err)
	}
	have := map[string]bool{}
	for _, g := range groups {
		have[strings.ToLower(g)] = true
	}
	if len(groups) != 3 || !have[strings.ToLower(a)] || !have[strings.ToLower(b)] || !have[strings.ToLower(c)] || have[strings.ToLower(other)] {
		t.Fatalf("Groups = %v, want %s, %s, %s", groups, a, b, c)
	}
	if st := status(t, d, user); !st.Protected || !strings.Contains(st.ProtectedReason, c) {
		t.Fatalf("member of a protected group three levels up: %+v", st)
	}

	depth := pc
	depth.MaxGroupDepth = 1
	groups, err = newLDAP(t, depth, openldap.Options{}).Groups(ctx(t), user)
	if err != nil || len(groups) != 1 {
		t.Fatalf("MaxGroupDepth 1: %v, %v", groups, err)
	}
}

func TestOpenLDAPCheck(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	r := newLDAP(t, cfg, openldap.Options{}).Check(ctx(t))
	t.Logf("%+v", r.Findings)
	if !r.OK() || r.Vendor != "OpenLDAP" || !hasFinding(r, ldapdir.FindingPasswordModify, directory.SeverityOK) ||
		!hasFinding(r, ldapdir.FindingRightsUnchecked, directory.SeverityWarning) {
		t.Fatalf("Check: %+v", r)
	}
	plain := cfg
	plain.StartTLS = false
	if r := newLDAP(t, plain, openldap.Options{}).Check(ctx(t)); r.OK() || !hasFinding(r, ldapdir.FindingPlainLDAP, directory.SeverityError) {
		t.Fatalf("plain LDAP: %+v", r.Findings)
	}
}
