package openldap

import (
	"context"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
)

// AccountStatus reads the account's state in the shared model.
//
// OpenLDAP (ppolicy): locked while pwdAccountLockedTime plus the policy's
// pwdLockoutDuration lies ahead (for ever with no duration); the value
// 000001010000Z, which an administrator sets to lock an account until an
// administrator unlocks it, is reported as Disabled, not Locked, so
// self-service never offers to undo it. Config.DisabledFilter marks further
// disabled accounts. Password expiry is pwdChangedTime plus pwdMaxAge; must
// change is pwdReset: TRUE; account expiry is pwdEndTime.
//
// 389-DS: locked while accountUnlockTime lies ahead (19700101000000Z: until
// an administrator unlocks); disabled is nsAccountLock; password expiry is
// passwordExpirationTime (19700101000000Z means must change); last set is
// pwdUpdateTime. FreeIPA: krbPasswordExpiration, krbLastPwdChange,
// krbLoginFailedCount against the Kerberos policy, nsAccountLock,
// krbPrincipalExpiration.
//
// Protected is membership (nested) of a configured protected group.
func (d *Directory) AccountStatus(ctx context.Context, user *directory.User) (*directory.AccountStatus, error) {
	if user == nil {
		return nil, ldapdir.NoUser("status")
	}
	st := &directory.AccountStatus{}
	err := d.client.WithServiceConn(ctx, "status", func(conn *ldapdir.Conn) error {
		var err error
		switch d.flavor() {
		case ldapdir.Flavor389DS:
			err = d.status389(ctx, conn, user, st)
		case ldapdir.FlavorFreeIPA:
			err = d.statusIPA(ctx, conn, user, st)
		default:
			err = d.statusPPolicy(ctx, conn, user, st)
		}
		if err != nil {
			return err
		}
		groups := func() ([]string, error) { return d.client.NestedGroups(ctx, conn, user.DN) }
		return d.client.FinishStatus(ctx, conn, user.DN, st, groups, "")
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// The account-state attributes of each flavor, which FindUser reads with the
// lookup so that AccountStatus and EffectivePolicy of the user just found
// cost no further request (see ldapdir.Client.StatusEntry). The policy
// reference is among them.
var (
	statusAttrsPPolicy = []string{"pwdAccountLockedTime", "pwdChangedTime", "pwdReset", "pwdFailureTime",
		"pwdEndTime", "pwdPolicySubentry"}
	statusAttrs389 = []string{"nsAccountLock", "accountUnlockTime", "passwordRetryCount",
		"passwordExpirationTime", "pwdUpdateTime", "createTimestamp", "pwdpolicysubentry"}
	statusAttrsIPA = []string{"nsAccountLock", "krbPasswordExpiration", "krbLastPwdChange",
		"krbLoginFailedCount", "krbLastFailedAuth", "krbLastAdminUnlock", "krbPrincipalExpiration", "krbPwdPolicyReference"}
)

func (d *Directory) statusAttrs() []string {
	switch d.flavor() {
	case ldapdir.Flavor389DS:
		return statusAttrs389
	case ldapdir.FlavorFreeIPA:
		return statusAttrsIPA
	}
	return statusAttrsPPolicy
}

func (d *Directory) statusPPolicy(ctx context.Context, conn *ldapdir.Conn, user *directory.User, st *directory.AccountStatus) error {
	e, err := d.client.StatusEntry(conn, user, statusAttrsPPolicy)
	if err != nil {
		return ldapdir.MapError(ctx, "status", err)
	}
	now := d.now()
	pol, polErr := d.policyOn(ctx, conn, user)
	st.FailedAttempts = len(e.GetAttributeValues("pwdFailureTime"))
	// slapd honours pwdReset only under a policy with pwdMustChange.
	st.MustChange = ldapdir.IsTrue(e.GetAttributeValue("pwdReset")) && (polErr != nil || pol.MustChangeAfterReset)
	st.PasswordLastSet, _ = ldapdir.ParseGeneralizedTime(e.GetAttributeValue("pwdChangedTime"))
	if polErr == nil && pol.MaxAge > 0 && !st.PasswordLastSet.IsZero() {
		st.PasswordExpires = st.PasswordLastSet.Add(pol.MaxAge)
		st.PasswordExpired = !st.MustChange && !now.Before(st.PasswordExpires)
	}
	if end, ok := ldapdir.ParseGeneralizedTime(e.GetAttributeValue("pwdEndTime")); ok {
		st.AccountExpires = end
		st.AccountExpired = !now.Before(end)
	}
	switch v := e.GetAttributeValue("pwdAccountLockedTime"); v {
	case "":
	case permanentLock:
		st.Disabled = true
	default:
		at, ok := ldapdir.ParseGeneralizedTime(v)
		if !ok {
			st.Locked = true
			break
		}
		var duration time.Duration // until unlocked, also when the policy is unreadable
		if polErr == nil {
			duration = pol.LockoutDuration
		}
		var ends time.Time
		if st.Locked, ends = ldapdir.Lockout(now, at, duration); st.Locked {
			st.LockedAt, st.LockoutEnds = at, ends
		}
	}
	return nil
}

func (d *Directory) status389(ctx context.Context, conn *ldapdir.Conn, user *directory.User, st *directory.AccountStatus) error {
	e, err := d.client.StatusEntry(conn, user, statusAttrs389)
	if err != nil {
		return ldapdir.MapError(ctx, "status", err)
	}
	now := d.now()
	st.Disabled = ldapdir.IsTrue(e.GetAttributeValue("nsAccountLock"))
	st.FailedAttempts = ldapdir.Atoi(e.GetAttributeValue("passwordRetryCount"))
	st.PasswordLastSet, _ = ldapdir.ParseGeneralizedTime(e.GetAttributeValue("pwdUpdateTime"))
	switch exp := e.GetAttributeValue("passwordExpirationTime"); {
	case exp == ds389Epoch:
		st.MustChange = true
	case exp != "":
		if t, ok := ldapdir.ParseGeneralizedTime(exp); ok && t.Year() < 2038 {
			st.PasswordExpires = t
			st.PasswordExpired = !now.Before(t)
		}
	}
	if v := e.GetAttributeValue("accountUnlockTime"); v != "" {
		if v == ds389Epoch {
			st.Locked = true
		} else if t, ok := ldapdir.ParseGeneralizedTime(v); ok && now.Before(t) {
			st.Locked, st.LockoutEnds = true, t
			if pol, err := d.policyOn(ctx, conn, user); err == nil && pol.LockoutDuration > 0 {
				st.LockedAt = t.Add(-pol.LockoutDuration)
			}
		}
	}
	return nil
}

func (d *Directory) statusIPA(ctx context.Context, conn *ldapdir.Conn, user *directory.User, st *directory.AccountStatus) error {
	e, err := d.client.StatusEntry(conn, user, statusAttrsIPA)
	if err != nil {
		return ldapdir.MapError(ctx, "status", err)
	}
	now := d.now()
	st.Disabled = ldapdir.IsTrue(e.GetAttributeValue("nsAccountLock"))
	st.FailedAttempts = ldapdir.Atoi(e.GetAttributeValue("krbLoginFailedCount"))
	st.PasswordLastSet, _ = ldapdir.ParseGeneralizedTime(e.GetAttributeValue("krbLastPwdChange"))
	if t, ok := ldapdir.ParseGeneralizedTime(e.GetAttributeValue("krbPasswordExpiration")); ok {
		// An administrator's reset sets the expiration to the change time.
		if !st.PasswordLastSet.IsZero() && !t.After(st.PasswordLastSet) {
			st.MustChange = true
		} else {
			st.PasswordExpires = t
			st.PasswordExpired = !now.Before(t)
		}
	}
	if t, ok := ldapdir.ParseGeneralizedTime(e.GetAttributeValue("krbPrincipalExpiration")); ok {
		st.AccountExpires = t
		st.AccountExpired = !now.Before(t)
	}
	if pol, err := d.policyOn(ctx, conn, user); err == nil && pol.LockoutThreshold > 0 && st.FailedAttempts >= pol.LockoutThreshold {
		last, _ := ldapdir.ParseGeneralizedTime(e.GetAttributeValue("krbLastFailedAuth"))
		unlocked, _ := ldapdir.ParseGeneralizedTime(e.GetAttributeValue("krbLastAdminUnlock"))
		if last.After(unlocked) {
			var ends time.Time
			if st.Locked, ends = ldapdir.Lockout(now, last, pol.LockoutDuration); st.Locked {
				st.LockedAt, st.LockoutEnds = last, ends
			}
		}
	}
	return nil
}

// EffectivePolicy reads the password policy in force for the user.
// OpenLDAP: the entry named by the user's pwdPolicySubentry, else
// Config.PasswordPolicyDN, else the only pwdPolicy entry under BaseDN (or the
// one named cn=default). 389-DS: the user's pwdpolicysubentry, else
// Config.PasswordPolicyDN, else the global policy in cn=config. FreeIPA: the
// user's krbPwdPolicyReference, else the realm's global_policy.
func (d *Directory) EffectivePolicy(ctx context.Context, user *directory.User) (*directory.PasswordPolicy, error) {
	if user == nil {
		return nil, ldapdir.NoUser("policy")
	}
	return ldapdir.WithServiceConnResult(ctx, d.client, "policy", func(conn *ldapdir.Conn) (*directory.PasswordPolicy, error) {
		return d.policyOn(ctx, conn, user)
	})
}

// policyOn returns the policy in force for user: which entry from the
// attributes FindUser read when fresh, the policy itself from the client's
// cache (Config.PolicyCacheTTL) when it holds it.
func (d *Directory) policyOn(ctx context.Context, conn *ldapdir.Conn, user *directory.User) (*directory.PasswordPolicy, error) {
	var ref string
	switch d.flavor() {
	case ldapdir.Flavor389DS:
		ref = "pwdpolicysubentry"
	case ldapdir.FlavorFreeIPA:
		ref = "krbPwdPolicyReference"
	default:
		ref = "pwdPolicySubentry"
	}
	u, err := d.client.StatusEntry(conn, user, []string{ref})
	if err != nil {
		return nil, ldapdir.MapError(ctx, "policy", err)
	}
	dn := u.GetAttributeValue(ref)
	if dn == "" {
		dn = d.client.Config().PasswordPolicyDN
	}
	// "" (the default policy, found by searching) is a source too.
	return d.client.CachedPolicy("policy:"+dn, func() (*directory.PasswordPolicy, error) {
		switch d.flavor() {
		case ldapdir.Flavor389DS:
			return d.policy389(ctx, conn, dn)
		case ldapdir.FlavorFreeIPA:
			return d.policyIPA(ctx, conn, dn)
		}
		return d.policyPPolicy(ctx, conn, dn)
	})
}

// policyPPolicy reads the ppolicy entry dn, or, when dn is empty, the only
// pwdPolicy entry under BaseDN (or the one named cn=default).
func (d *Directory) policyPPolicy(ctx context.Context, conn *ldapdir.Conn, dn string) (*directory.PasswordPolicy, error) {
	cfg := d.client.Config()
	attrs := []string{"pwdMinLength", "pwdMaxLength", "pwdCheckQuality", "pwdInHistory", "pwdMaxAge",
		"pwdMinAge", "pwdLockout", "pwdMaxFailure", "pwdLockoutDuration", "pwdFailureCountInterval", "pwdMustChange"}
	var e *ldap.Entry
	var err error
	if dn != "" {
		if e, err = conn.Read(dn, attrs); err != nil {
			return nil, ldapdir.MapError(ctx, "policy", err)
		}
	} else {
		res, err := conn.Search(ldap.NewSearchRequest(cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			0, 0, false, "(objectClass=pwdPolicy)", attrs, nil))
		if err != nil {
			return nil, ldapdir.MapError(ctx, "policy", err)
		}
		for _, cand := range res.Entries {
			if len(res.Entries) == 1 || strings.HasPrefix(strings.ToLower(cand.DN), "cn=default,") {
				e = cand
				break
			}
		}
		if e == nil {
			return nil, &directory.Error{Kind: directory.KindMisconfigured, Op: "policy",
				Diagnostic: "the default password policy cannot be told apart from the others under " + cfg.BaseDN + ": set PasswordPolicyDN"}
		}
	}
	get := e.GetAttributeValue
	secs := func(a string) time.Duration { return time.Duration(ldapdir.Atoi(get(a))) * time.Second }
	p := &directory.PasswordPolicy{
		Source:        e.DN,
		MinLength:     ldapdir.Atoi(get("pwdMinLength")),
		MaxLength:     ldapdir.Atoi(get("pwdMaxLength")),
		HistoryLength: ldapdir.Atoi(get("pwdInHistory")),
		MaxAge:        secs("pwdMaxAge"),
		MinAge:        secs("pwdMinAge"),
		LockoutWindow: secs("pwdFailureCountInterval"),

		MustChangeAfterReset: ldapdir.IsTrue(get("pwdMustChange")),
	}
	if ldapdir.Atoi(get("pwdCheckQuality")) == 0 {
		// Without quality checking slapd ignores the length rules.
		p.MinLength, p.MaxLength = 0, 0
	}
	if ldapdir.IsTrue(get("pwdLockout")) {
		p.LockoutThreshold = ldapdir.Atoi(get("pwdMaxFailure"))
		p.LockoutDuration = secs("pwdLockoutDuration")
	}
	return p, nil
}

// policy389 reads the 389-DS policy entry dn (the user's
// pwdpolicysubentry or Config.PasswordPolicyDN), or cn=config when empty.
func (d *Directory) policy389(ctx context.Context, conn *ldapdir.Conn, dn string) (*directory.PasswordPolicy, error) {
	attrs := []string{"passwordMinLength", "passwordMaxRepeats", "passwordCheckSyntax", "passwordMinCategories",
		"passwordHistory", "passwordInHistory", "passwordExp", "passwordMaxAge", "passwordMinAge", "passwordLockout",
		"passwordMaxFailure", "passwordUnlock", "passwordLockoutDuration", "passwordResetFailureCount", "passwordMustChange"}
	if dn == "" {
		dn = "cn=config"
	}
	e, err := conn.Read(dn, attrs)
	if err != nil {
		return nil, ldapdir.MapError(ctx, "policy", err)
	}
	get := e.GetAttributeValue
	on := func(a string) bool { return strings.EqualFold(get(a), "on") || ldapdir.IsTrue(get(a)) }
	secs := func(a string) time.Duration { return time.Duration(ldapdir.Atoi(get(a))) * time.Second }
	if get("passwordMinLength") == "" && get("passwordLockout") == "" {
		return nil, &directory.Error{Kind: directory.KindAccessDenied, Op: "policy",
			Diagnostic: "the password policy in " + dn + " is not readable by the service account"}
	}
	p := &directory.PasswordPolicy{Source: e.DN}
	if on("passwordCheckSyntax") {
		p.MinLength = ldapdir.Atoi(get("passwordMinLength"))
		p.Complexity = ldapdir.Atoi(get("passwordMinCategories")) > 1
	}
	if on("passwordHistory") {
		p.HistoryLength = ldapdir.Atoi(get("passwordInHistory"))
	}
	if on("passwordExp") {
		p.MaxAge = secs("passwordMaxAge")
	}
	p.MinAge = secs("passwordMinAge")
	p.MustChangeAfterReset = on("passwordMustChange")
	if on("passwordLockout") {
		p.LockoutThreshold = ldapdir.Atoi(get("passwordMaxFailure"))
		if on("passwordUnlock") {
			p.LockoutDuration = secs("passwordLockoutDuration")
		}
		p.LockoutWindow = secs("passwordResetFailureCount")
	}
	return p, nil
}

// policyIPA reads the Kerberos policy dn (the user's
// krbPwdPolicyReference), or the realm's global_policy when empty.
func (d *Directory) policyIPA(ctx context.Context, conn *ldapdir.Conn, dn string) (*directory.PasswordPolicy, error) {
	attrs := []string{"krbMinPwdLife", "krbMaxPwdLife", "krbPwdMinDiffChars", "krbPwdMinLength",
		"krbPwdHistoryLength", "krbPwdMaxFailure", "krbPwdFailureCountInterval", "krbPwdLockoutDuration"}
	var e *ldap.Entry
	var err error
	if dn != "" {
		e, err = conn.Read(dn, attrs)
	} else {
		var res *ldap.SearchResult
		res, err = conn.Search(ldap.NewSearchRequest("cn=kerberos,"+suffixOf(d.client.Config().BaseDN),
			ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1, 0, false,
			"(&(objectClass=krbPwdPolicy)(cn=global_policy))", attrs, nil))
		if err == nil && len(res.Entries) == 1 {
			e = res.Entries[0]
		} else if err == nil {
			err = ldap.NewError(ldap.LDAPResultNoSuchObject, errNoGlobalPolicy)
		}
	}
	if err != nil {
		return nil, ldapdir.MapError(ctx, "policy", err)
	}
	get := e.GetAttributeValue
	secs := func(a string) time.Duration { return time.Duration(ldapdir.Atoi(get(a))) * time.Second }
	return &directory.PasswordPolicy{
		Source:           e.DN,
		MinLength:        ldapdir.Atoi(get("krbPwdMinLength")),
		Complexity:       ldapdir.Atoi(get("krbPwdMinDiffChars")) > 1,
		HistoryLength:    ldapdir.Atoi(get("krbPwdHistoryLength")),
		MaxAge:           secs("krbMaxPwdLife"),
		MinAge:           secs("krbMinPwdLife"),
		LockoutThreshold: ldapdir.Atoi(get("krbPwdMaxFailure")),
		LockoutDuration:  secs("krbPwdLockoutDuration"),
		LockoutWindow:    secs("krbPwdFailureCountInterval"),
	}, nil
}

// suffixOf returns the dc= tail of dn (the naming context of a typical
// FreeIPA tree).
func suffixOf(dn string) string {
	parts := strings.Split(dn, ",")
	for i, p := range parts {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(p)), "dc=") {
			return strings.Join(parts[i:], ",")
		}
	}
	return dn
}
