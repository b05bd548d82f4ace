package ad_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/directory/ldapdir/ldapdirtest"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

func TestADLockoutStatusAndUnlock(t *testing.T) {
	cfg := dirtest.ADServiceConfig(t) // the least-privilege account unlocks
	u := dirtest.CreateADUser(t, "Initial-Pass1")
	d := newAD(t, cfg)
	user := find(t, d, u.Login)

	if st := status(t, d, user); st.Locked || st.Disabled || st.MustChange || st.Protected {
		t.Fatalf("fresh user: %+v", st)
	}
	dirtest.FailBinds(t, cfg, u.DN, dirtest.ADLockoutThreshold(t))
	wantErr(t, d.VerifyPassword(ctx(t), user, u.Password), directory.KindLocked)
	st := status(t, d, user)
	if !st.Locked || st.LockedAt.IsZero() || st.FailedAttempts == 0 {
		t.Fatalf("after %d failed binds: %+v", dirtest.ADLockoutThreshold(t), st)
	}
	// Samba's default lockout duration is 30 minutes.
	if got := st.LockoutEnds.Sub(st.LockedAt); got != 30*time.Minute {
		t.Errorf("LockoutEnds - LockedAt = %v, want 30m (%+v)", got, st)
	}
	if time.Since(st.LockedAt) > time.Minute || time.Until(st.LockedAt) > time.Minute {
		t.Errorf("LockedAt %v is not now", st.LockedAt)
	}
	if err := d.Unlock(ctx(t), user); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := d.VerifyPassword(ctx(t), user, u.Password); err != nil {
		t.Fatalf("bind after unlock: %v", err)
	}
	if st := status(t, d, user); st.Locked {
		t.Fatalf("still locked after Unlock: %+v", st)
	}
}

func TestADUnlockOnReset(t *testing.T) {
	cfg := dirtest.ADServiceConfig(t)
	for _, unlock := range []bool{true, false} {
		t.Run(map[bool]string{true: "on", false: "off"}[unlock], func(t *testing.T) {
			u := dirtest.CreateADUser(t, "Initial-Pass1")
			c := cfg
			c.UnlockOnReset = ldapdir.Bool(unlock)
			d := newAD(t, c)
			user := find(t, d, u.Login)
			dirtest.FailBinds(t, cfg, u.DN, dirtest.ADLockoutThreshold(t))
			if err := d.ResetPassword(ctx(t), user, "Reset-Pass2"); err != nil {
				t.Fatalf("ResetPassword of a locked account: %v", err)
			}
			err := d.VerifyPassword(ctx(t), user, "Reset-Pass2")
			if unlock && err != nil {
				t.Fatalf("unlock on reset: bind with the new password: %v", err)
			}
			if !unlock {
				// AD keeps the account locked after an admin reset.
				wantErr(t, err, directory.KindLocked)
			}
		})
	}
}

func TestADMustChangeAndChangePassword(t *testing.T) {
	cfg := dirtest.ADServiceConfig(t)
	u := dirtest.CreateADUser(t, "Initial-Pass1")
	d := newAD(t, cfg)
	user := find(t, d, u.Login)

	if err := d.SetMustChange(ctx(t), user, true); err != nil {
		t.Fatalf("SetMustChange(true): %v", err)
	}
	st := status(t, d, user)
	if !st.MustChange || st.PasswordExpired || !st.PasswordLastSet.IsZero() {
		t.Fatalf("after pwdLastSet=0: %+v", st)
	}
	wantErr(t, d.VerifyPassword(ctx(t), user, u.Password), directory.KindMustChange)
	// A user who must change cannot bind, but can change with the old
	// password.
	if err := d.ChangePassword(ctx(t), user, u.Password, "Changed-Pass2"); err != nil {
		t.Fatalf("ChangePassword while must change: %v", err)
	}
	if err := d.VerifyPassword(ctx(t), user, "Changed-Pass2"); err != nil {
		t.Fatalf("bind with the changed password: %v", err)
	}
	if st := status(t, d, user); st.MustChange {
		t.Fatalf("still must change after a change: %+v", st)
	}
	wantErr(t, d.ChangePassword(ctx(t), user, "Wrong-Old-Pass1", "Changed-Pass3"), directory.KindInvalidCredentials)
	if err := d.ChangePassword(ctx(t), user, "Changed-Pass2", "Changed-Pass3"); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if err := d.VerifyPassword(ctx(t), user, "Changed-Pass3"); err != nil {
		t.Fatalf("bind after ChangePassword: %v", err)
	}
	e := wantErr(t, d.ChangePassword(ctx(t), user, "Changed-Pass3", "short"), directory.KindPolicyViolation, directory.ReasonTooShort)
	if e.MinLength != 7 {
		t.Errorf("MinLength = %d, want 7", e.MinLength)
	}
	ldapdirtest.SetAndClearMustChange(t, d, user, "Changed-Pass3")
}

func TestADPolicyAndPSO(t *testing.T) {
	cfg := dirtest.ADServiceConfig(t)
	u := dirtest.CreateADUser(t, "Initial-Pass1")
	d := newAD(t, cfg)
	user := find(t, d, u.Login)

	p, err := d.EffectivePolicy(ctx(t), user)
	if err != nil {
		t.Fatalf("EffectivePolicy: %v", err)
	}
	want := directory.PasswordPolicy{Source: "domain", MinLength: 7, Complexity: true, HistoryLength: 24,
		MaxAge: 42 * 24 * time.Hour, LockoutThreshold: dirtest.ADLockoutThreshold(t),
		LockoutDuration: 30 * time.Minute, LockoutWindow: 30 * time.Minute}
	if *p != want {
		t.Fatalf("domain policy = %+v, want %+v", *p, want)
	}
	st := status(t, d, user)
	if got := st.PasswordExpires.Sub(st.PasswordLastSet); got != 42*24*time.Hour || st.PasswordExpired {
		t.Errorf("PasswordExpires %v - PasswordLastSet %v = %v, want 42 days", st.PasswordExpires, st.PasswordLastSet, got)
	}

	pso := dirtest.ADTestPSO(t)
	dirtest.ApplyADPSO(t, pso, u.DN)
	// A User describes the account as its lookup found it: look it up
	// again to see a change made since.
	user = find(t, d, u.Login)
	p, err = d.EffectivePolicy(ctx(t), user)
	if err != nil {
		t.Fatalf("EffectivePolicy with a PSO: %v", err)
	}
	want = directory.PasswordPolicy{Source: pso, MinLength: 12, Complexity: true, HistoryLength: 3,
		MaxAge: 90 * 24 * time.Hour, LockoutThreshold: 5, LockoutDuration: 10 * time.Minute, LockoutWindow: 10 * time.Minute}
	if !strings.EqualFold(p.Source, pso) {
		t.Fatalf("Source = %q, want %q", p.Source, pso)
	}
	p.Source = pso
	if *p != want {
		t.Fatalf("PSO policy = %+v, want %+v", *p, want)
	}
	// 10 characters: enough for the domain, too short for the PSO.
	e := wantErr(t, d.ResetPassword(ctx(t), user, "Ten-Char1!"), directory.KindPolicyViolation, directory.ReasonTooShort)
	if e.MinLength != 12 {
		t.Errorf("MinLength = %d, want the PSO's 12 (%v)", e.MinLength, e)
	}
	if err := d.ResetPassword(ctx(t), user, "Twelve-Chars-1"); err != nil {
		t.Fatalf("12 characters: %v", err)
	}
}

func TestADGroupsAndProtected(t *testing.T) {
	cfg := dirtest.ADServiceConfig(t)
	u := dirtest.CreateADUser(t, "Initial-Pass1")
	inner := dirtest.CreateADGroup(t, u.DN)
	outer := dirtest.CreateADGroup(t, inner)
	other := dirtest.CreateADGroup(t)

	c := cfg
	c.ProtectedGroups = []string{outer}
	d := newAD(t, c)
	user := find(t, d, u.Login)
	groups, err := d.Groups(ctx(t), user)
	if err != nil {
		t.Fatalf("Groups: %v", err)
	}
	have := map[string]bool{}
	for _, g := range groups {
		have[strings.ToLower(g)] = true
	}
	if !have[strings.ToLower(inner)] || !have[strings.ToLower(outer)] || have[strings.ToLower(other)] {
		t.Fatalf("Groups = %v, want %s and (nested) %s, not %s", groups, inner, outer, other)
	}
	st := status(t, d, user)
	if !st.Protected || !strings.Contains(st.ProtectedReason, outer) || len(st.ProtectedGroups) != 1 {
		t.Fatalf("member of a protected group (nested): %+v", st)
	}

	admin := find(t, newAD(t, cfg), "Administrator")
	if st := status(t, newAD(t, cfg), admin); !st.Protected || !strings.Contains(st.ProtectedReason, "adminCount") {
		t.Fatalf("Administrator: %+v, want Protected by adminCount", st)
	}
}

func TestADDisabledAndExpired(t *testing.T) {
	cfg := dirtest.ADServiceConfig(t)
	u := dirtest.CreateADUser(t, "Initial-Pass1")
	d := newAD(t, cfg)
	user := find(t, d, u.Login)
	admin := dirtest.ADAdmin(t)

	dirtest.Modify(t, admin, u.DN, map[string][]string{"userAccountControl": {"514"}})
	wantErr(t, d.VerifyPassword(ctx(t), user, u.Password), directory.KindDisabled)
	if st := status(t, d, user); !st.Disabled {
		t.Fatalf("UAC 514: %+v", st)
	}
	dirtest.Modify(t, admin, u.DN, map[string][]string{"userAccountControl": {"512"}})

	// accountExpires one day ago, in 100-ns units since 1601.
	past := (time.Now().Add(-24*time.Hour).Unix() + 11644473600) * 10_000_000
	dirtest.Modify(t, admin, u.DN, map[string][]string{"accountExpires": {formatInt(past)}})
	st := status(t, d, user)
	if !st.AccountExpired || st.AccountExpires.IsZero() || time.Since(st.AccountExpires) < 23*time.Hour {
		t.Fatalf("accountExpires yesterday: %+v", st)
	}
	wantErr(t, d.VerifyPassword(ctx(t), user, u.Password), directory.KindAccountExpired)
	dirtest.Modify(t, admin, u.DN, map[string][]string{"accountExpires": {"9223372036854775807"}})
	if st := status(t, d, user); st.AccountExpired || !st.AccountExpires.IsZero() {
		t.Fatalf("accountExpires never: %+v", st)
	}
}

func TestADFindUserDetails(t *testing.T) {
	cfg := dirtest.ADServiceConfig(t)
	boss := dirtest.CreateADUser(t, "Initial-Pass1")
	u := dirtest.CreateADUserWith(t, "Initial-Pass1", map[string][]string{
		"mobile": {"+41 79 555 01 02"}, "manager": {boss.DN}})
	d := newAD(t, cfg)
	user := find(t, d, u.Login)
	if user.Mobile != "+41 79 555 01 02" || !strings.EqualFold(user.Manager, boss.DN) ||
		!strings.EqualFold(user.OU, "CN=Users,"+cfg.BaseDN) {
		t.Fatalf("FindUser = %+v", user)
	}
}

func TestADLeastPrivilegeAndCheck(t *testing.T) {
	u := dirtest.CreateADUser(t, "Initial-Pass1")

	svc := newAD(t, dirtest.ADServiceConfig(t))
	r := svc.Check(ctx(t))
	t.Logf("sspr-svc: %+v", r.Findings)
	if !r.OK() || !hasFinding(r, ldapdir.FindingRightsReset, directory.SeverityOK) ||
		!hasFinding(r, ldapdir.FindingRightsUnlock, directory.SeverityOK) ||
		!hasFinding(r, ldapdir.FindingRightsMustChg, directory.SeverityOK) {
		t.Fatalf("Check of the delegated account: %+v", r.Findings)
	}
	if r.Vendor != "Samba" || r.FunctionalLevel == "" || len(r.NamingContexts) == 0 || r.Server == "" {
		t.Errorf("report header: %+v", r)
	}
	if !hasFinding(r, ldapdir.FindingPolicyHints, directory.SeverityWarning) {
		t.Errorf("no policy-hints warning for Samba: %+v", r.Findings)
	}
	user := find(t, svc, u.Login)
	if err := svc.ResetPassword(ctx(t), user, "Delegated-Pass2"); err != nil {
		t.Fatalf("least-privilege reset: %v", err)
	}

	// The account without rights is reported before any reset is tried.
	none := newAD(t, dirtest.ADNoRightsConfig(t))
	r = none.Check(ctx(t))
	t.Logf("sspr-norights: %+v", r.Findings)
	if r.OK() || !hasFinding(r, ldapdir.FindingRightsReset, directory.SeverityError) ||
		!hasFinding(r, ldapdir.FindingRightsUnlock, directory.SeverityError) {
		t.Fatalf("Check of the account without rights: %+v", r.Findings)
	}
	wantErr(t, none.ResetPassword(ctx(t), user, "Refused-Pass3"), directory.KindAccessDenied)
	wantErr(t, none.Unlock(ctx(t), user), directory.KindAccessDenied)
}

func TestADCheckTransport(t *testing.T) {
	cfg := dirtest.ADServiceConfig(t)
	gc := cfg
	gc.URLs = []string{"ldap://127.0.0.1:3268"}
	r := newAD(t, gc).Check(ctx(t))
	if !hasFinding(r, ldapdir.FindingGlobalCatalog, directory.SeverityError) || !hasFinding(r, ldapdir.FindingPlainLDAP, directory.SeverityError) {
		t.Fatalf("global catalog over plain LDAP: %+v", r.Findings)
	}
	bad := cfg
	bad.BindPassword = "not-the-password"
	r = newAD(t, bad).Check(ctx(t))
	if !hasFinding(r, ldapdir.FindingServiceBind, directory.SeverityError) {
		t.Fatalf("wrong service password: %+v", r.Findings)
	}
	t.Logf("wrong service password: %s", r.Findings[len(r.Findings)-1].Message)
	noCA := cfg
	noCA.CAFile = ""
	r = newAD(t, noCA).Check(ctx(t))
	if !hasFinding(r, ldapdir.FindingCertificate, directory.SeverityError) || r.OK() {
		t.Fatalf("unknown CA: %+v", r.Findings)
	}
	t.Logf("unknown CA: %s", r.Findings[0].Message)
	byName := cfg
	byName.URLs = []string{strings.Replace(cfg.URLs[0], "127.0.0.1", "127.0.0.2", 1)}
	r = newAD(t, byName).Check(ctx(t))
	if !hasFinding(r, ldapdir.FindingCertificate, directory.SeverityError) {
		t.Logf("wrong name: %+v (127.0.0.2 may not reach the DC)", r.Findings)
	}
}

func TestADRootDSE(t *testing.T) {
	d := newAD(t, dirtest.ADServiceConfig(t))
	dse, err := d.RootDSE(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if dse.Vendor != "Samba" || !dse.ActiveDirectory || dse.DefaultNamingContext == "" ||
		dse.FunctionalLevel() != "Windows Server 2008 R2" || !dse.SupportsControl(ldapdir.OIDSDFlags) {
		t.Fatalf("RootDSE = %+v", dse)
	}
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }
