// Package mail delivers composed messages to an SMTP relay: STARTTLS
// (required, not opportunistic, when configured), implicit TLS, or plain on
// loopback; optional AUTH; a MIME multipart/alternative body with a text and
// an HTML part. It implements notify.Sender; retries are the outbox's job.
package mail
