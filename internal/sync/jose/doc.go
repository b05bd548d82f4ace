// Package jose signs the compact RS256 JWTs the cloud sync targets send
// to their token endpoints (RFC 7523 assertions for Entra ID and Google).
// A few lines, so that no JOSE library is needed for one algorithm.
package jose
