package directory

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies a directory failure. Flows and faces switch on kinds, never
// on error text.
type Kind int

// The kinds of directory failure.
const (
	KindUnknown Kind = iota
	// KindUnavailable: the directory could not be reached or timed out; retry later.
	KindUnavailable
	// KindNotFound: no account matches the login.
	KindNotFound
	// KindAmbiguous: more than one account matches the login.
	KindAmbiguous
	// KindInvalidCredentials: the password given for a bind was wrong.
	KindInvalidCredentials
	// KindPolicyViolation: the directory refused a new password; see Reasons.
	KindPolicyViolation
	// KindAccessDenied: the service account lacks the right to do this.
	KindAccessDenied
	// KindConfidentialityRequired: the operation needs an encrypted connection.
	KindConfidentialityRequired
	// KindLocked: the account is locked out.
	KindLocked
	// KindDisabled: the account is disabled.
	KindDisabled
	// KindPasswordExpired: the password has expired.
	KindPasswordExpired
	// KindAccountExpired: the account has expired.
	KindAccountExpired
	// KindMustChange: the password must be changed before anything else.
	KindMustChange
	// KindMisconfigured: sspr's own configuration does not fit the directory.
	KindMisconfigured
	// KindLogonRestricted: the account may not log on now or from here
	// (AD logon hours 530, workstation restriction 531).
	KindLogonRestricted
	// KindUnsupported: the directory does not offer what was asked (an
	// extended operation or critical control it does not know, an attribute
	// its schema lacks). A deployment problem, not the user's.
	KindUnsupported
)

var kindNames = map[Kind]string{
	KindUnknown:                 "unknown",
	KindUnavailable:             "unavailable",
	KindNotFound:                "not_found",
	KindAmbiguous:               "ambiguous",
	KindInvalidCredentials:      "invalid_credentials",
	KindPolicyViolation:         "policy_violation",
	KindAccessDenied:            "access_denied",
	KindConfidentialityRequired: "confidentiality_required",
	KindLocked:                  "locked",
	KindDisabled:                "disabled",
	KindPasswordExpired:         "password_expired",
	KindAccountExpired:          "account_expired",
	KindMustChange:              "must_change",
	KindMisconfigured:           "misconfigured",
	KindLogonRestricted:         "logon_restricted",
	KindUnsupported:             "unsupported",
}

// String returns a stable, machine-friendly name, used in audit records.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// MessageID is the message-catalogue key that explains the kind to a person.
func (k Kind) MessageID() string { return "directory." + k.String() }

// Reason is one rule a new password broke, as the directory reported it.
type Reason int

// The password rules a directory can report as broken.
const (
	ReasonUnspecified Reason = iota
	// ReasonTooShort: shorter than the minimum length (MinLength when known).
	ReasonTooShort
	// ReasonComplexity: does not meet the complexity rule.
	ReasonComplexity
	// ReasonHistory: matches a recently used password.
	ReasonHistory
	// ReasonTooYoung: the current password is too new to be changed.
	ReasonTooYoung
	// ReasonContainsName: contains the account or display name.
	ReasonContainsName
	// ReasonQuality: rejected by a quality check without a finer reason.
	ReasonQuality
	// ReasonTooLong: longer than the directory accepts (ppolicy
	// passwordTooLong, pwdMaxLength).
	ReasonTooLong
	// ReasonDictionary: a dictionary word or based on one (389-DS
	// passwordDictCheck, AD password filters that say so).
	ReasonDictionary
	// ReasonDigit: contains no digit (a quality module's or 389-DS
	// passwordMinDigits refusal that names it).
	ReasonDigit
)

var reasonNames = map[Reason]string{
	ReasonUnspecified:  "unspecified",
	ReasonTooShort:     "too_short",
	ReasonComplexity:   "complexity",
	ReasonHistory:      "history",
	ReasonTooYoung:     "too_young",
	ReasonContainsName: "contains_name",
	ReasonQuality:      "quality",
	ReasonTooLong:      "too_long",
	ReasonDictionary:   "dictionary",
	ReasonDigit:        "digit",
}

// String returns a stable name, used in audit records and the API.
func (r Reason) String() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// MessageID is the message-catalogue key that explains the rule to a person.
func (r Reason) MessageID() string { return "password.rule." + r.String() }

// Error is the one error type connectors return for directory failures.
type Error struct {
	Kind Kind
	// Reasons lists the broken password rules for KindPolicyViolation.
	Reasons []Reason
	// MinLength is the directory's minimum password length, when known.
	MinLength int
	// Op names the operation that failed ("bind", "search", "reset", ...).
	Op string
	// Diagnostic is the directory's own text, for logs and admins only;
	// it is never shown to end users.
	Diagnostic string
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("directory")
	if e.Op != "" {
		b.WriteString(" " + e.Op)
	}
	b.WriteString(": " + e.Kind.String())
	if len(e.Reasons) > 0 {
		names := make([]string, len(e.Reasons))
		for i, r := range e.Reasons {
			names[i] = r.String()
		}
		b.WriteString(" (" + strings.Join(names, ", ") + ")")
	}
	if e.Diagnostic != "" {
		b.WriteString(": " + e.Diagnostic)
	} else if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, directory.ErrLocked) and friends match by kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Kind == e.Kind && t.Op == "" && t.Err == nil && len(t.Reasons) == 0
}

// Sentinels for errors.Is; they match any *Error of the same kind.
var (
	ErrUnavailable             = &Error{Kind: KindUnavailable}
	ErrNotFound                = &Error{Kind: KindNotFound}
	ErrAmbiguous               = &Error{Kind: KindAmbiguous}
	ErrInvalidCredentials      = &Error{Kind: KindInvalidCredentials}
	ErrPolicyViolation         = &Error{Kind: KindPolicyViolation}
	ErrAccessDenied            = &Error{Kind: KindAccessDenied}
	ErrConfidentialityRequired = &Error{Kind: KindConfidentialityRequired}
	ErrLocked                  = &Error{Kind: KindLocked}
	ErrDisabled                = &Error{Kind: KindDisabled}
	ErrPasswordExpired         = &Error{Kind: KindPasswordExpired}
	ErrAccountExpired          = &Error{Kind: KindAccountExpired}
	ErrMustChange              = &Error{Kind: KindMustChange}
	ErrMisconfigured           = &Error{Kind: KindMisconfigured}
	ErrLogonRestricted         = &Error{Kind: KindLogonRestricted}
	ErrUnsupported             = &Error{Kind: KindUnsupported}
)

// Kinds returns every kind, in declaration order (for catalogue checks).
func Kinds() []Kind {
	out := make([]Kind, 0, len(kindNames))
	for k := KindUnknown; k <= KindUnsupported; k++ {
		out = append(out, k)
	}
	return out
}

// Reasons returns every reason, in declaration order (for catalogue checks).
func Reasons() []Reason {
	out := make([]Reason, 0, len(reasonNames))
	for r := ReasonUnspecified; r <= ReasonDigit; r++ {
		out = append(out, r)
	}
	return out
}

// OpUnlockAfterReset is the Op of the error a connector returns when a
// password reset succeeded but the unlock that "unlock on reset" asked for
// afterwards failed: the password IS changed, the account is still locked.
const OpUnlockAfterReset = "unlock after reset"

// OpOutcomeUnknown is the Op of the KindUnavailable error a connector
// returns when a write was sent and nothing can tell whether it happened
// (an outbound-only connector's connection died with it, and no other
// connector could read the account): the flow keeps its recorded intent
// for ResolveInterrupted, which asks the directory later, as after a crash.
const OpOutcomeUnknown = "outcome unknown"

// OutcomeUnknown reports whether err says a write may or may not have
// happened (OpOutcomeUnknown).
func OutcomeUnknown(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Op == OpOutcomeUnknown
}

// KindOf returns the kind of a directory error, KindUnknown for anything else.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}
