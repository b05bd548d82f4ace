// Package sms sends text messages (one-time codes, notifications) through a
// provider behind the small Sender interface, and turns what people type as
// a phone number into E.164.
//
// Three providers live in sub-packages: twilio (Twilio's Messages API or
// anything that speaks it), webhook (a generic HTTP gateway described in the
// configuration: URL, headers, body template, success rule) and emailgateway
// (carrier email-to-SMS addresses, sent through the mail outbox). The
// smstest package holds local servers that speak these protocols, for tests.
//
// A Sender's error tells the outbox what to do next: a *PermanentError (an
// invalid or unreachable number, a recipient who opted out) will never
// succeed, so the message is given up at once; any other error (a 5xx, a
// 429, a timeout, refused credentials) is retried with backoff. The outbox
// tells the two apart by behaviour — the error's Permanent method — so this
// package and its providers import nothing from the outbox.
package sms
