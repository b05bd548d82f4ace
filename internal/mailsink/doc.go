// Package mailsink is a small, real SMTP server that keeps every message it
// receives in memory instead of delivering it.
//
// `sspr demo` uses it so that reset codes and notifications sent by the
// ordinary mail path (outbox → worker → SMTP) can be shown in the demo
// without any mail server set up; tests use it to assert on what sspr really
// sent over the wire — envelope, headers, text and HTML bodies — and, by
// closing and restarting it on the same address, to check that the outbox
// survives an SMTP server that is down for a while.
//
// Options can make it slow (a delay before every reply, or before
// accepting a message), refuse recipients, and Stats counts connections
// and concurrent transactions, for tests of SMTP clients.
//
// It speaks the subset of RFC 5321 that mail clients use: EHLO/HELO,
// STARTTLS (when given a tls.Config), AUTH PLAIN (when enabled; any
// credentials are accepted), MAIL FROM with the SIZE parameter, RCPT TO,
// DATA with dot-unstuffing, RSET, NOOP and QUIT, with a message size limit
// and per-command timeouts. It is not a mail transfer agent: it never relays.
//
// Received messages are parsed (net/mail, mime/multipart, quoted-printable
// and base64 transfer encodings, RFC 2047 encoded words, common charsets) so
// a multipart/alternative mail yields both its text and its HTML body.
package mailsink
