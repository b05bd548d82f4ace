// Package demo is a small, real LDAP directory server that runs inside the
// sspr process, so that `sspr demo` works on a machine with nothing set up.
//
// It speaks the LDAP protocol on a loopback TCP port (via gldap) and holds a
// handful of inetOrgPerson users under ou=people,dc=demo,dc=sspr plus one
// service account. sspr talks to it with its ordinary OpenLDAP connector in
// "modify" mode, exactly as it would talk to a production OpenLDAP server, so
// the demo exercises the same code paths a real deployment does rather than a
// mock with its own rules.
//
// What it implements, as OpenLDAP would answer:
//
//   - simple bind as the service account or any entry with a userPassword;
//     a wrong password answers invalidCredentials (49). Anonymous binds are
//     accepted but only the RootDSE may be read anonymously.
//   - search: the RootDSE (base scope, empty base) and base, one-level and
//     subtree searches under the naming context, with real filter evaluation
//     (and, or, not, equality, substrings, presence, >=, <=, ~=) using
//     go-ldap's filter compiler, honouring the requested attribute list,
//     "*", "+", "1.1" and the size limit. userPassword is never returned and
//     never matched by a filter, as with a typical OpenLDAP ACL.
//   - modify of userPassword on a person entry, by the service account (a
//     reset) or by the person themself (a change; also the delete-old/add-new
//     form that proves the old password). New passwords pass through Rules;
//     a refusal answers constraintViolation (19) with OpenLDAP's ppolicy
//     diagnostic text and, when the request carried the password policy
//     request control, a ppolicy response control encoded as OpenLDAP's
//     slapo-ppolicy encodes it. Passwords are only ever kept as {SSHA} hashes.
//   - the "Who am I?" extended operation.
//
// Everything else answers a proper LDAP error (unwillingToPerform,
// insufficientAccessRights, noSuchObject, ...), never a crash. The server keeps
// its data in memory only: a restart gives the initial passwords back, which is
// what a demo wants.
package demo
