// Package ldapdir is the LDAP machinery the LDAP-based connectors (Active
// Directory, OpenLDAP, ...) share: configuration with defaults, dialing with
// failover over several servers and TLS from a CA file, the service-account
// bind, user lookup with escaped filters, password verification on a fresh
// connection that is never reused, the "is this connection confidential?"
// check that keeps every password (binds and writes) off plain LDAP unless
// Config.AllowInsecureBinds, and the mapping of LDAP result codes, AD
// data codes and ppolicy response controls into *directory.Error.
//
// It is not a connector: it implements no directory interface and knows no
// product's preset. Connectors (internal/directory/ad, .../openldap) fill in
// their presets with Config.WithDefaults, build a Client with New, and add the
// product-specific parts (how a password is written, how a refusal is worded).
//
// Service-account connections come from a bounded pool per directory
// (Config.PoolSize, idle timeout, a health check on checkout, each checkout
// tied to its context, each checkout its own handle); servers are tried in a health-aware order (one that
// just failed goes last for Config.FailedServerHoldDown). A connection bound
// as an end user is never pooled: it is dialled fresh and closed after use.
// The RootDSE is read at first use and cached (RootDSE: vendor, version,
// controls, extended operations, naming contexts, AD functional level).
// FindUserWithStatus reads a connector's account-state attributes with the
// lookup and StatusEntry answers from them while fresh; CachedPolicy keeps
// password policies per source for Config.PolicyCacheTTL (status.go).
// ReadUser reads an account found before again by its DN (one base read,
// held to the base DN and the user filter), for a step that knows whom it
// acts for. Account writes take turns (Config.WriteConcurrency,
// AcquireWrite, WithWriteConn) before they take a connection, so a DC
// that applies one password write at a time is not handed a queue that
// lookups wait behind.
// CheckBasics holds the health checks every LDAP connector shares; presets.go
// the product presets (AD, OpenLDAP, 389-DS, FreeIPA); groups.go nested
// group resolution; connector.go the steps every connector takes alike
// around its product-specific code (one operation on a pooled service
// connection, filling a refused password's details from the policy,
// finishing an account status, lockout arithmetic). ldapdirtest holds the
// helpers and shared checks of the connectors' tests.
package ldapdir
