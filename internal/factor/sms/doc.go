// Package sms is the texted-code factor: a person enrolls a mobile number
// (typed, or taken from the directory's mobile attribute), and proves it by
// typing back a random numeric code sent by SMS through the outbox.
//
// The factor never keeps a code in clear: the challenge state holds an HMAC
// of the code (keyed by a server key, bound to the subject, the number and
// the expiry), so the state can travel with the flow and any node can check
// the answer. Attempt caps and single use are the flow's job.
package sms
