// Package ldapdir is the LDAP machinery the LDAP-based connectors (Active
// Directory, OpenLDAP, ...) share: configuration with defaults, dialing with
// failover over several servers and TLS from a CA file, the service-account
// bind, user lookup with escaped filters, password verification on a fresh
// connection that is never reused, the "is this connection confidential?"
// check that guards password writes, and the mapping of LDAP result codes, AD
// data codes and ppolicy response controls into *directory.Error.
//
// It is not a connector: it implements no directory interface and knows no
// product's preset. Connectors (internal/directory/ad, .../openldap) fill in
// their presets with Config.WithDefaults, build a Client with New, and add the
// product-specific parts (how a password is written, how a refusal is worded).
//
// A connection is opened per operation for now (go-ldap has no pool); a
// connection bound as an end user is always closed after that one bind.
package ldapdir
