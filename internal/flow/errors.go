package flow

import (
	"fmt"
	"time"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/password"
)

// Code identifies why a step was refused; it doubles as the message ID the
// faces show (prefixed "flow.").
type Code string

// The refusals a flow step can return.
const (
	CodeLoginRequired      Code = "login_required"
	CodeFlowNotFound       Code = "flow_not_found"
	CodeWrongState         Code = "wrong_state"
	CodeCodeInvalid        Code = "code_invalid"
	CodeCodeExpired        Code = "code_expired"
	CodeCodeUsed           Code = "code_used"
	CodeTooManyAttempts    Code = "too_many_attempts"
	CodeTooManyCodes       Code = "too_many_codes"
	CodePasswordRequired   Code = "password_required"
	CodePasswordMismatch   Code = "password_mismatch"
	CodePasswordTooLong    Code = "password_too_long"
	CodePasswordRefused    Code = "password_refused"
	CodeDirectoryDown      Code = "directory_unavailable"
	CodeResetNotPermitted  Code = "reset_not_permitted"
	CodeAccountDisabled    Code = "account_disabled"
	CodeProtectedAccount   Code = "protected_account"
	CodeCredentialsWrong   Code = "credentials_wrong"
	CodeFactorNotAllowed   Code = "factor_not_allowed"
	CodeRateLimited        Code = "rate_limited"
	CodeTooManyResets      Code = "too_many_resets"
	CodeSessionNotFound    Code = "session_not_found"
	CodeStepUpRequired     Code = "step_up_required"
	CodeBadEnrollmentInput Code = "bad_enrollment_input"
	CodeProofOfWork        Code = "proof_of_work_required"
	// CodeActionNotAllowed: the person's policy switched the action off
	// (said only once the person proved who they are).
	CodeActionNotAllowed Code = "action_not_allowed"
	// CodeNotEnrolled: the person has not enrolled what their policy asks
	// (after a first factor), or, with enrollment.redirect_unenrolled on,
	// enough to recover at all.
	CodeNotEnrolled Code = "not_enrolled"
	// CodeAccessRefused: a conditional-access rule refuses the request
	// (Detail: the rule's message and the help desk).
	CodeAccessRefused Code = "access_refused"
	// CodeApprovalDenied: the person's manager denied the request; the
	// flow ended.
	CodeApprovalDenied Code = "approval_denied"
	// CodeFactorUnavailable: the service behind a factor (a RADIUS, Duo or
	// Yubico server) did not answer or could not be trusted; nobody's
	// wrong answer, so no attempt is counted (rounds.go).
	CodeFactorUnavailable Code = "factor_unavailable"
	// CodeAnswerForeign: an identity provider's answer that belongs to
	// another challenge (another flow, an old tab, or somebody's link to
	// the return page); no attempt is counted and the challenge stays.
	CodeAnswerForeign Code = "answer_not_for_this_flow"
	CodeInternal      Code = "internal"
)

// AllCodes lists every refusal, so tests can hold the faces, the catalogue
// and the OpenAPI document to all of them.
var AllCodes = []Code{CodeLoginRequired, CodeFlowNotFound, CodeWrongState, CodeCodeInvalid, CodeCodeExpired, CodeCodeUsed,
	CodeTooManyAttempts, CodeTooManyCodes, CodePasswordRequired, CodePasswordMismatch, CodePasswordTooLong,
	CodePasswordRefused, CodeDirectoryDown, CodeResetNotPermitted, CodeAccountDisabled, CodeProtectedAccount,
	CodeCredentialsWrong, CodeFactorNotAllowed, CodeRateLimited, CodeTooManyResets, CodeSessionNotFound, CodeStepUpRequired, CodeBadEnrollmentInput, CodeProofOfWork,
	CodeActionNotAllowed, CodeNotEnrolled, CodeAccessRefused, CodeApprovalDenied, CodeFactorUnavailable, CodeAnswerForeign, CodeInternal}

// Error is a refused step. Faces map Code to a status and a message.
type Error struct {
	Code Code
	// AttemptsLeft is set for CodeCodeInvalid.
	AttemptsLeft int
	// Reasons and MinLength are set for CodePasswordRefused: the
	// directory's actual rules that the password broke.
	Reasons   []directory.Reason
	MinLength int
	// Checks are sspr's own password rules the password failed (checked
	// before the directory is asked).
	Checks []password.Check
	// RetryAfter is set for CodeRateLimited.
	RetryAfter time.Duration
	// Detail is shown with the refusal (CodeAccessRefused: the rule's
	// message and the help desk).
	Detail string
	// Reason is a finer cause of CodeCodeInvalid that faces explain in
	// plain words (flow.code_invalid.<reason>): push_denied, push_timeout,
	// replayed (rounds.go).
	Reason string
	// Err is the underlying cause, for logs only.
	Err error
}

func (e *Error) Error() string {
	s := "flow: " + string(e.Code)
	if len(e.Reasons) > 0 {
		s += fmt.Sprint(" ", e.Reasons)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// MessageID is the catalogue key explaining the refusal.
func (c Code) MessageID() string { return "flow." + string(c) }

func refuse(c Code) *Error { return &Error{Code: c} }
