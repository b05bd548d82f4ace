// Package hook runs site-specific code before and after a password
// change: a command (the password on its standard input, never in its
// arguments or environment, with a timeout) or a webhook (a JSON POST
// signed with HMAC-SHA256 in the X-Sspr-Signature header).
//
// As a pre-hook (Check) it can refuse the change: a command exiting
// non-zero, or a webhook answering 4xx, stops it, and the first line it
// printed (or the "message" of its JSON answer) is shown to the person.
// As a post-hook (SetPassword, a sync target) it runs through the outbox
// after the change: a command exiting 75 (EX_TEMPFAIL) or timing out, or a
// webhook answering 429/5xx, is tried again; other failures are given up
// and the admins alerted.
package hook
