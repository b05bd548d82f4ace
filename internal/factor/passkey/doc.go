// Package passkey is the passkey / FIDO2 security key factor (WebAuthn),
// built on github.com/go-webauthn/webauthn.
//
// Enrollment runs a registration ceremony: BeginEnroll hands the browser
// PublicKeyCredentialCreationOptions (Prompt["options"]), the browser calls
// navigator.credentials.create and posts the attestation back as
// Response.JSON, and FinishEnroll verifies it and returns the credential as
// the enrollment's Secret. Verification runs an authentication ceremony:
// Challenge (one credential) or ChallengeAll (all of a person's, or none
// for a discoverable-credential ceremony, whose options are the same for
// everybody) hands out PublicKeyCredentialRequestOptions; Verify and
// VerifyAny check the assertion (that it names one of the given
// credentials and its user handle, challenge, origin, RP ID, signature,
// user presence, user verification as the configuration demands, the
// signature counter) and return the enrollment used with the counter
// raised. New registrations ask for a discoverable (resident) credential
// by default: only those can answer a ceremony that names none.
//
// The WebAuthn user handle is an HMAC of the directory and the DN under a
// server key, so it is stable for a person and reveals nothing; it is
// recorded in the credential at enrollment, so a renamed entry keeps its
// passkeys.
package passkey
