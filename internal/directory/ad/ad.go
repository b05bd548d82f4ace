package ad

import (
	"context"
	"encoding/binary"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
)

// The policy-hints controls: with one of them on an admin reset, AD applies
// password history as it does for a user's own change.
const (
	PolicyHintsOID           = ldapdir.OIDPolicyHints           // LDAP_SERVER_POLICY_HINTS_OID (2012 R2+)
	PolicyHintsDeprecatedOID = ldapdir.OIDPolicyHintsDeprecated // LDAP_SERVER_POLICY_HINTS_DEPRECATED_OID
)

// userAccountControl and msDS-User-Account-Control-Computed bits.
const (
	uacAccountDisable  = 0x2
	uacLockout         = 0x10
	uacPasswordExpired = 0x800000
)

// Preset returns the Active Directory defaults applied to empty Config
// fields (ldapdir.PresetActiveDirectory).
func Preset() ldapdir.Config { return ldapdir.PresetActiveDirectory() }

// Directory is an Active Directory connector. It implements
// directory.Directory and every capability interface: PasswordResetter,
// PasswordChanger, Unlocker, ForceChanger, StatusReader, PolicyReader,
// GroupResolver, HealthChecker, DomainOwner and Refresher.
type Directory struct {
	client *ldapdir.Client
	now    func() time.Time
}

var (
	_ directory.Directory        = (*Directory)(nil)
	_ directory.PasswordResetter = (*Directory)(nil)
	_ directory.PasswordChanger  = (*Directory)(nil)
	_ directory.Unlocker         = (*Directory)(nil)
	_ directory.ForceChanger     = (*Directory)(nil)
	_ directory.StatusReader     = (*Directory)(nil)
	_ directory.PolicyReader     = (*Directory)(nil)
	_ directory.GroupResolver    = (*Directory)(nil)
	_ directory.HealthChecker    = (*Directory)(nil)
	_ directory.DomainOwner      = (*Directory)(nil)
	_ directory.Refresher        = (*Directory)(nil)
)

// New returns a connector for cfg, with the AD preset filling empty fields.
// It does not contact the server; configuration problems are
// KindMisconfigured.
func New(cfg ldapdir.Config) (*Directory, error) {
	c, err := ldapdir.New(cfg.WithDefaults(Preset()))
	if err != nil {
		return nil, err
	}
	return &Directory{client: c, now: time.Now}, nil
}

// Name returns the configured name.
func (d *Directory) Name() string { return d.client.Name() }

// Config returns the effective configuration.
func (d *Directory) Config() ldapdir.Config { return d.client.Config() }

// Domains returns the configured domain names (Config.Domains).
func (d *Directory) Domains() []string { return d.client.Config().Domains }

// Close closes the pooled service connections.
func (d *Directory) Close() error { return d.client.Close() }

// RootDSE returns the discovered server capabilities (read at first use).
func (d *Directory) RootDSE(ctx context.Context) (*ldapdir.RootDSE, error) {
	return d.client.RootDSE(ctx)
}

// lookupStatusAttrs are the account-state attributes FindUser reads with
// the lookup, so that AccountStatus and EffectivePolicy of the user just
// found cost no further request: the stored ones, and msDS-ResultantPSO,
// which names the policy in force. The lock and the password expiry are
// derived from them and that (cached) policy, as AD derives its constructed
// msDS-User-Account-Control-Computed and msDS-UserPasswordExpiryTimeComputed:
// asked for in the search, each of those cost Samba about a millisecond per
// lookup, under the database lock its password writes wait for (issue 10).
var lookupStatusAttrs = append(storedStatusAttrs[:len(storedStatusAttrs):len(storedStatusAttrs)], resultantPSO)

// storedStatusAttrs are the lookup's attributes that the DC stores rather
// than constructs.
var storedStatusAttrs = []string{"userAccountControl", "lockoutTime", "accountExpires", "pwdLastSet",
	"adminCount", "badPwdCount", "badPasswordTime"}

// resultantPSO names the fine-grained policy in force (empty: the domain's).
// Samba constructs it at about a millisecond a search, so Refresh reuses
// the one the last lookup of the account read (ldapdir's
// RememberPolicySource, for the policy cache's TTL).
const resultantPSO = "msDS-ResultantPSO"

// statusAttrs are what a status read without a fresh lookup asks for: the
// lookup's attributes and the constructed ones themselves.
var statusAttrs = append([]string{"msDS-User-Account-Control-Computed", "msDS-UserPasswordExpiryTimeComputed"}, lookupStatusAttrs...)

// uacUnderivedExpiry are the userAccountControl bits for which AD's
// password-expiry rules have exceptions beyond "password never expires"
// (smart-card-only accounts; machine and trust accounts): for those the
// constructed attributes are read rather than derived.
const uacUnderivedExpiry = 0x40000 | 0x800 | 0x1000 | 0x2000

// uacDontExpirePassword is ADS_UF_DONT_EXPIRE_PASSWD.
const uacDontExpirePassword = 0x10000

// maxAgeFloor: Samba takes a maximum password age of a day or less as
// "never expires" where Windows would not; such a policy (outside what
// Windows lets an administrator set) has the DC compute the expiry.
const maxAgeFloor = 24 * time.Hour

// derivable reports whether the lock and the expiry of the looked-up entry
// e can be derived as AD derives them: an ordinary account (no smart-card,
// machine or trust exceptions) with a readable pwdLastSet.
func derivable(e *ldap.Entry) bool {
	if ldapdir.Atoi(e.GetAttributeValue("userAccountControl"))&uacUnderivedExpiry != 0 {
		return false
	}
	v := e.GetAttributeValue("pwdLastSet")
	_, ok := ldapdir.ParseFileTime(v)
	return v != "" && ok
}

// FindUser looks login up by sAMAccountName, userPrincipalName or mail (or
// the configured attributes), reading the account's state in the same
// search.
func (d *Directory) FindUser(ctx context.Context, login string) (*directory.User, error) {
	u, err := d.client.FindUserWithStatus(ctx, login, lookupStatusAttrs)
	if err == nil {
		d.client.RememberPolicySource(u.DN, u.StatusAttributes[resultantPSO])
		u.Note = d.client.PolicySourceNote(u.StatusAttributes[resultantPSO])
	}
	return u, err
}

// Refresh reads the account user names again by its DN, with what FindUser
// reads. The policy in force is the one its last lookup read while the
// policy cache holds (Config.PolicyCacheTTL), as the policy itself is: the
// DC still applies its own on the write. On a node that did not do that
// lookup it is the one the lookup's note (user.Note, kept by the flow)
// names, under the same age limit.
func (d *Directory) Refresh(ctx context.Context, user *directory.User) (*directory.User, error) {
	if user == nil {
		return nil, ldapdir.NoUser("search")
	}
	pso, known := d.client.PolicySource(user.DN)
	if !known {
		// A node that did not do the lookup: the flow kept what it read.
		if pso, known = d.client.NotedPolicySource(user.Note); known {
			d.client.RememberPolicySource(user.DN, pso)
		}
	}
	attrs := lookupStatusAttrs
	if known {
		attrs = storedStatusAttrs
	}
	u, err := d.client.ReadUser(ctx, user.DN, attrs)
	if err != nil {
		return nil, err
	}
	if known {
		u.StatusAttributes[resultantPSO] = pso
	} else {
		d.client.RememberPolicySource(u.DN, u.StatusAttributes[resultantPSO])
	}
	return u, nil
}

// VerifyPassword binds as the user on a fresh connection. The data code of a
// failed bind tells wrong password, locked, disabled, expired and
// must-change apart.
func (d *Directory) VerifyPassword(ctx context.Context, user *directory.User, password string) error {
	if user == nil {
		return ldapdir.NoUser("bind")
	}
	// A bind changes badPwdCount (or the lockout) either way.
	defer ldapdir.ForgetStatus(user)
	if _, err := d.client.VerifyPassword(ctx, user.DN, password); err != nil {
		return err
	}
	return nil
}

// ResetPassword sets the user's password as the service account, which
// needs the Reset-Password right on the user. It refuses plain LDAP. With
// UnlockOnReset (the AD default) a locked account is unlocked too, because
// AD keeps it locked otherwise: lockoutTime=0 goes in the same modify as the
// password, so no lockout can slip in between and the reset is one request.
// A service account that may reset but not unlock gets the password alone,
// and then the unlock only if the account is locked; if that unlock fails the
// error has Op directory.OpUnlockAfterReset and the new password IS in place.
//
// It does not look at AccountStatus.Protected: the flow must (see
// directory.PasswordResetter).
func (d *Directory) ResetPassword(ctx context.Context, user *directory.User, newPassword string) error {
	if user == nil {
		return ldapdir.NoUser("reset")
	}
	defer ldapdir.ForgetStatus(user)
	return d.client.WithWriteConn(ctx, "reset", func(conn *ldapdir.Conn) error {
		if err := d.client.RequireConfidential(conn, "reset"); err != nil {
			return err
		}
		var controls []ldap.Control
		if oid := d.policyHints(ctx, conn); oid != "" {
			controls = append(controls, policyHints{oid: oid})
		}
		write := func(unlock bool) error {
			req := ldap.NewModifyRequest(user.DN, controls)
			req.Replace("unicodePwd", []string{EncodePassword(newPassword)})
			if unlock {
				req.Replace("lockoutTime", []string{"0"})
			}
			return conn.Modify(req)
		}
		unlock := d.client.Config().UnlocksOnReset()
		err := write(unlock)
		if err == nil || !unlock || !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
			if err != nil {
				return d.passwordError(ctx, conn, "reset", user, err)
			}
			return nil
		}
		// No right to write lockoutTime (sspr directory check says so):
		// the password alone, then the unlock only when it is needed.
		if err := write(false); err != nil {
			return d.passwordError(ctx, conn, "reset", user, err)
		}
		e, err := conn.Read(user.DN, []string{"lockoutTime"})
		if err != nil {
			return ldapdir.UnlockAfterResetError(ctx, err)
		}
		if t, _ := ldapdir.ParseFileTime(e.GetAttributeValue("lockoutTime")); t.IsZero() {
			return nil
		}
		if err := unlockOn(conn, user.DN); err != nil {
			return ldapdir.UnlockAfterResetError(ctx, err)
		}
		return nil
	})
}

// passwordError maps a refused password write, filling the broken rules and
// the minimum length for a policy violation. The length is read on conn, or,
// when conn is nil, on a pooled service connection.
func (d *Directory) passwordError(ctx context.Context, conn *ldapdir.Conn, op string, user *directory.User, err error) error {
	e := ldapdir.MapError(ctx, op, err)
	if e.Kind == directory.KindPolicyViolation {
		e.Reasons = PolicyReasons(e.Diagnostic)
	}
	d.client.RefinePolicyViolation(ctx, conn, e, func(conn *ldapdir.Conn) {
		e.MinLength = d.minLength(ctx, conn, user, e.Diagnostic)
	})
	return e
}

// ChangePassword changes the password of a user who knows the old one: one
// modify deleting the old unicodePwd and adding the new, on a fresh
// connection bound as the user (never pooled). A user whose password must
// be changed or has expired cannot bind; the old password was right then
// (AD says 773 / 532 only after checking it), and the same modify is sent
// on a fresh service connection, where the old value still proves it. A
// wrong old password is KindInvalidCredentials; a locked account KindLocked.
func (d *Directory) ChangePassword(ctx context.Context, user *directory.User, oldPassword, newPassword string) error {
	if user == nil {
		return ldapdir.NoUser("change")
	}
	defer ldapdir.ForgetStatus(user)
	conn, _, err := d.client.UserConn(ctx, user.DN, oldPassword)
	if err != nil {
		switch directory.KindOf(err) {
		case directory.KindMustChange, directory.KindPasswordExpired:
			conn, err = d.client.FreshServiceConn(ctx)
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
	defer conn.Close()
	// The turn to write comes after the bind has shown the old password
	// right: a wrong one must be answered as such at once, whatever
	// writes are under way (a stranger cannot wait on, or hold, a turn).
	release, err := d.client.AcquireWrite(ctx, "change")
	if err != nil {
		return err
	}
	defer release()
	if err := d.client.RequireConfidential(conn, "change"); err != nil {
		return err
	}
	req := ldap.NewModifyRequest(user.DN, nil)
	req.Delete("unicodePwd", []string{EncodePassword(oldPassword)})
	req.Add("unicodePwd", []string{EncodePassword(newPassword)})
	if err := conn.Modify(req); err != nil {
		// The user's own connection may not read the policy: nil borrows
		// a service connection for the minimum length.
		return d.passwordError(ctx, nil, "change", user, err)
	}
	return nil
}

// Unlock clears a lockout (lockoutTime=0) without touching the password.
// The service account needs write access to lockoutTime.
func (d *Directory) Unlock(ctx context.Context, user *directory.User) error {
	if user == nil {
		return ldapdir.NoUser("unlock")
	}
	defer ldapdir.ForgetStatus(user)
	return d.client.WithWriteConn(ctx, "unlock", func(conn *ldapdir.Conn) error {
		return unlockOn(conn, user.DN)
	})
}

func unlockOn(conn *ldapdir.Conn, dn string) error {
	req := ldap.NewModifyRequest(dn, nil)
	req.Replace("lockoutTime", []string{"0"})
	return conn.Modify(req)
}

// SetMustChange sets (pwdLastSet=0) or clears (pwdLastSet=-1, "set now")
// "must change the password at next logon". The service account needs
// write access to pwdLastSet.
func (d *Directory) SetMustChange(ctx context.Context, user *directory.User, mustChange bool) error {
	if user == nil {
		return ldapdir.NoUser("must change")
	}
	v := "-1"
	if mustChange {
		v = "0"
	}
	defer ldapdir.ForgetStatus(user)
	return d.client.WithWriteConn(ctx, "must change", func(conn *ldapdir.Conn) error {
		req := ldap.NewModifyRequest(user.DN, nil)
		req.Replace("pwdLastSet", []string{v})
		return conn.Modify(req)
	})
}

// AccountStatus reads the account's state: locked (the computed
// userAccountControl bit, else lockoutTime against the lockout duration in
// force), disabled (userAccountControl 0x2 or Config.DisabledFilter), account
// expiry (accountExpires), password expiry (msDS-UserPasswordExpiryTimeComputed),
// must change (pwdLastSet=0), and Protected for adminCount=1 or membership of
// a configured protected group. For a user just looked up, the lock and the
// password expiry are derived from the lookup's attributes and the policy in
// force (statusOn).
func (d *Directory) AccountStatus(ctx context.Context, user *directory.User) (*directory.AccountStatus, error) {
	if user == nil {
		return nil, ldapdir.NoUser("status")
	}
	return ldapdir.WithServiceConnResult(ctx, d.client, "status", func(conn *ldapdir.Conn) (*directory.AccountStatus, error) {
		return d.statusOn(ctx, conn, user)
	})
}

// statusOn computes the status from the attributes FindUser read when they
// are fresh (no request; the lock and the expiry derived with the policy in
// force), else reads them, the constructed ones included, on conn.
func (d *Directory) statusOn(ctx context.Context, conn *ldapdir.Conn, user *directory.User) (*directory.AccountStatus, error) {
	dn := user.DN
	var derived *directory.PasswordPolicy
	e := d.client.StatusSnapshot(user, lookupStatusAttrs)
	if e != nil && derivable(e) {
		// Deriving needs the policy; without it the directory's own
		// computation is read instead.
		if p, err := d.policyOn(ctx, conn, user); err == nil && (p.MaxAge == 0 || p.MaxAge > maxAgeFloor) {
			derived = p
		}
	}
	if derived == nil {
		var err error
		if e, err = conn.Read(dn, statusAttrs); err != nil {
			return nil, err
		}
	}
	now := d.now()
	st := &directory.AccountStatus{}
	uac := ldapdir.Atoi(e.GetAttributeValue("userAccountControl"))
	computedRaw := e.GetAttributeValue("msDS-User-Account-Control-Computed")
	computed := ldapdir.Atoi(computedRaw)
	st.Disabled = uac&uacAccountDisable != 0
	st.FailedAttempts = ldapdir.Atoi(e.GetAttributeValue("badPwdCount"))
	if st.FailedAttempts > 0 {
		// AD keeps badPwdCount after the observation window has passed and
		// only forgets it at the next failure: older failures no longer
		// count towards a lockout.
		last, _ := ldapdir.ParseFileTime(e.GetAttributeValue("badPasswordTime"))
		if pol, perr := d.policyOn(ctx, conn, user); perr == nil && pol.LockoutWindow > 0 && !last.IsZero() && now.Sub(last) > pol.LockoutWindow {
			st.FailedAttempts = 0
		}
	}

	lockedAt, _ := ldapdir.ParseFileTime(e.GetAttributeValue("lockoutTime"))
	if !lockedAt.IsZero() {
		// Without a readable policy the lockout is taken to hold.
		var duration time.Duration
		if pol, perr := d.policyOn(ctx, conn, user); perr == nil {
			duration = pol.LockoutDuration
		}
		var ends time.Time
		st.Locked, ends = ldapdir.Lockout(now, lockedAt, duration)
		if computedRaw != "" {
			st.Locked = computed&uacLockout != 0
		}
		if st.Locked {
			st.LockedAt, st.LockoutEnds = lockedAt, ends
		}
	} else if computed&uacLockout != 0 {
		st.Locked = true
	}

	pwdLastSet := e.GetAttributeValue("pwdLastSet")
	st.MustChange = strings.TrimSpace(pwdLastSet) == "0"
	st.PasswordLastSet, _ = ldapdir.ParseFileTime(pwdLastSet)
	st.PasswordExpires, _ = ldapdir.ParseFileTime(e.GetAttributeValue("msDS-UserPasswordExpiryTimeComputed"))
	if derived != nil && !st.MustChange && !st.PasswordLastSet.IsZero() && derived.MaxAge > 0 && uac&uacDontExpirePassword == 0 {
		st.PasswordExpires = st.PasswordLastSet.Add(derived.MaxAge)
	}
	if !st.MustChange {
		st.PasswordExpired = computed&uacPasswordExpired != 0 ||
			(!st.PasswordExpires.IsZero() && !now.Before(st.PasswordExpires))
	}
	st.AccountExpires, _ = ldapdir.ParseFileTime(e.GetAttributeValue("accountExpires"))
	st.AccountExpired = !st.AccountExpires.IsZero() && !now.Before(st.AccountExpires)

	reason := ""
	if e.GetAttributeValue("adminCount") == "1" {
		reason = "adminCount=1 (a member, now or once, of a protected group such as Domain Admins)"
	}
	groups := func() ([]string, error) { return d.groupsOn(ctx, conn, dn) }
	if err := d.client.FinishStatus(ctx, conn, dn, st, groups, reason); err != nil {
		return nil, err
	}
	return st, nil
}

// EffectivePolicy reads the password policy in force for the user: the
// fine-grained policy (PSO) named by msDS-ResultantPSO, else the domain's.
// A PSO the service account may not read is KindAccessDenied rather than
// the domain policy, which would be wrong.
func (d *Directory) EffectivePolicy(ctx context.Context, user *directory.User) (*directory.PasswordPolicy, error) {
	if user == nil {
		return nil, ldapdir.NoUser("policy")
	}
	return ldapdir.WithServiceConnResult(ctx, d.client, "policy", func(conn *ldapdir.Conn) (*directory.PasswordPolicy, error) {
		return d.policyOn(ctx, conn, user)
	})
}

// policyOn returns the policy in force for user: which one (PSO or domain)
// from the attributes FindUser read when fresh, the policy itself from the
// client's cache (Config.PolicyCacheTTL) when it holds it.
func (d *Directory) policyOn(ctx context.Context, conn *ldapdir.Conn, user *directory.User) (*directory.PasswordPolicy, error) {
	u, err := d.client.StatusEntry(conn, user, []string{resultantPSO})
	if err != nil {
		return nil, ldapdir.MapError(ctx, "policy", err)
	}
	if pso := u.GetAttributeValue(resultantPSO); pso != "" {
		return d.client.CachedPolicy(pso, func() (*directory.PasswordPolicy, error) { return d.readPSO(ctx, conn, pso) })
	}
	domain := d.domainDN(ctx, conn)
	return d.client.CachedPolicy(domain, func() (*directory.PasswordPolicy, error) { return d.readDomainPolicy(ctx, conn, domain) })
}

// readPSO reads a fine-grained password policy. One the service account may
// not read is KindAccessDenied rather than the domain policy, which would
// be wrong.
func (d *Directory) readPSO(ctx context.Context, conn *ldapdir.Conn, pso string) (*directory.PasswordPolicy, error) {
	e, err := conn.Read(pso, []string{"msDS-MinimumPasswordLength", "msDS-PasswordComplexityEnabled",
		"msDS-PasswordHistoryLength", "msDS-MaximumPasswordAge", "msDS-MinimumPasswordAge",
		"msDS-LockoutThreshold", "msDS-LockoutDuration", "msDS-LockoutObservationWindow"})
	if err != nil || e.GetAttributeValue("msDS-MinimumPasswordLength") == "" {
		if err == nil {
			err = ldap.NewError(ldap.LDAPResultInsufficientAccessRights,
				errors.New("the fine-grained password policy "+pso+" is not readable by the service account"))
		}
		de := ldapdir.MapError(ctx, "policy", err)
		if de.Kind == directory.KindNotFound {
			de.Kind = directory.KindAccessDenied
		}
		return nil, de
	}
	return policyFrom(pso, e, "msDS-MinimumPasswordLength", "msDS-PasswordComplexityEnabled",
		"msDS-PasswordHistoryLength", "msDS-MaximumPasswordAge", "msDS-MinimumPasswordAge",
		"msDS-LockoutThreshold", "msDS-LockoutDuration", "msDS-LockoutObservationWindow"), nil
}

// readDomainPolicy reads the domain's password policy from the domain object.
func (d *Directory) readDomainPolicy(ctx context.Context, conn *ldapdir.Conn, domain string) (*directory.PasswordPolicy, error) {
	e, err := conn.Read(domain, []string{"minPwdLength", "pwdProperties", "pwdHistoryLength",
		"maxPwdAge", "minPwdAge", "lockoutThreshold", "lockoutDuration", "lockOutObservationWindow"})
	if err == nil && e.GetAttributeValue("maxPwdAge") == "" {
		// Every domain object has maxPwdAge: without it this is not the
		// domain, or the service account may not read its policy — an
		// empty policy would say "no lockout, never expires".
		err = ldap.NewError(ldap.LDAPResultInsufficientAccessRights,
			errors.New("the domain's password policy (maxPwdAge of "+domain+") is not readable by the service account"))
	}
	if err != nil {
		return nil, ldapdir.MapError(ctx, "policy", err)
	}
	return policyFrom("domain", e, "minPwdLength", "pwdProperties", "pwdHistoryLength", "maxPwdAge",
		"minPwdAge", "lockoutThreshold", "lockoutDuration", "lockOutObservationWindow"), nil
}

// policyFrom reads a policy from a PSO or the domain object; the attribute
// names come in the order min length, complexity, history, max age, min age,
// lockout threshold, duration, window. pwdProperties carries complexity in
// bit 1; a PSO says TRUE/FALSE.
func policyFrom(source string, e *ldap.Entry, attrs ...string) *directory.PasswordPolicy {
	get := e.GetEqualFoldAttributeValue
	p := &directory.PasswordPolicy{Source: source}
	p.MinLength = ldapdir.Atoi(get(attrs[0]))
	if c := get(attrs[1]); strings.EqualFold(c, "TRUE") || strings.EqualFold(c, "FALSE") {
		p.Complexity = ldapdir.IsTrue(c)
	} else {
		p.Complexity = ldapdir.Atoi(c)&1 != 0
	}
	p.HistoryLength = ldapdir.Atoi(get(attrs[2]))
	if d, never, _ := ldapdir.ParseADInterval(get(attrs[3])); !never {
		p.MaxAge = d
	}
	p.MinAge, _, _ = ldapdir.ParseADInterval(get(attrs[4]))
	p.LockoutThreshold = ldapdir.Atoi(get(attrs[5]))
	if d, never, _ := ldapdir.ParseADInterval(get(attrs[6])); !never {
		p.LockoutDuration = d
	}
	p.LockoutWindow, _, _ = ldapdir.ParseADInterval(get(attrs[7]))
	return p
}

// MatchesFilter reports whether the user's entry matches an LDAP filter
// (policies scoped by filter).
func (d *Directory) MatchesFilter(ctx context.Context, user *directory.User, filter string) (bool, error) {
	return d.client.MatchesFilter(ctx, user, filter)
}

// Groups lists every group the user is in, nested membership included, with
// the LDAP_MATCHING_RULE_IN_CHAIN (1.2.840.113556.1.4.1941), searched in the
// domain naming context. The primary group (Domain Users) is not listed: AD
// keeps it in primaryGroupID, not in member.
func (d *Directory) Groups(ctx context.Context, user *directory.User) ([]string, error) {
	if user == nil {
		return nil, ldapdir.NoUser("groups")
	}
	return ldapdir.WithServiceConnResult(ctx, d.client, "groups", func(conn *ldapdir.Conn) ([]string, error) {
		return d.groupsOn(ctx, conn, user.DN)
	})
}

func (d *Directory) groupsOn(ctx context.Context, conn *ldapdir.Conn, userDN string) ([]string, error) {
	filter := "(&(objectClass=group)(member:" + ldapdir.OIDMatchingRuleInChain + ":=" + ldap.EscapeFilter(userDN) + "))"
	res, err := conn.SearchWithPaging(ldap.NewSearchRequest(d.domainDN(ctx, conn), ldap.ScopeWholeSubtree,
		ldap.NeverDerefAliases, 0, int(d.client.Config().Timeout/time.Second), false, filter, []string{"1.1"}, nil), 500)
	if err != nil {
		return nil, ldapdir.MapError(ctx, "groups", err)
	}
	out := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		out = append(out, e.DN)
	}
	return out, nil
}

// domainDN is the domain naming context from the RootDSE, else BaseDN.
func (d *Directory) domainDN(ctx context.Context, conn *ldapdir.Conn) string {
	if dse, err := d.client.RootDSEOn(ctx, conn); err == nil && dse.DefaultNamingContext != "" {
		return dse.DefaultNamingContext
	}
	return d.client.Config().BaseDN
}

// policyHints returns the policy-hints control OID the server advertises,
// "" when none (Samba).
func (d *Directory) policyHints(ctx context.Context, conn *ldapdir.Conn) string {
	dse, err := d.client.RootDSEOn(ctx, conn)
	if err != nil {
		return ""
	}
	switch {
	case dse.SupportsControl(PolicyHintsOID):
		return PolicyHintsOID
	case dse.SupportsControl(PolicyHintsDeprecatedOID):
		return PolicyHintsDeprecatedOID
	}
	return ""
}

var minLengthTextRE = regexp.MustCompile(`(?i)longer than (\d+) characters`)

// minLength finds the minimum password length that applies to the user:
// Samba states it in its refusal; otherwise the policy in force (PSO or
// domain). 0 when it cannot be read.
func (d *Directory) minLength(ctx context.Context, conn *ldapdir.Conn, user *directory.User, diagnostic string) int {
	if m := minLengthTextRE.FindStringSubmatch(diagnostic); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			return n
		}
	}
	if p, err := d.policyOn(ctx, conn, user); err == nil {
		return p.MinLength
	}
	return 0
}

// PolicyReasons reads the broken rules out of AD's refusal text. Samba names
// the failing check ("check_password_restrictions: the password is too
// short..."); Windows AD says only 0000052D, which yields ReasonUnspecified.
func PolicyReasons(diagnostic string) []directory.Reason {
	text := strings.ToLower(diagnostic)
	var reasons []directory.Reason
	add := func(r directory.Reason) {
		for _, have := range reasons {
			if have == r {
				return
			}
		}
		reasons = append(reasons, r)
	}
	switch {
	case strings.Contains(text, "too short"):
		add(directory.ReasonTooShort)
	case strings.Contains(text, "too long"):
		add(directory.ReasonTooLong)
	}
	if strings.Contains(text, "dictionary") {
		add(directory.ReasonDictionary)
	}
	if strings.Contains(text, "user name") || strings.Contains(text, "account name") || strings.Contains(text, "username") {
		add(directory.ReasonContainsName)
	}
	if strings.Contains(text, "complexity") {
		add(directory.ReasonComplexity)
	}
	if strings.Contains(text, "history") || strings.Contains(text, "already used") {
		add(directory.ReasonHistory)
	}
	if strings.Contains(text, "too young") {
		add(directory.ReasonTooYoung)
	}
	if strings.Contains(text, "check password script") || strings.Contains(text, "password filter") {
		add(directory.ReasonQuality)
	}
	if len(reasons) == 0 {
		reasons = append(reasons, directory.ReasonUnspecified)
	}
	return reasons
}

// EncodePassword returns the unicodePwd value for password: the password in
// double quotes, encoded as UTF-16LE.
func EncodePassword(password string) string {
	units := utf16.Encode([]rune(`"` + password + `"`))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	return string(b)
}

// policyHints is the LDAP_SERVER_POLICY_HINTS control; its value is
// SEQUENCE { Flags INTEGER } with flag 1: enforce the policy.
type policyHints struct{ oid string }

// PolicyHints is the control (oid: PolicyHintsOID or the deprecated one)
// that makes an admin reset apply the password policy (history, minimum
// age), as ResetPassword sends it; for tools that measure the same write.
func PolicyHints(oid string) ldap.Control { return policyHints{oid: oid} }

func (c policyHints) GetControlType() string { return c.oid }

func (c policyHints) Encode() *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, c.oid, "Control Type (policy hints)"))
	p.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, true, "Criticality"))
	v := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Policy hints")
	v.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(1), "Flags"))
	value := ber.Encode(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, nil, "Control Value")
	value.AppendChild(v)
	p.AppendChild(value)
	return p
}

func (c policyHints) String() string { return "Policy hints (" + c.oid + ") critical, flags=1" }

// Ping says whether the directory answers now (directory.Pinger).
func (d *Directory) Ping(ctx context.Context) error { return d.client.Ping(ctx) }

// ObserveServers passes fn to the LDAP client (ldapdir.Client.ObserveServers).
func (d *Directory) ObserveServers(fn func(server string, err error, failover bool)) {
	d.client.ObserveServers(fn)
}

// ObserveOperations passes fn to the LDAP client
// (ldapdir.Client.ObserveOperations).
func (d *Directory) ObserveOperations(fn func(server, op string, took time.Duration, err error)) {
	d.client.ObserveOperations(fn)
}

// MailOf reads the mail address of the entry dn (a manager's).
func (d *Directory) MailOf(ctx context.Context, dn string) (string, error) {
	return d.client.MailOf(ctx, dn)
}
