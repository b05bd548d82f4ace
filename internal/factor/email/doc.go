// Package email is the mailed-code factor: a person enrolls a mail address
// (typed, or taken from the directory's mail attribute), and proves it by
// typing back a random numeric code mailed through the outbox.
//
// The factor never keeps a code in clear: the challenge state holds an HMAC
// of the code (keyed by a server key, bound to the subject, the address and
// the expiry), so the state can travel with the flow and any node can check
// the answer. Attempt caps and single use are the flow's job.
package email
