package ldapdir

import "sort"

// The product presets. Each is a Config with only the product's conventions
// filled in; a deployment's own settings win key by key through
// Config.WithDefaults(preset).

// PresetActiveDirectory is Windows Active Directory and Samba AD DC:
// sAMAccountName / userPrincipalName / mail logins, unicodePwd writes, the
// userAccountControl account model, nested groups through the
// LDAP_MATCHING_RULE_IN_CHAIN, and unlock on reset (AD keeps an account
// locked after an admin reset).
func PresetActiveDirectory() Config {
	return Config{
		Name:                  "ad",
		UserFilter:            "(&(objectCategory=person)(objectClass=user))",
		LoginAttributes:       []string{"sAMAccountName", "userPrincipalName", "mail"},
		LoginNameAttribute:    "sAMAccountName",
		MailAttribute:         "mail",
		DisplayNameAttribute:  "displayName",
		MobileAttribute:       "mobile",
		ManagerAttribute:      "manager",
		Flavor:                FlavorAD,
		PasswordWrite:         PasswordWriteUnicodePwd,
		UnlockOnReset:         Bool(true),
		GroupFilter:           "(objectClass=group)",
		GroupMemberAttributes: []string{"member"},
		MemberOfAttribute:     "memberOf",
		WriteConcurrency:      DefaultADWriteConcurrency,
	}
}

// PresetOpenLDAP is OpenLDAP slapd with the ppolicy overlay: uid / mail
// logins on inetOrgPerson, the Password Modify extended operation, the
// pwdAccountLockedTime / pwdReset / pwdChangedTime account model. memberOf is
// not assumed (the overlay is optional): groups are resolved by searching
// groupOfNames / groupOfUniqueNames.
func PresetOpenLDAP() Config {
	return Config{
		Name:                  "openldap",
		UserFilter:            "(objectClass=inetOrgPerson)",
		LoginAttributes:       []string{"uid", "mail"},
		LoginNameAttribute:    "uid",
		MailAttribute:         "mail",
		DisplayNameAttribute:  "displayName",
		MobileAttribute:       "mobile",
		ManagerAttribute:      "manager",
		Flavor:                FlavorOpenLDAP,
		PasswordWrite:         PasswordWriteExop,
		UnlockOnReset:         Bool(false), // ppolicy unlocks on any password change
		GroupFilter:           "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
		GroupMemberAttributes: []string{"member", "uniqueMember"},
	}
}

// Preset389DS is 389 Directory Server (and Red Hat Directory Server): the
// OpenLDAP conventions (uid / mail logins on inetOrgPerson, Password Modify,
// groupOfNames / groupOfUniqueNames) with its own password policy attributes
// (passwordExpirationTime, accountUnlockTime, passwordRetryCount),
// nsAccountLock for disabled accounts, the lockout cleared after a reset,
// and the memberOf plug-in assumed.
func Preset389DS() Config {
	c := PresetOpenLDAP()
	c.Name = "389ds"
	c.Flavor = Flavor389DS
	c.DisabledFilter = "(nsAccountLock=TRUE)"
	c.UnlockOnReset = Bool(true)
	c.MemberOfAttribute = "memberOf"
	return c
}

// PresetFreeIPA is FreeIPA: 389-DS underneath (Preset389DS), Kerberos
// attributes on top. Users are posixAccount entries under
// cn=users,cn=accounts, who may also log in with their Kerberos principal;
// krbPasswordExpiration / krbLoginFailedCount / nsAccountLock are the account
// model; groups are groupOfNames with memberOf maintained.
func PresetFreeIPA() Config {
	c := Preset389DS()
	c.Name = "freeipa"
	c.Flavor = FlavorFreeIPA
	c.UserFilter = "(&(objectClass=posixAccount)(objectClass=krbPrincipalAux))"
	c.LoginAttributes = []string{"uid", "mail", "krbPrincipalName"}
	c.GroupFilter = "(objectClass=groupOfNames)"
	c.GroupMemberAttributes = []string{"member"}
	return c
}

var presets = map[string]func() Config{
	FlavorAD:       PresetActiveDirectory,
	FlavorOpenLDAP: PresetOpenLDAP,
	Flavor389DS:    Preset389DS,
	FlavorFreeIPA:  PresetFreeIPA,
}

// Preset returns the preset for a product name ("ad", "openldap", "389ds",
// "freeipa").
func Preset(name string) (Config, bool) {
	p, ok := presets[name]
	if !ok {
		return Config{}, false
	}
	return p(), true
}

// PresetNames lists the names Preset knows, sorted.
func PresetNames() []string {
	out := make([]string, 0, len(presets))
	for n := range presets {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
