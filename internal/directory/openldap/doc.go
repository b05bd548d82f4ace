// Package openldap is the OpenLDAP connector (and, with PasswordWrite
// "modify", the connector for directories that take password writes as plain
// attribute modifies, such as sspr's embedded demo directory).
//
// It finds users by uid or mail, verifies passwords with a bind that carries
// the ppolicy request control (so a locked account or a password that must be
// changed is reported as such), and resets passwords as the service account,
// either with the Password Modify extended operation (RFC 3062) or by
// replacing userPassword, always with the ppolicy request control. slapd's
// ppolicy overlay then names the broken rule in its response control (too
// short, in history, insufficient quality, ...), which becomes the Reasons of
// a KindPolicyViolation. The service account should have `write`, not
// `manage`, on userPassword: with manage (or as the rootDN) ppolicy skips its
// quality and history checks.
//
// With Config.Flavor "389ds" or "freeipa" (ldapdir.Preset389DS,
// PresetFreeIPA) the same connector serves 389 Directory Server and FreeIPA:
// only the attributes that hold an account's state differ (see
// AccountStatus, Unlock, SetMustChange, EffectivePolicy). An account an
// administrator locked for good (pwdAccountLockedTime 000001010000Z) is
// reported as disabled, and Unlock leaves it so.
package openldap
