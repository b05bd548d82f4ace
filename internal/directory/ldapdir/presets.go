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

// Preset389DS is 389 Directory Server (and Red Hat Directory Server): uid /
// mail logins, Password Modify, its own password policy attributes
// (passwordExpirationTime, accountUnlockTime, passwordRetryCount) and
// nsAccountLock for disabled accounts; the memberOf plug-in is assumed.
func Preset389DS() Config {
	return Config{
		Name:                  "389ds",
		UserFilter:            "(objectClass=inetOrgPerson)",
		LoginAttributes:       []string{"uid", "mail"},
		LoginNameAttribute:    "uid",
		MailAttribute:         "mail",
		DisplayNameAttribute:  "displayName",
		MobileAttribute:       "mobile",
		ManagerAttribute:      "manager",
		Flavor:                Flavor389DS,
		PasswordWrite:         PasswordWriteExop,
		DisabledFilter:        "(nsAccountLock=TRUE)",
		UnlockOnReset:         Bool(true),
		GroupFilter:           "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
		GroupMemberAttributes: []string{"member", "uniqueMember"},
		MemberOfAttribute:     "memberOf",
	}
}

// PresetFreeIPA is FreeIPA (389-DS underneath, Kerberos attributes on top):
// users are posixAccount entries under cn=users,cn=accounts, Password Modify
// writes, krbPasswordExpiration / krbLoginFailedCount / nsAccountLock for the
// account model, memberOf maintained.
func PresetFreeIPA() Config {
	return Config{
		Name:                  "freeipa",
		UserFilter:            "(&(objectClass=posixAccount)(objectClass=krbPrincipalAux))",
		LoginAttributes:       []string{"uid", "mail", "krbPrincipalName"},
		LoginNameAttribute:    "uid",
		MailAttribute:         "mail",
		DisplayNameAttribute:  "displayName",
		MobileAttribute:       "mobile",
		ManagerAttribute:      "manager",
		Flavor:                FlavorFreeIPA,
		PasswordWrite:         PasswordWriteExop,
		DisabledFilter:        "(nsAccountLock=TRUE)",
		UnlockOnReset:         Bool(true),
		GroupFilter:           "(objectClass=groupOfNames)",
		GroupMemberAttributes: []string{"member"},
		MemberOfAttribute:     "memberOf",
	}
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
