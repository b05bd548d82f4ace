// Package factor defines how sspr proves who somebody is: each kind of
// factor (mailed or texted code, authenticator app, passkey, backup codes,
// questions answered from directory attributes, security questions) lives in
// its own package under factor/ and implements Factor.
//
// A factor knows nothing of HTTP, of policies or of the store. It turns a
// person's input into an Enrollment (opaque Secret bytes that the caller
// encrypts at rest), issues a Challenge (which may ask the caller to deliver
// a code by mail or SMS through the outbox), and verifies a Response against
// the state the challenge left. Everything a factor needs to remember between
// two steps is returned to the caller as bytes; the factor itself is
// stateless, so every node of a cluster can verify what another issued.
//
// Optional interfaces serve the rule that nobody learns from sspr whether an
// account exists: a Decoyer makes an enrollment, a DecoyChallenger a
// challenge, that presents like a real one (built from the configuration,
// never from a person's data) and never verifies; a Multi challenges several
// enrollments of a person at once, or none of them (passkeys: a
// discoverable-credential ceremony whose options are the same for
// everybody).
package factor
