// Package directory defines what sspr needs from a user directory (Active
// Directory, OpenLDAP, the embedded demo directory, ...) and the typed errors
// every connector maps its wire-level failures to.
//
// The base interface is deliberately small: find a user, verify a password.
// Everything a directory may or may not be able to do (reset, change, unlock,
// ...) is a separate capability interface, discovered by type assertion, so a
// flow can ask "can this directory reset?" without knowing which product it
// talks to. Nobody above a connector matches error text: connectors translate
// LDAP result codes, AD extended codes and ppolicy controls into *Error values.
package directory
