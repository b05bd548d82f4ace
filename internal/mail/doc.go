// Package mail delivers composed messages to an SMTP relay: STARTTLS
// (required, not opportunistic, when configured), implicit TLS, or plain on
// loopback; optional AUTH; a MIME multipart/alternative body with a text and
// an HTML part. Connections are kept and reused between messages.
//
// It implements the outbox's Sender; retries are the outbox's job. A
// failure retrying cannot fix is a *PermanentError, recognised by its
// behaviour (a Permanent method), so this package needs nothing from the
// outbox's.
package mail
