package ldapdir

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
)

// DefaultTimeout bounds each dial and each operation when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config describes one LDAP directory and the service account sspr uses in it.
type Config struct {
	// Name is the configured name of the directory, copied into User.Directory.
	Name string
	// URLs are ldap:// or ldaps:// URLs, tried in order (failover).
	URLs []string
	// StartTLS upgrades ldap:// connections with StartTLS.
	StartTLS bool
	// CAFile is a PEM CA bundle to verify the server with; empty means the
	// system roots.
	CAFile string
	// InsecureSkipVerify disables certificate checks. Tests only.
	InsecureSkipVerify bool
	// AllowInsecureBinds lets sspr send passwords over a connection that is
	// not encrypted (ldap:// without StartTLS): the service account's bind,
	// a user's sign-in bind (VerifyPassword), the bind with the old password
	// of a change, and every password write. Off, each of these is refused
	// with KindConfidentialityRequired before the password leaves sspr. A
	// loopback address is no exception: nothing on the wire is encrypted
	// there either. Tests and the in-process demo directory only.
	AllowInsecureBinds bool
	// AllowInsecurePasswordWrites is the older name of AllowInsecureBinds
	// and means the same (binds included), so existing configurations keep
	// working. New code sets AllowInsecureBinds.
	AllowInsecurePasswordWrites bool
	// BindDN and BindPassword are the service account's credentials.
	BindDN, BindPassword string
	// BaseDN is where users are searched (subtree).
	BaseDN string
	// UserFilter is an extra filter ANDed into lookups, e.g.
	// (objectClass=user); may be empty.
	UserFilter string
	// LoginAttributes are the attributes a typed login may match, e.g.
	// sAMAccountName, userPrincipalName, mail.
	LoginAttributes []string
	// ExtraAttributes are read with every user lookup into User.Attributes
	// (for questions answered from directory attributes).
	ExtraAttributes []string
	// LoginNameAttribute is the canonical login attribute (sAMAccountName, uid).
	LoginNameAttribute string
	// MailAttribute holds the address codes are mailed to.
	MailAttribute string
	// DisplayNameAttribute holds a human-friendly name.
	DisplayNameAttribute string
	// Timeout bounds each dial and each operation.
	Timeout time.Duration

	// Domains are the domain names users of this directory type: NetBIOS
	// names (EXAMPLE, for EXAMPLE\alice) and DNS / UPN suffixes
	// (example.test, for alice@example.test). directory.Set routes qualified
	// logins by them.
	Domains []string
	// MobileAttribute holds the mobile number (default mobile).
	MobileAttribute string
	// ManagerAttribute holds the manager's DN (default manager).
	ManagerAttribute string

	// Flavor is the product's account model: FlavorAD, FlavorOpenLDAP
	// (ppolicy), Flavor389DS or FlavorFreeIPA. It decides which attributes
	// say locked, disabled, expired and must-change, and how an account is
	// unlocked. Presets set it.
	Flavor string
	// PasswordWrite is how a password is written: PasswordWriteUnicodePwd
	// (AD), PasswordWriteExop (RFC 3062 Password Modify) or
	// PasswordWriteModify (replace userPassword). Presets set it.
	PasswordWrite string
	// DisabledFilter, when set, is an LDAP filter that an account entry
	// matches when it is disabled, e.g. (nsAccountLock=TRUE) on 389-DS and
	// FreeIPA, or a site's own (employeeStatus=left) on OpenLDAP. On AD the
	// userAccountControl bit is read as well.
	DisabledFilter string
	// PasswordPolicyDN is the default password policy entry for users
	// without their own (OpenLDAP: the ppolicy_default entry, which slapd
	// does not show over LDAP; 389-DS: a cn=nsPwPolicyEntry to read instead
	// of cn=config). Empty: OpenLDAP uses the only pwdPolicy entry under
	// BaseDN, or the one named cn=default; 389-DS reads cn=config.
	PasswordPolicyDN string
	// UnlockOnReset clears a lockout after a successful reset. nil means
	// the preset's choice (AD: true; AD keeps an account locked after a
	// reset, OpenLDAP unlocks by itself). Use UnlocksOnReset to read it.
	UnlockOnReset *bool
	// ProtectedGroups are DNs of groups whose members (nested included)
	// are privileged: AccountStatus reports them as Protected. On AD,
	// adminCount=1 also counts.
	ProtectedGroups []string

	// GroupBaseDN is where groups are searched (default BaseDN).
	GroupBaseDN string
	// GroupFilter selects group entries for the nested-membership search on
	// directories without memberOf or the AD chain rule.
	GroupFilter string
	// GroupMemberAttributes are the attributes naming a group's members by
	// DN (member, uniqueMember).
	GroupMemberAttributes []string
	// MemberOfAttribute is the attribute listing an entry's direct groups,
	// when the directory maintains one (memberOf); empty means none.
	MemberOfAttribute string
	// MaxGroupDepth bounds nested-group resolution (default 10).
	MaxGroupDepth int

	// PoolSize is the most service-account connections open at once
	// (default DefaultPoolSize). Connections bound as an end user are never
	// pooled.
	PoolSize int
	// WriteConcurrency is the most account writes (reset, change,
	// unlock, must change) sent to the directory at once; more wait their
	// turn in sspr, up to Timeout. 0 takes the preset's (Active Directory:
	// DefaultADWriteConcurrency), negative or none in the preset means no
	// limit. A Samba DC applies one password write at a time,
	// tens of milliseconds of hashing each: writes queued at the DC made
	// every lookup wait behind them, so identify overran its padding under
	// load while the DC's throughput stayed the same (issue 10).
	WriteConcurrency int
	// PoolIdleTimeout closes a pooled connection unused this long
	// (default 2 minutes).
	PoolIdleTimeout time.Duration
	// FailedServerHoldDown is how long a server that just failed is tried
	// after the others (default 30 seconds).
	FailedServerHoldDown time.Duration
	// PolicyCacheTTL is how long a password policy read from the directory
	// (AD domain policy or PSO, ppolicy entry, ...) is reused for every
	// user under it (default 60 seconds; negative: read it every time).
	// A policy an administrator changes shows in sspr after at most this.
	PolicyCacheTTL time.Duration
}

// The account models (Config.Flavor).
const (
	FlavorAD       = "ad"
	FlavorOpenLDAP = "openldap"
	Flavor389DS    = "389ds"
	FlavorFreeIPA  = "freeipa"
)

// The password write methods (Config.PasswordWrite).
const (
	PasswordWriteUnicodePwd = "unicodePwd"
	PasswordWriteExop       = "exop"
	PasswordWriteModify     = "modify"
)

// Defaults for the connection settings.
const (
	// DefaultPoolSize: a flow step holds one service connection at a
	// time and for one request or two (FindUser, AccountStatus and
	// EffectivePolicy take one search together on a warm cache), so a
	// connection serves a few hundred steps a second; 8 covers the bursts
	// of a busy portal while staying far below what a domain controller
	// allows per client, and callers past it wait rather than fail.
	DefaultPoolSize             = 8
	DefaultADWriteConcurrency   = 2
	DefaultPoolIdleTimeout      = 2 * time.Minute
	DefaultPolicyCacheTTL       = 60 * time.Second
	DefaultFailedServerHoldDown = 30 * time.Second
	DefaultMaxGroupDepth        = 10
)

// InsecureBindsAllowed reports whether passwords may cross an unencrypted
// connection (AllowInsecureBinds or its older name).
func (c Config) InsecureBindsAllowed() bool {
	return c.AllowInsecureBinds || c.AllowInsecurePasswordWrites
}

// Bool returns a pointer to b, for Config.UnlockOnReset.
func Bool(b bool) *bool { return &b }

// UnlocksOnReset reports whether a successful reset also clears a lockout.
func (c Config) UnlocksOnReset() bool { return c.UnlockOnReset != nil && *c.UnlockOnReset }

// WithDefaults returns c with every empty field taken from preset, and the
// few settings no preset decides (mail, display name, timeout) defaulted.
// Connectors call it with their product preset.
func (c Config) WithDefaults(preset Config) Config {
	if c.Name == "" {
		c.Name = preset.Name
	}
	if len(c.URLs) == 0 {
		c.URLs = append([]string(nil), preset.URLs...)
	}
	if c.BaseDN == "" {
		c.BaseDN = preset.BaseDN
	}
	if c.UserFilter == "" {
		c.UserFilter = preset.UserFilter
	}
	if len(c.LoginAttributes) == 0 {
		c.LoginAttributes = append([]string(nil), preset.LoginAttributes...)
	}
	if c.LoginNameAttribute == "" {
		c.LoginNameAttribute = preset.LoginNameAttribute
	}
	if c.MailAttribute == "" {
		c.MailAttribute = preset.MailAttribute
	}
	if c.DisplayNameAttribute == "" {
		c.DisplayNameAttribute = preset.DisplayNameAttribute
	}
	if c.Timeout == 0 {
		c.Timeout = preset.Timeout
	}
	if len(c.Domains) == 0 {
		c.Domains = append([]string(nil), preset.Domains...)
	}
	str := func(dst *string, def ...string) {
		for _, d := range def {
			if *dst == "" {
				*dst = d
			}
		}
	}
	str(&c.MobileAttribute, preset.MobileAttribute, "mobile")
	str(&c.ManagerAttribute, preset.ManagerAttribute, "manager")
	str(&c.Flavor, preset.Flavor)
	str(&c.PasswordWrite, preset.PasswordWrite)
	str(&c.DisabledFilter, preset.DisabledFilter)
	str(&c.PasswordPolicyDN, preset.PasswordPolicyDN)
	if c.UnlockOnReset == nil && preset.UnlockOnReset != nil {
		c.UnlockOnReset = Bool(*preset.UnlockOnReset)
	}
	if len(c.ProtectedGroups) == 0 {
		c.ProtectedGroups = append([]string(nil), preset.ProtectedGroups...)
	}
	str(&c.GroupBaseDN, preset.GroupBaseDN, c.BaseDN)
	str(&c.GroupFilter, preset.GroupFilter, "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))")
	if len(c.GroupMemberAttributes) == 0 {
		c.GroupMemberAttributes = append([]string(nil), preset.GroupMemberAttributes...)
	}
	if len(c.GroupMemberAttributes) == 0 {
		c.GroupMemberAttributes = []string{"member", "uniqueMember"}
	}
	str(&c.MemberOfAttribute, preset.MemberOfAttribute)
	for _, d := range []struct {
		dst        *time.Duration
		preset, df time.Duration
	}{
		{&c.PoolIdleTimeout, preset.PoolIdleTimeout, DefaultPoolIdleTimeout},
		{&c.FailedServerHoldDown, preset.FailedServerHoldDown, DefaultFailedServerHoldDown},
		{&c.PolicyCacheTTL, preset.PolicyCacheTTL, DefaultPolicyCacheTTL},
	} {
		if *d.dst == 0 {
			*d.dst = d.preset
		}
		if *d.dst == 0 {
			*d.dst = d.df
		}
	}
	if c.PoolSize == 0 {
		c.PoolSize = preset.PoolSize
	}
	if c.WriteConcurrency == 0 {
		c.WriteConcurrency = preset.WriteConcurrency
	}
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.MaxGroupDepth == 0 {
		c.MaxGroupDepth = preset.MaxGroupDepth
	}
	if c.MaxGroupDepth == 0 {
		c.MaxGroupDepth = DefaultMaxGroupDepth
	}
	if c.MailAttribute == "" {
		c.MailAttribute = "mail"
	}
	if c.DisplayNameAttribute == "" {
		c.DisplayNameAttribute = "displayName"
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.LoginNameAttribute == "" && len(c.LoginAttributes) > 0 {
		c.LoginNameAttribute = c.LoginAttributes[0]
	}
	if len(c.LoginAttributes) == 0 && c.LoginNameAttribute != "" {
		c.LoginAttributes = []string{c.LoginNameAttribute}
	}
	return c
}

// Validate reports every problem with c at once, as a KindMisconfigured
// *directory.Error naming the fields.
func (c Config) Validate() error {
	var problems []string
	if len(c.URLs) == 0 {
		problems = append(problems, "URLs: at least one ldap:// or ldaps:// URL is required")
	}
	for i, raw := range c.URLs {
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("URLs[%d]: %v", i, err))
		case u.Scheme != "ldap" && u.Scheme != "ldaps":
			problems = append(problems, fmt.Sprintf("URLs[%d]: scheme must be ldap or ldaps, not %q", i, u.Scheme))
		case u.Host == "":
			problems = append(problems, fmt.Sprintf("URLs[%d]: no host in %q", i, raw))
		case u.Scheme == "ldaps" && c.StartTLS:
			problems = append(problems, fmt.Sprintf("URLs[%d]: StartTLS cannot be used with ldaps:// (%s)", i, raw))
		}
	}
	if c.BaseDN == "" {
		problems = append(problems, "BaseDN: required")
	} else if _, err := ldap.ParseDN(c.BaseDN); err != nil {
		problems = append(problems, fmt.Sprintf("BaseDN: %v", err))
	}
	if c.BindDN != "" && c.BindPassword == "" {
		problems = append(problems, "BindPassword: required with BindDN")
	}
	if c.UserFilter != "" {
		if _, err := ldap.CompileFilter(c.UserFilter); err != nil {
			problems = append(problems, fmt.Sprintf("UserFilter: %q: %v", c.UserFilter, err))
		}
	}
	if len(c.LoginAttributes) == 0 {
		problems = append(problems, "LoginAttributes: at least one attribute is required")
	}
	for i, a := range c.LoginAttributes {
		if !validAttributeName(a) {
			problems = append(problems, fmt.Sprintf("LoginAttributes[%d]: %q is not an attribute name", i, a))
		}
	}
	for field, a := range map[string]string{
		"LoginNameAttribute":   c.LoginNameAttribute,
		"MailAttribute":        c.MailAttribute,
		"DisplayNameAttribute": c.DisplayNameAttribute,
	} {
		if !validAttributeName(a) {
			problems = append(problems, fmt.Sprintf("%s: %q is not an attribute name", field, a))
		}
	}
	for field, a := range map[string]string{
		"MobileAttribute":   c.MobileAttribute,
		"ManagerAttribute":  c.ManagerAttribute,
		"MemberOfAttribute": c.MemberOfAttribute,
	} {
		if a != "" && !validAttributeName(a) {
			problems = append(problems, fmt.Sprintf("%s: %q is not an attribute name", field, a))
		}
	}
	for i, a := range c.GroupMemberAttributes {
		if !validAttributeName(a) {
			problems = append(problems, fmt.Sprintf("GroupMemberAttributes[%d]: %q is not an attribute name", i, a))
		}
	}
	for field, f := range map[string]string{"DisabledFilter": c.DisabledFilter, "GroupFilter": c.GroupFilter} {
		if f == "" {
			continue
		}
		if _, err := ldap.CompileFilter(f); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %q: %v", field, f, err))
		}
	}
	switch c.Flavor {
	case "", FlavorAD, FlavorOpenLDAP, Flavor389DS, FlavorFreeIPA:
	default:
		problems = append(problems, fmt.Sprintf("Flavor: %q is not one of %s, %s, %s, %s", c.Flavor,
			FlavorAD, FlavorOpenLDAP, Flavor389DS, FlavorFreeIPA))
	}
	switch c.PasswordWrite {
	case "", PasswordWriteUnicodePwd, PasswordWriteExop, PasswordWriteModify:
	default:
		problems = append(problems, fmt.Sprintf("PasswordWrite: %q is not one of %s, %s, %s", c.PasswordWrite,
			PasswordWriteUnicodePwd, PasswordWriteExop, PasswordWriteModify))
	}
	for i, dn := range c.ProtectedGroups {
		if _, err := ldap.ParseDN(dn); err != nil || dn == "" {
			problems = append(problems, fmt.Sprintf("ProtectedGroups[%d]: %q is not a DN", i, dn))
		}
	}
	if c.PasswordPolicyDN != "" {
		if _, err := ldap.ParseDN(c.PasswordPolicyDN); err != nil {
			problems = append(problems, fmt.Sprintf("PasswordPolicyDN: %v", err))
		}
	}
	if c.GroupBaseDN != "" {
		if _, err := ldap.ParseDN(c.GroupBaseDN); err != nil {
			problems = append(problems, fmt.Sprintf("GroupBaseDN: %v", err))
		}
	}
	for i, d := range c.Domains {
		if strings.TrimSpace(d) == "" || strings.ContainsAny(d, "\\@ ") {
			problems = append(problems, fmt.Sprintf("Domains[%d]: %q is not a domain name", i, d))
		}
	}
	if c.PoolSize < 0 || c.PoolSize > 64 {
		problems = append(problems, fmt.Sprintf("PoolSize: %d is outside 1..64", c.PoolSize))
	}
	if c.WriteConcurrency > 64 {
		problems = append(problems, fmt.Sprintf("WriteConcurrency: %d is above 64", c.WriteConcurrency))
	}
	if c.MaxGroupDepth < 0 || c.MaxGroupDepth > 100 {
		problems = append(problems, fmt.Sprintf("MaxGroupDepth: %d is outside 1..100", c.MaxGroupDepth))
	}
	if len(problems) == 0 {
		return nil
	}
	return &directory.Error{
		Kind:       directory.KindMisconfigured,
		Op:         "config",
		Diagnostic: strings.Join(problems, "; "),
	}
}

// validAttributeName accepts attribute descriptions (names or OIDs, with
// options); it keeps filter syntax out of attribute positions.
func validAttributeName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == ';':
		default:
			return false
		}
	}
	return true
}
