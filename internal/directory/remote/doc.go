// Package remote lets sspr reach a directory it cannot dial: an
// outbound-only connector (`sspr connector`) runs next to the directory,
// holds a real connector (ad, openldap) and dials out to the sspr server
// over TLS (a WebSocket on /connector/v1); the server's directory of type
// connector forwards each call of the directory interfaces over one of the
// connected connectors, so no inbound port is opened in the directory's
// network.
//
// Three parts:
//
//   - the wire protocol (protocol.go): one JSON message per WebSocket
//     message; a challenge, the connector's signed hello, a welcome, then
//     calls and results matched by id;
//   - the server side: Hub (an http.Handler) authenticates connectors with
//     their Ed25519 keys (the admin adds and revokes them; Credentials is
//     what the hub needs of the store) and hands each to its Directory,
//     which picks a live connector per call and fails over;
//   - the connector side: Connector dials, proves its key, executes calls
//     on the local directory and redials with backoff.
//
// Failover is safe: a read, an unlock or a must-change flag is retried on
// another connector when one dies; a password write or a bind only when it
// provably never left the server. A password write whose connector died
// after it was sent is settled by reading the account's password-last-set
// time through another connector (see Directory.write).
package remote
