package directory

import (
	"errors"
	"strconv"
	"strings"
)

// OpServiceBind is the Op of the error a connector returns when sspr's own
// service account cannot bind. Its Kind is KindMisconfigured (the fault is in
// sspr's configuration, not in anything a user typed); the finer cause (wrong
// password, locked, disabled, ...) is the *Error it wraps.
const OpServiceBind = "service bind"

// Explain turns a directory failure into one sentence an administrator can
// act on, without the server's raw diagnostics ("80090308: LdapErr: ..."):
// the words `sspr directory check` uses. Faces that talk to administrators
// (the CLI's `user show`, the admin console) print it; the portal shows end
// users its own catalogue messages instead. It returns "" for nil and the
// error's own text for errors that are not a *Error.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if e.Op == OpServiceBind {
		return explainServiceBind(e)
	}
	switch e.Kind {
	case KindNotFound:
		return "No account matches that login."
	case KindAmbiguous:
		return "More than one account matches that login: use one that names a single account, such as the full e-mail address or DOMAIN\\name."
	case KindInvalidCredentials:
		return "The password is wrong."
	case KindUnavailable:
		return withDetail("No directory server could be reached; check that the server runs and that the URLs and the network allow the connection", e)
	case KindConfidentialityRequired:
		return "sspr refuses to send a password over an unencrypted connection: use ldaps:// or turn on StartTLS for this directory."
	case KindAccessDenied:
		return withDetail("sspr's service account is not allowed to do this in the directory; delegate the right to it", e)
	case KindPolicyViolation:
		return explainPolicy(e)
	case KindLocked:
		return "The account is locked out."
	case KindDisabled:
		return "The account is disabled."
	case KindPasswordExpired:
		return "The account's password has expired."
	case KindAccountExpired:
		return "The account has expired."
	case KindMustChange:
		return "The account's password must be changed before it can be used."
	case KindLogonRestricted:
		return "The account may not sign in at this time or from here."
	case KindUnsupported:
		return withDetail("The directory does not offer what sspr needs for this", e)
	case KindMisconfigured:
		if e.Op == "dial" {
			// A dial is misconfigured only when a server answered with a
			// certificate sspr may not trust.
			return withDetail("The directory server's certificate cannot be trusted (a TLS problem)", e)
		}
		return withDetail("sspr's configuration does not fit this directory", e)
	}
	return withDetail("The directory failed", e)
}

// explainServiceBind words a failed bind of the service account by the
// cause it wraps.
func explainServiceBind(e *Error) string {
	inner := KindMisconfigured
	var cause *Error
	if errors.As(e.Err, &cause) {
		inner = cause.Kind
	} else if e.Kind != KindMisconfigured {
		inner = e.Kind
	}
	switch inner {
	case KindInvalidCredentials:
		return "sspr's service account cannot sign in to the directory: its password in sspr's configuration is wrong, or the account does not exist."
	case KindLocked:
		return "sspr's service account is locked out in the directory: unlock it, and find what keeps failing to sign in with it."
	case KindDisabled:
		return "sspr's service account is disabled in the directory."
	case KindPasswordExpired, KindMustChange:
		return "sspr's service account must change its password before it can be used: set a new one, set it never to expire, and put it in sspr's configuration."
	case KindAccountExpired:
		return "sspr's service account has expired in the directory."
	case KindLogonRestricted:
		return "sspr's service account may not sign in at this time or from this host."
	case KindConfidentialityRequired:
		return "sspr refuses to send the service account's password over an unencrypted connection: use ldaps:// or turn on StartTLS for this directory."
	case KindUnavailable:
		return withDetail("No directory server answered the service account's sign-in", e)
	}
	return withDetail("sspr's service account cannot sign in to the directory", e)
}

// explainPolicy names the broken rules in words.
func explainPolicy(e *Error) string {
	var rules []string
	for _, r := range e.Reasons {
		switch r {
		case ReasonTooShort:
			if e.MinLength > 0 {
				rules = append(rules, "it is shorter than "+strconv.Itoa(e.MinLength)+" characters")
			} else {
				rules = append(rules, "it is too short")
			}
		case ReasonTooLong:
			rules = append(rules, "it is too long")
		case ReasonComplexity:
			rules = append(rules, "it does not mix enough kinds of characters")
		case ReasonHistory:
			rules = append(rules, "it was used before")
		case ReasonTooYoung:
			rules = append(rules, "the current password is too new to be changed yet")
		case ReasonContainsName:
			rules = append(rules, "it contains the account's name")
		case ReasonDictionary:
			rules = append(rules, "it is a dictionary word or based on one")
		case ReasonQuality:
			rules = append(rules, "it fails the directory's quality check")
		}
	}
	if len(rules) == 0 {
		return "The directory refused the new password."
	}
	return "The directory refused the new password: " + strings.Join(rules, "; ") + "."
}

// withDetail appends the connector's diagnostic, which for these kinds
// says which server or which right; connectors keep passwords out of it.
func withDetail(sentence string, e *Error) string {
	d := strings.TrimSpace(e.Diagnostic)
	if d == "" && e.Err != nil {
		d = e.Err.Error()
	}
	if d == "" {
		return sentence + "."
	}
	return sentence + " (" + d + ")."
}
