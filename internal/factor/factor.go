package factor

import (
	"context"
	"errors"
	"time"
)

// Kind names a kind of factor; it is stored with enrollments and appears in
// policies, audit records and the API.
type Kind string

// The kinds of factor.
const (
	Email       Kind = "email"
	SMS         Kind = "sms"
	TOTP        Kind = "totp"
	Passkey     Kind = "passkey"
	BackupCodes Kind = "backup_codes"
	Attributes  Kind = "attributes"
	Questions   Kind = "questions"
)

// Subject is the person a factor works for.
type Subject struct {
	Directory   string
	DN          string
	Login       string
	DisplayName string
	// Attributes are directory attributes the factor may use (attribute
	// questions, pre-enrollment from mail / mobile).
	Attributes map[string][]string
}

// Enrollment is one registered factor of one person.
type Enrollment struct {
	ID   string
	Kind Kind
	// Label is safe to show: a masked destination ("j***@e***.com",
	// "+1 *** *** **42"), "Authenticator app", a passkey's name.
	Label string
	// Secret is the factor's private data (a TOTP seed, a phone number,
	// hashed backup codes, a passkey credential). The caller stores it
	// encrypted and never shows it.
	Secret    []byte
	CreatedAt time.Time
	// LastUsedAt helps people recognise their factors.
	LastUsedAt time.Time
}

// Delivery asks the caller to send a code to a destination, through the
// outbox, in the same transaction as the challenge.
type Delivery struct {
	// Channel is "email" or "sms".
	Channel string
	// To is the destination (mail address, E.164 phone number).
	To string
	// Code is the one-time code to deliver.
	Code string
}

// Challenge is what a verification (or enrollment) step asks of a person.
type Challenge struct {
	// Prompt is data the face shows or hands to the client: which
	// questions to answer, WebAuthn options (JSON), the code length, a QR
	// code for enrollment, ...
	Prompt map[string]any
	// Deliver, when set, is a code to send.
	Deliver *Delivery
	// State is what Verify (or FinishEnroll) needs later, opaque to the
	// caller, which stores it with the flow (encrypted) until the response.
	State []byte
	// Expires bounds the state's validity.
	Expires time.Time
}

// Response is a person's answer to a challenge: form values or a JSON
// document (WebAuthn), as the factor's prompt asked.
type Response struct {
	Values map[string]string
	JSON   []byte
}

// Factor is implemented by every kind of factor.
type Factor interface {
	Kind() Kind
	// NeedsEnrollment is false for factors that work from directory data
	// alone (attribute questions).
	NeedsEnrollment() bool
	// BeginEnroll starts registering a factor for s; input carries what
	// the person typed (a phone number, ...).
	BeginEnroll(ctx context.Context, s Subject, input Response) (Challenge, error)
	// FinishEnroll completes the registration with the person's response
	// (the code they received, the TOTP code from their app, the passkey
	// attestation) and returns the enrollment to store.
	FinishEnroll(ctx context.Context, s Subject, state []byte, resp Response) (Enrollment, error)
	// Challenge starts a verification against enrollment e.
	Challenge(ctx context.Context, s Subject, e Enrollment) (Challenge, error)
	// Verify checks resp. On success it returns the enrollment to store
	// back (a used backup code removed, a TOTP step remembered, a passkey
	// counter raised); on failure ErrWrongResponse (or another error).
	Verify(ctx context.Context, s Subject, e Enrollment, state []byte, resp Response) (Enrollment, error)
}

// Errors a factor returns.
var (
	// ErrWrongResponse: the response does not prove the factor. It costs
	// an attempt.
	ErrWrongResponse = errors.New("factor: wrong response")
	// ErrExpired: the challenge is too old; ask for a new one.
	ErrExpired = errors.New("factor: challenge expired")
	// ErrForeignAnswer: the response belongs to another challenge (an
	// identity provider's answer whose state or RelayState, random per
	// challenge, is not this one's). It proves nothing and guesses
	// nothing, so it costs no attempt: answers of redirect factors reach
	// sspr through the person's browser, where anyone can send them.
	ErrForeignAnswer = errors.New("factor: the answer belongs to another challenge")
	// ErrReplayed: a one-time response was used already (a TOTP step).
	ErrReplayed = errors.New("factor: response already used")
	// ErrNotAvailable: this factor cannot work for this person (no
	// attribute values, no codes left).
	ErrNotAvailable = errors.New("factor: not available for this person")
	// ErrBadInput: enrollment input is malformed (not a phone number, ...).
	ErrBadInput = errors.New("factor: bad input")
)

// Decoyer is implemented by factors whose challenge depends on the
// enrollment (a passkey's credential list, a question subset): it makes an
// enrollment that Challenge accepts and presents like a real one, but that
// can never verify. sspr issues decoy challenges for people who do not
// exist or have not enrolled the factor, so the answer to the outside is
// the same.
type Decoyer interface {
	DecoyEnrollment(s Subject) Enrollment
}

// Multi is implemented by factors whose one challenge can cover several
// enrollments of a person at once (a WebAuthn ceremony listing every
// passkey), or none of them: a challenge made from no enrollment names
// nothing of the person (a discoverable-credential ceremony, whose options
// are the same for everybody), and any enrollment given to VerifyAny may
// answer it.
type Multi interface {
	// ChallengeAll starts one verification that any of es may answer;
	// with es empty the challenge names no enrollment at all.
	ChallengeAll(ctx context.Context, s Subject, es []Enrollment) (Challenge, error)
	// VerifyAny checks resp against the enrollments es and returns the one
	// that answered, updated as Verify would (its ID kept). Failures are
	// as for Verify.
	VerifyAny(ctx context.Context, s Subject, es []Enrollment, state []byte, resp Response) (Enrollment, error)
}

// DecoyChallenger is implemented by factors whose challenge is built from
// the subject's directory data rather than from an enrollment (attribute
// questions): DecoyChallenge makes a challenge that looks like the one of
// a person holding every configured value, and that never verifies.
type DecoyChallenger interface {
	DecoyChallenge(ctx context.Context, s Subject) (Challenge, error)
}
