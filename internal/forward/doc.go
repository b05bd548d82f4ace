// Package forward sends audit events, after they are committed, to the
// systems that watch over sspr: webhooks (signed JSON, see Sign and
// VerifySignature), a SIEM collector over syslog on TLS (RFC 5424 messages,
// RFC 5425 octet-counted framing) and a JSON-lines file.
//
// The audit log itself is the durable queue: each sink keeps a cursor in the
// store (how far along the log it has delivered), so an event is never sent
// before its transaction committed, a sink that is down delays its events
// without losing any, and a delivered event is not sent again (a crash
// between a receiver's answer and the cursor's update is the one case that
// repeats one; webhook receivers can drop repeats by the Sspr-Delivery
// header). Delivery runs in its own loop and never holds up a request.
package forward
