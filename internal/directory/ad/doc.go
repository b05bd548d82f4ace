// Package ad is the Active Directory connector (Windows AD and Samba AD DC).
//
// It finds users by sAMAccountName, userPrincipalName or mail, verifies
// passwords with a bind, and resets passwords as the service account by
// replacing unicodePwd (UTF-16LE of the quoted password; AD accepts this only
// over an encrypted connection). When the RootDSE advertises the
// policy-hints control (LDAP_SERVER_POLICY_HINTS_OID 1.2.840.113556.1.4.2239,
// or the older ...2066) it is sent with the reset so AD enforces password
// history on admin resets too; Samba does not advertise it and ignores it.
//
// A refusal (Win32 error 0000052D) becomes a KindPolicyViolation with the
// broken rules read from the server's text where the server names them (Samba
// does: "the password is too short", "does not meet the complexity criteria",
// "was already used (in history)"; Windows does not), and MinLength filled from
// the text, the user's resultant PSO, or the domain's minPwdLength.
//
// Beyond that it implements every capability: ChangePassword (delete old +
// add new unicodePwd, bound as the user on a fresh connection), Unlock
// (lockoutTime=0), SetMustChange (pwdLastSet 0 / -1), AccountStatus (computed
// userAccountControl, lockoutTime against the lockout duration in force,
// accountExpires, msDS-UserPasswordExpiryTimeComputed, pwdLastSet, adminCount
// and configured protected groups; for a user just looked up, the lock and
// the expiry are derived from the stored attributes and the policy in force
// instead of asking the DC to construct them in the lookup), Refresh (the
// password step's read of the account by its DN, reusing the lookup's
// msDS-ResultantPSO for the policy cache's TTL), EffectivePolicy
// (msDS-ResultantPSO, else the domain), Groups (LDAP_MATCHING_RULE_IN_CHAIN) and Check, which proves
// the service account's Reset-Password right from the user's security
// descriptor and its write access to lockoutTime / pwdLastSet from
// allowedAttributesEffective, without changing anything.
package ad
