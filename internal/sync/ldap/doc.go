// Package ldap is the sync target for another directory (AD, OpenLDAP,
// 389-DS) reached through its ordinary connector (internal/directory):
// the person is found there by the mapped value (through the connector's
// login attributes, so map by an attribute the connector searches: uid,
// mail, userPrincipalName) and the password is set by the connector's
// administrative reset, with every rule that connector already keeps
// (AD policy hints, ppolicy).
package ldap
