// Package totp is the authenticator-app factor: time-based one-time
// passwords (RFC 6238) as produced by Google Authenticator, Microsoft
// Authenticator, FreeOTP, 1Password, oathtool and any other RFC 6238 app.
//
// Enrollment: BeginEnroll draws a random seed (20 bytes for SHA-1, 32 for
// SHA-256, 64 for SHA-512) and returns a prompt with the otpauth:// URI, the
// seed in base32 for manual entry (grouped in fours) and a QR code of the URI
// as a PNG data: URI; the pending seed travels in Challenge.State, which the
// caller stores encrypted with the flow. FinishEnroll counts the enrollment
// only when the person's current code verifies, so a mistyped seed never
// becomes a factor.
//
// Enrollment.Secret holds the seed, its parameters (algorithm, digits,
// period: changing the configuration later does not break existing
// enrollments) and the last time step that was accepted. Verify refuses any
// code of a time step at or before that one (factor.ErrReplayed) and returns
// the enrollment with the new step, which the caller must store back before
// it reports success: a used time step can never be replayed, not even
// within the skew window. Two verifications racing on the same enrollment
// are the caller's to serialise (store the updated enrollment with a
// compare-and-swap on the old Secret).
//
// Codes are compared in constant time against every step of the window
// (Config.Skew steps either side of now), so timing does not tell which
// step, if any, matched.
package totp
